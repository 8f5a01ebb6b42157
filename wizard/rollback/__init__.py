"""Rollback as a plan of its own: read the run (every attempt in its journal) and the live state,
diff them into steps (`restore`, `unlink`, `delete`, or `keep` with the reason), show exactly
those, and after confirmation do exactly those, in dependency order, journaling each.

`read_live` reads and `build_rollback` is pure, as `steps.read_live`/`build_steps` are for apply.
`execute` reads again right before it writes and does a listed step only if the fresh plan still
has it, so a reference that appeared while the admin read the list stops a delete.

What a run wrote is never deleted or unlinked while something else uses it: another container app
that holds the identity, a registry or Key Vault secret of this app that names it, another
variable or an active older revision carrying its client ID, a role assignment someone else gave
it since, or another run journaled on this machine whose writes are still there. Those steps
become `keep`, with who uses it. A later run on the same app still in force refuses the rollback.

The package, in the order a rollback goes (each module says what it holds and where its rules come from):
  journal_check   whether a run's journal can be trusted at all
  writes          what the run wrote, folded over its attempts (RunWrites), and whether a run is in force
  live            the live state rollback reads (RollbackLive), the caller's permissions included
  step            one step (RollbackStep) and `keep`
  app_steps, link_step, role_steps, users, tag_steps, identity_steps, lasting_steps
                  the steps for each kind of write, and who else uses the identity
  preflight       a rollback the caller cannot finish refused before it writes
  plan            RollbackPlan, plan_rollback (reads), build_rollback (pure)
  revert, execution, outcome
                  the app's PATCH body, doing the plan, what became of it
  render          the plan and outcome as lines and text, and --json
  arm             the pieces of ARM's JSON the others read
"""

from __future__ import annotations

from ..journal import read_run
from .execution import execute
from .outcome import RollbackOutcome, StepOutcome
from .plan import RollbackPlan, build_rollback, plan_rollback
from .render import outcome_lines, plan_lines, render_text, to_json
from .revert import revert_body
from .step import RollbackStep

__all__ = [
    "RollbackOutcome",
    "RollbackPlan",
    "RollbackStep",
    "StepOutcome",
    "build_rollback",
    "execute",
    "outcome_lines",
    "plan_lines",
    "plan_rollback",
    "read_run",
    "render_text",
    "revert_body",
    "to_json",
]
