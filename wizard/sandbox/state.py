"""One running sandbox: its settings, resources, token issuer, faults and pending operations."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from .faults import FaultPlan
from .statefile import StateFileLock
from .store import Operation, Store
from .tokens import TokenIssuer

ARM_AUDIENCE = "https://management.azure.com/"
REQUEST_LOG_LIMIT = 100_000


@dataclass
class SandboxConfig:
    scenario: str = "demo"
    state_file: Path | None = None
    latency_ms: int = 0
    faults: tuple[str, ...] = ()
    seed: int = 0
    # Seconds a new service principal stays invisible to role assignments that do not say
    # principalType (Entra ID replication); ARM then answers PrincipalNotFound.
    replication_delay_s: float = 30.0
    # Status polls a long-running operation answers InProgress before it ends.
    lro_polls: int = 2
    # Seconds after which a long-running operation has ended whether or not anyone polled it, as Azure
    # ends it: clients that never poll (az's PUT of an existing app) find the app free a little later.
    lro_seconds: float = 10.0
    # Whole seconds put in Retry-After of long-running operations (the SDK parses the first one as an
    # int). 0 makes clients fall back to their own polling interval.
    retry_after_s: int = 1
    # Override the scenario's role for the signed-in caller (Owner, User Access Administrator, ...).
    caller_role: str | None = None
    # The Azure cloud the sandbox presents (clouds.CLOUDS): its metadata and its tokens' audience.
    cloud: str = "AzureCloud"
    # Resource providers NotRegistered at start, as NAMESPACE (every subscription) or NAMESPACE@SUBSCRIPTION
    # (an id or display name): writes there get MissingSubscriptionRegistration until registered.
    unregistered: tuple[str, ...] = ()


@dataclass
class Sandbox:
    config: SandboxConfig
    store: Store
    identity_header: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    base_url: str = ""
    # The hold on config.state_file while this sandbox runs (see statefile.py); None without one.
    state_lock: StateFileLock | None = None
    request_count: int = 0
    # (method, path, status) of every request answered, newest last: what a client really sent.
    # Tests and benchmarks count writes with it; it keeps the newest REQUEST_LOG_LIMIT only.
    request_log: list[tuple[str, str, int]] = field(default_factory=list)

    def log_request(self, method: str, path: str, status: int) -> None:
        self.request_log.append((method, path, status))
        if len(self.request_log) > REQUEST_LOG_LIMIT:
            del self.request_log[: len(self.request_log) - REQUEST_LOG_LIMIT]

    def writes(self) -> list[tuple[str, str, int]]:
        """Requests that asked to change something (token requests aside)."""
        return [
            r
            for r in self.request_log
            if r[0] in ("PUT", "PATCH", "DELETE", "POST") and "/listsecrets" not in r[1].lower()
        ]

    def __post_init__(self) -> None:
        self.tokens = TokenIssuer(self.store.tenant_id)
        self.faults = FaultPlan(self.config.faults, self.config.seed)

    @property
    def operations(self) -> dict[str, Operation]:
        """Long-running operations by id; they live in the store, so the state file keeps them."""
        return self.store.operations

    def persist(self) -> None:
        if self.config.state_file is not None and self.store.dirty:
            self.store.save(self.config.state_file)

    def close(self) -> None:
        """Let the state file go (another sandbox may take it from now on)."""
        if self.state_lock is not None:
            self.state_lock.release()
            self.state_lock = None
