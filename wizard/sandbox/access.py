"""Reads are authorized too, as ARM authorizes them before a provider sees the request: a GET of one
resource needs the type's read action at the resource (`Microsoft.App/containerApps/read`); a list needs
it at the list's scope, or shows only the items the caller may read when its roles lie below that scope
(as ARM filters a page after the fact, so a page may come back short or empty with a `nextLink`); a
principal with no role at or under a scope gets 403 AuthorizationFailed there.

The permission rule itself is `authorize()` in providers/authorization.py (and `wizard.rbac.allowed`);
this module only decides which action a read needs where, and reads the caller's assignments once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ..rbac import allowed
from .arm import Ctx
from .providers.authorization import assignments_of, authorize, builtin_roles, find_role

GROUPS_READ = "Microsoft.Resources/subscriptions/resourceGroups/read"
# Types whose reads ARM serves to any signed-in caller: one's own permissions, operation lists, and the
# status of a long-running operation (polled at the subscription's scope by whoever started it).
_UNCHECKED_TYPES = {"microsoft.authorization/permissions", "microsoft.authorization/provideroperations"}
_UNCHECKED_SEGMENTS = {"operations", "locations"}


def _covers(outer: str, inner: str) -> bool:
    o, i = outer.rstrip("/").lower(), inner.rstrip("/").lower()
    return o == "" or i == o or i.startswith(o + "/")


@dataclass
class Grants:
    """The caller's role assignments as (scope, permission blocks), read once for a request."""

    held: list[tuple[str, list[dict[str, list[str]]]]]

    @classmethod
    def of(cls, ctx: Ctx, within: str = "") -> Grants:
        """The caller's assignments that bear on scopes at or under `within` ("" for all of them)."""
        store = ctx.sandbox.store
        held = []
        for assignment in assignments_of(store, ctx.caller_oid or store.caller["object_id"]):
            props = assignment["properties"]
            if not (_covers(props["scope"], within) or _covers(within, props["scope"])):
                continue
            guid = props["roleDefinitionId"].rsplit("/", 1)[-1]
            builtin = builtin_roles().get(guid.lower())  # most roles: read directly, no wire form built
            if builtin is not None:
                permissions = builtin["permissions"]
            else:
                custom = find_role(store, guid)
                permissions = custom["properties"]["permissions"] if custom else []
            if permissions:
                held.append((props["scope"], permissions))
        return cls(held)

    def can(self, scope: str, action: str) -> bool:
        """Whether a role held at `scope` or above allows `action` (actions minus notActions)."""
        blocks = [b for s, perms in self.held if _covers(s, scope) for b in perms]
        return allowed(((b.get("actions", []), b.get("notActions", [])) for b in blocks), action)

    def sees(self, scope: str) -> bool:
        """Whether the caller holds any role at, above or below `scope` (what makes a subscription listed)."""
        return any(_covers(s, scope) or _covers(scope, s) for s, _ in self.held)


def read_action(resource_type: str) -> str:
    """The action that reads a resource of `resource_type` (a group's is under subscriptions/)."""
    if resource_type.lower() == "microsoft.resources/resourcegroups":
        return GROUPS_READ
    return f"{resource_type}/read"


@dataclass
class ReadCheck:
    """What one GET needs: `action` at `scope`; `listing` when the answer is a list to filter by item."""

    scope: str
    action: str
    listing: bool


def _provider_read(path: str) -> ReadCheck | None:
    head, _, tail = path.rpartition("/providers/")
    parts = [p for p in tail.split("/") if p]
    if len(parts) < 2:
        return None
    namespace, segments = parts[0], parts[1:]
    types = segments[0::2]
    if f"{namespace}/{types[0]}".lower() in _UNCHECKED_TYPES or types[0].lower() in _UNCHECKED_SEGMENTS:
        return None
    action = "/".join([namespace, *types, "read"])
    if len(segments) % 2 == 0:
        return ReadCheck(path, action, listing=False)
    parent = head if len(segments) == 1 else f"{head}/providers/{namespace}/{'/'.join(segments[:-1])}"
    return ReadCheck(parent, action, listing=True)


def read_check(path: str) -> ReadCheck | None:
    """The read a GET of `path` (under an existing subscription) needs, or None when seeing the
    subscription is enough (its locations and providers)."""
    sub = re.match(r"^/subscriptions/[^/]+", path, re.IGNORECASE)
    assert sub is not None
    rest = path[sub.end() :].rstrip("/")
    if "/providers/" in path and not re.fullmatch(r"/providers(/[^/]+)?", rest, re.IGNORECASE):
        return _provider_read(path)
    if rest.lower() == "/resourcegroups":
        return ReadCheck(sub.group(0), GROUPS_READ, listing=True)
    if re.fullmatch(r"(/resourcegroups/[^/]+)?/resources", rest, re.IGNORECASE):
        scope = path[: -len("/resources")]
        level = "resourceGroups/resources" if "/" in rest[1:-len("/resources")] else "resources"
        return ReadCheck(scope, f"Microsoft.Resources/subscriptions/{level}/read", listing=True)
    group = re.fullmatch(r"/resourcegroups/[^/]+", rest, re.IGNORECASE)
    if group:
        return ReadCheck(path, GROUPS_READ, listing=False)
    return None


def authorize_read(ctx: Ctx, path: str) -> Callable[[web.StreamResponse], web.StreamResponse] | None:
    """Refuse a read the caller may not make (403 AuthorizationFailed naming the action and scope), and
    return a filter for a list of which it may see only some items (None when it may see all)."""
    sub = re.match(r"^/subscriptions/[^/]+", path, re.IGNORECASE)
    grants = Grants.of(ctx, sub.group(0) if sub else "")
    if sub is None:
        if path.rstrip("/").lower() == "/subscriptions":
            return _filter(lambda item: grants.sees(str(item.get("id", ""))))
        return None
    check = read_check(path)
    if check is None or grants.can(check.scope, check.action):
        if not grants.sees(sub.group(0)):
            authorize(ctx, sub.group(0), "Microsoft.Resources/subscriptions/read")
        return None
    if not check.listing or not grants.sees(check.scope):
        authorize(ctx, check.scope, check.action)  # raises: the caller may not read here
        return None
    return _filter(lambda item: grants.can(str(item.get("id", "")), read_action(str(item.get("type", "")))))


def _filter(keep: Callable[[dict[str, Any]], bool]) -> Callable[[web.StreamResponse], web.StreamResponse]:
    def apply(response: web.StreamResponse) -> web.StreamResponse:
        if not isinstance(response, web.Response) or response.status != 200 or response.body is None:
            return response
        body = json.loads(response.body)  # type: ignore[arg-type]
        if not isinstance(body, dict) or not isinstance(body.get("value"), list):
            return response
        body["value"] = [item for item in body["value"] if not isinstance(item, dict) or keep(item)]
        return web.json_response(body, status=response.status, headers=_plain_headers(response))

    return apply


def _plain_headers(response: web.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower() not in ("content-type", "content-length")}
