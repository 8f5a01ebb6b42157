"""How Azure RBAC matches an action against a role's actions and notActions.

Shared by the sandbox (deciding what to refuse) and the engine (predicting what Azure will
refuse, before it writes anything), so both read role definitions the same way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable


@functools.lru_cache(maxsize=4096)
def action_pattern(action: str) -> re.Pattern[str]:
    # A `/*/` segment may also match nothing: ".../userAssignedIdentities/*/assign/action" grants
    # ".../userAssignedIdentities/assign/action", the action ARM checks when an identity is linked.
    body = re.escape(action).replace(r"/\*/", "/(?:.*/)?").replace(r"\*", ".*")
    return re.compile("^" + body + "$", re.IGNORECASE)


def allowed(blocks: Iterable[tuple[Iterable[str], Iterable[str]]], action: str) -> bool:
    """Whether any (actions, notActions) block grants `action` without excluding it."""
    return any(
        any(action_pattern(a).match(action) for a in actions)
        and not any(action_pattern(n).match(action) for n in not_actions)
        for actions, not_actions in blocks
    )
