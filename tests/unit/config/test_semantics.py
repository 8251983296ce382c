"""Issue 9, defect 2 and issue 11, item 8: configs whose values are each valid but make no sense
together are refused by `validate-config` with one line naming every key in conflict and the
rule; and `validate-config` runs exactly the checks start-up runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeterm.checks import load_checked_config, validate_config_file
from tradeterm.cli import main
from tradeterm.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
DEFAULT = REPO / "configs" / "default.toml"


def problems_with(*overrides: str) -> list[str]:
    return validate_config_file(DEFAULT, overrides)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["wallets.paper_balance=inf"], "wallets.paper_balance: must be a finite number, got inf"),
        (["wallets.paper_balance=nan"], "wallets.paper_balance: must be a finite number, got nan"),
        (["wallets.paper_balance=1e308"], "wallets.paper_balance: must be <= 1000000000"),
        (["wallets.paper_balance=1e-300"], "wallets.paper_balance: must be >= 1, got 1e-300"),
        (["venues.sim.starting_balance=1e-300"], "venues.sim.starting_balance: must be >= 1"),
        (
            ["venues.sim.starting_balance=1e308"],
            "venues.sim.starting_balance: must be <= 1000000000",
        ),
        (["risk.max_drawdown=inf"], "risk.max_drawdown: must be a finite number, got inf"),
        (["allocator.seed=-1"], "allocator.seed: must be >= 0, got -1"),
        (["venues.sim.seed=-5"], "venues.sim.seed: must be >= 0, got -5"),
        (
            ["risk.daily_loss_cap=0.3"],
            "risk.daily_loss_cap = 0.3 is above risk.max_drawdown = 0.15",
        ),
        (
            ["risk.symbol_loss_cap=0.1"],
            "risk.symbol_loss_cap = 0.1 is above risk.daily_loss_cap = 0.06",
        ),
        (
            ["risk.max_portfolio_exposure=10"],
            "risk.max_portfolio_exposure = 10 is above risk.max_leverage = 3",
        ),
        (
            ["risk.max_pair_exposure=4", "risk.max_portfolio_exposure=4"],
            "risk.max_pair_exposure = 4 is above risk.max_leverage = 3",
        ),
        (
            ["risk.min_reward_risk=12"],
            "risk.min_reward_risk = 12 is above every strategy's highest reward_risk (10)",
        ),
        (
            ["strategies.ema_trend.params.reward_risk=2"],
            "strategies.ema_trend.params.reward_risk = 2 is below risk.min_reward_risk = 3",
        ),
        (
            ["allocator.exploration_floor=0.5"],
            "allocator.exploration = 0.1 is below allocator.exploration_floor = 0.5",
        ),
        (["wallets.currency='$$$'"], "wallets.currency: must match"),
        (["storage.state_dir='/proc'"], "storage.state_dir = '/proc': /proc is a system folder"),
        (
            ["storage.state_dir='/dev/null'"],
            "storage.state_dir = '/dev/null': /dev/null is a system",
        ),
        (["storage.state_dir='" + "s" * 100_000 + "'"], "storage.state_dir: must be at most 1024"),
        (
            ["telemetry.prometheus_host='not a host!'"],
            "telemetry.prometheus_host = 'not a host!' is not an IP address or host name",
        ),
        (
            ["notify.telegram.enabled=true"],
            "notify.telegram.enabled = true: Telegram notifications are not available",
        ),
        (
            ["strategies.ema_trend.domains=[]"],
            "strategies.ema_trend: trades nothing: give it domains or symbols",
        ),
        (["strategies.ema_trend.timeframes=[]"], "strategies.ema_trend.timeframes: must name"),
        (
            ["strategies.ema_trend.timeframes=['30s']"],
            "strategies.ema_trend.timeframes: '30s' bars are never built from ticks",
        ),
        (
            ["wallets.live.accounts.synthetics.account='nope'"],
            "wallets.live.accounts.synthetics.account = 'nope' is not one of venues.sim.accounts",
        ),
        (
            ["venues.sim.accounts=['paper', 'live', 'paper']"],
            "venues.sim.accounts: 'paper' is listed twice",
        ),
        (
            ["venues.sim.enabled=false"],
            "domains.synthetics.venue = 'sim' names a disabled venue (venues.sim.enabled = false)",
        ),
        (
            ["venues.deribit={kind='deribit'}"],
            "venues.deribit.kind = 'deribit': the 'deribit' adapter is not available in this version",
        ),
        (
            ['telemetry.log_file="x\\u0000y"'],
            "telemetry.log_file: a path may not contain control characters (found 0x0)",
        ),
        (
            ["rollout.stages=[{name='a', domains={synthetics='paper'}, gates={crypto_spot={}}}]"],
            "rollout.stages[0].gates.crypto_spot: no domain 'crypto_spot' is configured",
        ),
    ],
    ids=lambda v: v[0][:40] if isinstance(v, list) else "",
)
def test_nonsense_is_refused_naming_the_keys_and_the_rule(
    overrides: list[str], expected: str
) -> None:
    problems = problems_with(*overrides)
    assert any(p.startswith(expected) for p in problems), problems
    assert all("\n" not in p and len(p) < 400 for p in problems)


def test_the_default_config_and_its_neighbours_are_valid() -> None:
    assert problems_with() == []
    assert problems_with("risk.daily_loss_cap=0.15") == []  # equal to the kill level is fine
    assert problems_with("allocator.exploration=0.5", "allocator.exploration_floor=0.5") == [
        "allocator.chop_exploration = 0.25 is below allocator.exploration_floor = 0.5:"
        " exploration never goes under its floor (chop_exploration >= exploration_floor)"
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        ["venues.deribit={kind='deribit'}"],
        ["storage.state_dir='/proc/x'"],
        ["risk.min_reward_risk=12"],
        ["telemetry.log_file='/proc/version'"],
        ["control.socket='paper.db'"],
        ["venues.sim.replay=[{symbol='X', path='/dev/zero', timeframe='1m'}]"],
    ],
)
def test_validate_config_refuses_exactly_what_run_refuses(
    overrides: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    problems = problems_with(*overrides)
    assert problems
    with pytest.raises(ConfigError) as info:
        load_checked_config(DEFAULT, overrides)  # what `run` loads before anything starts
    assert info.value.problems == problems
    sets = [arg for o in overrides for arg in ("--set", o)]
    assert main(["run", "--no-ui", "--duration", "1", "--config", str(DEFAULT), *sets]) == 2
    assert capsys.readouterr().err.splitlines() == problems


def test_the_default_stages_gate_only_configured_domains() -> None:
    cfg = load_checked_config(DEFAULT)
    gated = {d.value for stage in cfg.rollout.stages for d in stage.gates}
    assert gated == {"synthetics"}  # no crypto_spot: no venue of the default config provides it


def test_a_log_file_never_replaces_state_and_never_creates_folders(tmp_path: Path) -> None:
    assert problems_with("telemetry.log_file='state/paper.db'") == [
        "telemetry.log_file = 'state/paper.db': that is one of tradeterm's own state files,"
        " not a log file"
    ]
    missing = tmp_path / "no" / "such" / "dir" / "x.log"
    assert problems_with(f"telemetry.log_file='{missing}'") == [
        f"telemetry.log_file = '{missing}': the folder {missing.parent} does not exist"
        " (tradeterm does not create it)"
    ]
    assert not (tmp_path / "no").exists()
    assert problems_with(f"telemetry.log_file='{tmp_path / 'extra.log'}'") == []
    assert problems_with("telemetry.log_file='" + "x" * 300 + "'")[0].endswith(
        "a path part is longer than 255 bytes"
    )


@pytest.mark.parametrize(
    ("socket", "why"),
    [
        ("paper.db", "that name belongs to tradeterm's own state"),
        ("live.db-wal", "that name belongs to tradeterm's own state"),
        ("tradeterm.lock", "that name belongs to tradeterm's own state"),
        ("../../x.sock", "must name a file inside the state folder (no '..', no folder)"),
        ("/tmp/elsewhere.sock", "must be a name inside the state folder"),
        ("s" * 99, "more than a unix socket takes"),
    ],
)
def test_the_control_socket_stays_inside_the_state_folder(socket: str, why: str) -> None:
    problems = problems_with(f"control.socket='{socket}'")
    assert len(problems) == 1 and problems[0].startswith("control.socket = ") and why in problems[0]


def test_a_socket_path_holding_a_file_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "tradeterm.sock").write_text("precious")
    problems = problems_with(f"storage.state_dir='{state}'")
    assert problems == [
        f"control.socket = 'tradeterm.sock': {state / 'tradeterm.sock'} exists and is not a socket;"
        " tradeterm never deletes it: move it away or choose another control.socket"
    ]
