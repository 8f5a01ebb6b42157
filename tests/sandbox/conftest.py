"""Fixtures for the sandbox suite: one shared sandbox per module for the tests that only read."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import RunningSandbox


@pytest.fixture(scope="module")
def shared_demo(start_shared_sandbox: Callable[..., RunningSandbox]) -> RunningSandbox:
    return start_shared_sandbox()
