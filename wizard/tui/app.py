"""The runner-identity wizard.

The first screen paints before anything heavy loads: Azure's libraries (and the sandbox, for
--sandbox) are imported by a worker right after it, so the admin sees the wizard at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message import Message

from .state import WizardState

if TYPE_CHECKING:
    from ..azure.connection import Connection
    from ..azure.gateway import Gateway
    from ..catalog import Catalog
    from ..plan import Plan


class Connected(Message, bubble=False):
    """Signed in: who, and the subscriptions they can see (in the app's state)."""


class ConnectFailed(Message, bubble=False):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class CatalogLoaded(Message, bubble=False):
    def __init__(self, catalog: Catalog) -> None:
        super().__init__()
        self.catalog = catalog


class RunnerIdentityApp(App[int]):
    TITLE = "runner-identity"
    SUB_TITLE = "a managed identity for the Maia runner"
    CSS_PATH = "app.tcss"
    BINDINGS = [Binding("ctrl+q", "request_quit", "Quit", priority=True)]

    def __init__(
        self,
        connection: Connection | None = None,
        *,
        sandbox: bool = False,
        plan: Plan | None = None,
        journal_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.connection = connection
        self.use_sandbox = sandbox
        self.state = WizardState()
        if plan is not None:
            self.state.load_plan(plan)
        self.journal_dir = journal_dir
        self.gateway: Gateway | None = None
        self.sandbox_banner: str | None = (
            "SANDBOX: a local demo tenant; nothing here touches Azure." if sandbox else None
        )
        self._sandbox_thread: Any = None
        self._exported: Any = None
        self.first_paint_hook: Callable[[], None] | None = None
        self.connect_error: str | None = None
        self._sandbox_default: str | None = None

    def on_mount(self) -> None:
        from .screens.sign_in import SignInScreen

        self.push_screen(SignInScreen())
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        if self.first_paint_hook is not None:
            self.first_paint_hook()
            return
        self.connect()

    def action_request_quit(self) -> None:
        """Quit, but not silently in the middle of writing to Azure."""
        if not any(w.group == "apply" and w.is_running for w in self.workers):
            self.exit(0)
            return
        from .screens.confirm import ConfirmModal

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit(1)

        self.push_screen(
            ConfirmModal(
                "Apply is writing to Azure now. Quit anyway?\n\nThe journal will say what was done; "
                "`runner-identity apply` resumes and `runner-identity rollback` undoes it.",
                yes="Quit",
                no="Keep going",
            ),
            answered,
        )

    # -- connection -------------------------------------------------------------------------------
    @work(exclusive=True, exit_on_error=False, group="connect")
    async def connect(self) -> None:
        from ..azure.connection import default_subscription
        from ..azure.errors import GatewayError
        from ..azure.gateway import Gateway

        try:
            if self.connection is None:
                self.connection = await asyncio.to_thread(self._make_connection)
            if self.gateway is None:
                self.gateway = Gateway(self.connection)
            self.state.signed_in = await self.gateway.signed_in()
            default = self.state.subscription or self._sandbox_default or default_subscription()
            self.state.subscriptions = await self.gateway.subscriptions(default=default)
        except GatewayError as err:
            self.connect_error = err.plain()
            self.post_message(ConnectFailed(err.plain()))
            return
        self.connect_error = None
        self.post_message(Connected())

    def _make_connection(self) -> Connection:
        from ..azure.connection import Connection

        if not self.use_sandbox:
            return Connection()
        from ..sandbox.server import SandboxThread
        from ..sandbox.state import SandboxConfig

        self._sandbox_thread = SandboxThread(SandboxConfig(retry_after_s=0))
        info = self._sandbox_thread.start()
        # The az CLI's default means nothing in the sandbox: its first subscription is the demo's.
        self._sandbox_default = info.subscription_ids[0]
        self._exported = info.exported()
        self._exported.__enter__()
        return Connection(
            arm_endpoint=info.arm_endpoint, ca_bundle=info.ca_bundle, managed_identity_only=True, poll_interval=0.2
        )

    # -- the lists every later screen needs, loaded once a subscription is chosen ------------------
    @work(exclusive=True, exit_on_error=False, group="catalog")
    async def load_catalog(self, subscription: str) -> None:
        from ..azure.errors import GatewayError
        from ..catalog import load_catalog

        assert self.gateway is not None
        try:
            catalog = await load_catalog(self.gateway, subscription)
        except GatewayError as err:
            self.notify(err.plain(), title="Could not load the subscription's lists", severity="error", timeout=15)
            return
        if self.state.subscription == subscription:
            self.state.catalog = catalog
            self.state.catalog_ready = time.perf_counter()
            self.post_message(CatalogLoaded(catalog))

    def on_catalog_loaded(self, message: CatalogLoaded) -> None:
        # Screens listen for the catalog themselves; the app passes it on to the one showing.
        self.screen.post_message(CatalogLoaded(message.catalog))

    def on_connected(self, message: Connected) -> None:
        self.screen.post_message(Connected())

    def on_connect_failed(self, message: ConnectFailed) -> None:
        self.screen.post_message(ConnectFailed(message.text))

    async def on_unmount(self) -> None:
        if self.gateway is not None:
            await self.gateway.close()
        if self._exported is not None:
            self._exported.__exit__(None, None, None)
        if self._sandbox_thread is not None:
            await asyncio.to_thread(self._sandbox_thread.stop)


def run_wizard(sandbox: bool = False, plan_path: Path | None = None) -> int:
    plan = None
    if plan_path is not None:
        from ..plan import Plan
        from ..rules import RuleError

        try:
            plan = Plan.load(plan_path)
        except RuleError as err:
            print(f"runner-identity: {err}")
            return 2
    result = RunnerIdentityApp(sandbox=sandbox, plan=plan).run()
    return int(result or 0)
