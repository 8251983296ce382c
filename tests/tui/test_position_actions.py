"""One position at a time from the console: x closes it at market (reduce-only, after a yes), S
moves its stop (tighten only: a widening is refused with the risk engine's reason), T moves its
target; each is audited and the resting orders at the venue follow the new levels."""

from __future__ import annotations

from collections.abc import Callable

from tests.tui.kit import (
    WIDE,
    ConsoleUnderTest,
    audited,
    paper_db,
    positions_pane,
    press,
    run_until,
    settle,
    started,
    text,
)
from tradeterm.domain.enums import Side
from tradeterm.domain.orders import OrderPurpose
from tradeterm.tui.screens import PositionCloseModal, PositionLevelModal
from tradeterm.tui.screens.main import MainScreen

Factory = Callable[..., ConsoleUnderTest]


async def _select_a_position(app: ConsoleUnderTest, pilot: object) -> tuple[str, str]:
    await run_until(pilot, lambda: bool(app.node.portfolio.positions()))  # type: ignore[arg-type]
    await press(pilot, "2")  # type: ignore[arg-type]
    chosen = positions_pane(app).selected_position()
    assert chosen is not None
    wallet_id, row = chosen
    return wallet_id, row.key


def _resting(app: ConsoleUnderTest, wallet_id: str, key: str, purpose: OrderPurpose) -> float:
    """The level of the protective order resting at the venue for a position."""
    router = app.node.execution.router
    coid = router.protection[(wallet_id, key)][purpose]
    order = router.ledger.get(coid, wallet_id)
    assert order is not None and not order.status.is_terminal
    assert order.reduce_only
    level = order.stop_price if purpose is OrderPurpose.STOP_LOSS else order.price
    assert level is not None
    return level


async def test_x_closes_the_selected_position_with_a_reduce_only_market_order(
    new_console: Factory,
) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        wallet_id, key = await _select_a_position(app, pilot)
        opened = app.node.portfolio.position(wallet_id, key)
        assert opened is not None

        await press(pilot, "x")
        assert isinstance(app.screen, PositionCloseModal)
        assert "CLOSE POSITION AT MARKET?" in text(pilot) and key in text(pilot)
        await press(pilot, "n")  # keep it: nothing happens
        assert isinstance(app.screen, MainScreen)
        assert audited(app, "close_position") == []

        await press(pilot, "x", "y")
        assert audited(app, "close_position") == [("console", True)]
        assert app.noted(f"closing {opened.side.value} {opened.qty:g} {wallet_id}/{key}")
        orders = paper_db(app).load_orders()
        closing = [o for o in orders if o.purpose is OrderPurpose.EXIT and o.reason == "manual"]
        assert len(closing) == 1
        assert closing[0].reduce_only and closing[0].side is opened.side.opposite
        assert closing[0].qty == opened.qty


async def test_s_tightens_the_stop_refuses_a_widening_and_the_resting_stop_follows(
    new_console: Factory,
) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        wallet_id, key = await _select_a_position(app, pilot)
        position = app.node.portfolio.position(wallet_id, key)
        assert position is not None
        mark = app.node.portfolio.mark(key)
        assert mark is not None
        sign = position.side.sign
        wider = position.stop_loss - sign * abs(mark - position.stop_loss)
        tighter = position.stop_loss + sign * abs(mark - position.stop_loss) / 2

        await press(pilot, "S")
        assert isinstance(app.screen, PositionLevelModal)
        assert "MOVE STOP" in text(pilot)
        await press(pilot, *f"{wider:.6f}", "enter")
        assert isinstance(app.screen, MainScreen)
        assert app.noted("refused by the risk engine: stop may not be widened")
        assert audited(app, "move_stop") == [("console", False)]
        same = app.node.portfolio.position(wallet_id, key)
        assert same is not None and same.stop_loss == position.stop_loss

        await press(pilot, "S", *f"{tighter:.6f}", "enter")
        assert audited(app, "move_stop")[-1] == ("console", True)
        moved = app.node.portfolio.position(wallet_id, key)
        assert moved is not None and moved.stop_loss == float(f"{tighter:.6f}")
        assert _resting(app, wallet_id, key, OrderPurpose.STOP_LOSS) == moved.stop_loss
        assert paper_db(app).load_positions(wallet_id)[0].stop_loss == moved.stop_loss


async def test_t_moves_the_target_and_the_resting_target_follows(new_console: Factory) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        wallet_id, key = await _select_a_position(app, pilot)
        position = app.node.portfolio.position(wallet_id, key)
        assert position is not None
        further = position.take_profit + position.side.sign * abs(
            position.take_profit - position.entry_price
        )
        await press(pilot, "T")
        assert "MOVE TARGET" in text(pilot)
        await press(pilot, *"abc", "enter")  # not a price: the modal says so and stays
        assert isinstance(app.screen, PositionLevelModal)
        assert "'abc' is not a price" in text(pilot)
        await press(pilot, *["backspace"] * 3, *f"{further:.6f}", "enter")
        assert audited(app, "move_target") == [("console", True)]
        moved = app.node.portfolio.position(wallet_id, key)
        assert moved is not None and moved.take_profit == float(f"{further:.6f}")
        assert _resting(app, wallet_id, key, OrderPurpose.TAKE_PROFIT) == moved.take_profit
        assert moved.side in (Side.BUY, Side.SELL)
        await settle(pilot)


async def test_x_without_a_position_says_how_to_choose_one(new_console: Factory) -> None:
    app = new_console()
    async with app.run_test(size=WIDE) as pilot:
        await started(pilot)
        await press(pilot, "x")
        assert isinstance(app.screen, MainScreen)
        assert app.noted("no position selected")
