"""JSON merge patch (RFC 7386), the semantics of an ARM PATCH: objects merge key by key, null deletes a
key, and anything else, lists included, replaces. Shared by the engine (what a PATCH will make of an
app) and the sandbox (what it makes of one)."""

from __future__ import annotations

import copy
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """`target` with `patch` applied, as a new value (neither argument is changed)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
