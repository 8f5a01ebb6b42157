"""The runner-identity wizard: a Textual app that walks the portal's path with live choices.

How it is put together:

- The flow is a table (flow.py): the ordered steps, each a screen class. The app owns it: a
  screen posts `NextStep` or `PreviousStep` (messages.py) and the app shows the step that
  follows or pops back. Screens never import each other, nor this module.
- `WizardState` (state.py) holds every choice and every list loaded from Azure; screens read it
  when they mount and write it as the admin types, so Back and Next never lose anything.
- Nothing here calls the Azure SDK: workers call the `Gateway` (and `Applier`, `verify`), on the
  app's own event loop, and their results come back as messages to the screen showing.
- The first screen paints before anything heavy loads: Azure's libraries (and the sandbox, for
  --sandbox) are imported by the sign-in worker right after it.
- As soon as a subscription is chosen (or offered first), one worker loads every list the later
  screens need, concurrently (`wizard.catalog`), so they are ready when the admin gets there.
- Quitting asks first whenever something would be lost (choices not saved, or apply writing),
  by every path: ctrl+q, the command palette, a Quit button.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.scrollbar import ScrollBar

from .flow import FLOW, index_of
from .messages import (
    CatalogFailed,
    CatalogLoaded,
    Connected,
    ConnectFailed,
    DeviceCode,
    NextStep,
    PreviousStep,
    QuitRequested,
)
from .state import WizardState
from .theme import theme_for
from .widgets.scrollbar import MarkedScrollBar

if TYPE_CHECKING:
    from ..azure.connection import Connection
    from ..azure.gateway import Gateway
    from ..plan import Plan

SANDBOX_BANNER = "SANDBOX · a local demo tenant · nothing here touches Azure"


def connection_options(sandbox: bool = False, **overrides: Any) -> argparse.Namespace:
    """The connection options `wizard.connect.open_session` reads: the command line's defaults
    (`wizard.connect.CONNECTION_DEFAULTS`), `sandbox`, then `overrides`."""
    from ..connect import CONNECTION_DEFAULTS

    return argparse.Namespace(**{**CONNECTION_DEFAULTS, "sandbox": sandbox, **overrides})


class RunnerIdentityApp(App[int]):
    TITLE = "runner-identity"
    SUB_TITLE = "a managed identity for the Maia runner"
    CSS_PATH = "app.tcss"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # app.tcss: tighter spacing on short terminals
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(
        self,
        connection: Connection | None = None,
        *,
        sandbox: bool = False,
        plan: Plan | None = None,
        journal_dir: Path | None = None,
        options: argparse.Namespace | None = None,
        default_subscription: str | None = None,
    ) -> None:
        """`connection`: talk to this endpoint (tests pass a running sandbox's). Without one, the
        sign-in worker opens a session from `options` (the command line's connection options; by
        default the real Azure cloud, or an in-process demo sandbox with `sandbox=True`)."""
        # Without colour, Textual strips colours to the terminal's defaults (not to greys) only if
        # told before it starts that the colours are the terminal's own.
        super().__init__(ansi_color=True if "NO_COLOR" in os.environ else None)
        ScrollBar.renderer = MarkedScrollBar  # a bar that shows without colour (widgets/scrollbar.py)
        theme = theme_for(self.console.color_system, self.no_color)
        if theme is not None:
            self.register_theme(theme)
            self.theme = theme.name
        self.connection = connection
        self.options = options if options is not None else connection_options(sandbox)
        self.use_sandbox = bool(sandbox or getattr(self.options, "sandbox", False))
        self.uses_device_code = bool(
            connection.device_code if connection is not None else getattr(self.options, "device_code", False)
        )
        self.state = WizardState()
        if plan is not None:
            self.state.load_plan(plan)
        self.journal_dir = journal_dir
        self.gateway: Gateway | None = None
        self.sandbox_banner: str | None = SANDBOX_BANNER if self.use_sandbox else None
        if self.use_sandbox and getattr(self.options, "sandbox_scenario", "demo") != "demo":
            self.sandbox_banner = SANDBOX_BANNER.replace("demo", f"'{self.options.sandbox_scenario}'")
        self.first_paint_hook: Callable[[], None] | None = None  # the start-up benchmark's
        self.catalog_ready_hook: Callable[[str], None] | None = None  # called with the subscription
        self.connect_error: str | None = None
        self.device_code: DeviceCode | None = None
        self._session: contextlib.AbstractContextManager[Any] | None = None
        # Offered first when neither a plan nor AZURE_SUBSCRIPTION_ID / the az CLI names one.
        self._default_subscription: str | None = default_subscription
        self._catalog_loading: str | None = None

    def on_mount(self) -> None:
        self.push_screen(FLOW[0].screen())
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        if self.first_paint_hook is not None:
            self.first_paint_hook()
            return
        self.connect()

    # -- the flow -------------------------------------------------------------------------------------
    def step_names(self) -> list[str]:
        return [step.name for step in FLOW]

    def step_index(self, screen: Screen[object]) -> int:
        return index_of(type(screen))

    def on_next_step(self, message: NextStep) -> None:
        """A step is complete: show the one after it (a step's screen is built afresh each time)."""
        if message.screen is not self.screen:
            return  # a late message from a screen no longer showing
        following = self.step_index(message.screen) + 1
        if following < len(FLOW):
            self.push_screen(FLOW[following].screen())

    def on_previous_step(self, message: PreviousStep) -> None:
        if message.screen is self.screen and self.step_index(message.screen) > 0:
            self.pop_screen()  # the screen's workers go with it

    # -- quitting -----------------------------------------------------------------------------------
    @property
    def applying(self) -> bool:
        return any(w.group == "apply" and w.is_running for w in self.workers)

    async def action_quit(self) -> None:
        """ctrl+q and the command palette's Quit: ask first when anything would be lost."""
        self.request_quit()

    def on_quit_requested(self, _message: QuitRequested) -> None:
        self.request_quit()

    def request_quit(self) -> None:
        """Quit at once when nothing would be lost; otherwise say what would be, and ask."""
        question = self._what_quitting_loses()
        code = 0 if self.state.outcome is None or self.state.outcome.ok else 1
        if question is None:
            self.exit(code, return_code=code)
            return
        from .screens.confirm import ConfirmModal

        if any(isinstance(s, ConfirmModal) for s in self.screen_stack):
            return  # asking already

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit(1 if self.applying else code, return_code=1 if self.applying else code)

        self.push_screen(ConfirmModal(question, yes="Quit", no="Stay"), answered)

    def _what_quitting_loses(self) -> str | None:
        from ..connect import command_hint  # the hints carry the connection in use, so copying them works

        outcome = self.state.outcome
        journal = escape(str(outcome.journal)) if outcome is not None and outcome.journal else None
        if self.applying:
            return (
                "Apply is writing to Azure now. Quit anyway?\n\nThe journal says what was done; "
                f"`{escape(command_hint(self.options, 'apply', 'PLAN'))}` resumes and "
                f"`{escape(command_hint(self.options, 'rollback', 'JOURNAL'))}` undoes it."
            )
        if outcome is not None and outcome.status == "failed" and outcome.journal and not self.state.rolled_back:
            undo = escape(command_hint(self.options, "rollback", Path(outcome.journal)))
            return (
                f"Apply stopped part-way. Quit?\n\nThe journal [b]{journal}[/] says what was written: "
                f"`{undo}` undoes it."
            )
        if self.state.unsaved():
            return (
                "Quit and lose your choices?\n\nReview → Save plan (ctrl+s) keeps them in a plan file: "
                "`runner-identity --plan FILE` opens the wizard with them again."
            )
        return None

    # -- signing in ---------------------------------------------------------------------------------
    @work(exclusive=True, exit_on_error=False, group="connect")
    async def connect(self) -> None:
        from ..azure.connection import default_subscription
        from ..azure.errors import GatewayError
        from .advice import sign_in_problem

        self.connect_error = None
        try:
            if self.connection is None:
                self.connection = await self._open_session()
            if self.gateway is None:
                self.gateway = self._make_gateway(self.connection)
            self.state.signed_in = await self.gateway.signed_in()
            default = self.state.subscription or self._default_subscription or default_subscription()
            self.state.subscriptions = await self.gateway.subscriptions(default=default)
        except GatewayError as err:
            await self._connect_failed(sign_in_problem(err, device_code=self.uses_device_code))
            return
        except (OSError, ValueError, SystemExit) as err:  # a bad --ca-bundle, a sandbox that cannot start
            await self._connect_failed(f"Could not connect: {err}")
            return
        self.post_message(Connected())
        # The subscription a plan names, or the default, is the likely choice: its lists start now.
        offered = self.state.subscription or next((s.id for s in self.state.subscriptions if s.is_default), None)
        if offered is not None and any(s.id == offered for s in self.state.subscriptions):
            self.load_catalog(offered)

    async def _connect_failed(self, text: str) -> None:
        self.connect_error = text
        if self.gateway is not None:
            # Try again with a new credential: it reads the environment (and `az login`) afresh.
            gateway, self.gateway = self.gateway, None
            await gateway.close()
        self.post_message(ConnectFailed(text))

    async def _open_session(self) -> Connection:
        from ..connect import open_session

        session_cm = open_session(self.options)
        session = await asyncio.to_thread(session_cm.__enter__)
        self._session = session_cm
        self._default_subscription = session.default_subscription or self._default_subscription
        self.uses_device_code = session.connection.device_code
        return session.connection

    def _make_gateway(self, connection: Connection) -> Gateway:
        from ..azure.connection import make_credential
        from ..azure.gateway import Gateway

        if not connection.device_code:
            return Gateway(connection)

        def prompt(url: str, code: str, _expires: Any) -> None:
            # Called on the credential's thread while it waits for the admin to sign in.
            self.call_from_thread(self.post_message, DeviceCode(url, code))

        return Gateway(connection, make_credential(connection, prompt=prompt))

    def on_device_code(self, message: DeviceCode) -> None:
        self.device_code = message
        self.screen.post_message(DeviceCode(message.url, message.code))

    def on_connected(self, _message: Connected) -> None:
        self.device_code = None
        self.screen.post_message(Connected())

    def on_connect_failed(self, message: ConnectFailed) -> None:
        self.screen.post_message(ConnectFailed(message.text))

    # -- the lists every later screen needs, loaded once per subscription ---------------------------
    def load_catalog(self, subscription: str) -> None:
        """Make sure `subscription`'s lists are loaded or loading; the screen showing hears when."""
        cached = self.state.catalogs.get(subscription)
        if cached is not None:
            if self.state.catalog_loaded(cached):
                self.post_message(CatalogLoaded(cached))
            return
        if self._catalog_loading == subscription:
            return
        self._catalog_loading = subscription
        self._load_catalog(subscription)  # exclusive: a load for another subscription is cancelled

    @work(exclusive=True, exit_on_error=False, group="catalog", description="the subscription's lists")
    async def _load_catalog(self, subscription: str) -> None:
        from ..azure.errors import GatewayError
        from ..catalog import open_catalog

        assert self.gateway is not None
        catalog = None
        try:
            catalog, rest = await open_catalog(self.gateway, subscription)
            if self.state.catalog_loaded(catalog):
                if self.catalog_ready_hook is not None:
                    self.catalog_ready_hook(subscription)
                self.post_message(CatalogLoaded(catalog))
            # A list longer than a page goes on loading behind the screen; each is shown again when whole.
            async for grown in rest:
                if self.state.catalog_loaded(catalog):
                    self.post_message(CatalogLoaded(catalog, grown))
        except (GatewayError, OSError) as err:
            text = (
                err.plain() if isinstance(err, GatewayError) else f"Could not list the subscription's resources: {err}"
            )
            if self.state.subscription == subscription:
                self.state.catalog_error = text
                self.post_message(CatalogFailed(subscription, text))
            return
        finally:
            if self._catalog_loading == subscription:
                self._catalog_loading = None
            if catalog is not None and not catalog.complete and self.state.catalogs.get(subscription) is catalog:
                del self.state.catalogs[subscription]  # unfinished: read again when next asked for
        self.call_after_refresh(self._keep_out_of_collections)

    def _keep_out_of_collections(self) -> None:
        """The lists live as long as the app: take them (and everything loaded so far) out of the
        garbage collector's full scans, which otherwise stall a screen's opening for a tenth of a
        second or more whenever one happens to run (measured: benchmarks/bench_wizard.py)."""
        gc.collect()
        gc.freeze()

    def on_catalog_loaded(self, message: CatalogLoaded) -> None:
        # Screens listen for the catalog themselves; the app passes it on to the one showing.
        self.screen.post_message(CatalogLoaded(message.catalog, message.grown))

    def on_catalog_failed(self, message: CatalogFailed) -> None:
        self.screen.post_message(CatalogFailed(message.subscription, message.text))

    async def on_unmount(self) -> None:
        if self.gateway is not None:
            await self.gateway.close()
        if self._session is not None:
            await asyncio.to_thread(self._session.__exit__, None, None, None)


def run_wizard(sandbox: bool = False, plan_path: Path | None = None, options: argparse.Namespace | None = None) -> int:
    """`runner-identity [--sandbox] [--plan FILE] [connection options]`: the wizard, full screen."""
    plan = None
    if plan_path is not None:
        from ..plan import Plan
        from ..rules import RuleError

        try:
            plan = Plan.load(plan_path)
        except RuleError as err:
            print(f"runner-identity: {err}")
            return 2
    if options is not None and options.ca_bundle and not options.arm_endpoint:
        print("runner-identity: --ca-bundle only applies with --arm-endpoint")
        return 2
    result = RunnerIdentityApp(sandbox=sandbox, plan=plan, options=options).run()
    return int(result or 0)
