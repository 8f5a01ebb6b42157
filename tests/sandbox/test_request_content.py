"""A body-carrying write must be JSON: another media type is ARM's 415 UnsupportedMediaType, and JSON
with NaN or Infinity (which strict JSON has not) is 400 InvalidRequestContent; nothing is written.
"""

from __future__ import annotations

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
