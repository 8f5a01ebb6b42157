"""Which api-versions each resource type accepts, and ARM's refusal of any other.

The table is data/api_versions.json, derived by tools/derive_api_versions.py from Microsoft's REST specs,
the installed azure-mgmt-* packages, the az CLI and the JavaScript SDKs in use today and the lists ARM
itself printed in public bug reports (each version names its source there).
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources as package_files

from .arm import API_VERSION_RE, ArmError

ARM_NAMESPACE = "Microsoft.Resources"
_ARM_KEY = f"{ARM_NAMESPACE}/*"


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, list[str]]:
    data = package_files.files("wizard.sandbox").joinpath("data/api_versions.json").read_text(encoding="utf-8")
    return {key.lower(): list(versions) for key, versions in json.loads(data)["types"].items()}


def supported_versions(namespace: str, resource_type: str) -> list[str]:
    """The versions `namespace/resource_type` accepts, newest first (ARM's order); Resource Manager's own
    routes (namespace Microsoft.Resources) share one list. Empty for a type the table does not know."""
    if namespace.lower() == ARM_NAMESPACE.lower():
        return list(_table()[_ARM_KEY.lower()])
    return list(_table().get(f"{namespace}/{resource_type}".lower(), []))


def addressed_type(path: str) -> tuple[str, str]:
    """(namespace, top-level type) a request path addresses: its last `/providers/{ns}/{type}` segment;
    (Microsoft.Resources, "") for Resource Manager's own routes (subscriptions, groups, providers, tenants)."""
    parts = [p for p in path.split("/") if p]
    last = max((i for i, p in enumerate(parts) if p.lower() == "providers"), default=None)
    if last is None or last + 2 >= len(parts) or parts[last + 2].lower() == "register":
        return ARM_NAMESPACE, ""
    return parts[last + 1], parts[last + 2]


def check(path: str, version: str, location: str, locations: list[str]) -> None:
    """Raise ARM's 400 unless `version` is one the addressed type accepts.

    A malformed version, or an unknown one on Resource Manager's own routes, is InvalidApiVersionParameter
    naming the supported versions; an unknown one on a provider's type is NoRegisteredProviderFound naming
    the type's versions and locations (the messages ARM prints, as quoted in public bug reports). A type
    the table does not know is left to its route (ARM would route it to a provider we do not emulate).
    """
    namespace, rtype = addressed_type(path)
    supported = supported_versions(namespace, rtype)
    if version in supported or (not supported and API_VERSION_RE.match(version)):
        return
    if namespace.lower() == ARM_NAMESPACE.lower() or not API_VERSION_RE.match(version):
        listed = supported or supported_versions(ARM_NAMESPACE, "")
        raise ArmError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions are '{','.join(listed)}'.",
        )
    raise ArmError(
        400,
        "NoRegisteredProviderFound",
        f"No registered resource provider found for location '{location}' and API version '{version}' for type "
        f"'{rtype}'. The supported api-versions are '{', '.join(supported)}'. The supported locations are "
        f"'{', '.join(locations)}'.",
    )


def resource_group_of(path: str) -> str | None:
    m = re.match(r"^/subscriptions/([^/]+)/resourcegroups/([^/]+)", path, re.IGNORECASE)
    return f"/subscriptions/{m.group(1)}/resourceGroups/{m.group(2)}" if m else None
