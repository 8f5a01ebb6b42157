"""Export a plan as something an admin can run or review elsewhere: an az CLI script or Bicep files.

Both renderers are pure (a `StepPlan` in, text out: no network, no Azure SDK calls) and
deterministic, and neither output ever holds a token or a secret value.

- `render_az` (az.py): a bash script that is the plan's desired state: run on any tenant, before
  or after apply, it reads first and writes only what differs, the way apply does.
- `bicep_files` / `render_bicep` (bicep.py): a Bicep deployment of the same end state, with modules
  for role assignments at other scopes and for an app in another resource group.
"""

from pathlib import Path

from ..azure.connection import Connection
from ..steps import StepPlan
from .az import render_az
from .bicep import MAIN, bicep_files, render_bicep

__all__ = ["MAIN", "bicep_files", "export_text", "render_az", "render_bicep", "write_export"]


def export_text(step_plan: StepPlan, fmt: str, connection: Connection | None = None) -> str:
    """The export as one text: the az script, or the Bicep files one after another ("az" | "bicep")."""
    return render_az(step_plan, connection) if fmt == "az" else render_bicep(step_plan)


def write_export(step_plan: StepPlan, fmt: str, out: Path, connection: Connection | None = None) -> list[Path]:
    """Write the export to `out` (the script, or the main Bicep file with its modules beside it).

    Returns the paths written. Raises OSError when a file cannot be written.
    """
    if fmt == "az":
        files = {out.name: render_az(step_plan, connection)}
    else:
        files = {out.name if path == MAIN else path: text for path, text in bicep_files(step_plan).items()}
    if not out.parent.is_dir():
        # As any tool writing to a path you named: its folder must exist (only modules/ is made here).
        raise FileNotFoundError(2, "No such directory", str(out.parent))
    written = []
    for name, text in files.items():
        path = out.parent / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
