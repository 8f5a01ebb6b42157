"""The plan: what the admin chose, as a file (`plan.toml`) that the wizard, the CLI and CI
pipelines all read and write. Validation here runs before any network call.

The file is a contract, read strictly: every table and key must be known (an unknown one is an
error that suggests the nearest valid key), every value must have its exact type, and a string
that is required or given must not be empty (`location = ""` is an error, not "the group's
location": leave the key out for that). Ids and scopes are held in their normal form
(`wizard.azure.ids`). Files are written with tomli-w and read with tomllib.
"""

from __future__ import annotations

import datetime
import difflib
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from . import rules
from .azure import ids
from .rules import RuleError
from .text import for_terminal

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DEFAULT_ENV_VAR = "AZURE_CLIENT_ID"
# A plan is a few hundred bytes; anything past this is the wrong file (or /dev/zero).
MAX_PLAN_BYTES = 1024 * 1024

# Every table and the keys it takes: the whole schema of plan.toml.
SCHEMA: dict[str, tuple[str, ...]] = {
    "": ("subscription", "identity", "role_assignments", "container_app"),
    "identity": ("resource_group", "name", "location", "tags"),
    "role_assignments": ("role", "scope"),
    "container_app": ("id", "container", "env_var"),
}


def _normal(value: str | None) -> str | None:
    """An id's normal form when it parses; otherwise the value as given, for `problems()` to report."""
    if value is None:
        return None
    try:
        return ids.normalize(value)
    except ids.InvalidId:
        return value


@dataclass
class RoleRequest:
    role: str  # a role name ("Key Vault Secrets User") or its role definition GUID
    scope: str | None = None  # None: the identity's resource group; else held in normal form

    def __post_init__(self) -> None:
        self.scope = _normal(self.scope)

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
    id: str  # held in normal form
    container: str | None = None  # None: the app's only container
    env_var: str = DEFAULT_ENV_VAR

    def __post_init__(self) -> None:
        self.id = _normal(self.id) or self.id


@dataclass
class Plan:
    subscription: str  # held in lower case when it is a GUID
    identity: IdentitySpec
    role_assignments: list[RoleRequest] = field(default_factory=list)
    container_app: AppTarget | None = None

    def __post_init__(self) -> None:
        try:
            rules.subscription_id(self.subscription)
        except RuleError:
            return  # problems() reports it
        self.subscription = self.subscription.lower()

    @property
    def identity_id(self) -> str:
        return self.identity.resource_id(self.subscription)

    def group_scope(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.identity.resource_group}"

    def scope_of(self, request: RoleRequest) -> str:
        """Where a request assigns its role, in normal form: its scope, or the identity's group."""
        return request.scope or self.group_scope()

    # -- validation -----------------------------------------------------------------------------
    def problems(self) -> list[RuleError]:
        """Every rule the plan breaks, each naming its field. Empty means the plan may go to Azure."""
        return self._problems(frozenset())

    def _problems(self, reported: frozenset[str]) -> list[RuleError]:
        """The rule problems of every field not in `reported` (fields the file reader already
        refused, with everything under them)."""
        found: list[RuleError] = []

        def check(field_name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
            """fn's result, or None after recording its RuleError (or when the field was reported)."""
            if any(field_name == r or field_name.startswith((f"{r}.", f"{r}[")) for r in reported):
                return None
            try:
                return fn(*args, field=field_name, **kwargs) or True
            except RuleError as err:
                found.append(err)
                return None

        subscription_ok = check("subscription", rules.subscription_id, self.subscription)
        check("identity.resource_group", rules.resource_group_name, self.identity.resource_group)
        check("identity.name", rules.identity_name, self.identity.name)
        if self.identity.location is not None:
            check("identity.location", rules.location, self.identity.location)
        check("identity.tags", rules.tags, self.identity.tags)
        seen: set[tuple[str, str]] = set()
        for i, request in enumerate(self.role_assignments):
            where = f"role_assignments[{i}]"
            check(f"{where}.role", rules.role_name, request.role)
            if request.scope is not None:
                parsed = check(f"{where}.scope", rules.scope, request.scope)
                if parsed and subscription_ok and parsed.subscription != self.subscription.lower():
                    found.append(
                        RuleError(
                            f"{where}.scope",
                            f"{request.scope!r} is in subscription {parsed.subscription}, not the plan's "
                            f"{self.subscription}: scopes must lie in the plan's subscription",
                        )
                    )
            key = (str(request.role).lower(), str(self.scope_of(request)).lower())
            if key in seen:
                found.append(RuleError(where, f"{request.label()!r} is listed twice"))
            seen.add(key)
        if self.container_app is not None:
            app = self.container_app
            check("container_app.id", rules.resource_id, app.id, expected_type="Microsoft.App/containerApps")
            if app.container is not None:
                check("container_app.container", rules.container_name, app.container)
            check("container_app.env_var", rules.env_var_name, app.env_var)
        return found

    # -- the file -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The plan as plan.toml's tables: optional fields left out when unset."""
        identity: dict[str, Any] = {"resource_group": self.identity.resource_group, "name": self.identity.name}
        if self.identity.location is not None:
            identity["location"] = self.identity.location
        if self.identity.tags:
            identity["tags"] = dict(self.identity.tags)
        doc: dict[str, Any] = {"subscription": self.subscription, "identity": identity}
        if self.role_assignments:
            doc["role_assignments"] = [
                {"role": r.role, **({"scope": r.scope} if r.scope is not None else {})} for r in self.role_assignments
            ]
        if self.container_app is not None:
            app: dict[str, Any] = {"id": self.container_app.id}
            if self.container_app.container is not None:
                app["container"] = self.container_app.container
            if self.container_app.env_var != DEFAULT_ENV_VAR:
                app["env_var"] = self.container_app.env_var
            doc["container_app"] = app
        return doc

    def to_toml(self) -> str:
        """plan.toml's text (tomli-w escapes whatever the strings hold)."""
        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_toml(cls, text: str, source: str = "plan") -> Plan:
        """Read plan.toml's text. Raises RuleError(source, ...) when it is not TOML or nests too
        deeply, and PlanFileError listing every problem when its tables break the schema."""
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RuleError(source, f"is not valid TOML: {for_terminal(str(exc))}") from None
        except RecursionError:
            raise RuleError(source, "nests too deeply to be a plan (arrays or tables inside each other)") from None
        return cls.from_dict(doc, source)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], source: str = "plan") -> Plan:
        """A plan from plan.toml's tables, read strictly (see the module's docstring).

        Raises PlanFileError with every problem at once: the schema's (unknown keys, wrong types,
        empty strings, missing tables) and the rules' for the fields that were well formed. A plan
        returned may still break rules: call `problems()`.
        """
        reader = _Reader()
        reader.keys(doc, "")
        subscription = reader.text(doc, "subscription", "subscription", required=True)
        raw_identity = reader.table(doc, "identity", "identity", required=True) or {}
        reader.keys(raw_identity, "identity")
        identity = IdentitySpec(
            resource_group=reader.text(raw_identity, "resource_group", "identity.resource_group", required=True) or "",
            name=reader.text(raw_identity, "name", "identity.name", required=True) or "",
            location=reader.text(
                raw_identity,
                "location",
                "identity.location",
                hint="leave location out to use the resource group's location, or give a region like 'westeurope'",
            ),
            tags=reader.tags(raw_identity),
        )
        requests = []
        raw_roles = doc.get("role_assignments", [])
        if not isinstance(raw_roles, list):
            reader.problem(
                "role_assignments", f"must be an array of tables ([[role_assignments]]), not {_kind(raw_roles)}"
            )
            raw_roles = []
        for i, raw in enumerate(raw_roles):
            where = f"role_assignments[{i}]"
            if not isinstance(raw, dict):
                reader.problem(where, f"must be a table with role and an optional scope, not {_kind(raw)}")
                continue
            reader.keys(raw, "role_assignments", where)
            requests.append(
                RoleRequest(
                    role=reader.text(raw, "role", f"{where}.role", required=True) or "",
                    scope=reader.text(
                        raw,
                        "scope",
                        f"{where}.scope",
                        hint="leave scope out to assign the role at the identity's resource group",
                    ),
                )
            )
        app = None
        if "container_app" in doc:
            raw_app = reader.table(doc, "container_app", "container_app", required=True)
            if raw_app is not None:
                reader.keys(raw_app, "container_app")
                app = AppTarget(
                    id=reader.text(raw_app, "id", "container_app.id", required=True) or "",
                    container=reader.text(
                        raw_app, "container", "container_app.container", hint="leave container out when the app has one"
                    ),
                    env_var=reader.text(
                        raw_app, "env_var", "container_app.env_var", hint=f"leave env_var out for {DEFAULT_ENV_VAR}"
                    )
                    or DEFAULT_ENV_VAR,
                )
        plan = cls(subscription or "", identity, requests, app)
        if reader.problems:
            raise PlanFileError(source, reader.problems + plan._problems(frozenset(reader.reported)))
        return plan

    @classmethod
    def load(cls, path: Path) -> Plan:
        """Read a plan file. Raises RuleError naming the file when it cannot be read, is a directory,
        is larger than MAX_PLAN_BYTES, is not UTF-8 (a byte order mark is allowed) or not TOML, and
        PlanFileError for the schema's problems (see `from_dict`)."""
        shown = for_terminal(str(path))
        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_PLAN_BYTES + 1)
        except IsADirectoryError:
            raise RuleError(shown, "is a directory, not a plan file") from None
        except OSError as exc:
            raise RuleError(shown, f"cannot be read: {exc.strerror or exc}") from None
        if len(data) > MAX_PLAN_BYTES:
            raise RuleError(shown, f"is larger than {MAX_PLAN_BYTES // 1024} KiB: that is not a plan file")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RuleError(
                shown, f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}): save it as UTF-8"
            ) from None
        return cls.from_toml(text.removeprefix("\ufeff"), source=shown)  # Windows editors add a BOM

    def save(self, path: Path) -> None:
        path.write_text(self.to_toml(), encoding="utf-8")


class PlanFileError(RuleError):
    """A plan file whose tables break the schema. `problems` holds each problem (a RuleError naming
    its field); the message lists them all, one per line."""

    def __init__(self, source: str, problems: list[RuleError]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = str(self.problems[0])
        else:
            message = f"has {len(self.problems)} problems:" + "".join(f"\n    x {p}" for p in self.problems)
        super().__init__(source, message)

    def __reduce__(self) -> Any:
        return (type(self), (self.field, self.problems))


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOML_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),  # before int: a bool is an int in Python
    (str, "text"),
    (int, "integer"),
    (float, "float"),
    (dict, "table"),
    (list, "array"),
    (datetime.datetime, "date-time"),
    (datetime.date, "date"),
    (datetime.time, "time"),
)


def _kind(value: object) -> str:
    """A TOML value's type in TOML's words ("integer", "table", ...)."""
    return next((name for kind, name in _TOML_KINDS if isinstance(value, kind)), type(value).__name__)


def _label(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else repr(key)


class _Reader:
    """Reads plan.toml's tables, collecting every schema problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[RuleError] = []
        self.reported: set[str] = set()

    def problem(self, field_name: str, message: str) -> None:
        self.problems.append(RuleError(field_name, message))
        self.reported.add(field_name)

    def keys(self, table: Mapping[str, Any], schema: str, where: str | None = None) -> None:
        """An error for each key the schema's table does not take, with the nearest valid key."""
        allowed = SCHEMA[schema]
        where = schema if where is None else where
        for key in table:
            if key in allowed:
                continue
            near = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {near[0]!r}?" if near else f"{where or 'the plan'} takes {', '.join(allowed)}"
            self.problem(f"{where}.{_label(key)}" if where else _label(key), f"is not a plan field: {hint}")

    def _get(self, table: Mapping[str, Any], key: str, field_name: str, kind: type, missing: str | None) -> Any:
        """The value at `key` when it is a `kind`; else None, after a problem (when `missing` is
        None, an absent key is fine)."""
        if key not in table:
            if missing is not None:
                self.problem(field_name, f"is missing: {missing}")
            return None
        value = table[key]
        if not isinstance(value, kind):
            wanted = f"a table ([{key}])" if kind is dict else "text (a quoted string)"
            self.problem(field_name, f"must be {wanted}, not {_kind(value)}")
            return None
        return value

    def table(self, doc: Mapping[str, Any], key: str, field_name: str, required: bool) -> dict[str, Any] | None:
        return self._get(doc, key, field_name, dict, f"the plan needs a [{key}] table" if required else None)

    def text(
        self, table: Mapping[str, Any], key: str, field_name: str, *, required: bool = False, hint: str = "give a value"
    ) -> str | None:
        """The string at `key`, exactly as written (never trimmed); None when absent or refused."""
        value = self._get(table, key, field_name, str, f'add {key} = "..."' if required else None)
        if value is None:
            return None
        if not value:
            self.problem(field_name, f"is empty: {hint}")
            return None
        if not value.strip():
            self.problem(field_name, f"is blank: {hint}")
            return None
        return value

    def tags(self, identity: Mapping[str, Any]) -> dict[str, str]:
        raw = identity.get("tags", {})
        if not isinstance(raw, dict):
            self.problem(
                "identity.tags", f'must be a table of text values, e.g. tags = {{ owner = "data" }}, not {_kind(raw)}'
            )
            return {}
        tags: dict[str, str] = {}
        for name, value in raw.items():
            if isinstance(value, str):
                tags[name] = value
            else:  # left out, so that the rules still check the other tags
                self.problems.append(
                    RuleError("identity.tags", f"the value of tag {name!r} must be text, not {_kind(value)}")
                )
        return tags
