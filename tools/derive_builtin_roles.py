"""Regenerate wizard/sandbox/data/builtin_roles.json.gz from the shared list of built-in roles.

Source: shared/azure-specs/builtin-role-definitions.json (see shared/azure-specs/SOURCES.md:
GitHub easimon/azure-builtin-roles, MIT, `az role definition list` form). Only the fields
the sandbox serves are kept; ARM's wire shape is built from them at run time.

    python tools/derive_builtin_roles.py ../shared/azure-specs/builtin-role-definitions.json
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "wizard" / "sandbox" / "data" / "builtin_roles.json.gz"


def derive(source: Path) -> list[dict[str, object]]:
    roles = json.loads(source.read_text(encoding="utf-8"))
    kept = []
    for role in roles:
        kept.append(
            {
                "name": role["name"],
                "roleName": role["roleName"],
                "description": role.get("description") or "",
                "permissions": [
                    {k: p.get(k) or [] for k in ("actions", "notActions", "dataActions", "notDataActions")}
                    for p in role.get("permissions") or []
                ],
                "createdOn": role.get("createdOn"),
                "updatedOn": role.get("updatedOn"),
            }
        )
    kept.sort(key=lambda r: str(r["roleName"]).lower())
    return kept


def main() -> None:
    source = Path(sys.argv[1])
    data = json.dumps(derive(source), separators=(",", ":"), sort_keys=True).encode()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 keeps the file byte-identical across regenerations.
    with gzip.GzipFile(OUT, "wb", mtime=0) as fh:
        fh.write(data)
    print(f"{OUT}: {len(data)} bytes of JSON")


if __name__ == "__main__":
    main()
