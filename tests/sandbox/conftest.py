"""Fixtures for the sandbox suite: one shared sandbox per module for the tests that only read."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.conftest import RunningSandbox, sandbox_starter


@pytest.fixture(scope="module")
def start_shared_sandbox() -> Iterator[Callable[..., RunningSandbox]]:
    """Like `start_sandbox`, but one sandbox for a whole module: only for tests that change nothing
    (or change what no other test of the module looks at)."""
    with pytest.MonkeyPatch.context() as mp:
        yield from sandbox_starter(mp)


@pytest.fixture(scope="module")
def shared_demo(start_shared_sandbox: Callable[..., RunningSandbox]) -> RunningSandbox:
    return start_shared_sandbox()
