"""The revert is apply's exact inverse on any app: apply's PATCH, then rollback's, give back every
container, variable and linked identity as they were (JSON merge patch as ARM applies it)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wizard.apply import app_patch
from wizard.model import Identity
from wizard.rollback import revert_body
from wizard.sandbox.providers.container_apps import merge_patch

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers"
OURS = Identity(
    f"{SUB}/Microsoft.ManagedIdentity/userAssignedIdentities/id-ours",
    "id-ours",
    "rg",
    "westeurope",
    "11111111-2222-3333-4444-555555555555",
    "66666666-7777-8888-9999-000000000000",
    "tenant",
)
names = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1, max_size=12)
variable = st.one_of(
    st.builds(lambda v: {"value": v}, st.text(max_size=40)),
    st.builds(lambda s: {"secretRef": s}, st.sampled_from(["agent-token", "db-password"])),
    st.just({"value": OURS.client_id}),
)


@st.composite
def apps(draw: Any) -> tuple[dict[str, Any], str, str]:
    container_names = draw(st.lists(st.sampled_from(["runner", "log-shipper", "proxy"]), min_size=1, unique=True))
    containers = []
    for name in container_names:
        # names may repeat: Azure accepts a variable listed twice (the runtime uses the last entry)
        env_names = draw(st.lists(names | st.just("AZURE_CLIENT_ID"), max_size=6))
        env = [{"name": n, **draw(variable)} for n in env_names]
        containers.append({"name": name, "image": f"{name}:1", "env": env, "probes": [{"type": "Liveness"}]})
    others = draw(st.lists(st.sampled_from(["id-a", "id-b", "id-ours"]), unique=True))
    users = {f"{SUB}/Microsoft.ManagedIdentity/userAssignedIdentities/{n}": {} for n in others}
    system = draw(st.booleans())
    kinds = [k for k, on in (("SystemAssigned", system), ("UserAssigned", bool(users))) if on]
    raw: dict[str, Any] = {
        "id": f"{SUB}/Microsoft.App/containerApps/app",
        "identity": {"type": ",".join(kinds) or "None", **({"userAssignedIdentities": users} if users else {})},
        "properties": {
            "template": {"containers": containers, **({"revisionSuffix": "v1"} if draw(st.booleans()) else {})},
            "configuration": {"activeRevisionsMode": "Single"},
        },
    }
    container = draw(st.sampled_from(container_names))
    var = draw(st.one_of(names, st.just("AZURE_CLIENT_ID")))
    return raw, container, var


def identity_after(before: dict[str, Any], patch: dict[str, Any], replace: bool = False) -> dict[str, Any]:
    """The identity block once ARM applies a PATCH: a type without UserAssigned drops the map. With
    `replace`, the map is taken as sent (nulls dropped), as an API that does not merge it would: Azure's
    documentation does not say which it does, so both must keep what the write did not mean to change."""
    merged = merge_patch(before, patch)
    if replace and "userAssignedIdentities" in patch:
        merged["userAssignedIdentities"] = {k: v for k, v in patch["userAssignedIdentities"].items() if v is not None}
    if "UserAssigned" not in str(merged.get("type")):
        merged.pop("userAssignedIdentities", None)
    return merged


@settings(max_examples=300, deadline=None)
@given(apps())
def test_apply_then_revert_gives_back_the_app(case: tuple[dict[str, Any], str, str]) -> None:
    raw, container, var = case
    original = copy.deepcopy(raw)
    body, before = app_patch(raw, OURS, container, var)
    applied = merge_patch(raw, {k: v for k, v in body.items() if k != "identity"})
    applied["identity"] = identity_after(raw["identity"], body.get("identity") or {})

    linked_before = OURS.id in (raw["identity"].get("userAssignedIdentities") or {})
    env = {"container": container, "env_var": var, "previous": before["previous"]}
    undo = revert_body(applied, env, None if linked_before else OURS.id)
    restored = merge_patch(applied, {k: v for k, v in undo.items() if k != "identity"})
    restored["identity"] = identity_after(applied["identity"], undo.get("identity") or {})
    replaced = identity_after(applied["identity"], undo.get("identity") or {}, replace=True)
    assert set(replaced.get("userAssignedIdentities") or {}) == set(
        restored["identity"].get("userAssignedIdentities") or {}
    ), "the revert's identity block must not depend on whether ARM merges or replaces the map"

    assert raw == original  # neither PATCH is built by changing what was read
    template, was = restored["properties"]["template"], original["properties"]["template"]
    assert template["containers"] == was["containers"]
    if "properties" in undo and was.get("revisionSuffix"):
        # a pinned suffix never names the revert's revision like an earlier one
        assert template["revisionSuffix"] not in (
            was["revisionSuffix"],
            applied["properties"]["template"]["revisionSuffix"],
        )
    assert restored["identity"].get("type") == original["identity"]["type"]
    assert set(restored["identity"].get("userAssignedIdentities") or {}) == set(
        original["identity"].get("userAssignedIdentities") or {}
    )
