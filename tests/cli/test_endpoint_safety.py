"""Issue 9: a token goes only to the endpoint it was minted for; the SDK never writes what the
admin did not see (no silent resource provider registration)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli.conftest import APP, Cli
from wizard.azure.connection import (
    CLOUDS,
    KNOWN_AUDIENCES,
    Connection,
    UnsafeEndpoint,
    discover_audience,
    resolve_audience,
)

KNOWN_HOSTS = {urlsplit(arm).hostname: name for name, (arm, _) in CLOUDS.items()}
LOOPBACK_HOSTS = ["127.0.0.1", "127.8.9.10", "localhost", "[::1]"]
OTHER_HOSTS = ["arm.stack.example", "management.azure.com.evil.example", "10.0.0.4", "management-azure.com"]


def _spell(url: str, upper: bool, slash: bool) -> str:
    return (url.upper() if upper else url) + ("/" if slash else "")


endpoints = st.builds(
    lambda host, port: f"https://{host}" + (f":{port}" if port else ""),
    st.sampled_from([*KNOWN_HOSTS, *LOOPBACK_HOSTS, *OTHER_HOSTS]),
    st.sampled_from([None, 443, 8443]),
)
audiences = st.one_of(
    st.none(),
    st.builds(_spell, st.sampled_from(sorted(KNOWN_AUDIENCES)), st.booleans(), st.booleans()),
    st.sampled_from(["https://management.stack.example/4b7a", "https://arm.stack.example/"]),
)


@settings(max_examples=400, deadline=None)
@given(endpoint=endpoints, audience=audiences, cloud=st.sampled_from(sorted(CLOUDS)))
def test_a_known_clouds_audience_goes_only_to_that_clouds_host_or_loopback(
    endpoint: str, audience: str | None, cloud: str
) -> None:
    host = urlsplit(endpoint).hostname or ""
    loopback = host in ("127.0.0.1", "127.8.9.10", "localhost", "::1")
    try:
        chosen = resolve_audience(endpoint, audience, cloud)
    except UnsafeEndpoint:
        refused = True
    else:
        refused = False
        owner = KNOWN_AUDIENCES.get(chosen.lower())
        if owner is not None:
            assert KNOWN_HOSTS.get(host) == owner or loopback, (endpoint, audience, chosen)
        if host in KNOWN_HOSTS:
            assert chosen == CLOUDS[KNOWN_HOSTS[host]][1]
    # What must be refused, is.
    claimed = KNOWN_AUDIENCES.get((audience or "").rstrip("/").lower())
    if host in KNOWN_HOSTS:
        assert refused == bool(audience and claimed != KNOWN_HOSTS[host])
    elif not loopback:
        assert refused == (audience is None or claimed is not None)
    else:
        assert not refused


def test_the_sandbox_metadata_names_the_audience_of_the_cloud_it_presents(remote) -> None:
    r = remote()  # the public cloud (sandbox serve --cloud AzureCloud, the default)
    found = discover_audience(r.running.info.arm_endpoint, r.running.info.ca_bundle)

    assert found is not None and found.rstrip("/") == "https://management.core.windows.net"


def test_an_endpoint_without_metadata_gets_no_token(tmp_path: Path) -> None:
    # Nothing listens on port 9: no metadata. Off loopback, that would be a refusal; the property
    # test covers that case without reaching for a network.
    assert discover_audience("https://127.0.0.1:9", None, timeout_s=2) is None
    with pytest.raises(UnsafeEndpoint, match="--audience"):
        Connection(arm_endpoint="https://arm.stack.example")


@pytest.mark.parametrize("audience", ["https://management.azure.com", "https://management.core.windows.net/"])
@pytest.mark.parametrize("where", ["before", "after"])
def test_the_cli_refuses_a_foreign_endpoint_asking_for_azures_token(cli: Cli, audience: str, where: str) -> None:
    options = ["--arm-endpoint", "https://arm.stack.example", "--audience", audience]
    command = ["verify", "--container-app", APP]
    argv = [*options, *command] if where == "before" else [*command, *options]

    ran = cli(*argv)

    assert ran.code == 2
    assert re.fullmatch(
        r"runner-identity: --arm-endpoint: https://arm\.stack\.example asks for tokens of AzureCloud's Resource "
        r"Manager .* refusing to send it a token\n",
        ran.err,
    ), ran.err


def test_the_cli_takes_a_loopback_endpoints_audience_from_its_metadata(cli: Cli, remote, plan_file: Path) -> None:
    """The sandbox presents the public cloud (its /metadata/endpoints names that cloud's audience): on
    loopback, and only there, that is allowed."""
    r = remote()

    ran = cli("verify", str(plan_file), "--verbose", *r.flags, **r.env)

    assert ran.code == 1, ran.err  # nothing applied yet: verify finds problems, having signed in
    endpoint = r.running.info.arm_endpoint
    assert f"audience of {endpoint} from its cloud metadata: https://management.core.windows.net" in ran.err
    assert f"Resource Manager {endpoint}, token audience https://management.core.windows.net" in ran.err


async def test_no_request_leaves_for_another_host(remote) -> None:
    """A nextLink, a polling URL or a redirect naming another host is refused before it is sent."""
    from azure.core.rest import HttpRequest

    from wizard.azure.errors import translate
    from wizard.azure.gateway import Gateway

    r = remote()
    before = len(r.running.thread.call(lambda: list(r.running.sandbox.request_log)))
    connection = Connection(
        arm_endpoint=r.running.info.arm_endpoint, ca_bundle=r.running.info.ca_bundle, managed_identity_only=True
    )
    async with Gateway(connection) as gateway:
        client = gateway._arm()
        for url in ("https://management.azure.com/subscriptions?api-version=2022-12-01",
                    r.running.info.arm_endpoint.replace("127.0.0.1", "localhost") + "/subscriptions"):
            with pytest.raises(Exception) as caught:
                await client.send_request(HttpRequest("GET", url))
            err = translate(caught.value, "list")
            assert err.code == "UnsafeEndpoint", err
            assert "a token goes only to the endpoint it was minted for" in err.message
    sent = r.running.thread.call(lambda: list(r.running.sandbox.request_log))
    assert len(sent) == before  # not even a token request


def test_an_unregistered_provider_is_a_step_the_admin_sees_never_a_silent_register(
    cli: Cli, remote, plan_file: Path
) -> None:
    """azure-mgmt-core's automatic registration is off: the only register POST is the diff's own step."""
    from wizard.sandbox.providers.resources import PROVIDER_TYPES

    r = remote()
    sub = f"/subscriptions/{r.running.prod}"

    def unregister() -> None:
        states = r.running.store.hidden_for(sub).setdefault("providers", dict.fromkeys(PROVIDER_TYPES, "Registered"))
        states["Microsoft.ManagedIdentity"] = "NotRegistered"

    r.running.thread.call(unregister)

    dry = cli("apply", str(plan_file), "--dry-run", *r.flags, **r.env)
    assert dry.code == 0, dry.err
    assert "+ register the resource provider Microsoft.ManagedIdentity" in dry.out
    assert r.requests("POST", "/register") == []  # shown, not done

    ran = cli("apply", str(plan_file), "--yes", *r.flags, **r.env)

    assert ran.code == 0, ran.err
    assert "+ register the resource provider Microsoft.ManagedIdentity" in ran.out  # the diff confirmed
    assert len(r.requests("POST", "/register")) == 1  # the confirmed step, once
    state = r.running.thread.call(lambda: r.running.store.hidden_for(sub)["providers"]["Microsoft.ManagedIdentity"])
    assert state in ("Registering", "Registered")
