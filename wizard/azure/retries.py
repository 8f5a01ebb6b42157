"""Saying that a request is being retried, and why, while it waits.

The SDK retries throttled (429), failed (5xx) and dropped requests by itself, with backoff or as
long as Azure's Retry-After asks: that can take many seconds, during which a caller that shows
progress has nothing to say but "writing…". Whoever wants to hear about retries sets
`retry_listener` (a context variable, so concurrent writes each hear only their own) to a
function taking (why, seconds until the next try).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

RetryListener = Callable[[str, float], None]
retry_listener: ContextVar[RetryListener | None] = ContextVar("retry_listener", default=None)


def notify_retry(why: str, delay_s: float) -> None:
    """Tell the listener of the current context (if any) that a retry comes in `delay_s` seconds."""
    listener = retry_listener.get()
    if listener is not None:
        listener(why, delay_s)
