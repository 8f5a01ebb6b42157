"""One error type for everything Azure says no to, with ARM's code and a plain-language hint."""

from __future__ import annotations

from typing import Any

# What an admin can do about the ARM codes this tool meets most.
HINTS = {
    "AuthorizationFailed": "Your account lacks this permission here. Ask an Owner or a User Access Administrator "
    "of the scope to grant it, or choose a scope where you hold it.",
    "LinkedAuthorizationFailed": "Linking an identity needs Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/"
    "action on the identity as well as write access to the app.",
    "RoleAssignmentExists": "An equal role assignment already exists under another name; nothing to do.",
    "PrincipalNotFound": "Entra ID has not replicated the new identity yet; retry in a minute.",
    "RoleDefinitionDoesNotExist": "No role with that name or ID is usable in this subscription.",
    "ResourceGroupNotFound": "Check the resource group's name and subscription.",
    "SubscriptionNotFound": "Check the subscription ID, and that your account can see it (`az account list`).",
    "MissingSubscriptionRegistration": "Register the resource provider: `az provider register --namespace ...`.",
    "SignInFailed": "Sign in with `az login` (add `--tenant` if you have several), or run with --device-code "
    "on a machine without a browser.",
    "Unreachable": "Check your network, proxy settings and the endpoint.",
    "ContainerAppSecretInvalid": "A write sent a secret without its value; runner-identity never does this, so the "
    "app may have been changed by someone else meanwhile. Rerun the plan.",
    "InvalidAuthenticationToken": "The token was refused: sign in again (`az login`).",
    "ExpiredAuthenticationToken": "The sign-in expired: run `az login` again.",
    "TooManyRequests": "Azure is throttling requests; wait a minute and rerun.",
}
TRANSIENT = {408, 429, 500, 502, 503, 504}


class GatewayError(Exception):
    def __init__(self, what: str, code: str, message: str, status: int | None = None) -> None:
        self.what = what
        self.code = code
        self.message = message
        self.status = status
        super().__init__(self.plain())

    @property
    def hint(self) -> str:
        return HINTS.get(self.code, "")

    @property
    def transient(self) -> bool:
        return self.status in TRANSIENT or self.code == "Unreachable"

    def plain(self) -> str:
        text = f"Could not {self.what}: {self.message or self.code}"
        if self.code and self.code not in text:
            text += f" ({self.code})"
        if self.hint:
            text += f"\n  {self.hint}"
        return text


def translate(exc: BaseException, what: str) -> GatewayError:
    """Turn whatever the SDK raised into a GatewayError that names the ARM code."""
    from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError

    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, ClientAuthenticationError) and not getattr(getattr(exc, "error", None), "code", None):
        # The credential failed before Resource Manager was asked (no session, an expired one, no
        # browser, a managed-identity endpoint that said no): ARM's own 401s carry an error code.
        return GatewayError(what, "SignInFailed", _first_line(exc.message), None)
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        error: Any = getattr(exc, "error", None)
        code = getattr(error, "code", None) or getattr(exc.response, "reason", None) or "Error"
        message = getattr(error, "message", None) or _first_line(exc.message)
        return GatewayError(what, str(code), str(message), exc.status_code)
    if isinstance(exc, AzureError):
        # Connection refused, dropped or timed out, after the SDK's own retries.
        return GatewayError(what, "Unreachable", _first_line(str(exc)), None)
    if isinstance(exc, OSError):
        return GatewayError(what, "Unreachable", _first_line(str(exc)), None)
    raise exc


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""
