"""Where and as whom runner-identity talks to Azure: the cloud or endpoint, the token audience it
may use there, the CA to trust, the credential, and the one retry layer every client shares.
Only this package imports azure.*.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("wizard.azure")

CLOUDS: dict[str, tuple[str, str]] = {
    # name: (Resource Manager endpoint, token audience)
    "AzureCloud": ("https://management.azure.com", "https://management.azure.com"),
    "AzureUSGovernment": ("https://management.usgovcloudapi.net", "https://management.usgovcloudapi.net"),
    "AzureChinaCloud": ("https://management.chinacloudapi.cn", "https://management.chinacloudapi.cn"),
}
AUTHORITIES = {
    "AzureCloud": "login.microsoftonline.com",
    "AzureUSGovernment": "login.microsoftonline.us",
    "AzureChinaCloud": "login.chinacloudapi.cn",
}
# Every audience a known cloud's Resource Manager accepts: its endpoint and the classic
# `activeDirectoryResourceId` (as `az cloud show` lists them). A token for one of these is only
# ever sent to that cloud's own ARM host.
KNOWN_AUDIENCES: dict[str, str] = {
    "https://management.azure.com": "AzureCloud",
    "https://management.core.windows.net": "AzureCloud",
    "https://management.usgovcloudapi.net": "AzureUSGovernment",
    "https://management.core.usgovcloudapi.net": "AzureUSGovernment",
    "https://management.chinacloudapi.cn": "AzureChinaCloud",
    "https://management.core.chinacloudapi.cn": "AzureChinaCloud",
}

# The one retry layer (azure-core's RetryPolicy), shared by every client: a request is sent at
# most 1 + RETRY_TOTAL times, waiting Retry-After when Azure sends one and otherwise
# RETRY_BACKOFF_S * 2**(n-1) seconds (at most RETRY_BACKOFF_MAX_S), and gives up after
# RETRY_TIMEOUT_S in all. Statuses retried: azure-core's 408, 429, 500, 502, 503, 504.
RETRY_TOTAL = 5
RETRY_BACKOFF_S = 0.8
RETRY_BACKOFF_MAX_S = 30
RETRY_TIMEOUT_S = 300


class UnsafeEndpoint(ValueError):
    """A token would go to a host it was not minted for; nothing was sent."""


@dataclass(frozen=True)
class RetryNotice:
    """One retry the SDK is about to make: what failed, and how long it waits first (seconds)."""

    method: str
    target: str  # the request's path, without its query
    reason: str  # "503 Service Unavailable", "connection dropped", ...
    attempt: int  # the attempt that follows (2 = the first retry)
    attempts: int  # 1 + the retry budget
    wait_s: float


@dataclass
class Connection:
    cloud: str = "AzureCloud"
    arm_endpoint: str | None = None  # overrides the cloud's endpoint (the sandbox, Azure Stack)
    ca_bundle: str | None = None
    tenant: str | None = None
    device_code: bool = False
    # The token audience for `arm_endpoint`: from its /metadata/endpoints or --audience. Without
    # one, only a known cloud's own host or a loopback endpoint (the sandbox) is accepted.
    arm_audience: str | None = None
    # Only the sandbox sets this: sign in through its managed-identity endpoint, nothing else.
    managed_identity_only: bool = False
    # Seconds between polls of a long-running operation when Azure sends no Retry-After.
    poll_interval: float = 5.0
    retry_total: int = RETRY_TOTAL
    retry_backoff: float = RETRY_BACKOFF_S
    # Hears every retry before its wait (the CLI shows it as progress); never part of equality.
    on_retry: Callable[[RetryNotice], None] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.audience  # noqa: B018 - refuse an unsafe endpoint at once, before any client exists

    @property
    def endpoint(self) -> str:
        return (self.arm_endpoint or CLOUDS[self.cloud][0]).rstrip("/")

    @property
    def audience(self) -> str:
        """The audience of every ARM token this connection asks for.

        Raises UnsafeEndpoint when no safe audience exists for the endpoint (see `resolve_audience`).
        """
        return resolve_audience(self.endpoint, self.arm_audience, self.cloud)

    @property
    def scope(self) -> str:
        return self.audience + "/.default"

    def client_kwargs(self, credential: Any) -> dict[str, Any]:
        """Keyword arguments for any azure-mgmt-* aio client: endpoint, scope, CA, polling, and the
        pipeline: one retry layer, a guard that sends nothing to another host, no silent resource
        provider registration (azure-mgmt-core's ARMAutoResourceProviderRegistrationPolicy is left
        out: a `MissingSubscriptionRegistration` reaches the admin instead of a write they never saw).
        """
        from azure.core.pipeline import policies
        from azure.mgmt.core.policies import ARMHttpLoggingPolicy, AsyncARMChallengeAuthenticationPolicy

        kwargs: dict[str, Any] = {
            "base_url": self.endpoint,
            "credential_scopes": [self.scope],
            "polling_interval": self.poll_interval,
        }
        if self.ca_bundle:
            kwargs["connection_verify"] = self.ca_bundle
        redirect = policies.AsyncRedirectPolicy()
        kwargs["policies"] = [
            policies.RequestIdPolicy(),
            policies.HeadersPolicy(),
            policies.UserAgentPolicy(sdk_moniker=f"runner-identity/{_version()}"),
            policies.ProxyPolicy(),
            policies.ContentDecodePolicy(),
            redirect,
            _same_host_policy(self.endpoint),
            _retry_policy(self),
            AsyncARMChallengeAuthenticationPolicy(credential, self.scope),
            policies.CustomHookPolicy(),
            # Bodies and headers only with `logging_enable`, which runner-identity never sets: a
            # token response's body holds the token.
            policies.NetworkTraceLoggingPolicy(),
            policies.DistributedTracingPolicy(),
            policies.SensitiveHeaderCleanupPolicy(),
            # --debug: method, URL, status and allow-listed headers at INFO; Authorization, any other
            # header and every query parameter but api-version are logged as REDACTED.
            ARMHttpLoggingPolicy(),
        ]
        return kwargs

    def describe(self) -> str:
        """`cloud AzureCloud` or `endpoint https://...`, with the tenant: for messages."""
        where = f"endpoint {self.endpoint}" if self.arm_endpoint else f"cloud {self.cloud}"
        tenant = f"tenant {self.tenant}" if self.tenant else "the default tenant"
        return f"{where}, {tenant}"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("runner-identity")
    except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
        return "0"


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _norm(url: str) -> str:
    return url.strip().rstrip("/").lower()


def known_cloud_of_host(endpoint: str) -> str | None:
    """The known cloud whose Resource Manager lives at `endpoint`'s host, or None."""
    host = (urlsplit(endpoint).hostname or "").lower()
    for name, (arm, _) in CLOUDS.items():
        if urlsplit(arm).hostname == host:
            return name
    return None


def resolve_audience(endpoint: str, audience: str | None, cloud: str = "AzureCloud") -> str:
    """The token audience to use for `endpoint` (no trailing slash).

    - A known cloud's ARM host (public, US Gov, China): that cloud's audience, and no other.
    - Any other endpoint: `audience` (from its /metadata/endpoints or --audience), which must not be
      a known cloud's: a token minted for Azure's ARM never leaves Azure's ARM host.
    - Loopback (the sandbox) is the one exception: it may take a known cloud's audience, and
      without any audience it gets `cloud`'s.
    Raises UnsafeEndpoint otherwise.
    """
    host_cloud = known_cloud_of_host(endpoint)
    loopback = is_loopback(endpoint)
    if host_cloud is not None:
        own = CLOUDS[host_cloud][1]
        if audience and KNOWN_AUDIENCES.get(_norm(audience)) != host_cloud:
            raise UnsafeEndpoint(
                f"--audience {audience} is not an audience of {host_cloud}'s Resource Manager at {endpoint}"
            )
        return own
    if audience:
        claimed = KNOWN_AUDIENCES.get(_norm(audience))
        if claimed and not loopback:
            raise UnsafeEndpoint(
                f"{endpoint} asks for tokens of {claimed}'s Resource Manager ({audience.rstrip('/')}), "
                f"but is not {claimed}'s Resource Manager: refusing to send it a token"
            )
        return audience.strip().rstrip("/")
    if loopback:
        return CLOUDS[cloud][1]
    raise UnsafeEndpoint(
        f"no token audience for {endpoint}: it serves no /metadata/endpoints; give --audience "
        "(the endpoint's own Resource Manager audience)"
    )


def discover_audience(endpoint: str, ca_bundle: str | None, timeout_s: float = 10.0) -> str | None:
    """The first audience `endpoint` names in its cloud metadata (`GET /metadata/endpoints`, as the
    az CLI reads it for Azure Stack Hub), or None when it serves none. Sends no token."""
    from azure.core import PipelineClient
    from azure.core.exceptions import AzureError
    from azure.core.pipeline.policies import HttpLoggingPolicy, RetryPolicy
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.rest import HttpRequest

    transport = RequestsTransport(connection_verify=ca_bundle or True, connection_timeout=timeout_s)
    client = PipelineClient(
        endpoint, policies=[RetryPolicy(retry_total=1, timeout=timeout_s), HttpLoggingPolicy()], transport=transport
    )
    try:
        with client:
            url = endpoint.rstrip("/") + "/metadata/endpoints?api-version=2015-01-01"
            response = client.send_request(HttpRequest("GET", url))
            if response.status_code != 200:
                return None
            doc = response.json()
    except (AzureError, OSError, ValueError) as exc:
        log.info("no cloud metadata at %s: %s", endpoint, exc)
        return None
    clouds = doc if isinstance(doc, list) else [doc]
    for entry in clouds:
        audiences = ((entry or {}).get("authentication") or {}).get("audiences") if isinstance(entry, dict) else None
        if isinstance(audiences, list) and audiences and isinstance(audiences[0], str):
            return audiences[0]
    return None


def _same_host_policy(endpoint: str) -> Any:
    """A policy that refuses any request to a host other than `endpoint` (a nextLink, a polling URL,
    a redirect elsewhere) before it could carry a token; errors.translate names it UnsafeEndpoint."""
    from azure.core.exceptions import AzureError
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    allowed = urlsplit(endpoint)
    allowed_netloc = (allowed.scheme.lower(), (allowed.netloc or "").lower())

    class SameHostPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
        def on_request(self, request: Any) -> None:
            target = urlsplit(request.http_request.url)
            if (target.scheme.lower(), (target.netloc or "").lower()) != allowed_netloc:
                err = AzureError(
                    f"refused to send a request for {endpoint} to {target.scheme}://{target.netloc}: "
                    "a token goes only to the endpoint it was minted for"
                )
                err.runner_identity_code = "ForeignHostRefused"  # type: ignore[attr-defined]
                raise err

    return SameHostPolicy()


def _retry_policy(conn: Connection) -> Any:
    from azure.core.pipeline.policies import AsyncRetryPolicy

    from .retries import notify_retry

    class ReportingRetryPolicy(AsyncRetryPolicy):
        """azure-core's retry policy, telling `conn.on_retry` (and the log) before each wait.

        PATCH joins the methods retried after a dropped connection: runner-identity's only PATCH is
        a JSON merge patch of the container app, and sending the same merge again is harmless.
        """

        def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
            settings = super().configure_retries(options)
            settings["methods"] = frozenset(settings["methods"]) | {"PATCH"}
            return settings

        async def sleep(self, settings: dict[str, Any], transport: Any, response: Any = None) -> None:
            wait = (self.get_retry_after(response) if response is not None else None) or self.get_backoff_time(
                settings
            )
            history = settings["history"]
            last = history[-1] if history else None
            request = getattr(last, "http_request", None)
            http_response = getattr(last, "http_response", None)
            if http_response is not None:
                reason = f"{http_response.status_code} {getattr(http_response, 'reason', '') or ''}".strip()
            else:
                error = getattr(last, "error", None)
                reason = type(error).__name__ if error is not None else "an error"
            notice = RetryNotice(
                method=str(getattr(request, "method", "")),
                target=urlsplit(str(getattr(request, "url", ""))).path,
                reason=reason,
                attempt=len(history) + 1,
                attempts=conn.retry_total + 1,
                wait_s=float(wait or 0.0),
            )
            log.info(
                "%s %s: %s; attempt %d of %d in %.1f s",
                notice.method,
                notice.target,
                notice.reason,
                notice.attempt,
                notice.attempts,
                notice.wait_s,
            )
            if conn.on_retry is not None:
                conn.on_retry(notice)
            # ... and whoever listens in this context (apply's step, the wizard's row): see retries.py.
            why = f"Azure answered {reason}" if http_response is not None else f"no answer from Azure ({reason})"
            notify_retry(why, notice.wait_s)
            await super().sleep(settings, transport, response)

    return ReportingRetryPolicy(
        retry_total=conn.retry_total,
        # The budget is the total alone: azure-core's separate connect/read/status budgets (3 each by
        # default) would otherwise stop earlier than retry_total says.
        retry_connect=conn.retry_total,
        retry_read=conn.retry_total,
        retry_status=conn.retry_total,
        retry_backoff_factor=conn.retry_backoff,
        retry_backoff_max=RETRY_BACKOFF_MAX_S,
        timeout=RETRY_TIMEOUT_S,
    )


def make_credential(
    conn: Connection, prompt: Callable[[str, str, Any], None] | None = None, transport: Any = None
) -> Any:
    """The async credential: DefaultAzureCredential (an `az login` session is the common case).

    `prompt`, with --device-code, receives (verification URL, user code, expiry) instead of the
    credential printing them: a full-screen program shows them itself. `transport`: an azure-core
    async transport for the credential's own requests (it then carries the CA itself); None for
    azure.identity's default.
    """
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    extra: dict[str, Any] = {}
    if conn.ca_bundle:
        extra["connection_verify"] = conn.ca_bundle
    if transport is not None and not conn.device_code:
        extra["transport"] = transport
    if conn.managed_identity_only:
        return SharedCredential(ManagedIdentityCredential(**extra))
    authority = AUTHORITIES.get(conn.cloud)
    if conn.device_code:
        from azure.identity import DeviceCodeCredential

        # azure.identity has no async device-code credential; the sync one runs on a worker thread.
        if prompt is not None:
            extra["prompt_callback"] = prompt
        return ThreadedCredential(
            DeviceCodeCredential(tenant_id=conn.tenant or "organizations", authority=authority, **extra)
        )
    if conn.tenant:
        # DefaultAzureCredential takes no tenant_id; each token request names the tenant instead
        # (the az CLI credential then runs `az account get-access-token --tenant`).
        extra["additionally_allowed_tenants"] = ["*"]
    return SharedCredential(DefaultAzureCredential(authority=authority, **extra), conn.tenant)


def default_subscription() -> str | None:
    """AZURE_SUBSCRIPTION_ID, else the az CLI's default subscription, else None."""
    env = os.environ.get("AZURE_SUBSCRIPTION_ID")
    if env:
        return env
    config_dir = Path(os.environ.get("AZURE_CONFIG_DIR") or Path.home() / ".azure")
    profile = config_dir / "azureProfile.json"
    try:
        # The az CLI writes this file with a UTF-8 byte order mark.
        doc = json.loads(profile.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None
    for sub in doc.get("subscriptions", []) if isinstance(doc, dict) else []:
        if isinstance(sub, dict) and sub.get("isDefault"):
            return str(sub.get("id"))
    return None


class ThreadedCredential:
    """An async face for a sync credential, so a blocking sign-in never stalls the event loop."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        import asyncio

        return await asyncio.to_thread(self._inner.get_token, *scopes, **kwargs)

    async def close(self) -> None:
        self._inner.close()

    async def __aenter__(self) -> ThreadedCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class SharedCredential:
    """An async credential that runs one sign-in at a time per request: concurrent callers (the
    gateway reads several things at once) share the first caller's token or failure.

    Without it, each concurrent read runs the whole DefaultAzureCredential chain, which starts
    `az`/`pwsh`/`azd` as subprocesses; when one chain fails, asyncio cancels the others mid-way
    and can wait forever on a child process it lost. `tenant` (--tenant) is asked for on every
    token: DefaultAzureCredential takes no tenant_id of its own.
    """

    # Seconds a failed sign-in is answered from memory: the reads that were waiting for it (or
    # follow it at once) fail the same way instead of each starting the whole chain again.
    FAILURE_TTL_S = 30.0

    def __init__(self, inner: Any, tenant: str | None = None) -> None:
        self._inner = inner
        self.tenant = tenant
        self._flights: dict[Any, Any] = {}
        self._failed: dict[Any, tuple[float, BaseException]] = {}

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        import asyncio
        import time

        from azure.core.exceptions import ClientAuthenticationError

        if self.tenant:
            kwargs.setdefault("tenant_id", self.tenant)
        key = (scopes, tuple(sorted((k, repr(v)) for k, v in kwargs.items())))
        failed = self._failed.get(key)
        if failed is not None and time.monotonic() - failed[0] < self.FAILURE_TTL_S:
            raise failed[1]
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(self._inner.get_token(*scopes, **kwargs))
            self._flights[key] = flight

            def landed(done: Any) -> None:
                self._flights.pop(key, None)
                error = None if done.cancelled() else done.exception()
                if isinstance(error, ClientAuthenticationError):
                    self._failed[key] = (time.monotonic(), error)
                else:
                    self._failed.pop(key, None)

            flight.add_done_callback(landed)
        # shield: one caller cancelled (its task failed elsewhere) leaves the sign-in to the others
        return await asyncio.shield(flight)

    async def close(self) -> None:
        await self._inner.close()

    async def __aenter__(self) -> SharedCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
