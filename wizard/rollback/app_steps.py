"""The container app's steps: its variable restored to the run's pre-image (the last entry of the
name, the one the runtime uses), with a warning when the value put back is no usable client ID, then
the identity unlinked (link_step)."""

from __future__ import annotations

from typing import Any

from ..app_write import public_var
from .arm import container_env, guid, last, resource_name
from .link_step import link_step
from .live import RollbackLive
from .step import RollbackStep, keep
from .writes import AppWrite, RunWrites


def _shown(var: dict[str, Any] | None) -> str:
    if var is None:
        return "(not set)"
    if var.get("secretRef"):
        return f"(secret: {var['secretRef']})"
    return str(var.get("value") or "(empty)")


def app_steps(writes: RunWrites, live: RollbackLive) -> list[RollbackStep]:
    """The steps on the run's container app (`writes.app` must be set): restore the variable if it still
    holds the run's value (else keep it, saying why), then unlink the identity (link_step)."""
    app = writes.app
    assert app is not None
    raw, name = live.app_raw, resource_name(app.target)
    if raw is None:
        return [keep("env", app.target, name, "the container app no longer exists")]
    pre = app.pre_image
    container, var = str(pre.get("container")), str(pre.get("env_var"))
    previous = pre.get("previous")
    steps: list[RollbackStep] = []
    env = container_env(raw, container)
    restoring = False
    if env is None:
        steps.append(keep("env", app.target, var, f"container {container} is no longer in {name}"))
    else:
        current = last(env, var)
        ours = current is not None and not current.get("secretRef") and current.get("value") == app.value
        if current is not None and previous is not None and public_var(current) == previous:
            pass  # as before the run: the write never landed, or was undone already
        elif current is None and previous is None:
            pass
        elif ours:
            restoring = True
            steps.append(_restore_step(app, raw, live, container, var, previous))
        else:
            why = f"{var} was changed after this run (it holds {_shown(current)}): left as it is"
            steps.append(keep("env", app.target, f"{var} on container {container} of {name}", why))
    link = link_step(writes, raw, live, container, var if restoring else None)
    if link is not None:
        steps.append(link)
    return steps


def _restore_step(
    app: AppWrite,
    raw: dict[str, Any],
    live: RollbackLive,
    container: str,
    var: str,
    previous: dict[str, Any] | None,
) -> RollbackStep:
    name = resource_name(app.target)
    if previous is None:
        summary = f"remove {var} from container {container} of {name} (it was not set before this run)"
        details = [f"- {var}={app.value}"]
    else:
        summary = f"restore {var} on container {container} of {name} to {_shown(previous)}"
        details = [f"- {var}={app.value}", f"+ {var}={_shown(previous)}"]
    template = (raw.get("properties") or {}).get("template") or {}
    details.append("a new revision of the app")
    if template.get("revisionSuffix"):
        details.append(
            f"{name} pins revisionSuffix '{template['revisionSuffix']}': the new revision gets a fresh one "
            "(a revision name is never reused)"
        )
    warnings = _value_warnings(app, raw, live, var, previous)
    return RollbackStep(
        "env",
        "env",
        "restore",
        app.target,
        summary,
        f"this run set it to {app.value}",
        details,
        warnings,
        data={"container": container, "env_var": var, "previous": previous},
    )


def _value_warnings(
    app: AppWrite, raw: dict[str, Any], live: RollbackLive, var: str, previous: dict[str, Any] | None
) -> list[str]:
    """A client ID put back must still be an identity's, and one the app can use."""
    value = (previous or {}).get("value")
    if previous is None or previous.get("secretRef") or not guid(value):
        return []
    owner = next((i for i in live.identities if i.client_id.lower() == str(value).lower()), None)
    if owner is None:
        return [
            f"{var} goes back to {value}, the client ID of no identity (deleted since?): "
            "the runner will not sign in until it names a live one"
        ]
    linked = {k.lower() for k in ((raw.get("identity") or {}).get("userAssignedIdentities") or {})}
    linked.discard(app.identity_id.lower())  # this rollback unlinks the run's own identity
    if owner.id.lower() not in linked:
        return [
            f"{var} goes back to {value}, the client ID of {owner.name}, which is not linked to {resource_name(app.target)}: "
            "the runner cannot use it until it is linked"
        ]
    return []
