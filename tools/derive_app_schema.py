"""Regenerate wizard/export/data/containerapp-<api-version>.json from Microsoft's REST spec.

Source: shared/azure-specs/specification/app/resource-manager/Microsoft.App/ContainerApps/stable/
<api-version>/openapi.json (Azure/azure-rest-api-specs, see shared/azure-specs/SOURCES.md) and the
common-types it references. Kept: for each field of a Container App, whether a template may declare
it. A field is left out when the spec marks it `readOnly` or its `x-ms-mutability` has no "create"
(Azure fills it in; a deployment cannot set it). The Bicep export declares an app with only the
fields kept here, so nothing it declares is unknown to, or refused by, that API version.

Tree form: {"fields": {name: node}} for an object with named fields, {"map": node} for an object
whose keys are data (e.g. tags), {"items": node} for an array, {} for a value.

    python tools/derive_app_schema.py ../shared/azure-specs 2026-07-01
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent.parent / "wizard" / "export" / "data"
SPEC = "specification/app/resource-manager/Microsoft.App/ContainerApps/stable/{version}/openapi.json"


class Specs:
    def __init__(self) -> None:
        self.files: dict[Path, dict[str, Any]] = {}

    def load(self, path: Path) -> dict[str, Any]:
        path = path.resolve()
        if path not in self.files:
            self.files[path] = json.loads(path.read_text(encoding="utf-8"))
        return self.files[path]

    def resolve(self, ref: str, base: Path) -> tuple[dict[str, Any], Path]:
        file_part, _, pointer = ref.partition("#")
        path = (base.parent / file_part).resolve() if file_part else base
        node: Any = self.load(path)
        for part in pointer.strip("/").split("/"):
            node = node[part]
        return node, path


def writable(schema: dict[str, Any]) -> bool:
    if schema.get("readOnly"):
        return False
    mutability = schema.get("x-ms-mutability")
    return mutability is None or "create" in mutability


def tree(specs: Specs, schema: dict[str, Any], base: Path, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """The writable shape of `schema` (its own readOnly is judged by the caller)."""
    if "$ref" in schema:
        ref = schema["$ref"]
        key = f"{base}#{ref}"
        if key in seen:  # a recursive type: accept its value as it is
            return {}
        target, path = specs.resolve(ref, base)
        return tree(specs, {**target, **{k: v for k, v in schema.items() if k != "$ref"}}, path, (*seen, key))
    fields: dict[str, Any] = {}
    named = "properties" in schema  # an object with named fields, even if none of them is writable
    for part in schema.get("allOf") or []:
        inherited = tree(specs, part, base, seen)
        named = named or "fields" in inherited
        fields.update(inherited.get("fields", {}))
    for name, sub in (schema.get("properties") or {}).items():
        resolved = sub
        if "$ref" in sub:
            resolved = {**specs.resolve(sub["$ref"], base)[0], **sub}
        if writable(sub) and writable(resolved):
            fields[name] = tree(specs, sub, base, seen)
    if named:
        return {"fields": fields}
    if schema.get("type") == "array" and "items" in schema:
        return {"items": tree(specs, schema["items"], base, seen)}
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        return {"map": tree(specs, extra, base, seen)}
    return {}


def derive(root: Path, version: str) -> dict[str, Any]:
    spec_path = root / SPEC.format(version=version)
    specs = Specs()
    return tree(specs, {"$ref": "#/definitions/ContainerApp"}, spec_path.resolve())


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    root, version = Path(argv[1]), argv[2]
    shape = derive(root, version)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / f"containerapp-{version}.json"
    out.write_text(json.dumps(shape, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
