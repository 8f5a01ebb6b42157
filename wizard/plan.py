"""The plan: what the admin chose, as a file (`plan.toml`) that the wizard, the CLI and CI
pipelines all read and write. Validation here runs before any network call.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import rules
from .rules import RuleError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DEFAULT_ENV_VAR = "AZURE_CLIENT_ID"


@dataclass
class RoleRequest:
    role: str  # a role name ("Key Vault Secrets User") or its GUID
    scope: str | None = None  # None: the identity's resource group

    def label(self) -> str:
        return f"{self.role}@{self.scope}" if self.scope else self.role


@dataclass
class IdentitySpec:
    resource_group: str
    name: str
    location: str | None = None  # None: the resource group's location
    tags: dict[str, str] = field(default_factory=dict)

    def resource_id(self, subscription: str) -> str:
        return (
            f"/subscriptions/{subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{self.name}"
        )


@dataclass
class AppTarget:
    id: str
    container: str | None = None  # None: the app's only container
    env_var: str = DEFAULT_ENV_VAR


@dataclass
class Plan:
    subscription: str
    identity: IdentitySpec
    role_assignments: list[RoleRequest] = field(default_factory=list)
    container_app: AppTarget | None = None

    @property
    def identity_id(self) -> str:
        return self.identity.resource_id(self.subscription)

    def group_scope(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.identity.resource_group}"

    def scope_of(self, request: RoleRequest) -> str:
        return request.scope or self.group_scope()

    # -- validation -----------------------------------------------------------------------------
    def problems(self) -> list[RuleError]:
        """Every rule the plan breaks, each naming its field. Empty means the plan may go to Azure."""
        found: list[RuleError] = []

        def check(fn: Any, *args: Any, **kwargs: Any) -> None:
            try:
                fn(*args, **kwargs)
            except RuleError as err:
                found.append(err)

        check(rules.subscription_id, self.subscription)
        check(rules.resource_group_name, self.identity.resource_group, field="identity.resource_group")
        check(rules.identity_name, self.identity.name, field="identity.name")
        if self.identity.location is not None:
            check(rules.location, self.identity.location, field="identity.location")
        check(rules.tags, self.identity.tags, field="identity.tags")
        for i, request in enumerate(self.role_assignments):
            if not request.role.strip():
                found.append(RuleError(f"role_assignments[{i}].role", "the role is empty: give a role name or GUID"))
            if request.scope is not None:
                check(rules.scope, request.scope, field=f"role_assignments[{i}].scope")
                if not _in_subscription(request.scope, self.subscription):
                    found.append(
                        RuleError(
                            f"role_assignments[{i}].scope",
                            f"'{request.scope}' is not in subscription {self.subscription}: scopes must lie in the "
                            "plan's subscription",
                        )
                    )
        seen: set[tuple[str, str]] = set()
        for i, request in enumerate(self.role_assignments):
            key = (request.role.strip().lower(), self.scope_of(request).lower())
            if key in seen:
                found.append(RuleError(f"role_assignments[{i}]", f"'{request.label()}' is listed twice"))
            seen.add(key)
        if self.container_app is not None:
            app = self.container_app
            check(rules.resource_id, app.id, field="container_app.id", expected_type="Microsoft.App/containerApps")
            if app.container is not None:
                check(rules.container_name, app.container, field="container_app.container")
            check(rules.env_var_name, app.env_var, field="container_app.env_var")
        return found

    # -- the file -------------------------------------------------------------------------------
    def to_toml(self) -> str:
        lines = [f"subscription = {_q(self.subscription)}", "", "[identity]"]
        lines.append(f"resource_group = {_q(self.identity.resource_group)}")
        lines.append(f"name = {_q(self.identity.name)}")
        if self.identity.location:
            lines.append(f"location = {_q(self.identity.location)}")
        if self.identity.tags:
            inner = ", ".join(f"{_key(k)} = {_q(v)}" for k, v in self.identity.tags.items())
            lines.append(f"tags = {{ {inner} }}")
        for request in self.role_assignments:
            lines += ["", "[[role_assignments]]", f"role = {_q(request.role)}"]
            if request.scope:
                lines.append(f"scope = {_q(request.scope)}")
        if self.container_app is not None:
            lines += ["", "[container_app]", f"id = {_q(self.container_app.id)}"]
            if self.container_app.container:
                lines.append(f"container = {_q(self.container_app.container)}")
            if self.container_app.env_var != DEFAULT_ENV_VAR:
                lines.append(f"env_var = {_q(self.container_app.env_var)}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str, source: str = "plan") -> Plan:
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RuleError(source, f"is not valid TOML: {exc}") from exc
        return cls.from_dict(doc)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Plan:
        identity = _table(doc, "identity")
        subscription = _text(doc, "subscription", "subscription")
        tags = identity.get("tags", {})
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            raise RuleError("identity.tags", 'must be a table of text values, e.g. tags = { owner = "data" }')
        requests = []
        raw_roles = doc.get("role_assignments", [])
        if not isinstance(raw_roles, list):
            raise RuleError("role_assignments", "must be an array of tables ([[role_assignments]])")
        for i, raw in enumerate(raw_roles):
            if not isinstance(raw, dict):
                raise RuleError(f"role_assignments[{i}]", "must be a table with role and optional scope")
            scope = raw.get("scope")
            requests.append(
                RoleRequest(
                    role=_text(raw, "role", f"role_assignments[{i}].role"),
                    scope=str(scope) if scope else None,
                )
            )
        app = None
        if "container_app" in doc:
            raw_app = _table(doc, "container_app")
            app = AppTarget(
                id=_text(raw_app, "id", "container_app.id"),
                container=str(raw_app["container"]) if raw_app.get("container") else None,
                env_var=str(raw_app.get("env_var") or DEFAULT_ENV_VAR),
            )
        unknown = set(doc) - {"subscription", "identity", "role_assignments", "container_app"}
        if unknown:
            raise RuleError(", ".join(sorted(unknown)), "is not a plan field")
        return cls(
            subscription=subscription,
            identity=IdentitySpec(
                resource_group=_text(identity, "resource_group", "identity.resource_group"),
                name=_text(identity, "name", "identity.name"),
                location=rules.normalize_location(str(identity["location"])) if identity.get("location") else None,
                tags={str(k): str(v) for k, v in tags.items()},
            ),
            role_assignments=requests,
            container_app=app,
        )

    @classmethod
    def load(cls, path: Path) -> Plan:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RuleError(str(path), f"cannot be read: {exc.strerror}") from exc
        return cls.from_toml(text, source=str(path))

    def save(self, path: Path) -> None:
        path.write_text(self.to_toml(), encoding="utf-8")


def _in_subscription(scope: str, subscription: str) -> bool:
    return scope.lower().startswith(f"/subscriptions/{subscription.lower()}")


def _table(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    if not isinstance(value, dict):
        raise RuleError(key, f"is missing: the plan needs a [{key}] table")
    return value


def _text(doc: dict[str, Any], key: str, field_name: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RuleError(field_name, "is missing or empty")
    return value.strip()


def _q(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c >= " " else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def _key(name: str) -> str:
    bare = name.replace("-", "").replace("_", "")
    return name if name and bare.isascii() and bare.isalnum() else _q(name)
