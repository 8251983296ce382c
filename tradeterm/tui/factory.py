"""Build and run the console on a config: `tradeterm` / `tradeterm run` / `make run`."""

from __future__ import annotations

from tradeterm.clock import Clock, LiveClock
from tradeterm.config import TradetermConfig
from tradeterm.daemon import prepare_process
from tradeterm.node import NodeOptions, build_node
from tradeterm.tui.app import TradetermApp


def build_console(
    config: TradetermConfig, options: NodeOptions, *, clock: Clock | None = None
) -> TradetermApp:
    """The console app with its node (not started: the app starts it in a worker)."""
    clock = clock or LiveClock()
    node = build_node(config, clock, options)
    ui = config.ui
    return TradetermApp(
        node, clock=clock, theme=ui.theme, refresh_hz=ui.refresh_hz, compact_width=ui.compact_width
    )


def run_console(config: TradetermConfig, options: NodeOptions) -> int:
    """Run the console until the operator quits; logs go to state/tradeterm.log (the terminal
    belongs to the console). Returns the exit code (2 when the node refused to start)."""
    clock = LiveClock()
    prepare_process(config, options, clock, log_stream=None)
    app = build_console(config, options, clock=clock)
    result = app.run()
    return int(result if result is not None else app.exit_code)
