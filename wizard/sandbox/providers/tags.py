"""Microsoft.Resources/tags: the Tags API on any scope (a subscription, a resource group, a resource of any
type, Key Vaults and storage accounts included) and the subscription's tag summary (`az tag ...`).

Tag names are keyed without regard to case, as everywhere at ARM (common.merge_tags): merging `Owner`
where `owner` exists replaces that tag's value and keeps its name.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from aiohttp import web

from ..arm import ROUTER, ArmError, Ctx, expect, json_response, page
from .authorization import authorize, resolve_scope
from .common import merge_tags, require_subscription, validate_tags

TAGS = "{scope*}/providers/Microsoft.Resources/tags/default"
TAGS_WRITE = "Microsoft.Resources/tags/write"
OPERATIONS = {"replace": "Replace", "merge": "Merge", "delete": "Delete"}


def _holder(ctx: Ctx, scope: str) -> dict[str, Any]:
    """What carries the tags of `scope`: the subscription, or the group or resource the store holds (the
    404 of a scope that does not exist comes from resolve_scope)."""
    found = resolve_scope(ctx, scope)
    if found.count("/") == 2:
        return require_subscription(ctx, found.rsplit("/", 1)[-1])
    held = ctx.sandbox.store.get(found)
    assert held is not None  # resolve_scope answered 404 otherwise
    return held


def _answer(ctx: Ctx, holder: dict[str, Any]) -> web.Response:
    return json_response(
        {
            "id": f"{holder['id']}/providers/Microsoft.Resources/tags/default",
            "name": "default",
            "type": "Microsoft.Resources/tags",
            "properties": {"tags": dict(holder.get("tags") or {})},
        }
    )


def _written_tags(body: dict[str, Any]) -> dict[str, Any]:
    properties = expect(body.get("properties"), dict, "properties")
    return dict(expect(properties.get("tags") or {}, dict, "properties.tags"))


def _store(ctx: Ctx, holder: dict[str, Any], tags: dict[str, str]) -> web.Response:
    holder["tags"] = tags
    if holder.get("type"):  # a subscription is not kept among the resources
        ctx.sandbox.store.put(holder)
    ctx.sandbox.store.touch()
    return _answer(ctx, holder)


@ROUTER.route("GET", TAGS)
async def get_tags(ctx: Ctx, scope: str) -> web.Response:
    return _answer(ctx, _holder(ctx, scope))


@ROUTER.route("PUT", TAGS)
async def replace_tags(ctx: Ctx, scope: str) -> web.Response:
    """Tags_CreateOrUpdateAtScope: the whole set of tags, replaced."""
    holder = _holder(ctx, scope)
    tags = validate_tags(_written_tags(await ctx.json()))
    authorize(ctx, holder["id"], TAGS_WRITE)
    return _store(ctx, holder, tags)


@ROUTER.route("PATCH", TAGS)
async def update_tags(ctx: Ctx, scope: str) -> web.Response:
    """Tags_UpdateAtScope: `Replace` the set, `Merge` into it, or `Delete` the names given (a tag goes when
    its name matches and the value given is empty or its own)."""
    holder = _holder(ctx, scope)
    body = await ctx.json()
    operation = OPERATIONS.get(str(body.get("operation", "")).lower())
    if operation is None:
        raise ArmError(
            400,
            "InvalidRequestContent",
            f"The tags operation '{body.get('operation')}' is not valid: use Replace, Merge or Delete.",
        )
    written = _written_tags(body)
    authorize(ctx, holder["id"], TAGS_WRITE)
    current = dict(holder.get("tags") or {})
    if operation == "Replace":
        return _store(ctx, holder, validate_tags(written))
    if operation == "Merge":
        return _store(ctx, holder, merge_tags(current, validate_tags(written)))
    doomed = {name.lower(): value for name, value in written.items()}
    kept = {
        name: value
        for name, value in current.items()
        if name.lower() not in doomed or doomed[name.lower()] not in ("", None, value)
    }
    return _store(ctx, holder, kept)


@ROUTER.route("DELETE", TAGS)
async def delete_tags(ctx: Ctx, scope: str) -> web.Response:
    """Tags_DeleteAtScope: every tag of the scope goes."""
    holder = _holder(ctx, scope)
    authorize(ctx, holder["id"], TAGS_WRITE)
    _store(ctx, holder, {})
    return web.Response(status=200)


@ROUTER.route("GET", "/subscriptions/{sub}/tagNames")
async def list_tag_names(ctx: Ctx, sub: str) -> web.Response:
    """Tags_List: each tag name used in the subscription (on it, its groups and its resources), counted
    without regard to case, with its values (exact) and their counts."""
    found = require_subscription(ctx, sub)
    prefix = found["id"].lower() + "/"
    holders = [found, *(r for key, r in ctx.sandbox.store.resources.items() if key.startswith(prefix))]
    spelled: dict[str, str] = {}
    values: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for holder in holders:
        for name, value in (holder.get("tags") or {}).items():
            key = spelled.setdefault(name.lower(), name).lower()
            values[key][value] += 1
    summary = [
        {
            "id": f"{found['id']}/tagNames/{spelled[key]}",
            "tagName": spelled[key],
            "count": {"type": "Total", "value": sum(counts.values())},
            "values": [
                {
                    "id": f"{found['id']}/tagNames/{spelled[key]}/tagValues/{value}",
                    "tagValue": value,
                    "count": {"type": "Total", "value": count},
                }
                for value, count in counts.items()
            ],
        }
        for key, counts in values.items()
    ]
    return page(ctx, summary)
