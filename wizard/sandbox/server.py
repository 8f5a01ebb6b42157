"""The sandbox's HTTPS server: ARM's request pipeline (latency, faults, auth, api-version,
request ids, errors) around the provider routes, runnable in a loop or in a thread of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from . import (
    api_versions,
    providers,  # noqa: F401  (registers the routes)
)
from .access import authorize_read
from .arm import ROUTER, ArmError, Ctx
from .clouds import accepts_audience, cloud_named
from .providers.resources import (
    LOCATIONS,
    REGISTRABLE,
    apply_unregistered,
    require_registered,
)
from .scenarios import build_store
from .state import Sandbox, SandboxConfig
from .statefile import StateFileLock
from .store import Store
from .tls import make_loopback_tls
from .tokens import ExpiredTokenError

log = logging.getLogger("wizard.sandbox")
WRITES = ("PUT", "PATCH", "POST", "DELETE")
_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)


def _www_authenticate(sandbox: Sandbox) -> dict[str, str]:
    login = cloud_named(sandbox.config.cloud).login
    return {
        "WWW-Authenticate": (
            f'Bearer authorization_uri="{login}/{sandbox.store.tenant_id}", '
            'error="invalid_token", error_description="The authentication failed."'
        )
    }


def _authenticate(sandbox: Sandbox, request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    if not header:
        raise ArmError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            _www_authenticate(sandbox),
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ArmError(
            401,
            "AuthenticationFailedInvalidHeader",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
            _www_authenticate(sandbox),
        )
    try:
        claims = sandbox.tokens.verify(token.strip())
    except ExpiredTokenError as exc:
        raise ArmError(401, "ExpiredAuthenticationToken", str(exc), _www_authenticate(sandbox)) from exc
    except ValueError as exc:
        raise ArmError(401, "InvalidAuthenticationToken", str(exc), _www_authenticate(sandbox)) from exc
    audience = str(claims.get("aud", ""))
    # A token for this cloud's Resource Manager, or for the endpoint itself (what a tool pointed at a
    # custom cloud asks for); never one minted for another cloud.
    if not accepts_audience(cloud_named(sandbox.config.cloud), audience) and (
        audience.rstrip("/").lower() != sandbox.base_url.rstrip("/").lower()
    ):
        raise ArmError(
            401,
            "InvalidAuthenticationTokenAudience",
            f"The access token has been obtained for the wrong audience or resource '{claims.get('aud')}'.",
            _www_authenticate(sandbox),
        )
    return str(claims.get("oid", ""))


def _check_api_version(sandbox: Sandbox, request: web.Request, path: str) -> None:
    """ARM's api-version rules: required; one the addressed resource type accepts (api_versions.check)."""
    versions = [v for k, v in request.query.items() if k.lower() == "api-version"]
    if not versions:
        raise ArmError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    group_path = api_versions.resource_group_of(path)
    group = sandbox.store.get(group_path) if group_path else None
    location = group["location"] if group else next(iter(LOCATIONS))
    api_versions.check(path, versions[0], location, list(LOCATIONS))


async def _check_media_type(request: web.Request) -> None:
    """A write that carries a body must carry JSON: ARM answers any other media type with 415."""
    if request.method not in ("PUT", "PATCH", "POST") or not (await request.read()).strip():
        return
    media = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if media in ("application/json", "text/json") or media.endswith("+json"):
        return
    raise ArmError(
        415,
        "UnsupportedMediaType",
        f"The content media type '{media}' is not supported. Only 'application/json' is supported.",
    )


def _check_registration(ctx: Ctx, path: str) -> None:
    """Writes to a provider the subscription has not registered fail as ARM fails them, whatever route
    (a provider's own handler may check too)."""
    sub = _SUBSCRIPTION.match(path)
    namespace, _ = api_versions.addressed_type(path)
    if sub and namespace.lower() in REGISTRABLE:
        require_registered(ctx, sub.group(1), namespace)


def _drop_connection(request: web.Request) -> web.Response:
    transport = request.transport
    if transport is not None:
        transport.abort()
    # aiohttp needs a response object; nothing reaches the client once the transport is gone.
    return web.Response(status=500)


def build_app(sandbox: Sandbox) -> web.Application:
    @web.middleware
    async def arm_pipeline(request: web.Request, handler: Any) -> web.StreamResponse:
        sandbox.request_count += 1
        request_id = str(uuid.uuid4())
        headers = {
            "x-ms-request-id": request_id,
            "x-ms-correlation-request-id": request.headers.get("x-ms-client-request-id", request_id),
            "x-ms-routing-request-id": f"SANDBOX:{request_id}",
        }
        try:
            response = await _handle(sandbox, request)
        except ArmError as err:
            response = err.response()
        except web.HTTPException as exc:  # aiohttp's own refusals, e.g. a body over the size limit
            code = "".join(word.capitalize() for word in (exc.reason or "Error").split())
            response = ArmError(exc.status, code, exc.reason or "The request was refused.").response()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in a route must look like ARM's 500, never a traceback to the client
            log.exception("sandbox route failed: %s %s", request.method, request.path)
            response = ArmError(500, "InternalServerError", "The sandbox hit an internal error.").response()
        for key, value in headers.items():
            response.headers.setdefault(key, value)
        sandbox.log_request(request.method, request.path, response.status)
        return response

    async def unreachable(request: web.Request) -> web.Response:  # the middleware answers everything
        return web.Response(status=500)

    app = web.Application(middlewares=[arm_pipeline], client_max_size=8 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", unreachable)
    return app


async def _handle(sandbox: Sandbox, request: web.Request) -> web.StreamResponse:
    # ARM ignores empty path segments: the SDKs send `Microsoft.KeyVault//vaults/...` when an
    # operation's parentResourcePath is empty (Permissions_ListForResource for a top-level resource).
    path = re.sub(r"/{2,}", "/", request.path)
    route, params = ROUTER.resolve(request.method, path)
    delay_ms = sandbox.config.latency_ms
    hits = sandbox.faults.hits(request.method, path, route.name)
    delay_ms += sum(f.ms for f in hits if f.kind == "latency")
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)
    for fault in hits:
        if fault.kind == "drop":
            return _drop_connection(request)
        if fault.kind == "429":
            raise ArmError(
                429,
                "TooManyRequests",
                "The request is being throttled (sandbox fault).",
                {"Retry-After": f"{fault.retry_after:g}"},
            )
        if fault.kind in ("500", "503"):
            status = int(fault.kind)
            code = "InternalServerError" if status == 500 else "ServiceUnavailable"
            extra = {"Retry-After": f"{fault.retry_after:g}"} if status == 503 else {}
            raise ArmError(status, code, f"The service answered {status} (sandbox fault).", extra)
    ctx = Ctx(request=request, sandbox=sandbox)
    refine = None
    if not route.public:
        ctx.caller_oid = _authenticate(sandbox, request)
        _check_api_version(sandbox, request, path)
        await _check_media_type(request)
        sub = _SUBSCRIPTION.match(path)
        if request.method in ("GET", "HEAD") and (not sub or sub.group(1).lower() in sandbox.store.subscriptions):
            refine = authorize_read(ctx, path)
        elif request.method in WRITES:
            _check_registration(ctx, path)
    try:
        response = await route.handler(ctx, **params)
    finally:
        sandbox.persist()
    return refine(response) if refine else response


def new_sandbox(config: SandboxConfig) -> Sandbox:
    """A sandbox for `config`: the saved state or the scenario, then the config's overrides (caller role,
    unregistered providers). ValueError names a setting that cannot be honoured (a usage error), or a
    state file another sandbox holds."""
    cloud_named(config.cloud)
    # One sandbox per state file: taken before reading it, so no other can write it after our read.
    lock = StateFileLock(config.state_file).acquire() if config.state_file is not None else None
    try:
        if config.state_file is not None and config.state_file.exists():
            store = Store.load(config.state_file)
        else:
            store = build_store(config.scenario, config.seed)
        if config.caller_role:
            from .providers.authorization import set_caller_role

            set_caller_role(store, config.caller_role)
        apply_unregistered(store, config.unregistered)
        sandbox = Sandbox(config=config, store=store, state_lock=lock)
        sandbox.persist()
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    return sandbox


@dataclass
class SandboxInfo:
    arm_endpoint: str
    ca_bundle: str
    identity_endpoint: str
    identity_header: str
    tenant_id: str
    subscription_ids: list[str]
    # The resource provider namespaces answered here, so a tool can tell what it may point at us.

    def to_json(self) -> str:
        return json.dumps(vars(self))

    def environment(self) -> dict[str, str]:
        """The environment that points the Azure SDKs' managed-identity credential at the sandbox."""
        return {"IDENTITY_ENDPOINT": self.identity_endpoint, "IDENTITY_HEADER": self.identity_header}

    @contextlib.contextmanager
    def exported(self) -> Iterator[None]:
        """Set `environment()` in this process for the duration, then put back what was there."""
        saved = {key: os.environ.get(key) for key in self.environment()}
        os.environ.update(self.environment())
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


class SandboxServer:
    """The sandbox inside a running event loop."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.sandbox = new_sandbox(self.config)
        self._runner: web.AppRunner | None = None
        self._tls_dir: Path | None = None
        self.info: SandboxInfo | None = None

    async def start(self, port: int = 0) -> SandboxInfo:
        tls = make_loopback_tls()
        self._tls_dir = tls.directory
        self._runner = web.AppRunner(build_app(self.sandbox), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, ssl_context=tls.server_context)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        bound = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"https://127.0.0.1:{bound}"
        self.sandbox.base_url = base
        self.info = SandboxInfo(
            arm_endpoint=base,
            ca_bundle=str(tls.ca_bundle),
            identity_endpoint=f"{base}/msi/token",
            identity_header=self.sandbox.identity_header,
            tenant_id=self.sandbox.store.tenant_id,
            subscription_ids=[s["subscriptionId"] for s in self.sandbox.store.subscriptions.values()],
        )
        return self.info

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.sandbox.close()
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = None


class SandboxThread:
    """The sandbox on a thread with its own event loop, for tests and `runner-identity --sandbox`."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.server = SandboxServer(config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sandbox", daemon=True)

    @property
    def sandbox(self) -> Sandbox:
        return self.server.sandbox

    def start(self, port: int = 0) -> SandboxInfo:
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self.server.start(port), self._loop).result(timeout=30)

    def call(self, fn: Any, *args: Any) -> Any:
        """Run `fn(*args)` on the sandbox's loop (to inspect or change state without races)."""

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    def __enter__(self) -> SandboxInfo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def serve_forever(config: SandboxConfig, port: int = 0) -> None:
    """`runner-identity sandbox serve`: one JSON line on stdout, then serve until SIGINT/SIGTERM."""
    import signal

    server = SandboxServer(config)
    info = await server.start(port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Handlers first, then the line a caller waits for: a SIGTERM sent as soon as the line is read
    # must still stop the sandbox cleanly (state saved, lock file removed).
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print(info.to_json(), flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()
        print("sandbox stopped", file=sys.stderr, flush=True)
