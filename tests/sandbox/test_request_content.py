"""A body-carrying write must be JSON: another media type is ARM's 415 UnsupportedMediaType, and JSON
with NaN or Infinity (which strict JSON has not) is 400 InvalidRequestContent; nothing is written.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sandbox.helpers import assert_arm_error, http

IDENTITY = "/subscriptions/{sub}/resourceGroups/rg-runner/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
GROUP = "/subscriptions/{sub}/resourceGroups/"
APPS = "/subscriptions/{sub}/resourceGroups/rg-runner/providers/Microsoft.App/containerApps"
BODY = b'{"location": "westeurope"}'
media_types = st.sampled_from(
    [
        "text/plain",
        "application/xml",
        "text/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
        "text/html; charset=utf-8",
        "image/png",
    ]
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(media=media_types, write=st.sampled_from([("PUT", IDENTITY + "id-media"), ("PATCH", IDENTITY + "id-media"),
                                                 ("PUT", GROUP + "rg-media"), ("POST", APPS + "/maia-runner/listSecrets")]))
def test_a_body_of_another_media_type_is_unsupported_media_type(shared_demo, media: str, write: tuple[str, str]) -> None:
    method, path = write[0], write[1].format(sub=shared_demo.prod)

    answer = http(shared_demo, method, path, data=BODY, headers={"Content-Type": media})

    error = assert_arm_error(answer, 415, "UnsupportedMediaType")
    assert media.split(";")[0] in error["message"]
    assert "application/json" in error["message"]
    assert shared_demo.store.get(path) is None


@pytest.mark.parametrize("media", ["application/json", "application/json; charset=utf-8", "text/json"])
def test_json_media_types_are_accepted(demo, media: str) -> None:
    path = (IDENTITY + "id-json").format(sub=demo.prod)

    answer = http(demo, "PUT", path, data=BODY, headers={"Content-Type": media})

    assert answer.status_code in (200, 201), answer.text


def test_a_write_without_a_body_needs_no_content_type(shared_demo) -> None:
    answer = http(shared_demo, "POST", f"/subscriptions/{shared_demo.prod}/providers/Microsoft.App/register")

    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("target", [IDENTITY + "id-nan", GROUP + "rg-nan"])
def test_json_with_nan_or_infinity_is_invalid_request_content(shared_demo, constant: str, target: str) -> None:
    path = target.format(sub=shared_demo.prod)
    body = '{"location": "westeurope", "tags": {"a": "b"}, "properties": {"x": ' + constant + "}}"

    answer = http(shared_demo, "PUT", path, data=body.encode(), headers={"Content-Type": "application/json"})

    assert_arm_error(answer, 400, "InvalidRequestContent")
    assert shared_demo.store.get(path) is None


def strictly_json(text: str) -> object:
    """`text` read as strict JSON (no NaN, Infinity): what every other JSON reader requires."""

    def refuse(constant: str) -> object:
        raise AssertionError(f"the sandbox answered {constant}, which is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1E+999", "-0.1e99999"])
@pytest.mark.parametrize("field", ["maxReplicas", "minReplicas"])
def test_a_number_beyond_a_double_is_invalid_request_content_and_nothing_is_written(
    demo, number: str, field: str
) -> None:
    """JSON has no Infinity; a literal too big for a double would become one, be stored and be served
    as `Infinity`, which no strict JSON reader takes back."""
    path = (APPS + "/maia-runner").format(sub=demo.prod)
    before = copy.deepcopy(demo.store.get(path))
    body = '{"properties": {"template": {"scale": {"' + field + '": ' + number + "}}}}"

    answer = http(demo, "PATCH", path, data=body.encode(), headers={"Content-Type": "application/json"})

    assert_arm_error(answer, 400, "InvalidRequestContent")
    assert demo.store.get(path) == before
    strictly_json(http(demo, "GET", path).text)


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"a":' * 60_000 + b"1" + b"}" * 60_000, b'{"location": "westeurope", "tags": ' + b"[" * 50_000],
    ids=["arrays", "objects", "unclosed"],
)
def test_json_nested_beyond_reason_is_invalid_request_content_not_a_500(shared_demo, body: bytes) -> None:
    path = (GROUP + "rg-deep").format(sub=shared_demo.prod)

    answer = http(shared_demo, "PUT", path, data=body, headers={"Content-Type": "application/json"})

    assert_arm_error(answer, 400, "InvalidRequestContent")
    assert shared_demo.store.get(path) is None


def nested(depth: int) -> bytes:
    """A container app PATCH whose body nests objects `depth` levels deep."""
    inner = b'{"a":' * (depth - 2) + b"1" + b"}" * (depth - 2)
    return b'{"properties": {"x": ' + inner + b"}}"


@pytest.mark.parametrize("depth", [65, 700, 990])
def test_a_body_nested_deeper_than_arm_reads_is_refused_and_nothing_is_written(demo, depth: int) -> None:
    """ARM's JSON reader stops at 64 levels (Json.NET's MaxDepth); the sandbox's own code must never
    meet a body so deep that it cannot walk it (a 500)."""
    path = (APPS + "/maia-runner").format(sub=demo.prod)
    before = copy.deepcopy(demo.store.get(path))

    answer = http(demo, "PATCH", path, data=nested(depth), headers={"Content-Type": "application/json"})

    error = assert_arm_error(answer, 400, "InvalidRequestContent")
    assert "64" in error["message"]
    assert demo.store.get(path) == before


def test_a_body_nested_64_levels_deep_is_read(demo) -> None:
    path = (APPS + "/maia-runner").format(sub=demo.prod)

    answer = http(demo, "PATCH", path, data=nested(64), headers={"Content-Type": "application/json"})

    assert answer.status_code == 202, answer.text
