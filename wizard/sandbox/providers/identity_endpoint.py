"""Sign-in for sandbox clients: the App Service managed-identity token endpoint and cloud metadata.

With IDENTITY_ENDPOINT/IDENTITY_HEADER pointing here, `DefaultAzureCredential` and
`ManagedIdentityCredential` get tokens exactly as they would inside an Azure app.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from ..arm import ROUTER, Ctx, json_response
from ..clouds import cloud_named, metadata

AZURE_CLI_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


def _token_error(status: int, error: str, description: str) -> web.Response:
    return json_response({"error": error, "error_description": description}, status=status)


@ROUTER.route("GET", "/msi/token", public=True)
async def msi_token(ctx: Ctx) -> web.Response:
    sandbox = ctx.sandbox
    given = ctx.request.headers.get("X-IDENTITY-HEADER", "")
    if not given or not hmac.compare_digest(given, sandbox.identity_header):
        return _token_error(401, "unauthorized", "The X-IDENTITY-HEADER header is missing or wrong.")
    query = ctx.query
    resource = query.get("resource", "")
    if not resource:
        return _token_error(400, "invalid_request", "The 'resource' query parameter is required.")
    object_id = sandbox.store.caller["object_id"]
    app_id = AZURE_CLI_APP_ID
    # A user-assigned identity may be asked for by client id, object id or resource id, as on Azure.
    wanted = {k: query[k] for k in ("client_id", "principal_id", "object_id", "mi_res_id") if query.get(k)}
    if wanted:
        match = None
        for identity in sandbox.store.of_type("Microsoft.ManagedIdentity/userAssignedIdentities"):
            props = identity["properties"]
            if (
                wanted.get("client_id", "").lower() == props["clientId"].lower()
                or wanted.get("principal_id", wanted.get("object_id", "")).lower() == props["principalId"].lower()
                or wanted.get("mi_res_id", "").lower() == identity["id"].lower()
            ):
                match = identity
                break
        if match is None:
            return _token_error(400, "invalid_request", "No managed identity matches the requested id.")
        object_id = match["properties"]["principalId"]
        app_id = match["properties"]["clientId"]
    # The signed-in admin is a user, as after `az login`; an identity's token names no user.
    upn = sandbox.store.caller.get("upn") if object_id == sandbox.store.caller["object_id"] else None
    token, expires_on = sandbox.tokens.issue(resource, object_id, app_id, upn=upn)
    return json_response(
        {
            "access_token": token,
            "expires_on": str(expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": app_id,
        }
    )


@ROUTER.route("GET", "/metadata/endpoints", public=True)
async def cloud_metadata(ctx: Ctx) -> web.Response:
    """The cloud metadata document of the cloud the sandbox presents, in the shape the api-version asks."""
    cloud = cloud_named(ctx.sandbox.config.cloud)
    return json_response(metadata(cloud, ctx.base_url, ctx.sandbox.store.tenant_id, ctx.query.get("api-version", "")))
