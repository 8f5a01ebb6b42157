"""Which fields of a container app a template may declare, per API version.

The shape comes from Microsoft's REST spec (wizard/export/data/containerapp-<version>.json, made by
tools/derive_app_schema.py): fields the spec marks read-only or create-less are Azure's to fill in,
and fields the version does not know would be refused or ignored, so neither is declared.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"


@cache
def app_shape(api_version: str) -> dict[str, Any]:
    """The writable shape of Microsoft.App/containerApps at `api_version`.

    Raises FileNotFoundError when no shape was derived for that version.
    """
    return json.loads((DATA / f"containerapp-{api_version}.json").read_text(encoding="utf-8"))


def declarable(value: Any, shape: dict[str, Any]) -> Any:
    """`value` with only the fields `shape` allows, recursively; values the shape does not describe stay."""
    if "fields" in shape:
        if not isinstance(value, dict):
            return value
        fields = shape["fields"]
        return {k: declarable(v, fields[k]) for k, v in value.items() if k in fields}
    if "map" in shape and isinstance(value, dict):
        return {k: declarable(v, shape["map"]) for k, v in value.items()}
    if "items" in shape and isinstance(value, list):
        return [declarable(v, shape["items"]) for v in value]
    return value
