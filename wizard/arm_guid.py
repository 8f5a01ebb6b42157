"""ARM's `guid()` template function, reproduced, and the role assignment names built on it.

ARM's `guid(a, b, ...)` is the name-based (version 5, SHA-1) UUID of the arguments joined with
'-', encoded as UTF-8, in a fixed namespace. Microsoft's template-function docs say it follows
RFC 4122 §4.3 (GuidUtility); the namespace and the '-' join are checked against values ARM's own
expression library computed, kept in Azure/bicep's tests (see tests/export/test_arm_guid.py).

Role assignments are named `guid(toLower(scope), toLower(principalId), toLower(roleGuid))`, the
scope without trailing slashes: the convention of Bicep's `getRoleAssignmentName` (Azure/bicep
#20293). Apply, the exported az script and the exported Bicep all name an assignment so, so each
of them finds the others' work instead of adding a second assignment.
"""

from __future__ import annotations

import uuid

ARM_GUID_NAMESPACE = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")


def arm_guid(*parts: str) -> str:
    """What ARM's `guid(parts...)` returns for these strings: a lower-case UUID string."""
    return str(uuid.uuid5(ARM_GUID_NAMESPACE, "-".join(parts)))


def normalized_scope(scope: str) -> str:
    """The scope as role assignment names hash it: lower case, no trailing '/' (the root '/' stays)."""
    trimmed = scope.rstrip("/")
    return (trimmed or scope[:1]).lower()


def role_assignment_name(scope: str, principal_id: str, role_guid: str) -> str:
    """The deterministic name (a GUID) of the assignment of `role_guid` to `principal_id` at `scope`."""
    return arm_guid(normalized_scope(scope), principal_id.lower(), role_guid.lower())
