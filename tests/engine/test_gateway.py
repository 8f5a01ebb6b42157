"""The gateway's reads as the wizard and the planner see them, and its errors in plain language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.helpers import gateway, ids
from wizard.azure.connection import default_subscription
from wizard.azure.errors import GatewayError
from wizard.catalog import load_catalog


async def test_signed_in_names_the_tenant_and_account(demo) -> None:
    async with gateway(demo) as gw:
        who = await gw.signed_in()
    assert who.tenant_id == demo.info.tenant_id
    assert who.object_id == demo.store.caller["object_id"]


async def test_a_failed_sign_in_explains_how_to_fix_it(demo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-header")
    async with gateway(demo) as gw:
        with pytest.raises(GatewayError) as caught:
            await gw.subscriptions()
    assert caught.value.code == "SignInFailed"
    assert "az login" in caught.value.plain()
    assert "--device-code" in caught.value.plain()


async def test_subscriptions_put_the_default_first(demo) -> None:
    dev = demo.info.subscription_ids[1]
    async with gateway(demo) as gw:
        subs = await gw.subscriptions(default=dev)
    assert subs[0].id == dev and subs[0].is_default
    assert {s.name for s in subs} == {"Contoso Production", "Contoso Dev/Test"}


async def test_catalog_loads_every_list_for_a_subscription(demo) -> None:
    async with gateway(demo) as gw:
        catalog = await load_catalog(gw, demo.prod)
    assert "rg-runner" in [g.name for g in catalog.groups]
    assert [i.name for i in catalog.identities] == ["id-legacy-runner"]
    assert len([r for r in catalog.roles if r.builtin]) > 900
    assert any(r.name == "Maia Runner Secrets Reader" and not r.builtin for r in catalog.roles)
    vaults = {v.name: v.rbac_enabled for v in catalog.scopes if v.is_vault}
    assert vaults == {"kv-maia-prod": True, "kv-legacy-policies": False}
    assert {s.name for s in catalog.scopes if not s.is_vault} == {"stmaiadata01", "stmaiarunnerlogs"}
    runner = next(a for a in catalog.apps if a.name == "maia-runner")
    assert runner.container_names == ["runner", "log-shipper"]
    assert runner.system_principal_id and runner.identity_type == "SystemAssigned"
    assert {e.name: e.shown() for e in runner.env("runner")}["AGENT_TOKEN"] == "(secret: agent-token)"


async def test_role_assignment_rights_differ_by_subscription(demo) -> None:
    i = ids(demo)
    action = "Microsoft.Authorization/roleAssignments/write"
    async with gateway(demo) as gw:
        assert await gw.can(i["vault"], action)
        assert not await gw.can(f"/subscriptions/{i['dev']}/resourceGroups/rg-dev-runner", action)


async def test_roles_resolve_by_name_or_guid(demo) -> None:
    async with gateway(demo) as gw:
        by_name = await gw.find_role(demo.prod, "key vault secrets user")
        by_guid = await gw.find_role(demo.prod, "4633458B-17DE-408A-B874-0445C86B69E6")
        missing = await gw.find_role(demo.prod, "No Such Role")
    assert by_name == by_guid and by_name is not None and by_name.builtin
    assert missing is None


async def test_a_refused_write_names_the_permission(start_sandbox) -> None:
    running = start_sandbox(caller_role="Reader")
    async with gateway(running) as gw:
        with pytest.raises(GatewayError) as caught:
            await gw.create_identity(running.prod, "rg-runner", "id-x", "westeurope", {})
    assert caught.value.code == "AuthorizationFailed"
    assert "Microsoft.ManagedIdentity/userAssignedIdentities/write" in caught.value.plain()
    assert not caught.value.transient


def test_default_subscription_comes_from_the_environment_or_the_az_cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path))
    assert default_subscription() is None
    profile = {"subscriptions": [{"id": "a", "isDefault": False}, {"id": "b", "isDefault": True}]}
    (tmp_path / "azureProfile.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(profile).encode())
    assert default_subscription() == "b"
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "c")
    assert default_subscription() == "c"
