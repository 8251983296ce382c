"""Live multiplier trading on Deriv: proposal -> buy -> watch the open contract -> sell, with
reconciliation through `portfolio` when a buy's reply is lost (never a blind second buy).

`one_trade` is what `tradeterm live --confirm` runs: the minimum stake, TP and SL in currency,
checked against the config's risk limits before anything is sent, every step appended to an
audit file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradeterm.clock import LiveClock
from tradeterm.config.models import DerivVenueConfig, RiskConfig
from tradeterm.domain.multipliers import (
    MultiplierDirection,
    MultiplierTerms,
    commission_for,
)
from tradeterm.errors import PermanentVenueError, TemporaryVenueError, TradetermError
from tradeterm.venues.deriv.connection import DerivConnection
from tradeterm.venues.deriv.protocol import (
    OpenContract,
    parse_balance,
    parse_buy,
    parse_contracts_for,
    parse_open_contract,
    parse_portfolio,
    parse_tick,
)


class TradeRefused(TradetermError):
    """The pre-trade check or the venue refused the trade."""


@dataclass(frozen=True, slots=True)
class TradeSpec:
    """The trade about to be sent, for the pre-trade gate: the spot now, the contract's stop and
    target trigger prices at that spot, and the account."""

    symbol: str
    up: bool
    spot: float
    stop_price: float
    target_price: float
    stake: float
    multiplier: float
    balance: float
    currency: str

    @property
    def notional(self) -> float:
        return self.stake * self.multiplier


Gate = Callable[[TradeSpec], str]
"""Returns the verdict text, or raises TradeRefused."""


class MultiplierTrader:
    """Trades multipliers on one Deriv account (legacy dialect: authorizes with `token`)."""

    def __init__(
        self,
        name: str,
        cfg: DerivVenueConfig,
        token: str,
        *,
        audit_path: Path | None = None,
        risk: RiskConfig | None = None,
        poll_s: float = 0.2,
    ) -> None:
        from tradeterm.venues.deriv import connection_for

        self.name = name
        self.cfg = cfg
        self.conn: DerivConnection = connection_for(name, cfg, token=token)
        self.audit_path = audit_path
        self.risk = risk
        self.poll_s = poll_s

    def audit(self, event: str, **data: Any) -> None:
        if self.audit_path is None:
            return
        self.audit_path.parent.mkdir(parents=True, exist_ok=True)
        with self.audit_path.open("a") as fh:
            fh.write(json.dumps({"ts_ms": LiveClock().now_ms(), "event": event, **data}) + "\n")

    async def open_contracts(self) -> list[OpenContract]:
        """Every open contract of the account (reconciliation: portfolio, then POC each)."""
        await self.conn.ensure_open()
        entries = parse_portfolio(await self.conn.request({"portfolio": 1}))
        out = []
        for entry in entries:
            poc = await self.contract(entry.contract_id)
            if poc is not None and not poc.is_sold:
                out.append(poc)
        return out

    async def contract(self, contract_id: int) -> OpenContract | None:
        await self.conn.ensure_open()
        reply = await self.conn.request({"proposal_open_contract": 1, "contract_id": contract_id})
        return parse_open_contract(reply)

    def _check(self, stake: float, stop_loss: float, balance: float) -> None:
        """Pre-trade limits from the config's risk section (what one trade may lose)."""
        if stake > balance:
            raise TradeRefused(f"stake {stake:.2f} exceeds the balance {balance:.2f}")
        if self.risk is None:
            return
        cap = self.risk.max_risk_per_trade * balance
        if stop_loss > cap:
            raise TradeRefused(
                f"stop loss {stop_loss:.2f} exceeds risk.max_risk_per_trade "
                f"({self.risk.max_risk_per_trade:g} of {balance:.2f} = {cap:.2f})"
            )

    async def buy(self, params: dict[str, Any]) -> int:
        """Buy by proposal id; if the reply is lost, find the contract in the portfolio."""
        before = {e.contract_id for e in parse_portfolio(await self.conn.request({"portfolio": 1}))}
        proposal = await self.conn.request({"proposal": 1, **params})
        pid, ask = proposal["proposal"]["id"], proposal["proposal"]["ask_price"]
        self.audit("proposal", id=pid, ask_price=ask, params=params)
        try:
            purchase = parse_buy(await self.conn.request({"buy": pid, "price": ask}))
        except TemporaryVenueError as exc:
            self.audit("buy_reply_lost", error=str(exc))
            await self.conn.close()
            await self.conn.ensure_open()
            after = parse_portfolio(await self.conn.request({"portfolio": 1}))
            new = [e.contract_id for e in after if e.contract_id not in before]
            if len(new) == 1:
                self.audit("buy_reconciled", contract_id=new[0])
                return new[0]
            raise
        self.audit("bought", contract_id=purchase.contract_id, price=purchase.buy_price)
        return purchase.contract_id

    async def wait_open(self, contract_id: int, timeout_s: float = 30.0) -> OpenContract:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            poc = await self.contract(contract_id)
            if poc is not None and (poc.entry_spot or poc.is_sold):
                return poc
            if asyncio.get_running_loop().time() > deadline:
                raise TemporaryVenueError(f"{self.name}: contract {contract_id} never opened")
            await asyncio.sleep(self.poll_s)

    async def sell(self, contract_id: int) -> OpenContract:
        try:
            await self.conn.request({"sell": contract_id, "price": 0})
        except PermanentVenueError as exc:  # closed by TP/SL/stop-out first: report that
            self.audit("sell_refused", contract_id=contract_id, error=str(exc))
        for _ in range(50):
            poc = await self.contract(contract_id)
            if poc is not None and poc.is_sold:
                self.audit("closed", contract_id=contract_id, sell_price=poc.sell_price)
                return poc
            await asyncio.sleep(self.poll_s)
        raise TemporaryVenueError(f"{self.name}: contract {contract_id} did not close")

    async def one_trade(
        self, symbol: str, *, up: bool = True, hold_s: float = 0.0, gate: Gate | None = None
    ) -> dict[str, Any]:
        """The minimum-stake multiplier with TP and SL: open it, wait until open, (hold it
        `hold_s` seconds,) close it. A contract left open by an earlier run that was killed is
        found first (portfolio, then proposal_open_contract) and closed instead: never a second
        buy."""
        try:
            await self.conn.ensure_open()
            left = await self.open_contracts()
            if left:
                return await self._finish_adopted(left[0])
            offer = parse_contracts_for(
                await self.conn.request({"contracts_for": symbol, "currency": "USD"}), symbol
            )
            if offer is None:
                raise TradeRefused(f"{symbol} does not offer multipliers")
            balance, currency = parse_balance(await self.conn.request({"balance": 1}))
            multiplier = offer.multipliers[0]
            stake = max(offer.min_stake, 1.0)
            commission = commission_for(stake, multiplier, self.cfg.commission_rate)
            stop_loss = round(max(stake * 0.5, commission + 0.01), 2)
            take_profit = round(stop_loss * 4, 2)  # 4R: clears the gate's reward:risk net of costs
            self._check(stake, stop_loss, balance)
            spot = parse_tick(await self.conn.request({"ticks": symbol})).quote
            way = MultiplierDirection.UP if up else MultiplierDirection.DOWN
            planned = MultiplierTerms(
                way, stake, multiplier, spot, commission, take_profit, stop_loss
            )
            spec = TradeSpec(
                symbol,
                up,
                spot,
                planned.stop_loss_price() or spot,
                planned.take_profit_price() or spot,
                stake,
                multiplier,
                balance,
                currency,
            )
            verdict = gate(spec) if gate is not None else "no gate"
            self.audit(
                "gate", verdict=verdict, spot=spot, stop=spec.stop_price, target=spec.target_price
            )
            direction = MultiplierDirection.UP if up else MultiplierDirection.DOWN
            params = {
                "contract_type": direction.value,
                "currency": currency,
                "symbol": symbol,
                "amount": stake,
                "basis": "stake",
                "multiplier": multiplier,
                "limit_order": {"take_profit": take_profit, "stop_loss": stop_loss},
            }
            contract_id = await self.buy(params)
            opened = await self.wait_open(contract_id)
            terms = MultiplierTerms(
                direction,
                stake,
                multiplier,
                opened.entry_spot or 1.0,
                commission,
                take_profit,
                stop_loss,
            )
            self.audit(
                "open",
                contract_id=contract_id,
                entry_spot=opened.entry_spot,
                stop_out=opened.stop_out_price,
                expected_stop_out=terms.stop_out_price(),
            )
            if hold_s > 0:
                await asyncio.sleep(hold_s)
            closed = await self.sell(contract_id)
        finally:
            await self.conn.close()
        return {
            "contract_id": contract_id,
            "contract_type": direction.value,
            "symbol": symbol,
            "stake": stake,
            "multiplier": multiplier,
            "take_profit": take_profit,
            "stop_loss": stop_loss,
            "commission": closed.commission or commission,
            "entry_spot": closed.entry_spot,
            "stop_out": closed.stop_out_price,
            "sell_price": closed.sell_price,
            "profit": closed.sell_price - stake,
            "status": closed.status,
        }

    async def _finish_adopted(self, poc: OpenContract) -> dict[str, Any]:
        self.audit("adopted", contract_id=poc.contract_id, symbol=poc.symbol)
        closed = await self.sell(poc.contract_id)
        return {
            "contract_id": poc.contract_id,
            "contract_type": poc.contract_type,
            "symbol": poc.symbol,
            "stake": poc.buy_price,
            "multiplier": poc.multiplier,
            "take_profit": poc.take_profit or 0.0,
            "stop_loss": poc.stop_loss or 0.0,
            "commission": closed.commission,
            "entry_spot": closed.entry_spot,
            "stop_out": closed.stop_out_price,
            "sell_price": closed.sell_price,
            "profit": closed.sell_price - poc.buy_price,
            "status": closed.status,
            "adopted": True,
        }
