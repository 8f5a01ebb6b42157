"""Turn command-line options into a Connection, starting an in-process sandbox for --sandbox.

The connection options mean the same before or after the subcommand: the top-level parser holds
their defaults and each subcommand's copy is added with `argparse.SUPPRESS`, so it only sets what
the user typed there.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .azure.connection import CLOUDS, Connection

log = logging.getLogger("wizard.connect")

# dest: the value when the option is not given anywhere.
CONNECTION_DEFAULTS: dict[str, Any] = {
    "sandbox": False,
    "sandbox_scenario": "demo",
    "sandbox_state": None,
    "tenant": None,
    "device_code": False,
    "cloud": None,
    "arm_endpoint": None,
    "ca_bundle": None,
    "audience": None,
    "debug": False,
    "verbose": False,
    "json": False,
}
# Options that name where the real tenant is; --sandbox is a tenant of its own.
REAL_TENANT_OPTIONS = {
    "arm_endpoint": "--arm-endpoint",
    "ca_bundle": "--ca-bundle",
    "audience": "--audience",
    "tenant": "--tenant",
    "cloud": "--cloud",
    "device_code": "--device-code",
}


class UsageError(ValueError):
    """Options that cannot work together, or a file named by an option that is unusable (exit 2)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def add_connection_options(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    """The connection and logging options. `top_level`: the parser whose values are the defaults;
    a subcommand's copy sets only what was typed after the subcommand."""

    def default(dest: str) -> Any:
        return CONNECTION_DEFAULTS[dest] if top_level else argparse.SUPPRESS

    group = parser.add_argument_group("connection (before or after the command)")
    group.add_argument(
        "--sandbox", action="store_true", default=default("sandbox"), help="use an in-process demo tenant"
    )
    group.add_argument(
        "--sandbox-scenario",
        default=default("sandbox_scenario"),
        choices=("demo", "empty", "large"),
        help=argparse.SUPPRESS,
    )
    group.add_argument(
        "--sandbox-state",
        type=Path,
        metavar="FILE",
        default=default("sandbox_state"),
        help="with --sandbox: keep the demo tenant in FILE between runs",
    )
    group.add_argument("--tenant", metavar="ID", default=default("tenant"), help="sign in to this tenant")
    group.add_argument(
        "--device-code",
        action="store_true",
        default=default("device_code"),
        help="sign in with a device code (SSH sessions)",
    )
    group.add_argument(
        "--cloud", choices=sorted(CLOUDS), default=default("cloud"), help="the Azure cloud (default AzureCloud)"
    )
    group.add_argument(
        "--arm-endpoint",
        metavar="URL",
        default=default("arm_endpoint"),
        help="another Resource Manager endpoint (Azure Stack Hub, a sandbox served elsewhere)",
    )
    group.add_argument(
        "--ca-bundle", metavar="PATH", default=default("ca_bundle"), help="CA certificates to trust for --arm-endpoint"
    )
    group.add_argument(
        "--audience",
        metavar="URL",
        default=default("audience"),
        help="the token audience of --arm-endpoint (default: read from its /metadata/endpoints)",
    )
    output = parser.add_argument_group("output (before or after the command)")
    output.add_argument(
        "--json",
        action="store_true",
        default=default("json"),
        help='plan, apply, verify, rollback: one JSON document on stdout (errors too: {"error": ...})',
    )
    output.add_argument(
        "--verbose", action="store_true", default=default("verbose"), help="log the steps and their timings to stderr"
    )
    output.add_argument(
        "--debug",
        action="store_true",
        default=default("debug"),
        help="log every HTTP request and response status to stderr (tokens and secrets redacted)",
    )


def check_options(args: argparse.Namespace) -> None:
    """Refuse option combinations that cannot mean what the user hopes, before anything runs.

    Raises UsageError naming the option.
    """
    opts = {k: getattr(args, k, v) for k, v in CONNECTION_DEFAULTS.items()}
    if opts["sandbox"]:
        clash = [flag for dest, flag in REAL_TENANT_OPTIONS.items() if opts[dest]]
        if clash:
            raise UsageError(
                "--sandbox",
                f"runs an in-process demo tenant; it cannot be combined with {', '.join(clash)} "
                "(to reach a sandbox served elsewhere, use --arm-endpoint and --ca-bundle without --sandbox)",
            )
        return
    if opts["sandbox_state"] is not None:
        raise UsageError("--sandbox-state", "only applies with --sandbox")
    endpoint = opts["arm_endpoint"]
    if opts["ca_bundle"] and not endpoint:
        raise UsageError("--ca-bundle", "only applies with --arm-endpoint")
    if opts["audience"] and not endpoint:
        raise UsageError("--audience", "only applies with --arm-endpoint")
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme.lower() != "https" or not parts.hostname or parts.query or parts.fragment:
            raise UsageError("--arm-endpoint", f"{endpoint!r} is not an https:// URL of a Resource Manager endpoint")
        from .azure.connection import UnsafeEndpoint, known_cloud_of_host, resolve_audience

        host_cloud = known_cloud_of_host(endpoint)
        if host_cloud and opts["cloud"] and opts["cloud"] != host_cloud:
            raise UsageError("--cloud", f"{opts['cloud']} does not match --arm-endpoint {endpoint}, which is {host_cloud}")
        if opts["audience"] or host_cloud:
            try:
                resolve_audience(endpoint, opts["audience"], opts["cloud"] or "AzureCloud")
            except UnsafeEndpoint as err:
                raise UsageError("--arm-endpoint", str(err)) from err
    if opts["ca_bundle"]:
        path = Path(opts["ca_bundle"])
        if not path.is_file():
            raise UsageError("--ca-bundle", f"{path} is not a readable file")


def connection_flags(args: argparse.Namespace) -> list[str]:
    """The connection options in use, as arguments to paste after another runner-identity command
    (paths made absolute, so a hint works from any directory)."""
    opts = {k: getattr(args, k, v) for k, v in CONNECTION_DEFAULTS.items()}
    flags: list[str] = []
    if opts["sandbox"]:
        flags.append("--sandbox")
        if opts["sandbox_scenario"] != "demo":
            flags += ["--sandbox-scenario", opts["sandbox_scenario"]]
        if opts["sandbox_state"] is not None:
            flags += ["--sandbox-state", str(Path(opts["sandbox_state"]).resolve())]
        return flags
    if opts["cloud"]:
        flags += ["--cloud", opts["cloud"]]
    if opts["arm_endpoint"]:
        flags += ["--arm-endpoint", opts["arm_endpoint"]]
    if opts["ca_bundle"]:
        flags += ["--ca-bundle", str(Path(opts["ca_bundle"]).resolve())]
    if opts["audience"]:
        flags += ["--audience", opts["audience"]]
    if opts["tenant"]:
        flags += ["--tenant", opts["tenant"]]
    if opts["device_code"]:
        flags.append("--device-code")
    return flags


def command_hint(args: argparse.Namespace, *words: str | Path) -> str:
    """`runner-identity WORDS... <connection options in use>`, quoted for a POSIX shell; a Path
    among WORDS is made absolute, so the hint works from any directory."""
    shown = [str(w.resolve()) if isinstance(w, Path) else w for w in words]
    return shlex.join(["runner-identity", *shown, *connection_flags(args)])


@dataclass
class Session:
    connection: Connection
    sandbox_banner: str | None = None
    # The subscription to offer first when the usual default (AZURE_SUBSCRIPTION_ID, the az CLI's)
    # means nothing here: in a sandbox, its first subscription.
    default_subscription: str | None = None


def connection_from_options(args: argparse.Namespace) -> Connection:
    """The Connection for the real-tenant options (not --sandbox): the endpoint's audience read
    from its cloud metadata when neither a known cloud nor --audience names it.

    Raises UsageError when the options are unusable or no token may safely go to the endpoint.
    """
    from .azure.connection import UnsafeEndpoint, discover_audience, known_cloud_of_host

    check_options(args)
    endpoint = getattr(args, "arm_endpoint", None)
    ca_bundle = str(Path(args.ca_bundle).resolve()) if getattr(args, "ca_bundle", None) else None
    audience = getattr(args, "audience", None)
    cloud = getattr(args, "cloud", None) or (known_cloud_of_host(endpoint) if endpoint else None) or "AzureCloud"
    if endpoint and not audience and known_cloud_of_host(endpoint) is None:
        audience = discover_audience(endpoint, ca_bundle)
        log.info("audience of %s from its cloud metadata: %s", endpoint, audience or "none")
    try:
        connection = Connection(
            cloud=cloud,
            arm_endpoint=endpoint,
            arm_audience=audience,
            ca_bundle=ca_bundle,
            tenant=getattr(args, "tenant", None),
            device_code=bool(getattr(args, "device_code", False)),
        )
    except UnsafeEndpoint as err:
        raise UsageError("--arm-endpoint", str(err)) from err
    log.info("Resource Manager %s, token audience %s", connection.endpoint, connection.audience)
    return connection


@contextlib.contextmanager
def open_session(args: argparse.Namespace) -> Iterator[Session]:
    """A Session for the options; for --sandbox, an in-process sandbox that stops on exit.

    Raises UsageError (before anything is sent) for unusable options or a corrupt --sandbox-state.
    """
    if getattr(args, "sandbox", False):
        thread, info = _start_sandbox(args)
        try:
            with info.exported():
                yield Session(
                    Connection(
                        arm_endpoint=info.arm_endpoint,
                        ca_bundle=info.ca_bundle,
                        managed_identity_only=True,
                        poll_interval=0.2,
                    ),
                    sandbox_banner=f"SANDBOX: a local demo tenant at {info.arm_endpoint}; nothing here touches Azure.",
                    default_subscription=info.subscription_ids[0] if info.subscription_ids else None,
                )
        finally:
            thread.stop()
        return
    yield Session(connection_from_options(args))


def _start_sandbox(args: argparse.Namespace) -> tuple[Any, Any]:
    from .sandbox.server import SandboxThread
    from .sandbox.state import SandboxConfig
    from .sandbox.statefile import StateFileBusyError, StateFileLock

    state = getattr(args, "sandbox_state", None)
    config = SandboxConfig(
        scenario=getattr(args, "sandbox_scenario", "demo"), state_file=state, retry_after_s=0, lro_polls=2
    )
    if state is not None and Path(state).is_dir():
        raise UsageError("--sandbox-state", f"{state} is a directory, not a sandbox state file")
    try:
        thread = SandboxThread(config)
        _check_store(thread.sandbox.store)
    except StateFileBusyError as exc:  # a good file, held by another command or `sandbox serve`
        try:
            holder = StateFileLock(Path(state)).lock_path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            holder = ""
        raise UsageError(
            "--sandbox-state",
            f"{state} is in use by {'process ' + holder if holder.isdigit() else 'another process'}: wait for "
            "that command to end (or stop that sandbox), or give this one another --sandbox-state file",
        ) from exc
    except Exception as exc:  # whatever a damaged file makes the loader raise, the user sees one line
        if state is None:
            raise
        if isinstance(exc, PermissionError):
            raise UsageError("--sandbox-state", f"{state} cannot be opened: {exc.strerror}") from exc
        raise UsageError("--sandbox-state", f"{state} is not a sandbox state file ({_reason(exc)})") from exc
    info = thread.start()
    return thread, info


def _check_store(store: Any) -> None:
    """The shape every sandbox route relies on: maps of objects keyed by id, a caller with an id."""
    for name in ("subscriptions", "resources", "hidden", "principals"):
        value = getattr(store, name)
        if not isinstance(value, dict):
            raise ValueError(f"'{name}' is not an object")
        if name != "principals" and not all(isinstance(v, dict) for v in value.values()):
            raise ValueError(f"an entry of '{name}' is not an object")
    if not isinstance(store.caller, dict) or not isinstance(store.caller.get("object_id"), str):
        raise ValueError("'caller' has no object_id")
    if not isinstance(store.tenant_id, str):
        raise ValueError("'tenant_id' is not a string")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, KeyError):
        return f"missing {text}"
    return text or type(exc).__name__
