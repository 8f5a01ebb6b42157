"""Where and as whom runner-identity talks to Azure: the cloud or endpoint, the CA to trust,
and the credential. Only this package imports azure.*.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass
class Connection:
    cloud: str = "AzureCloud"
    arm_endpoint: str | None = None  # overrides the cloud's endpoint (the sandbox, Azure Stack)
    ca_bundle: str | None = None
    tenant: str | None = None
    device_code: bool = False
    # Only the sandbox sets this: sign in through its managed-identity endpoint, nothing else.
    managed_identity_only: bool = False
    # Seconds between polls of a long-running operation when Azure sends no Retry-After.
    poll_interval: float = 5.0
    retry_total: int = 6
    retry_backoff: float = 0.8

    @property
    def endpoint(self) -> str:
        return (self.arm_endpoint or CLOUDS[self.cloud][0]).rstrip("/")

    @property
    def audience(self) -> str:
        # Another endpoint still accepts tokens for the public cloud's audience (the sandbox does),
        # unless a sovereign cloud was named.
        return CLOUDS[self.cloud][1]

    @property
    def scope(self) -> str:
        return self.audience + "/.default"

    def client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "base_url": self.endpoint,
            "credential_scopes": [self.scope],
            "retry_total": self.retry_total,
            "retry_backoff_factor": self.retry_backoff,
            "polling_interval": self.poll_interval,
        }
        if self.ca_bundle:
            kwargs["connection_verify"] = self.ca_bundle
        return kwargs


def make_credential(conn: Connection, prompt: Callable[[str, str, Any], None] | None = None) -> Any:
    """The async credential: DefaultAzureCredential (an `az login` session is the common case).

    `prompt`, with --device-code, receives (verification URL, user code, expiry) instead of the
    credential printing them: a full-screen program shows them itself.
    """
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    extra: dict[str, Any] = {}
    if conn.ca_bundle:
        extra["connection_verify"] = conn.ca_bundle
    if conn.managed_identity_only:
        return ManagedIdentityCredential(**extra)
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
        extra["tenant_id"] = conn.tenant
        extra["additionally_allowed_tenants"] = ["*"]
    return DefaultAzureCredential(authority=authority, **extra)


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
    for sub in doc.get("subscriptions", []):
        if sub.get("isDefault"):
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
