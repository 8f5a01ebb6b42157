"""The container app's one merge-patch body that undoes a run, built from the app as Azure holds it
now (Container Apps have no ETag: never PUT a read app; PATCH with lists replaced whole), as apply's
own body is (wizard/app_write.py)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from ..app_write import fresh_revision_suffix, identity_block
from .arm import last_index


def revert_body(
    raw: dict[str, Any], env: dict[str, Any] | None, unlink: str | None, drop: Iterable[str] = ()
) -> dict[str, Any]:
    """The merge-patch body that restores the variable (`env`: container, env_var, previous) and
    unlinks `unlink` (with `drop`, linked identities that no longer exist), built from the app as Azure
    holds it now: every other container, variable and identity goes back unchanged. A pinned
    revisionSuffix gets a fresh one, as apply does."""
    body: dict[str, Any] = {}
    if unlink:
        # apply's own block: the whole remaining set plus a null for ours, right whether ARM merges the map or not
        block = identity_block(raw.get("identity") or {}, None, [unlink, *drop])
        if block is not None:
            body["identity"] = block
    if env:
        template = (raw.get("properties") or {}).get("template") or {}
        containers = copy.deepcopy(template.get("containers") or [])
        for entry in containers:
            if entry.get("name") != env["container"]:
                continue
            variables = entry.get("env") or []
            index = last_index(variables, env["env_var"])
            if index is None:
                continue
            if env["previous"] is None:
                del variables[index]
            else:
                variables[index] = dict(env["previous"])
            body.setdefault("properties", {})["template"] = {"containers": containers}
        suffix = fresh_revision_suffix(template)
        if "properties" in body and suffix:
            body["properties"]["template"]["revisionSuffix"] = suffix
    return body
