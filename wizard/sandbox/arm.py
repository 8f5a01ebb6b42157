"""The ARM conventions every sandbox route shares: errors, routing, request context, paging.

Routes are matched case-insensitively and with our own small router because ARM treats
paths and resource names without regard to case, and aiohttp's router does not.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

if TYPE_CHECKING:
    from .state import Sandbox

API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-(preview|privatepreview|beta|alpha))?$", re.IGNORECASE)
GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
PAGE_SIZE = 100
# The largest page ARM serves when a client asks for one with $top (InvalidTopInQueryString beyond it).
MAX_TOP = 1000
# The deepest nesting a request body may have: Json.NET's default MaxDepth (64), which ARM's readers use.
MAX_JSON_DEPTH = 64


class ArmError(Exception):
    """An error answered the way ARM answers it: a status and `{"error": {"code", "message"}}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        details: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details

    def response(self) -> web.Response:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return web.json_response({"error": error}, status=self.status, headers=self.headers)


def not_found(resource_type: str, name: str, resource_group: str | None = None) -> ArmError:
    where = f" under resource group '{resource_group}'" if resource_group else ""
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_type}/{name}'{where} was not found. For more details please go to "
        "https://aka.ms/ARMResourceNotFoundFix",
    )


def bad_request(code: str, message: str) -> ArmError:
    return ArmError(400, code, message)


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string"}


def expect(value: Any, kind: type, where: str) -> Any:
    """`value` if it has the JSON type the API's schema gives `where`, else the 400 ARM answers
    before the provider sees the request (so no handler trips over a list where it wants an object)."""
    if not isinstance(value, kind):
        raise ArmError(
            400,
            "InvalidRequestContent",
            f"The request content was invalid and could not be deserialized: '{where}' must be {_JSON_TYPES[kind]}.",
        )
    return value


def is_guid(value: str) -> bool:
    return bool(GUID_RE.match(value))


@dataclass
class Ctx:
    """What a route handler gets: the request, the sandbox and a few parsed conveniences."""

    request: web.Request
    sandbox: Sandbox
    caller_oid: str = ""
    _body: Any = field(default=None, repr=False)
    _body_read: bool = False

    @property
    def query(self) -> dict[str, str]:
        # ARM reads query parameter names case-insensitively ($filter, $skipToken, api-version).
        return {k.lower(): v for k, v in self.request.query.items()}

    @property
    def base_url(self) -> str:
        return self.sandbox.base_url

    async def json(self) -> dict[str, Any]:
        if not self._body_read:
            raw = await self.request.read()
            self._body_read = True
            if not raw.strip():
                self._body = {}
            else:
                try:
                    self._body = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
                except RecursionError as exc:
                    raise _too_deep() from exc
                except (ValueError, UnicodeDecodeError) as exc:
                    raise ArmError(
                        400,
                        "InvalidRequestContent",
                        f"The request content was invalid and could not be deserialized: {exc}",
                    ) from exc
            if not isinstance(self._body, dict):
                raise ArmError(400, "InvalidRequestContent", "The request content must be a JSON object.")
            if _depth(self._body) > MAX_JSON_DEPTH:
                raise _too_deep()
        return self._body


def _not_json(constant: str) -> Any:
    # Python's json reads NaN and Infinity; strict JSON, and so ARM, has no such values.
    raise ValueError(f"'{constant}' is not a JSON value")


def _too_deep() -> ArmError:
    return ArmError(
        400,
        "InvalidRequestContent",
        f"The request content was invalid and could not be deserialized: it is nested more than {MAX_JSON_DEPTH} "
        "levels deep.",
    )


def _depth(value: Any) -> int:
    """How deeply objects and arrays nest in `value` (a scalar is 0), counted without recursion."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, level = todo.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level + 1)
        todo.extend((child, level + 1) for child in children)
    return deepest


def _finite(literal: str) -> float:
    # A literal beyond a double (1e400) reads as infinity, which would be stored and served as `Infinity`.
    number = float(literal)
    if not math.isfinite(number):
        raise ValueError(f"the number {literal} is out of range")
    return number


Handler = Callable[..., Awaitable[web.StreamResponse]]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    name: str
    public: bool = False  # served without a bearer token or api-version (token and metadata endpoints)


class Router:
    """Path templates like `/subscriptions/{sub}/resourceGroups/{rg}`, matched ignoring case."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        # Tried after every other route: the generic `/providers/{namespace}/{type}/{name}` reads.
        self.fallbacks: list[Route] = []

    def route(
        self, method: str, template: str, public: bool = False, fallback: bool = False
    ) -> Callable[[Handler], Handler]:
        # `{name}` is one path segment; `{name*}` is any number of them (an ARM scope, possibly empty).
        regex = re.sub(r"\{(\w+)\*\}", r"(?P<\1>(?:/[^/]+)*?)", template.rstrip("/"))
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
        pattern = re.compile(f"^{regex}/?$", re.IGNORECASE)

        def register(handler: Handler) -> Handler:
            table = self.fallbacks if fallback else self.routes
            table.append(Route(method.upper(), pattern, handler, handler.__name__, public))
            return handler

        return register

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed: list[str] = []
        for route in (*self.routes, *self.fallbacks):
            m = route.pattern.match(path)
            if not m:
                continue
            if route.method == method.upper():
                return route, m.groupdict()
            allowed.append(route.method)
        if allowed:
            raise ArmError(
                405,
                "HttpMethodNotAllowed",
                f"The requested HTTP method '{method}' is not supported for '{path}'. "
                f"Allowed: {', '.join(sorted(set(allowed)))}.",
            )
        raise ArmError(
            404,
            "NoRegisteredProviderFound",
            f"No registered resource provider found for the path '{path}'.",
        )


ROUTER = Router()


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers or {})


def _whole_number(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also takes '²' and '٣', which `int()` refuses or reads as 3."""
    return text.isascii() and text.isdigit()


def page_size(ctx: Ctx, default: int = PAGE_SIZE) -> int:
    """Items a page holds: the client's `$top` when it gives one (ARM's `$top` is a page size, not a limit:
    `nextLink` still comes while items remain), else `default`. A `$top` that is not a whole number from 1
    to MAX_TOP is ARM's 400 InvalidTopInQueryString."""
    top = ctx.query.get("$top", "")
    if not top:
        return default
    if not _whole_number(top) or not 1 <= int(top) <= MAX_TOP:
        raise bad_request(
            "InvalidTopInQueryString",
            f"The value '{top}' of query parameter '$top' is invalid. Top value must be positive integer less than "
            f"or equal to {MAX_TOP}.",
        )
    return int(top)


def page(ctx: Ctx, items: Iterable[dict[str, Any]], default_size: int = PAGE_SIZE) -> web.Response:
    """One page of a list, with `nextLink` carrying the rest (and the client's `$top`) while items remain."""
    size = page_size(ctx, default_size)
    everything = list(items)
    # The sandbox's skip tokens are the positions it hands out in `nextLink`: anything else is refused.
    token = ctx.query.get("$skiptoken", "") or "0"
    if not _whole_number(token):
        raise bad_request("InvalidSkipToken", f"The $skiptoken '{token}' is not valid.")
    start = int(token)
    chunk = everything[start : start + size]
    body: dict[str, Any] = {"value": chunk}
    if start + size < len(everything):
        params = {k: v for k, v in ctx.request.query.items() if k.lower() != "$skiptoken"}
        params["$skiptoken"] = str(start + size)
        body["nextLink"] = f"{ctx.base_url}{ctx.request.path}?{urlencode(params)}"
    return json_response(body)


def new_guid() -> str:
    return str(uuid.uuid4())


def split_id(resource_id: str) -> dict[str, str]:
    """Key parts of an ARM id, keys lower-cased: subscriptions, resourcegroups, providers, and name/type."""
    parts = [p for p in resource_id.split("/") if p]
    out: dict[str, str] = {}
    i = 0
    while i + 1 < len(parts):
        key = parts[i].lower()
        if key == "providers" and i + 3 < len(parts) + 1 and i + 2 < len(parts):
            out["namespace"] = parts[i + 1]
            out["type"] = parts[i + 2]
            if i + 3 < len(parts):
                out["name"] = parts[i + 3]
            i += 4
            continue
        out[key] = parts[i + 1]
        i += 2
    return out
