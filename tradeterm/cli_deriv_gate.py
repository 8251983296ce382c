"""The risk engine's verdict on `tradeterm live --confirm`'s one multiplier trade.

The trade is put to the real RiskEngine (risk/engine.py) as the intent a strategy's signal would
make: entry at the spot, stop and target at the contract's SL and TP trigger prices, priced with
the Deriv cost model (commission). The engine sees the live wallet as the account stands: the
Deriv balance, no other positions. A denial refuses the trade with the engine's reasons; the
multiplier's notional (stake x multiplier) may not exceed what the engine sized.
"""

from __future__ import annotations

from tradeterm.clock import LiveClock
from tradeterm.config.models import DerivVenueConfig, RiskConfig
from tradeterm.domain.enums import ContractKind, Domain, Side, WalletMode
from tradeterm.domain.events import OrderIntent, WalletSnapshot
from tradeterm.domain.instruments import Instrument
from tradeterm.domain.market import Tick
from tradeterm.domain.positions import Position
from tradeterm.domain.signals import Signal
from tradeterm.domain.wallets import Wallet, wallet_id
from tradeterm.risk.engine import RiskEngine
from tradeterm.venues.deriv import multiplier_costs
from tradeterm.venues.deriv.trader import Gate, TradeRefused, TradeSpec


class AccountBook:
    """The live wallet as the venue reports it (implements the risk engine's PortfolioView):
    one wallet holding the account balance, no positions, the spot as the mark."""

    def __init__(self, venue: str, balance: float, currency: str, tick: Tick) -> None:
        self.wallet_id = wallet_id(WalletMode.LIVE, Domain.SYNTHETICS)
        self._tick = tick
        self._wallet = Wallet(
            self.wallet_id,
            Domain.SYNTHETICS,
            WalletMode.LIVE,
            currency,
            balance,
            balance,
            venue=venue,
            peak_equity=balance,
            day_start_equity=balance,
        )

    def wallet(self, wallet_id: str) -> Wallet | None:
        return self._wallet if wallet_id == self.wallet_id else None

    def positions(self, wallet_id: str | None = None) -> list[Position]:
        return []

    def mark(self, key: str) -> float | None:
        return self._tick.price if key == self._tick.key else None

    def quote(self, key: str) -> Tick | None:
        return self._tick if key == self._tick.key else None

    def equity(self, wallet_id: str) -> float:
        return self._wallet.balance

    def snapshot(self, wallet_id: str) -> WalletSnapshot:
        w = self._wallet
        return WalletSnapshot(w, w.balance, 0.0, 0.0, {}, 0, 0.0, 0.0, self._tick.ts_ms)


def risk_gate(venue: str, cfg: DerivVenueConfig, risk: RiskConfig, pip: float) -> Gate:
    """A gate for MultiplierTrader.one_trade: refuses (TradeRefused) what the engine denies."""

    def gate(spec: TradeSpec) -> str:
        clock = LiveClock()
        now = clock.now_ms()
        tick = Tick(venue, spec.symbol, now, spec.spot, spec.spot, spec.spot)
        instrument = Instrument(
            venue=venue,
            symbol=spec.symbol,
            kind=ContractKind.SYNTHETIC,
            domain=Domain.SYNTHETICS,
            tick_size=pip,
            lot_step=1e-6,
            min_qty=1e-6,
            base=spec.symbol,
            half_spread=0.0,
        )
        book = AccountBook(venue, spec.balance, spec.currency, tick)
        engine = RiskEngine(
            risk,
            clock,
            book,
            {instrument.key: instrument},
            cost_model=lambda inst: multiplier_costs(cfg, inst),
        )
        side = Side.BUY if spec.up else Side.SELL
        signal = Signal(
            id=f"live-confirm-{now}",
            ts_ms=now,
            venue=venue,
            symbol=spec.symbol,
            timeframe="1m",
            strategy="live_confirm",
            strategy_version="1",
            side=side,
            entry=spec.spot,
            stop_loss=spec.stop_price,
            take_profit=spec.target_price,
        )
        intent = OrderIntent(
            f"intent-{now}", signal, book.wallet_id, Domain.SYNTHETICS, "live_confirm", False, now
        )
        decision = engine.evaluate(intent)
        if not decision.approved:
            raise TradeRefused(f"risk engine denied the trade: {decision.reason_text}")
        if spec.notional > decision.notional + 1e-9:
            raise TradeRefused(
                f"risk engine sized the trade at {decision.notional:.2f} notional, below the "
                f"minimum contract's {spec.notional:.2f}"
            )
        return f"{decision.verdict.value}: {decision.reason_text}"

    return gate
