"""Regenerate wizard/sandbox/data/api_versions.json: the api-versions each resource type the sandbox serves
accepts, with the source of every version.

Three kinds of source, merged:

1. Microsoft's REST specs in shared/azure-specs/specification (see shared/azure-specs/SOURCES.md): each
   spec's `info.version`, for every `/providers/{namespace}/{type}` path it defines (paths without a
   provider segment are Resource Manager's own: subscriptions, resource groups, providers, tenants).
2. The azure-mgmt-* packages installed in the interpreter that runs this tool: every `build_*_request`
   function's URL and default api-version (a multi-api package contributes each of its versions).
3. CLIENTS below: what other clients in use today send (the az CLI, the JavaScript SDKs, azure-mgmt-core's
   registration policy, this project's own Bicep) and the lists ARM itself printed in public bug reports,
   each with where it was read.

    python tools/derive_api_versions.py [SPECS_DIR]   # default: shared/azure-specs beside the checkout
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import sys
import sysconfig
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "wizard" / "sandbox" / "data" / "api_versions.json"
ARM = "Microsoft.Resources"  # Resource Manager's own routes: one list for all of them
# The types the sandbox serves; versions of other types are not kept.
SERVED = {
    "Microsoft.App": {"containerApps", "managedEnvironments", "locations", "operations"},
    "Microsoft.ManagedIdentity": {"userAssignedIdentities", "operations"},
    "Microsoft.Authorization": {"roleAssignments", "roleDefinitions", "permissions"},
    "Microsoft.KeyVault": {"vaults"},
    "Microsoft.Storage": {"storageAccounts"},
    ARM: {"*"},
}
APP_TYPES = ("containerApps", "managedEnvironments", "locations", "operations")
ARM_PUBLISHED = ["2024-10-01-preview", "2024-11-01", "2024-08-01", "2024-07-01", "2024-06-01-preview", "2024-03-01", "2023-07-01", "2023-07-01-preview", "2023-03-01-preview", "2022-12-01", "2022-11-01-preview", "2022-09-01", "2022-06-01", "2022-05-01", "2022-03-01-preview", "2022-01-01", "2021-04-01", "2021-01-01", "2020-10-01", "2020-09-01", "2020-08-01", "2020-07-01", "2020-06-01", "2020-05-01", "2020-01-01", "2019-11-01", "2019-10-01", "2019-09-01", "2019-08-01", "2019-07-01", "2019-06-01", "2019-05-10", "2019-05-01", "2019-03-01", "2018-11-01", "2018-09-01", "2018-08-01", "2018-07-01", "2018-06-01", "2018-05-01", "2018-02-01", "2018-01-01", "2017-12-01", "2017-08-01", "2017-06-01", "2017-05-10", "2017-05-01", "2017-03-01", "2016-09-01", "2016-07-01", "2016-06-01", "2016-02-01", "2015-11-01", "2015-01-01", "2014-04-01-preview", "2014-04-01", "2014-01-01", "2013-03-01"]
# (source, namespace, types, versions)
CLIENTS: list[tuple[str, str, tuple[str, ...], list[str]]] = [
    ("az CLI 2.91.0 (azure-cli, PyPI): az containerapp, _clients.py CURRENT_API_VERSION", "Microsoft.App",
     APP_TYPES, ["2025-07-01"]),
    ("az CLI 2.91.0: az identity (profile 'latest', MGMT_MSI)", "Microsoft.ManagedIdentity",
     ("userAssignedIdentities", "operations"), ["2024-11-30"]),
    ("az CLI 2.91.0: az identity create/show/list (aaz module, latest/identity/_create.py)",
     "Microsoft.ManagedIdentity", ("userAssignedIdentities", "operations"), ["2025-05-31-preview"]),
    ("az CLI 2.91.0: az role assignment (pins azure-mgmt-authorization 5.0.0b2)", "Microsoft.Authorization",
     ("roleAssignments",), ["2022-04-01"]),
    ("az CLI 2.91.0: az role definition (pins azure-mgmt-authorization 5.0.0b2)", "Microsoft.Authorization",
     ("roleDefinitions", "permissions"), ["2022-05-01-preview"]),
    ("az CLI 2.91.0: az keyvault (pins azure-mgmt-keyvault 14.0.1)", "Microsoft.KeyVault", ("vaults",),
     ["2026-02-01"]),
    ("az CLI 2.91.0: az storage account (pins azure-mgmt-storage 25.0.0)", "Microsoft.Storage",
     ("storageAccounts",), ["2025-08-01"]),
    ("az CLI 2.91.0: az group, az provider (profile 'latest', MGMT_RESOURCE_RESOURCES)", ARM, ("*",),
     ["2024-11-01"]),
    ("az CLI 2.91.0: az account (profile 'latest', MGMT_RESOURCE_SUBSCRIPTIONS)", ARM, ("*",), ["2022-12-01"]),
    ("@azure/arm-appcontainers 3.0.0 (npm)", "Microsoft.App", APP_TYPES, ["2025-07-01"]),
    ("@azure/arm-msi 2.2.0 (npm)", "Microsoft.ManagedIdentity", ("userAssignedIdentities", "operations"),
     ["2024-11-30"]),
    ("@azure/arm-authorization 9.0.0 (npm)", "Microsoft.Authorization",
     ("roleAssignments", "roleDefinitions", "permissions"), ["2022-04-01"]),
    ("@azure/arm-keyvault 5.0.0 (npm)", "Microsoft.KeyVault", ("vaults",), ["2026-02-01"]),
    ("@azure/arm-storage 20.0.0 (npm)", "Microsoft.Storage", ("storageAccounts",), ["2025-08-01"]),
    ("@azure/arm-resources 7.0.0 (npm)", ARM, ("*",), ["2025-04-01"]),
    ("@azure/arm-resources-subscriptions 2.1.1 (npm)", ARM, ("*",), ["2022-12-01"]),
    ("azure-mgmt-core 1.6.0 ARMAutoResourceProviderRegistrationPolicy (provider register and read)", ARM, ("*",),
     ["2016-02-01"]),
    ("runner-identity wizard/azure/gateway.py", "Microsoft.KeyVault", ("vaults",), ["2023-07-01"]),
    ("runner-identity wizard/azure/gateway.py", "Microsoft.Storage", ("storageAccounts",), ["2023-05-01"]),
    ("runner-identity wizard/export.py (Bicep)", "Microsoft.ManagedIdentity", ("userAssignedIdentities",),
     ["2023-01-31"]),
    ("runner-identity wizard/export.py (Bicep)", "Microsoft.App", ("containerApps",), ["2025-01-01"]),
    ("ARM's InvalidApiVersionParameter list, quoted in GitHub Azure/bicep#17091 (2025-05)", ARM, ("*",),
     ARM_PUBLISHED),
    ("ARM's NoRegisteredProviderFound list for managedEnvironments, quoted in GitHub "
     "Azure/azure-quickstart-templates#14551 (2025-07)", "Microsoft.App", APP_TYPES,
     ["2022-03-01", "2022-06-01-preview", "2022-10-01", "2022-11-01-preview", "2023-04-01-preview", "2023-05-01",
      "2023-05-02-preview", "2023-08-01-preview", "2023-11-02-preview", "2024-02-02-preview", "2024-03-01",
      "2024-08-02-preview", "2024-10-02-preview", "2025-01-01", "2025-02-02-preview"]),
]
_PROVIDER = re.compile(r"/providers/(Microsoft\.[A-Za-z]+)/([A-Za-z]+)")
_BUILDER = re.compile(r"^def build_\w+_request\(.*?(?=^def |^class |\Z)", re.S | re.M)
_URL = re.compile(r'_url = (?:kwargs\.pop\(\s*"template_url",\s*)?"([^"]+)"')
_VERSION = re.compile(r'"api-version", "(\d{4}-\d{2}-\d{2}[a-z-]*)"')


def classify(path: str) -> tuple[str, str] | None:
    """(namespace, type) a URL template addresses: its last literal provider segment, or Resource Manager's
    own routes for a path without one; None for a generic path (`/{resourceId}`)."""
    found = _PROVIDER.findall(path)
    if found:
        return found[-1]
    if re.search(r"/(subscriptions|tenants|resourcegroups|providers|locations)\b", path, re.I):
        return ARM, "*"
    return None


def from_specs(specs: Path) -> list[tuple[str, str, str, str]]:
    found = []
    for spec in sorted((specs / "specification").rglob("*.json")):
        if "examples" in spec.parts or "common-types" in spec.parts:
            continue
        doc = json.loads(spec.read_text(encoding="utf-8"))
        version = doc.get("info", {}).get("version", "")
        label = f"spec {spec.relative_to(specs)}"
        for path in doc.get("paths", {}):
            key = classify(path)
            if key and re.fullmatch(r"\d{4}-\d{2}-\d{2}[a-z-]*", version):
                found.append((label, *key, version))
    return found


def from_installed_sdks() -> list[tuple[str, str, str, str]]:
    site = Path(sysconfig.get_paths()["purelib"]) / "azure" / "mgmt"
    found = []
    for package_dir in sorted(p for p in site.iterdir() if p.is_dir() and p.name != "core"):
        dist = f"azure-mgmt-{package_dir.name}"
        try:
            label = f"{dist} {importlib.metadata.version(dist)} (installed)"
        except importlib.metadata.PackageNotFoundError:
            label = f"{dist} (installed)"
        for module in sorted(package_dir.rglob("operations/_*.py")):
            for builder in _BUILDER.findall(module.read_text(encoding="utf-8")):
                url, version = _URL.search(builder), _VERSION.search(builder)
                key = classify(url.group(1)) if url else None
                if key and version:
                    found.append((label, *key, version.group(1)))
    return found


def from_clients() -> list[tuple[str, str, str, str]]:
    return [(label, ns, t, v) for label, ns, types, versions in CLIENTS for t in types for v in versions]


def newest_first(versions: set[str]) -> list[str]:
    """ARM lists newest first; on one date the stable version before its previews."""
    return sorted(versions, key=lambda v: (v[:10], "-" not in v[10:]), reverse=True)


def derive(specs: Path) -> dict[str, object]:
    sources: dict[str, dict[str, dict[str, set[str]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(set)))
    for label, ns, rtype, version in (*from_specs(specs), *from_installed_sdks(), *from_clients()):
        served = SERVED.get(ns)
        if served is None:
            continue
        if rtype in served:
            sources[ns][rtype][version].add(label)
    # A provider's operations and locations routes accept what its resource types accept.
    for ns, types in sources.items():
        union = {v: set(labels) for t in types.values() for v, labels in t.items()}
        for extra in SERVED[ns] & {"operations", "locations"}:
            for v, labels in union.items():
                types[extra][v] |= labels
    return {
        "about": "api-versions the sandbox accepts per resource type, derived by tools/derive_api_versions.py; "
        "Microsoft.Resources/* is Resource Manager's own routes.",
        "types": {
            f"{ns}/{t}": {v: sorted(sources[ns][t][v]) for v in newest_first(set(sources[ns][t]))}
            for ns in sorted(sources)
            for t in sorted(sources[ns])
        },
    }


def main() -> None:
    beside = [p / "shared" / "azure-specs" for p in (ROOT.parent, ROOT.parent.parent)]
    specs = Path(sys.argv[1]) if len(sys.argv) > 1 else next((p for p in beside if p.is_dir()), beside[0])
    data = derive(specs)
    OUT.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    counts = {k: len(v) for k, v in data["types"].items()}  # type: ignore[union-attr]
    print(f"{OUT}: {counts}")


if __name__ == "__main__":
    main()
