"""Copy Microsoft's REST API examples that the sandbox's shape tests compare against into
tests/data/azure-specs/, so the tests run (and never skip) on a clean clone in CI.

Source: shared/azure-specs/specification/ beside the checkout: files copied from the public
repository Azure/azure-rest-api-specs (MIT licence), whose paths and commits
shared/azure-specs/SOURCES.md lists. The example files are JSON data; they are copied byte for
byte under the same repository-relative paths, and nothing else is taken.

    python tools/vendor_spec_examples.py [--shared PATH]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "tests" / "data" / "azure-specs"
# The example folders of the api-versions the SDKs installed here send (see SOURCES.md).
FOLDERS = (
    "app/resource-manager/Microsoft.App/ContainerApps/stable/2026-07-01/examples",
    "msi/resource-manager/Microsoft.ManagedIdentity/ManagedIdentity/stable/2024-11-30/examples",
    "authorization/resource-manager/Microsoft.Authorization/Authorization/stable/2022-04-01/examples",
    "resources/resource-manager/Microsoft.Resources/resources/stable/2025-04-01/examples",
    "resources/resource-manager/Microsoft.Resources/subscriptions/stable/2022-12-01/examples",
)
NOTE = """# Azure REST API examples (test data)

Copied byte for byte by `tools/vendor_spec_examples.py` from `shared/azure-specs/specification/`,
which holds files of the public repository Azure/azure-rest-api-specs (MIT licence) at the paths
and commits listed in its SOURCES.md. Paths below mirror the repository's. The sandbox's shape
tests compare its answers with these; rerun the tool when the SDKs move to other api-versions.
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared", help="the shared/ folder")
    args = parser.parse_args()
    source = args.shared / "azure-specs" / "specification"
    if TARGET.exists():
        shutil.rmtree(TARGET)
    count = 0
    for folder in FOLDERS:
        for path in sorted((source / folder).glob("*.json")):
            dest = TARGET / folder / path.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            count += 1
    (TARGET / "README.md").write_text(NOTE, encoding="utf-8")
    print(f"copied {count} example files to {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
