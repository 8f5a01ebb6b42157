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
from typing import Any

RetryListener = Callable[[str, float], None]
retry_listener: ContextVar[RetryListener | None] = ContextVar("retry_listener", default=None)


def notify_retry(why: str, delay_s: float) -> None:
    """Tell the listener of the current context (if any) that a retry comes in `delay_s` seconds."""
    listener = retry_listener.get()
    if listener is not None:
        listener(why, delay_s)


def reporting_retry_policy(**settings: Any) -> Any:
    """azure-core's AsyncRetryPolicy, built from the client settings (`retry_total`,
    `retry_backoff_factor`, ...), that calls `notify_retry` before each wait."""
    from azure.core.pipeline.policies import AsyncRetryPolicy

    class ReportingRetryPolicy(AsyncRetryPolicy):  # type: ignore[misc]
        async def sleep(self, settings: dict[str, Any], transport: Any, response: Any = None) -> None:
            http = getattr(response, "http_response", None)
            if http is None:
                why, delay = "the connection dropped", self.get_backoff_time(settings)
            else:
                reason = getattr(http, "reason", "") or ""
                why = f"Azure answered {http.status_code}{f' {reason}' if reason else ''}"
                delay = self.get_retry_after(response) or self.get_backoff_time(settings)
            notify_retry(why, float(delay or 0.0))
            await super().sleep(settings, transport, response)

    return ReportingRetryPolicy(**settings)
