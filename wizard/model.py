"""Plain data the rest of runner-identity works with: what the gateway reads from Azure.

No azure.* types leak past the gateway; screens, the planner and apply only see these.
A container app keeps its containers in ARM's wire form (`containers`), because the one PATCH
we send must carry every container exactly as Azure holds it, including fields we never read.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

ARM_TYPE_IDENTITY = "Microsoft.ManagedIdentity/userAssignedIdentities"
ARM_TYPE_VAULT = "Microsoft.KeyVault/vaults"
ARM_TYPE_STORAGE = "Microsoft.Storage/storageAccounts"
ARM_TYPE_CONTAINER_APP = "Microsoft.App/containerApps"


@dataclass(frozen=True)
class Subscription:
    id: str  # the subscription GUID
    name: str
    tenant_id: str
    state: str = "Enabled"
    is_default: bool = False

    @property
    def scope(self) -> str:
        return f"/subscriptions/{self.id}"


@dataclass(frozen=True)
class Location:
    """A region the subscription offers (`GET /subscriptions/{id}/locations`)."""

    name: str  # as ARM takes it: "westeurope"
    display_name: str  # as the portal shows it: "West Europe"
    physical: bool = True  # False: a logical region ("Europe", "global"), where no resource lives

    def label(self) -> str:
        return f"{self.display_name} ({self.name})" if self.display_name else self.name


@dataclass(frozen=True)
class ResourceGroup:
    id: str
    name: str
    location: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Identity:
    id: str
    name: str
    resource_group: str
    location: str
    client_id: str
    principal_id: str
    tenant_id: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RoleDefinition:
    id: str  # as ARM returns it, e.g. /subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}
    guid: str
    name: str  # the role's display name, e.g. "Key Vault Secrets User"
    description: str
    builtin: bool
    actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return "built-in" if self.builtin else "custom"


@dataclass(frozen=True)
class RoleAssignment:
    id: str
    name: str
    scope: str
    role_guid: str
    principal_id: str
    principal_type: str | None = None
    created_on: str | None = None  # ISO 8601, as ARM returns properties.createdOn


@dataclass(frozen=True)
class ScopeResource:
    """A resource a role can be scoped to: a Key Vault or a storage account."""

    id: str
    name: str
    type: str
    resource_group: str
    location: str
    rbac_enabled: bool | None = None  # Key Vaults only: False means access-policy mode

    @property
    def is_vault(self) -> bool:
        return self.type.lower() == ARM_TYPE_VAULT.lower()


@dataclass(frozen=True)
class Permission:
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str | None = None
    secret_ref: str | None = None

    def shown(self) -> str:
        """How the value may be displayed: secret values are never shown, only the secret's name."""
        if self.secret_ref:
            return f"(secret: {self.secret_ref})"
        return self.value if self.value is not None else ""


@dataclass(frozen=True)
class LinkedIdentity:
    """A user-assigned identity as the app holds it: the principal and client IDs it had when it was linked."""

    id: str
    principal_id: str | None
    client_id: str | None

    def holds(self, identity: Identity) -> bool:
        """Whether this entry is `identity` as it is now. An identity deleted and re-created under the same
        name keeps its resource id but gets a new principal; the app keeps the old one (Azure does not refresh
        it: Azure/aad-pod-identity#725 for VM scale sets), so that entry signs in as nobody."""
        if self.principal_id:
            return self.principal_id.lower() == identity.principal_id.lower()
        if self.client_id:
            return self.client_id.lower() == identity.client_id.lower()
        return False


@dataclass
class ContainerApp:
    id: str
    name: str
    resource_group: str
    subscription: str
    location: str
    environment_id: str
    revision_mode: str
    latest_revision: str | None
    provisioning_state: str
    identity_type: str  # "None" | "SystemAssigned" | "UserAssigned" | "SystemAssigned,UserAssigned"
    system_principal_id: str | None
    user_identities: tuple[LinkedIdentity, ...]
    containers: list[dict[str, Any]]  # ARM wire form, untouched
    # The rest of the app as ARM returned it (never with secret values: a GET has none), so an
    # export can declare the whole app, not only the parts apply touches.
    template: dict[str, Any] = field(default_factory=dict)
    configuration: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    workload_profile: str | None = None
    # The whole app as ARM returned it (no secret values: a GET has none): what the Bicep export
    # declares, so fields no other field here names (kind, extendedLocation, ...) are kept.
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def environment_name(self) -> str:
        return self.environment_id.rstrip("/").rsplit("/", 1)[-1] if self.environment_id else ""

    @property
    def container_names(self) -> list[str]:
        return [str(c.get("name", "")) for c in self.containers]

    def container(self, name: str) -> dict[str, Any] | None:
        for c in self.containers:
            if c.get("name") == name:
                return c
        return None

    def env(self, container: str) -> list[EnvVar]:
        """The container's variables in order, repeats included (an `env` of null is none)."""
        found = self.container(container) or {}
        return [EnvVar(str(e.get("name", "")), e.get("value"), e.get("secretRef")) for e in found.get("env") or []]

    def env_var(self, container: str, name: str) -> EnvVar | None:
        """The entry the container runs with: a name listed twice takes the last entry ("If multiple
        environment variables have the same name, the last one in the list is used", Microsoft Learn,
        Azure Container Apps: Manage environment variables)."""
        found = [e for e in self.env(container) if e.name == name]
        return found[-1] if found else None

    def named_identities(self) -> dict[str, str]:
        """Lower-cased ids of the user-assigned identities the configuration names (a registry's or a Key
        Vault secret's `identity`), each with what names it, e.g. `registry contoso.azurecr.io`."""
        named: dict[str, str] = {}
        for registry in self.configuration.get("registries") or []:
            ref = str((registry or {}).get("identity") or "")
            if ref and ref.lower() != "system":
                named.setdefault(ref.lower(), f"registry {registry.get('server') or '(unnamed)'}")
        for secret in self.configuration.get("secrets") or []:
            ref = str((secret or {}).get("identity") or "")
            if ref and ref.lower() != "system":
                named.setdefault(ref.lower(), f"secret {secret.get('name') or '(unnamed)'}")
        return named

    def linked(self, identity_id: str) -> LinkedIdentity | None:
        for linked in self.user_identities:
            if linked.id.lower() == identity_id.lower():
                return linked
        return None

    def containers_copy(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.containers)


@dataclass(frozen=True)
class Revision:
    name: str
    active: bool
    created: str
    containers: tuple[dict[str, Any], ...]

    def env_value(self, container: str, name: str) -> str | None:
        """The plain value a revision gives a variable (None when unset or taken from a secret)."""
        for c in self.containers:
            if c.get("name") == container:
                for e in c.get("env") or []:
                    if e.get("name") == name:
                        return e.get("value")
        return None


@dataclass(frozen=True)
class SignedIn:
    tenant_id: str
    object_id: str
    account: str  # a UPN or an app id: whatever the token says


def resource_group_of(resource_id: str) -> str:
    parts = resource_id.split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == "resourcegroups":
            return parts[i + 1]
    return ""


def subscription_of(resource_id: str) -> str:
    parts = resource_id.split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == "subscriptions":
            return parts[i + 1]
    return ""
