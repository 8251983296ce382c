"""Binance USDT-M futures protocol simulator: REST + websocket on loopback (aiohttp).

    sim = BinanceFuturesSim(BinanceSimOptions(speed=60))
    rest_url, ws_url = await sim.start(port=0)   # http://127.0.0.1:P, ws://127.0.0.1:P/ws
    ...
    await sim.stop()

Enough of Binance's USDT-M API (../shared/venues/PROTOCOLS.md sections 4 and 7.2) for ccxt's
`binanceusdm` with its urls pointed here: exchangeInfo, time, klines, markPriceKlines,
premiumIndex, fundingRate, income, order new/query/cancel (newClientOrderId, refused while an
open order carries the same id, -4116), openOrders, algoOrder (stop-market / take-profit-market,
where ccxt sends conditional orders), positionRisk v2/v3, balance and account v2/v3, leverage,
marginType, listenKey with ORDER_TRADE_UPDATE and ACCOUNT_UPDATE on `/private/ws`, and market
streams (kline, markPrice, aggTrade) on the routed `/market/ws` path (subscribed on the
un-routed `/ws` or `/public/ws` they deliver nothing, as on Binance). Signed requests are checked
(X-MBX-APIKEY, HMAC-SHA256 over query + body, timestamp within recvWindow: -1022 / -1021 /
-2015); every response carries X-MBX-USED-WEIGHT-1M; over the weight budget 429 (-1003,
Retry-After), and 418 for a client that keeps going while told to wait.

Prices: a seeded random walk per symbol (1-minute history before start, then one tick every
`tick_ms`), on a clock that can run faster than real time (`speed`) so bars close quickly in
tests; signatures and recvWindow use the real wall clock. Funding is settled every
`funding_interval_s` of that market clock. Fault switches: drop every websocket connection every
N frames, delay every REST reply, send every user/market frame twice, answer the N-th order with
503 -1007 after accepting it (status unknown). `/sim/*` endpoints (not Binance's) let tests flip
the switches and drop connections at run time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import math
import random
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tradeterm.domain.margin import default_brackets, liquidation_price

MINUTE_MS = 60_000
INTERVAL_MS: dict[str, int] = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
}
CLIENT_ID_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:/_-")

# symbol -> (start price, tick size, step size, min qty, min notional, price decimals, qty decimals)
SYMBOL_SPECS: dict[str, tuple[float, float, float, float, float, int, int]] = {
    "BTCUSDT": (43_000.0, 0.1, 0.001, 0.001, 100.0, 1, 3),
    "ETHUSDT": (2_300.0, 0.01, 0.001, 0.001, 20.0, 2, 3),
    "XRPUSDT": (0.55, 0.0001, 0.1, 0.1, 5.0, 4, 1),
    "SOLUSDT": (100.0, 0.01, 0.01, 0.01, 5.0, 2, 2),
}
EXTRA_SPEC = (10.0, 0.001, 0.1, 0.1, 5.0, 3, 1)
"""Spec of the generated SYMnnUSDT markets (benchmarks with many symbols)."""


class BinanceError(Exception):
    def __init__(self, http: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.http, self.code, self.msg = http, code, msg


@dataclass
class BinanceSimOptions:
    symbols: list[str] = field(default_factory=lambda: ["BTCUSDT", "ETHUSDT"])
    extra_symbols: int = 0
    seed: int = 7
    speed: float = 1.0
    tick_ms: int = 250
    history_days: float = 35.0
    funding_interval_s: float = 8 * 3600.0
    funding_rate: float = 0.0001
    balance: float = 10_000.0
    taker_fee: float = 0.0005
    maker_fee: float = 0.0002
    slippage_bps: float = 1.0
    weight_limit: int = 2400
    ban_s: float = 120.0
    api_key: str = ""
    api_secret: str = ""
    drop_every: int = 0
    delay_ms: int = 0
    duplicate: bool = False
    fail_order_every: int = 0


@dataclass
class Market:
    symbol: str
    start_price: float
    tick: float
    step: float
    min_qty: float
    min_notional: float
    price_dec: int
    qty_dec: int
    rng: random.Random
    price: float = 0.0
    minute0_ms: int = 0
    bars: list[list[float]] = field(default_factory=list)  # [o, h, l, c, v] per minute
    funding: list[tuple[int, float, float]] = field(default_factory=list)
    agg_id: int = 0

    def fmt_price(self, p: float) -> str:
        return f"{p:.{self.price_dec}f}"

    def fmt_qty(self, q: float) -> str:
        return f"{q:.{self.qty_dec}f}"

    def round_price(self, p: float) -> float:
        return round(round(p / self.tick) * self.tick, self.price_dec)

    def step_price(self, sigma: float) -> float:
        self.price = max(self.tick, self.price * math.exp(self.rng.gauss(0.0, sigma)))
        return self.round_price(self.price)


@dataclass
class SimOrder:
    order_id: int
    client_id: str
    symbol: str
    side: str
    type: str
    qty: float
    price: float
    stop_price: float
    tif: str
    reduce_only: bool
    time_ms: int
    status: str = "NEW"
    executed: float = 0.0
    cum_quote: float = 0.0
    update_ms: int = 0
    algo: bool = False
    callback_rate: float = 0.0
    """TRAILING_STOP_MARKET: percent back from the best price since activation."""
    activation: float = 0.0
    """TRAILING_STOP_MARKET: the price that arms it (0: armed when placed)."""
    best: float = 0.0
    """TRAILING_STOP_MARKET: best price since activation."""
    triggered: bool = False
    """STOP / TAKE_PROFIT: the trigger was crossed and the limit works; trailing: armed."""

    @property
    def avg(self) -> float:
        return self.cum_quote / self.executed if self.executed else 0.0


@dataclass
class Position:
    amount: float = 0.0
    entry: float = 0.0
    leverage: int = 20
    margin_type: str = "cross"
    isolated_wallet: float = 0.0
    update_ms: int = 0


ORDER_TYPES = (
    "MARKET",
    "LIMIT",
    "STOP_MARKET",
    "TAKE_PROFIT_MARKET",
    "STOP",
    "TAKE_PROFIT",
    "TRAILING_STOP_MARKET",
)
CALLBACK_MIN, CALLBACK_MAX = 0.1, 5.0
"""TRAILING_STOP_MARKET callbackRate bounds, percent (PROTOCOLS.md 4)."""


class BinanceFuturesSim:
    """The simulator (one account). `start()` binds; `stop()` closes every connection."""

    def __init__(self, options: BinanceSimOptions | None = None) -> None:
        self.opt = options or BinanceSimOptions()
        self.real0_ms = int(time.time() * 1000)
        self.markets: dict[str, Market] = {}
        self._build_markets()
        self.orders: dict[int, SimOrder] = {}
        self.next_order_id = 1_000_000
        self.positions: dict[str, Position] = {s: Position() for s in self.markets}
        self.wallet = self.opt.balance
        self.income: list[dict[str, Any]] = []
        self.listen_keys: dict[str, float] = {}
        self.user_ws: set[web.WebSocketResponse] = set()
        self.market_ws: dict[web.WebSocketResponse, set[str]] = {}
        self.all_ws: set[web.WebSocketResponse] = set()
        self.weight: deque[tuple[float, int]] = deque()
        self.told_to_wait_until = 0.0
        self.ws_down_until = 0.0
        self.banned_until = 0.0
        self.order_requests = 0
        self.requests: list[tuple[str, str]] = []
        self.next_funding_ms = self._next_funding(self.now_ms())
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._frames_sent = 0
        self.brackets = default_brackets()

    # ---- clocks ---------------------------------------------------------------------------
    def now_ms(self) -> int:
        """The market clock: real time since start, warped by `speed`."""
        real = time.time() * 1000
        return int(self.real0_ms + (real - self.real0_ms) * self.opt.speed)

    def _next_funding(self, now: int) -> int:
        step = int(self.opt.funding_interval_s * 1000)
        return (now // step + 1) * step

    # ---- prices ---------------------------------------------------------------------------
    def _build_markets(self) -> None:
        names = list(self.opt.symbols) + [f"SYM{i:02d}USDT" for i in range(self.opt.extra_symbols)]
        now = self.now_ms()
        minutes = int(self.opt.history_days * 1440)
        first = (now // MINUTE_MS - minutes) * MINUTE_MS
        funding_step = 8 * 3600 * 1000
        for name in names:
            spec = SYMBOL_SPECS.get(name, EXTRA_SPEC)
            seed = int(hashlib.sha256(f"{self.opt.seed}:{name}".encode()).hexdigest()[:12], 16)
            m = Market(name, *spec, rng=random.Random(seed))
            m.price = m.start_price
            m.minute0_ms = first
            sigma = 0.0008
            for _ in range(minutes):
                o = m.round_price(m.price)
                h = lo = o
                for _k in range(4):
                    p = m.step_price(sigma / 2)
                    h, lo = max(h, p), min(lo, p)
                c = m.round_price(m.price)
                m.bars.append([o, h, lo, c, round(m.rng.uniform(1, 50), 3)])
            m.bars.append([m.round_price(m.price)] * 4 + [0.0])  # the current minute
            t = (first // funding_step + 1) * funding_step
            while t <= now:
                bar = m.bars[(t - first) // MINUTE_MS]
                m.funding.append((t, self.opt.funding_rate, bar[0]))
                t += funding_step
            self.markets[name] = m

    def last(self, symbol: str) -> float:
        return self.markets[symbol].bars[-1][3]

    def _tick(self) -> None:
        now = self.now_ms()
        for m in self.markets.values():
            minute = (now - m.minute0_ms) // MINUTE_MS
            closed: list[int] = []
            while len(m.bars) - 1 < minute:
                closed.append(len(m.bars) - 1)
                c = m.bars[-1][3]
                m.bars.append([c, c, c, c, 0.0])
            p = m.step_price(
                0.0004 * math.sqrt(max(self.opt.speed, 1.0) * self.opt.tick_ms / 15_000)
            )
            bar = m.bars[-1]
            bar[1], bar[2], bar[3] = max(bar[1], p), min(bar[2], p), p
            qty = round(m.rng.uniform(0.001, 2.0), 3)
            bar[4] = round(bar[4] + qty, 3)
            m.agg_id += 1
            self._publish_market(m, now, qty, closed)
            self._match(m, now)
        if now >= self.next_funding_ms:
            self._settle_funding(self.next_funding_ms)
            self.next_funding_ms = self._next_funding(now)

    async def _run_ticks(self) -> None:
        while True:
            await asyncio.sleep(self.opt.tick_ms / 1000)
            try:
                self._tick()
            except Exception as exc:  # pragma: no cover - keep the market alive, say why
                print(f"binance sim: tick failed: {exc!r}", flush=True)

    def klines(
        self, symbol: str, interval: str, start: int | None, end: int | None, limit: int, mark: bool
    ) -> list[list[Any]]:
        m = self.markets[symbol]
        ims = INTERVAL_MS[interval]
        now = self.now_ms()
        first_open = (m.minute0_ms + ims - 1) // ims * ims
        last_open = now // ims * ims
        if end is not None:
            last_open = min(last_open, end // ims * ims)
        if start is not None:
            lo = max(first_open, (start + ims - 1) // ims * ims)
            hi = min(last_open, lo + (limit - 1) * ims)
        else:
            hi = last_open
            lo = max(first_open, hi - (limit - 1) * ims)
        rows: list[list[Any]] = []
        t = lo
        while t <= hi:
            a = (t - m.minute0_ms) // MINUTE_MS
            b = min((t + ims - m.minute0_ms) // MINUTE_MS, len(m.bars))
            chunk = m.bars[a:b]
            if chunk:
                o, c = chunk[0][0], chunk[-1][3]
                h = max(x[1] for x in chunk)
                lw = min(x[2] for x in chunk)
                v = 0.0 if mark else sum(x[4] for x in chunk)
                rows.append(
                    [
                        t,
                        m.fmt_price(o),
                        m.fmt_price(h),
                        m.fmt_price(lw),
                        m.fmt_price(c),
                        f"{v:.3f}",
                        t + ims - 1,
                        f"{v * c:.2f}",
                        len(chunk),
                        f"{v / 2:.3f}",
                        f"{v * c / 2:.2f}",
                        "0",
                    ]
                )
            t += ims
        return rows

    # ---- matching and the account ---------------------------------------------------------
    def _open_orders(self, symbol: str | None = None) -> list[SimOrder]:
        return [
            o
            for o in self.orders.values()
            if o.status in ("NEW", "PARTIALLY_FILLED") and (symbol is None or o.symbol == symbol)
        ]

    def _match(self, m: Market, now: int) -> None:
        price = self.last(m.symbol)
        for o in self._open_orders(m.symbol):
            if o.type == "LIMIT":
                if (o.side == "BUY" and price <= o.price) or (
                    o.side == "SELL" and price >= o.price
                ):
                    self._fill(o, o.price, now, maker=True)
            elif o.type in ("STOP_MARKET", "TAKE_PROFIT_MARKET"):
                up = (o.type == "STOP_MARKET") == (o.side == "BUY")
                if (up and price >= o.stop_price) or (not up and price <= o.stop_price):
                    self._trigger(o, price, now)
            elif o.type in ("STOP", "TAKE_PROFIT"):
                self._match_stop_limit(o, price, now)
            elif o.type == "TRAILING_STOP_MARKET":
                self._match_trailing(o, price, now)
        self._check_liquidation(m, now)

    def _match_stop_limit(self, o: SimOrder, price: float, now: int) -> None:
        """STOP / TAKE_PROFIT (stop-limit): once the price crosses the trigger (last price, as
        workingType CONTRACT_PRICE; the sim's mark is its last price) the limit works: filled at
        the price when it is already marketable (taker), later at the limit (maker)."""
        fresh = False
        if not o.triggered:
            up = (o.type == "STOP") == (o.side == "BUY")
            if not ((up and price >= o.stop_price) or (not up and price <= o.stop_price)):
                return
            o.triggered, fresh = True, True
            if not self._reduce_room(o, now):
                return
        marketable = (o.side == "BUY" and price <= o.price) or (
            o.side == "SELL" and price >= o.price
        )
        if not marketable:
            return
        if not self._reduce_room(o, now):
            return
        self._fill(o, price if fresh else o.price, now, maker=not fresh)

    def _match_trailing(self, o: SimOrder, price: float, now: int) -> None:
        """TRAILING_STOP_MARKET: armed at the activation price (or when placed without one),
        then follows the best price (highest for a sell, lowest for a buy) and fires at market
        when the price turns back `callback_rate` percent from it."""
        sell = o.side == "SELL"
        if not o.triggered:
            if o.activation and (
                (sell and price < o.activation) or (not sell and price > o.activation)
            ):
                return
            o.triggered, o.best = True, price
        o.best = max(o.best, price) if sell else min(o.best, price)
        k = o.callback_rate / 100.0
        if (sell and price <= o.best * (1 - k)) or (not sell and price >= o.best * (1 + k)):
            self._trigger(o, price, now)

    def _reduce_room(self, o: SimOrder, now: int) -> bool:
        """A reduce-only order is cut to the position it may close, expired when there is none."""
        if not o.reduce_only:
            return True
        pos = self.positions[o.symbol].amount
        room = abs(pos) if (pos > 0) == (o.side == "SELL") and pos != 0 else 0.0
        if room <= 0:
            o.status, o.update_ms = "EXPIRED", now
            self._order_event(o, "EXPIRED", now)
            return False
        o.qty = min(o.qty, room)
        return True

    def _trigger(self, o: SimOrder, price: float, now: int) -> None:
        if o.reduce_only:
            pos = self.positions[o.symbol].amount
            room = abs(pos) if (pos > 0) == (o.side == "SELL") and pos != 0 else 0.0
            if room <= 0:
                o.status, o.update_ms = "EXPIRED", now
                self._order_event(o, "EXPIRED", now)
                return
            o.qty = min(o.qty, room)
        self._fill(o, self._slipped(o.symbol, o.side, price), now, maker=False)

    def _slipped(self, symbol: str, side: str, price: float) -> float:
        m = self.markets[symbol]
        k = self.opt.slippage_bps / 10_000
        return m.round_price(price * (1 + k if side == "BUY" else 1 - k))

    def _fill(self, o: SimOrder, price: float, now: int, *, maker: bool) -> None:
        qty = round(o.qty - o.executed, 8)
        fee = qty * price * (self.opt.maker_fee if maker else self.opt.taker_fee)
        pos = self.positions[o.symbol]
        signed = qty if o.side == "BUY" else -qty
        realized = 0.0
        if pos.amount == 0 or (pos.amount > 0) == (signed > 0):
            total = pos.amount + signed
            pos.entry = (pos.entry * abs(pos.amount) + price * qty) / abs(total)
            pos.amount = round(total, 8)
        else:
            closing = min(abs(signed), abs(pos.amount))
            realized = closing * (price - pos.entry) * (1 if pos.amount > 0 else -1)
            rest = round(pos.amount + signed, 8)
            if rest == 0:
                pos.entry = 0.0
            elif (rest > 0) != (pos.amount > 0):
                pos.entry = price
            pos.amount = rest
        pos.update_ms = now
        self.wallet += realized - fee
        o.executed = o.qty
        o.cum_quote += qty * price
        o.status, o.update_ms = "FILLED", now
        if realized:
            self.income.append(self._income(o.symbol, "REALIZED_PNL", realized, now))
        self.income.append(self._income(o.symbol, "COMMISSION", -fee, now))
        self._order_event(o, "TRADE", now, last_qty=qty, last_price=price, fee=fee, maker=maker)
        self._account_event("ORDER", now, [o.symbol])
        if pos.amount == 0:
            for other in self._open_orders(o.symbol):
                if other.reduce_only and other is not o:
                    other.status, other.update_ms = "EXPIRED", now
                    self._order_event(other, "EXPIRED", now)

    def _income(self, symbol: str, kind: str, amount: float, now: int) -> dict[str, Any]:
        return {
            "symbol": symbol,
            "incomeType": kind,
            "income": f"{amount:.8f}",
            "asset": "USDT",
            "info": kind,
            "time": now,
            "tranId": len(self.income) + 1,
            "tradeId": "",
        }

    def _settle_funding(self, at_ms: int) -> None:
        touched: list[str] = []
        for symbol, pos in self.positions.items():
            m = self.markets[symbol]
            mark = self.last(symbol)
            m.funding.append((at_ms, self.opt.funding_rate, mark))
            if pos.amount:
                pay = -pos.amount * mark * self.opt.funding_rate
                self.wallet += pay
                self.income.append(self._income(symbol, "FUNDING_FEE", pay, at_ms))
                touched.append(symbol)
        if touched:
            self._account_event("FUNDING_FEE", at_ms, touched)

    def _liq_price(self, symbol: str) -> float:
        pos = self.positions[symbol]
        if not pos.amount:
            return 0.0
        floors, rates, cums = self.brackets
        side = 1 if pos.amount > 0 else -1
        if pos.margin_type == "isolated":
            wb = abs(pos.amount) * pos.entry / pos.leverage
            lp = liquidation_price(side, abs(pos.amount), pos.entry, wb, floors, rates, cums)
        else:
            lp = liquidation_price(
                side, abs(pos.amount), pos.entry, self.wallet, floors, rates, cums
            )
        return 0.0 if math.isnan(lp) else lp

    def _check_liquidation(self, m: Market, now: int) -> None:
        pos = self.positions[m.symbol]
        lp = self._liq_price(m.symbol)
        if not pos.amount or lp <= 0:
            return
        mark = self.last(m.symbol)
        if (pos.amount > 0 and mark <= lp) or (pos.amount < 0 and mark >= lp):
            o = self._new_order(
                m.symbol,
                "SELL" if pos.amount > 0 else "BUY",
                "MARKET",
                abs(pos.amount),
                0.0,
                0.0,
                "IOC",
                True,
                f"autoclose-{now}",
                now,
            )
            self._fill(o, mark, now, maker=False)

    def _new_order(
        self,
        symbol: str,
        side: str,
        otype: str,
        qty: float,
        price: float,
        stop: float,
        tif: str,
        reduce_only: bool,
        client_id: str,
        now: int,
        algo: bool = False,
    ) -> SimOrder:
        self.next_order_id += 1
        o = SimOrder(
            self.next_order_id,
            client_id,
            symbol,
            side,
            otype,
            qty,
            price,
            stop,
            tif,
            reduce_only,
            now,
            update_ms=now,
            algo=algo,
        )
        self.orders[o.order_id] = o
        return o

    # ---- user data events -----------------------------------------------------------------
    def _order_event(
        self,
        o: SimOrder,
        exec_type: str,
        now: int,
        last_qty: float = 0.0,
        last_price: float = 0.0,
        fee: float = 0.0,
        maker: bool = False,
    ) -> None:
        m = self.markets[o.symbol]
        event = {
            "e": "ORDER_TRADE_UPDATE",
            "E": now,
            "T": now,
            "o": {
                "s": o.symbol,
                "c": o.client_id,
                "S": o.side,
                "o": o.type,
                "f": o.tif,
                "q": m.fmt_qty(o.qty),
                "p": m.fmt_price(o.price),
                "ap": f"{o.avg:.8f}",
                "sp": m.fmt_price(o.stop_price),
                "x": exec_type,
                "X": o.status,
                "i": o.order_id,
                "l": m.fmt_qty(last_qty),
                "z": m.fmt_qty(o.executed),
                "L": m.fmt_price(last_price),
                "N": "USDT",
                "n": f"{fee:.8f}",
                "T": now,
                "t": o.order_id if last_qty else 0,
                "b": "0",
                "a": "0",
                "m": maker,
                "R": o.reduce_only,
                "wt": "CONTRACT_PRICE",
                "ot": o.type,
                "ps": "BOTH",
                "cp": False,
                "rp": "0",
            },
        }
        self._send_user(event)

    def _account_event(self, reason: str, now: int, symbols: list[str]) -> None:
        positions = []
        for s in symbols:
            pos = self.positions[s]
            positions.append(
                {
                    "s": s,
                    "pa": self.markets[s].fmt_qty(pos.amount),
                    "ep": f"{pos.entry:.8f}",
                    "bep": f"{pos.entry:.8f}",
                    "cr": "0",
                    "up": f"{self._upnl(s):.8f}",
                    "mt": pos.margin_type,
                    "iw": "0",
                    "ps": "BOTH",
                }
            )
        wallet = f"{self.wallet:.8f}"
        self._send_user(
            {
                "e": "ACCOUNT_UPDATE",
                "E": now,
                "T": now,
                "a": {
                    "m": reason,
                    "B": [{"a": "USDT", "wb": wallet, "cw": wallet, "bc": "0"}],
                    "P": positions,
                },
            }
        )

    def _send_user(self, event: dict[str, Any]) -> None:
        for ws in list(self.user_ws):
            self._send(ws, event)

    def _send(self, ws: web.WebSocketResponse, payload: dict[str, Any]) -> None:
        if ws.closed:
            return
        text = json.dumps(payload)
        copies = 2 if self.opt.duplicate else 1
        for _ in range(copies):
            task = asyncio.ensure_future(ws.send_str(text))
            task.add_done_callback(_ignore_result)
        self._frames_sent += 1
        if self.opt.drop_every and self._frames_sent % self.opt.drop_every == 0:
            self.drop_connections()

    def drop_connections(self) -> int:
        """Close every websocket connection abruptly (fault injection)."""
        dropped = 0
        for ws in list(self.all_ws):
            if not ws.closed:
                task = asyncio.ensure_future(ws.close(code=1011, message=b"sim drop"))
                task.add_done_callback(_ignore_result)
                dropped += 1
        return dropped

    def _publish_market(self, m: Market, now: int, qty: float, closed: list[int]) -> None:
        if not self.market_ws:
            return
        low = m.symbol.lower()
        price = m.bars[-1][3]
        payloads: dict[str, dict[str, Any]] = {
            f"{low}@aggTrade": {
                "e": "aggTrade",
                "E": now,
                "s": m.symbol,
                "a": m.agg_id,
                "p": m.fmt_price(price),
                "q": m.fmt_qty(qty),
                "f": m.agg_id,
                "l": m.agg_id,
                "T": now,
                "m": m.agg_id % 2 == 0,
            },
            f"{low}@markPrice": self._mark_payload(m, now),
            f"{low}@markPrice@1s": self._mark_payload(m, now),
        }
        for ws, streams in list(self.market_ws.items()):
            for stream in streams:
                if stream in payloads:
                    self._send(ws, payloads[stream])
                elif stream.startswith(f"{low}@kline_"):
                    interval = stream.split("_", 1)[1]
                    for event in self._kline_events(m, interval, now, closed):
                        self._send(ws, event)

    def _mark_payload(self, m: Market, now: int) -> dict[str, Any]:
        price = m.fmt_price(m.bars[-1][3])
        return {
            "e": "markPriceUpdate",
            "E": now,
            "s": m.symbol,
            "p": price,
            "i": price,
            "P": price,
            "r": f"{self.opt.funding_rate:.8f}",
            "T": self.next_funding_ms,
        }

    def _kline_events(
        self, m: Market, interval: str, now: int, closed: list[int]
    ) -> list[dict[str, Any]]:
        ims = INTERVAL_MS.get(interval)
        if ims is None:
            return []
        events = []
        current = now // ims * ims
        # a bar of this interval closed when a closed minute was its last one
        for idx in closed:
            minute_open = m.minute0_ms + idx * MINUTE_MS
            if (minute_open + MINUTE_MS) % ims == 0:
                bar_open = minute_open + MINUTE_MS - ims
                rows = self.klines(m.symbol, interval, bar_open, bar_open, 1, False)
                if rows:
                    events.append(self._kline_payload(m, interval, rows[0], now, True))
        rows = self.klines(m.symbol, interval, current, current, 1, False)
        if rows:
            events.append(self._kline_payload(m, interval, rows[0], now, False))
        return events

    @staticmethod
    def _kline_payload(
        m: Market, interval: str, row: list[Any], now: int, closed: bool
    ) -> dict[str, Any]:
        return {
            "e": "kline",
            "E": now,
            "s": m.symbol,
            "k": {
                "t": row[0],
                "T": row[6],
                "s": m.symbol,
                "i": interval,
                "f": 0,
                "L": 0,
                "o": row[1],
                "c": row[4],
                "h": row[2],
                "l": row[3],
                "v": row[5],
                "n": row[8],
                "x": closed,
                "q": row[7],
                "V": row[9],
                "Q": row[10],
                "B": "0",
            },
        }

    # ---- HTTP plumbing --------------------------------------------------------------------
    def _use_weight(self, weight: int) -> int:
        now = time.monotonic()
        while self.weight and self.weight[0][0] < now - 60:
            self.weight.popleft()
        self.weight.append((now, weight))
        return sum(w for _, w in self.weight)

    def _check_limits(self) -> None:
        now = time.monotonic()
        if now < self.banned_until:
            raise BinanceError(418, -1003, "Way too many requests; IP banned.")
        if now < self.told_to_wait_until:
            self.banned_until = now + self.opt.ban_s
            raise BinanceError(418, -1003, "Way too many requests; IP banned.")

    async def _params(self, request: web.Request) -> tuple[dict[str, str], str, str]:
        body = await request.text() if request.can_read_body else ""
        query = request.query_string
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        params.update(dict(urllib.parse.parse_qsl(body, keep_blank_values=True)))
        return params, query, body

    def _verify(self, request: web.Request, params: dict[str, str], query: str, body: str) -> None:
        key = request.headers.get("X-MBX-APIKEY", "")
        if not key or (self.opt.api_key and key != self.opt.api_key):
            raise BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        signature = params.get("signature", "")
        total = _strip_signature(query) + _strip_signature(body)
        secret = self.opt.api_secret
        if secret:
            want = hmac.new(secret.encode(), total.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(want, signature):
                raise BinanceError(400, -1022, "Signature for this request is not valid.")
        elif not signature:
            raise BinanceError(400, -1022, "Signature for this request is not valid.")
        try:
            ts = int(params["timestamp"])
        except (KeyError, ValueError):
            raise BinanceError(
                400, -1102, "Mandatory parameter 'timestamp' was not sent."
            ) from None
        window = int(params.get("recvWindow", "5000"))
        if window > 60_000:
            raise BinanceError(400, -1131, "recvWindow must be less than 60000")
        real = int(time.time() * 1000)
        if ts > real + 1000 or real - ts > window:
            raise BinanceError(
                400, -1021, "Timestamp for this request is outside of the recvWindow."
            )

    def _handler(
        self, fn: Any, weight: int = 1, signed: bool = False, key_only: bool = False
    ) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            self.requests.append((request.method, request.path))
            headers: dict[str, str] = {}
            try:
                self._check_limits()
                used = self._use_weight(weight)
                headers["X-MBX-USED-WEIGHT-1M"] = str(used)
                if used > self.opt.weight_limit:
                    self.told_to_wait_until = time.monotonic() + 2.0
                    headers["Retry-After"] = "2"
                    raise BinanceError(
                        429,
                        -1003,
                        f"Too many requests; current limit of IP is {self.opt.weight_limit} requests per minute.",
                    )
                params, query, body = await self._params(request)
                if signed:
                    self._verify(request, params, query, body)
                elif key_only and not request.headers.get("X-MBX-APIKEY"):
                    raise BinanceError(
                        401, -2015, "Invalid API-key, IP, or permissions for action."
                    )
                if self.opt.delay_ms:
                    await asyncio.sleep(self.opt.delay_ms / 1000)
                result = fn(request, params)
                if isinstance(result, web.StreamResponse):
                    return result
                return web.json_response(result, headers=headers)
            except BinanceError as exc:
                return web.json_response(
                    {"code": exc.code, "msg": exc.msg}, status=exc.http, headers=headers
                )

        return handle

    def _symbol(self, params: dict[str, str], required: bool = True) -> str:
        symbol = params.get("symbol", "")
        if not symbol:
            if required:
                raise BinanceError(400, -1102, "Mandatory parameter 'symbol' was not sent.")
            return ""
        if symbol not in self.markets:
            raise BinanceError(400, -1121, "Invalid symbol.")
        return symbol

    # ---- public endpoints -----------------------------------------------------------------
    def exchange_info(self, request: web.Request, params: dict[str, str]) -> dict[str, Any]:
        symbols = []
        for m in self.markets.values():
            symbols.append(
                {
                    "symbol": m.symbol,
                    "pair": m.symbol,
                    "contractType": "PERPETUAL",
                    "deliveryDate": 4133404800000,
                    "onboardDate": 1569398400000,
                    "status": "TRADING",
                    "maintMarginPercent": "2.5000",
                    "requiredMarginPercent": "5.0000",
                    "baseAsset": m.symbol[:-4],
                    "quoteAsset": "USDT",
                    "marginAsset": "USDT",
                    "pricePrecision": m.price_dec,
                    "quantityPrecision": m.qty_dec,
                    "baseAssetPrecision": 8,
                    "quotePrecision": 8,
                    "underlyingType": "COIN",
                    "underlyingSubType": [],
                    "settlePlan": 0,
                    "triggerProtect": "0.0500",
                    "liquidationFee": "0.012500",
                    "marketTakeBound": "0.05",
                    "maxMoveOrderLimit": 10000,
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": m.fmt_price(m.tick),
                            "maxPrice": "10000000",
                            "tickSize": f"{m.tick:.{m.price_dec}f}",
                        },
                        {
                            "filterType": "LOT_SIZE",
                            "minQty": m.fmt_qty(m.min_qty),
                            "maxQty": "1000000",
                            "stepSize": m.fmt_qty(m.step),
                        },
                        {
                            "filterType": "MARKET_LOT_SIZE",
                            "minQty": m.fmt_qty(m.min_qty),
                            "maxQty": "100000",
                            "stepSize": m.fmt_qty(m.step),
                        },
                        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                        {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                        {"filterType": "MIN_NOTIONAL", "notional": f"{m.min_notional}"},
                        {
                            "filterType": "PERCENT_PRICE",
                            "multiplierUp": "1.0500",
                            "multiplierDown": "0.9500",
                            "multiplierDecimal": "4",
                        },
                    ],
                    "orderTypes": [
                        "LIMIT",
                        "MARKET",
                        "STOP",
                        "STOP_MARKET",
                        "TAKE_PROFIT",
                        "TAKE_PROFIT_MARKET",
                        "TRAILING_STOP_MARKET",
                    ],
                    "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
                }
            )
        return {
            "timezone": "UTC",
            "serverTime": self.now_ms(),
            "futuresType": "U_MARGINED",
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": self.opt.weight_limit,
                },
                {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
            ],
            "exchangeFilters": [],
            "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
            "symbols": symbols,
        }

    def get_klines(self, request: web.Request, params: dict[str, str]) -> list[list[Any]]:
        symbol = self._symbol(params)
        interval = params.get("interval", "")
        if interval not in INTERVAL_MS:
            raise BinanceError(400, -1120, "Invalid interval.")
        limit = min(int(params.get("limit", "500")), 1500)
        start = int(params["startTime"]) if "startTime" in params else None
        end = int(params["endTime"]) if "endTime" in params else None
        mark = request.path.endswith("markPriceKlines")
        return self.klines(symbol, interval, start, end, limit, mark)

    def premium_index(self, request: web.Request, params: dict[str, str]) -> Any:
        symbol = self._symbol(params, required=False)
        now = self.now_ms()

        def one(m: Market) -> dict[str, Any]:
            price = m.fmt_price(self.last(m.symbol))
            return {
                "symbol": m.symbol,
                "markPrice": price,
                "indexPrice": price,
                "estimatedSettlePrice": price,
                "lastFundingRate": f"{self.opt.funding_rate:.8f}",
                "interestRate": "0.00010000",
                "nextFundingTime": self.next_funding_ms,
                "time": now,
            }

        if symbol:
            return one(self.markets[symbol])
        return [one(m) for m in self.markets.values()]

    def funding_rate(self, request: web.Request, params: dict[str, str]) -> list[dict[str, Any]]:
        symbol = self._symbol(params)
        m = self.markets[symbol]
        limit = min(int(params.get("limit", "100")), 1000)
        start = int(params.get("startTime", "0"))
        end = int(params.get("endTime", str(2**62)))
        rows = [r for r in m.funding if start <= r[0] <= end]
        rows = rows[:limit] if "startTime" in params else rows[-limit:]
        return [
            {
                "symbol": symbol,
                "fundingTime": t,
                "fundingRate": f"{r:.8f}",
                "markPrice": m.fmt_price(p),
            }
            for t, r, p in rows
        ]

    def ticker_price(self, request: web.Request, params: dict[str, str]) -> Any:
        symbol = self._symbol(params, required=False)
        rows = [
            {"symbol": s, "price": m.fmt_price(self.last(s)), "time": self.now_ms()}
            for s, m in self.markets.items()
            if not symbol or s == symbol
        ]
        return rows[0] if symbol else rows

    # ---- private endpoints ----------------------------------------------------------------
    def _order_json(self, o: SimOrder) -> dict[str, Any]:
        m = self.markets[o.symbol]
        out = {
            "orderId": o.order_id,
            "symbol": o.symbol,
            "status": o.status,
            "clientOrderId": o.client_id,
            "price": m.fmt_price(o.price),
            "avgPrice": f"{o.avg:.8f}",
            "origQty": m.fmt_qty(o.qty),
            "executedQty": m.fmt_qty(o.executed),
            "cumQty": m.fmt_qty(o.executed),
            "cumQuote": f"{o.cum_quote:.8f}",
            "timeInForce": o.tif,
            "type": o.type,
            "reduceOnly": o.reduce_only,
            "closePosition": False,
            "side": o.side,
            "positionSide": "BOTH",
            "stopPrice": m.fmt_price(o.stop_price),
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": o.type,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "NONE",
            "goodTillDate": 0,
            "time": o.time_ms,
            "updateTime": o.update_ms,
        }
        return out

    def _algo_json(self, o: SimOrder) -> dict[str, Any]:
        m = self.markets[o.symbol]
        status = {"NEW": "NEW", "FILLED": "FINISHED", "CANCELED": "CANCELED"}.get(
            o.status, o.status
        )
        return {
            "algoId": o.order_id,
            "clientAlgoId": o.client_id,
            "algoType": "CONDITIONAL",
            "orderType": o.type,
            "symbol": o.symbol,
            "side": o.side,
            "positionSide": "BOTH",
            "timeInForce": o.tif,
            "quantity": m.fmt_qty(o.qty),
            "algoStatus": status,
            "triggerPrice": m.fmt_price(o.stop_price),
            "price": m.fmt_price(o.price),
            "icebergQuantity": None,
            "selfTradePreventionMode": "NONE",
            "workingType": "CONTRACT_PRICE",
            "priceMatch": "NONE",
            "closePosition": False,
            "priceProtect": False,
            "reduceOnly": o.reduce_only,
            "activatePrice": m.fmt_price(o.activation) if o.callback_rate else "",
            "callbackRate": f"{o.callback_rate:g}" if o.callback_rate else "",
            "createTime": o.time_ms,
            "updateTime": o.update_ms,
            "triggerTime": 0,
            "goodTillDate": 0,
        }

    def _validate(self, m: Market, qty: float, price: float, stop: float, otype: str) -> None:
        if qty < m.min_qty - 1e-12 or abs(round(qty / m.step) * m.step - qty) > m.step * 1e-6:
            raise BinanceError(400, -1013, "Filter failure: LOT_SIZE")
        for p in (price, stop):
            if p and abs(round(p / m.tick) * m.tick - p) > m.tick * 1e-6:
                raise BinanceError(400, -1013, "Filter failure: PRICE_FILTER")
        ref = price or stop or self.last(m.symbol)
        if (
            otype != "MARKET"
            and price
            and not (0.95 * self.last(m.symbol) <= price <= 1.05 * self.last(m.symbol))
        ):
            raise BinanceError(
                400, -4016, "Limit price can't be higher or lower than the percent price bound."
            )
        if qty * ref < m.min_notional - 1e-9:
            raise BinanceError(
                400,
                -4164,
                f"Order's notional must be no smaller than {m.min_notional} (unless you choose reduce only).",
            )

    def _client_id(self, cid: str) -> str:
        if len(cid) > 36 or not cid or not set(cid) <= CLIENT_ID_CHARS:
            raise BinanceError(
                400,
                -1100,
                "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
            )
        return cid

    def _check_stop_limit(self, m: Market, price: float, stop: float) -> None:
        """STOP / TAKE_PROFIT need both prices, each on the tick (reduce-only ones too)."""
        if not price:
            raise BinanceError(400, -1102, "Mandatory parameter 'price' was not sent.")
        if not stop:
            raise BinanceError(400, -1102, "Mandatory parameter 'stopPrice' was not sent.")
        for p in (price, stop):
            if abs(round(p / m.tick) * m.tick - p) > m.tick * 1e-6:
                raise BinanceError(400, -1013, "Filter failure: PRICE_FILTER")

    def _check_trailing(self, m: Market, params: dict[str, str], algo: bool) -> tuple[float, float]:
        """(callback rate, activation price) of a TRAILING_STOP_MARKET: the rate within
        0.1..5 percent in steps of 0.1, the activation price on the tick."""
        raw = params.get("callbackRate", "")
        try:
            rate = float(raw)
        except ValueError:
            raise BinanceError(
                400, -1102, "Mandatory parameter 'callbackRate' was not sent."
            ) from None
        if (
            not (CALLBACK_MIN - 1e-9 <= rate <= CALLBACK_MAX + 1e-9)
            or abs(round(rate, 1) - rate) > 1e-9
        ):
            raise BinanceError(400, -1130, "Data sent for parameter 'callbackRate' is not valid.")
        activation = float(params.get("activatePrice" if algo else "activationPrice", "0") or 0)
        if activation and abs(round(activation / m.tick) * m.tick - activation) > m.tick * 1e-6:
            raise BinanceError(400, -1013, "Filter failure: PRICE_FILTER")
        return rate, activation

    def _check_order(
        self,
        m: Market,
        side: str,
        otype: str,
        qty: float,
        price: float,
        stop: float,
        reduce_only: bool,
    ) -> None:
        if otype not in ORDER_TYPES:
            raise BinanceError(400, -1116, "Invalid orderType.")
        if otype in ("STOP", "TAKE_PROFIT"):
            self._check_stop_limit(m, price, stop)
        if otype == "LIMIT" and not price:
            raise BinanceError(400, -1102, "Mandatory parameter 'price' was not sent.")
        if otype in ("STOP_MARKET", "TAKE_PROFIT_MARKET") and not stop:
            raise BinanceError(400, -1102, "Mandatory parameter 'stopPrice' was not sent.")
        if not reduce_only:
            self._validate(m, qty, price, stop, otype)
        else:
            pos = self.positions[m.symbol].amount
            if pos == 0 or (pos > 0) == (side == "BUY"):
                raise BinanceError(400, -2022, "ReduceOnly Order is rejected.")

    def _place(self, params: dict[str, str], algo: bool) -> SimOrder:
        symbol = self._symbol(params)
        m = self.markets[symbol]
        side = params.get("side", "")
        if side not in ("BUY", "SELL"):
            raise BinanceError(400, -1102, "Mandatory parameter 'side' was not sent.")
        otype = params.get("orderType" if algo else "type", params.get("type", ""))
        qty = float(params.get("quantity", "0") or 0)
        price = float(params.get("price", "0") or 0)
        stop = float(params.get("triggerPrice" if algo else "stopPrice", "0") or 0)
        reduce_only = params.get("reduceOnly", "false").lower() == "true"
        tif = params.get("timeInForce", "GTC")
        id_key = "clientAlgoId" if algo else "newClientOrderId"
        cid = self._client_id(params.get(id_key) or f"sim-{self.next_order_id + 1}")
        if any(o.client_id == cid for o in self._open_orders()):
            raise BinanceError(400, -4116, "ClientOrderId is duplicated.")
        self._check_order(m, side, otype, qty, price, stop, reduce_only)
        trailing = (0.0, 0.0)
        if otype == "TRAILING_STOP_MARKET":
            trailing = self._check_trailing(m, params, algo)
        now = self.now_ms()
        o = self._new_order(symbol, side, otype, qty, price, stop, tif, reduce_only, cid, now, algo)
        o.callback_rate, o.activation = trailing
        self._order_event(o, "NEW", now)
        last = self.last(symbol)
        if otype == "MARKET":
            self._fill(o, self._slipped(symbol, side, last), now, maker=False)
        elif otype == "LIMIT":
            crosses = (side == "BUY" and price >= last) or (side == "SELL" and price <= last)
            if crosses and tif == "GTX":
                o.status = "EXPIRED"
                self._order_event(o, "EXPIRED", now)
            elif crosses:
                self._fill(o, last, now, maker=False)
            elif tif in ("IOC", "FOK"):
                o.status = "EXPIRED"
                self._order_event(o, "EXPIRED", now)
        return o

    def post_order(self, request: web.Request, params: dict[str, str]) -> dict[str, Any]:
        self.order_requests += 1
        o = self._place(params, algo=False)
        if self.opt.fail_order_every and self.order_requests % self.opt.fail_order_every == 0:
            raise BinanceError(
                503,
                -1007,
                "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
            )
        return self._order_json(o)

    def _find(self, params: dict[str, str], algo: bool) -> SimOrder:
        symbol = self._symbol(params, required=not algo)
        oid = params.get("algoId" if algo else "orderId")
        cid = params.get("clientAlgoId" if algo else "origClientOrderId")
        matches = [
            o
            for o in self.orders.values()
            if o.algo == algo
            and (not symbol or o.symbol == symbol)
            and ((oid and str(o.order_id) == oid) or (cid and o.client_id == cid))
        ]
        if not matches:
            raise BinanceError(400, -2013, "Order does not exist.")
        return max(matches, key=lambda o: o.order_id)

    def get_order(self, request: web.Request, params: dict[str, str]) -> dict[str, Any]:
        return self._order_json(self._find(params, algo=False))

    def delete_order(self, request: web.Request, params: dict[str, str]) -> dict[str, Any]:
        o = self._find(params, algo=False)
        self._cancel(o)
        return self._order_json(o)

    def _cancel(self, o: SimOrder) -> None:
        if o.status not in ("NEW", "PARTIALLY_FILLED"):
            raise BinanceError(400, -2011, "Unknown order sent.")
        now = self.now_ms()
        o.status, o.update_ms = "CANCELED", now
        self._order_event(o, "CANCELED", now)

    def open_orders(self, request: web.Request, params: dict[str, str]) -> list[dict[str, Any]]:
        symbol = self._symbol(params, required=False)
        return [self._order_json(o) for o in self._open_orders(symbol or None) if not o.algo]

    def all_orders(self, request: web.Request, params: dict[str, str]) -> list[dict[str, Any]]:
        symbol = self._symbol(params)
        return [
            self._order_json(o) for o in self.orders.values() if o.symbol == symbol and not o.algo
        ]

    def post_algo(self, request: web.Request, params: dict[str, str]) -> dict[str, Any]:
        if params.get("algoType", "CONDITIONAL") != "CONDITIONAL":
            raise BinanceError(400, -1116, "Invalid algoType.")
        return self._algo_json(self._place(params, algo=True))

    def get_algo(self, request: web.Request, params: dict[str, str]) -> dict[str, Any]:
        return self._algo_json(self._find(params, algo=True))

    def delete_algo(self, request: web.Request, params: dict[str, str]) -> dict[str, Any]:
        o = self._find(params, algo=True)
        self._cancel(o)
        return {"algoId": o.order_id, "clientAlgoId": o.client_id, "code": "200", "msg": "success"}

    def open_algo(self, request: web.Request, params: dict[str, str]) -> list[dict[str, Any]]:
        symbol = self._symbol(params, required=False)
        return [self._algo_json(o) for o in self._open_orders(symbol or None) if o.algo]

    def _upnl(self, symbol: str) -> float:
        pos = self.positions[symbol]
        return pos.amount * (self.last(symbol) - pos.entry) if pos.amount else 0.0

    def position_risk(self, request: web.Request, params: dict[str, str]) -> list[dict[str, Any]]:
        symbol = self._symbol(params, required=False)
        v3 = "/v3/" in request.path
        rows = []
        for s, pos in self.positions.items():
            if symbol and s != symbol:
                continue
            if v3 and not pos.amount:
                continue
            m = self.markets[s]
            mark = self.last(s)
            notional = pos.amount * mark
            iso = (
                abs(pos.amount) * pos.entry / pos.leverage if pos.margin_type == "isolated" else 0.0
            )
            row = {
                "symbol": s,
                "positionSide": "BOTH",
                "positionAmt": m.fmt_qty(pos.amount),
                "entryPrice": f"{pos.entry:.8f}",
                "breakEvenPrice": f"{pos.entry:.8f}",
                "markPrice": m.fmt_price(mark),
                "unRealizedProfit": f"{self._upnl(s):.8f}",
                "liquidationPrice": f"{self._liq_price(s):.8f}",
                "isolatedMargin": f"{iso:.8f}",
                "notional": f"{notional:.8f}",
                "marginAsset": "USDT",
                "isolatedWallet": f"{iso:.8f}",
                "initialMargin": f"{abs(notional) / pos.leverage:.8f}",
                "maintMargin": f"{abs(notional) * 0.004:.8f}",
                "positionInitialMargin": f"{abs(notional) / pos.leverage:.8f}",
                "openOrderInitialMargin": "0",
                "adl": 0,
                "bidNotional": "0",
                "askNotional": "0",
                "updateTime": pos.update_ms,
            }
            if not v3:
                row.update(
                    leverage=str(pos.leverage),
                    marginType=pos.margin_type,
                    isolated=pos.margin_type == "isolated",
                    maxNotionalValue="1000000",
                    isAutoAddMargin="false",
                )
            rows.append(row)
        return rows

    def balance(self, request: web.Request, params: dict[str, str]) -> list[dict[str, Any]]:
        upnl = sum(self._upnl(s) for s in self.positions)
        wallet = f"{self.wallet:.8f}"
        return [
            {
                "accountAlias": "SimA",
                "asset": "USDT",
                "balance": wallet,
                "crossWalletBalance": wallet,
                "crossUnPnl": f"{upnl:.8f}",
                "availableBalance": f"{self.wallet + min(upnl, 0):.8f}",
                "maxWithdrawAmount": wallet,
                "marginAvailable": True,
                "updateTime": self.now_ms(),
            }
        ]

    def account(self, request: web.Request, params: dict[str, str]) -> dict[str, Any]:
        upnl = sum(self._upnl(s) for s in self.positions)
        wallet = f"{self.wallet:.8f}"
        margin = f"{self.wallet + upnl:.8f}"
        asset = {
            "asset": "USDT",
            "walletBalance": wallet,
            "unrealizedProfit": f"{upnl:.8f}",
            "marginBalance": margin,
            "maintMargin": "0",
            "initialMargin": "0",
            "positionInitialMargin": "0",
            "openOrderInitialMargin": "0",
            "crossWalletBalance": wallet,
            "crossUnPnl": f"{upnl:.8f}",
            "availableBalance": margin,
            "maxWithdrawAmount": wallet,
            "marginAvailable": True,
            "updateTime": self.now_ms(),
        }
        return {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": True,
            "totalInitialMargin": "0",
            "totalMaintMargin": "0",
            "totalWalletBalance": wallet,
            "totalUnrealizedProfit": f"{upnl:.8f}",
            "totalMarginBalance": margin,
            "totalPositionInitialMargin": "0",
            "totalOpenOrderInitialMargin": "0",
            "totalCrossWalletBalance": wallet,
            "totalCrossUnPnl": f"{upnl:.8f}",
            "availableBalance": margin,
            "maxWithdrawAmount": wallet,
            "assets": [asset],
            "positions": self.position_risk(request, params),
        }

    def income_history(self, request: web.Request, params: dict[str, str]) -> list[dict[str, Any]]:
        symbol = params.get("symbol", "")
        kind = params.get("incomeType", "")
        start = int(params.get("startTime", "0"))
        limit = min(int(params.get("limit", "100")), 1000)
        rows = [
            r
            for r in self.income
            if (not symbol or r["symbol"] == symbol)
            and (not kind or r["incomeType"] == kind)
            and r["time"] >= start
        ]
        return rows[:limit]

    def leverage_bracket(self, request: web.Request, params: dict[str, str]) -> Any:
        """The maintenance-margin brackets: domain/margin.py's table, served for every symbol."""
        symbol = self._symbol(params, required=False)
        floors, rates, cums = self.brackets
        brackets = []
        for b in range(len(floors)):
            cap = float(floors[b + 1]) if b + 1 < len(floors) else 1e12
            brackets.append(
                {
                    "bracket": b + 1,
                    "initialLeverage": max(1, int(1 / (2 * float(rates[b])))),
                    "notionalCap": cap,
                    "notionalFloor": float(floors[b]),
                    "maintMarginRatio": float(rates[b]),
                    "cum": float(cums[b]),
                }
            )
        rows = [
            {"symbol": s, "brackets": brackets} for s in self.markets if not symbol or s == symbol
        ]
        return rows[0] if symbol else rows

    def leverage(self, request: web.Request, params: dict[str, str]) -> dict[str, Any]:
        symbol = self._symbol(params)
        lev = int(params.get("leverage", "0"))
        if not 1 <= lev <= 125:
            raise BinanceError(400, -4028, "Leverage is not valid")
        self.positions[symbol].leverage = lev
        now = self.now_ms()
        self._send_user(
            {"e": "ACCOUNT_CONFIG_UPDATE", "E": now, "T": now, "ac": {"s": symbol, "l": lev}}
        )
        return {"leverage": lev, "maxNotionalValue": "1000000", "symbol": symbol}

    def margin_type(self, request: web.Request, params: dict[str, str]) -> dict[str, Any]:
        symbol = self._symbol(params)
        wanted = {"ISOLATED": "isolated", "CROSSED": "cross"}.get(params.get("marginType", ""))
        if wanted is None:
            raise BinanceError(400, -4044, "The margin type is invalid.")
        pos = self.positions[symbol]
        if pos.margin_type == wanted:
            raise BinanceError(400, -4046, "No need to change margin type.")
        if pos.amount:
            raise BinanceError(
                400, -4048, "Margin type cannot be changed if there exists position."
            )
        if self._open_orders(symbol):
            raise BinanceError(
                400, -4047, "Margin type cannot be changed if there exists open orders."
            )
        pos.margin_type = wanted
        return {"code": 200, "msg": "success"}

    def listen_key(self, request: web.Request, params: dict[str, str]) -> dict[str, Any]:
        if request.method == "DELETE":
            self.listen_keys.clear()
            return {}
        if request.method == "PUT":
            if not self.listen_keys:
                raise BinanceError(400, -1125, "This listenKey does not exist.")
            for k in self.listen_keys:
                self.listen_keys[k] = time.monotonic() + 3600
            return {}
        if not self.listen_keys:
            self.listen_keys[hashlib.sha256(str(random.random()).encode()).hexdigest()] = (
                time.monotonic() + 3600
            )
        return {"listenKey": next(iter(self.listen_keys))}

    # ---- websockets -----------------------------------------------------------------------
    async def ws_market(self, request: web.Request) -> web.StreamResponse:
        if time.monotonic() < self.ws_down_until:
            return web.json_response({"code": -1001, "msg": "sim outage"}, status=503)
        route = request.match_info.get("route", "")
        tail = request.match_info.get("tail", "")
        if route == "private" or (not route and tail in self.listen_keys):
            return await self.ws_user(request, tail or request.query.get("listenKey", ""))
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.all_ws.add(ws)
        streams: set[str] = set()
        routed = route == "market"
        if routed and tail and "@" in tail:
            streams.add(tail)
        combined = request.query.get("streams", "")
        if routed and combined:
            streams.update(combined.split("/"))
        self.market_ws[ws] = streams
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    req = json.loads(msg.data)
                except ValueError:
                    continue
                method, rid = req.get("method"), req.get("id")
                names = [str(p) for p in req.get("params", [])]
                if method == "SUBSCRIBE":
                    if routed:
                        streams.update(names)
                    await ws.send_str(json.dumps({"result": None, "id": rid}))
                elif method == "UNSUBSCRIBE":
                    streams.difference_update(names)
                    await ws.send_str(json.dumps({"result": None, "id": rid}))
                elif method == "LIST_SUBSCRIPTIONS":
                    await ws.send_str(json.dumps({"result": sorted(streams), "id": rid}))
        finally:
            self.market_ws.pop(ws, None)
            self.all_ws.discard(ws)
        return ws

    async def ws_user(self, request: web.Request, key: str) -> web.StreamResponse:
        if key not in self.listen_keys:
            return web.json_response(
                {"code": -1125, "msg": "This listenKey does not exist."}, status=400
            )
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.user_ws.add(ws)
        self.all_ws.add(ws)
        try:
            async for _msg in ws:
                pass
        finally:
            self.user_ws.discard(ws)
            self.all_ws.discard(ws)
        return ws

    # ---- test control (not Binance's) -----------------------------------------------------
    def inject_targets(self, to: str) -> list[web.WebSocketResponse]:
        """The websockets `/sim/inject` writes to: "user" (private) or "market" (public)."""
        return list(self.user_ws) if to == "user" else list(self.market_ws)

    async def sim_control(self, request: web.Request) -> web.StreamResponse:
        action = request.match_info["action"]
        body = await request.json() if request.can_read_body else {}
        if action == "drop":
            # optionally refuse new websocket connections for a while (an outage, not a blip)
            self.ws_down_until = time.monotonic() + float(body.get("down_s", 0))
            return web.json_response({"dropped": self.drop_connections()})
        if action == "faults":
            for key in ("drop_every", "delay_ms", "duplicate", "fail_order_every"):
                if key in body:
                    setattr(self.opt, key, type(getattr(self.opt, key))(body[key]))
            return web.json_response({"ok": True})
        if action == "inject":
            # hostile frames, sent as they are (text, not JSON-encoded) to every market or user
            # websocket: the client must log, skip and carry on (fuzz tests)
            frames = [str(f) for f in body.get("frames", [])]
            targets = self.inject_targets(str(body.get("to", "market")))
            sent = 0
            for ws in targets:
                for frame in frames:
                    if not ws.closed:
                        await ws.send_str(frame)
                        sent += 1
            return web.json_response({"sent": sent, "sockets": len(targets)})
        if action == "state":
            return web.json_response(
                {
                    "wallet": self.wallet,
                    "orders": len(self.orders),
                    "positions": {s: p.amount for s, p in self.positions.items() if p.amount},
                }
            )
        return web.json_response({"error": "unknown action"}, status=404)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)  # /sim/inject carries big frames
        h = self._handler
        routes = [
            ("GET", "/fapi/v1/ping", h(lambda r, p: {})),
            ("GET", "/fapi/v1/time", h(lambda r, p: {"serverTime": int(time.time() * 1000)})),
            ("GET", "/fapi/v1/exchangeInfo", h(self.exchange_info, 1)),
            ("GET", "/fapi/v1/klines", h(self.get_klines, 5)),
            ("GET", "/fapi/v1/markPriceKlines", h(self.get_klines, 5)),
            ("GET", "/fapi/v1/premiumIndex", h(self.premium_index, 1)),
            ("GET", "/fapi/v1/fundingRate", h(self.funding_rate, 1)),
            ("GET", "/fapi/v1/ticker/price", h(self.ticker_price, 1)),
            ("GET", "/fapi/v2/ticker/price", h(self.ticker_price, 1)),
            ("POST", "/fapi/v1/order", h(self.post_order, 1, signed=True)),
            ("GET", "/fapi/v1/order", h(self.get_order, 1, signed=True)),
            ("DELETE", "/fapi/v1/order", h(self.delete_order, 1, signed=True)),
            ("GET", "/fapi/v1/openOrders", h(self.open_orders, 1, signed=True)),
            ("GET", "/fapi/v1/allOrders", h(self.all_orders, 5, signed=True)),
            ("POST", "/fapi/v1/algoOrder", h(self.post_algo, 1, signed=True)),
            ("GET", "/fapi/v1/algoOrder", h(self.get_algo, 1, signed=True)),
            ("DELETE", "/fapi/v1/algoOrder", h(self.delete_algo, 1, signed=True)),
            ("GET", "/fapi/v1/openAlgoOrders", h(self.open_algo, 1, signed=True)),
            ("GET", "/fapi/v2/positionRisk", h(self.position_risk, 5, signed=True)),
            ("GET", "/fapi/v3/positionRisk", h(self.position_risk, 5, signed=True)),
            ("GET", "/fapi/v2/balance", h(self.balance, 5, signed=True)),
            ("GET", "/fapi/v3/balance", h(self.balance, 5, signed=True)),
            ("GET", "/fapi/v2/account", h(self.account, 5, signed=True)),
            ("GET", "/fapi/v3/account", h(self.account, 5, signed=True)),
            ("GET", "/fapi/v1/income", h(self.income_history, 30, signed=True)),
            ("GET", "/fapi/v1/leverageBracket", h(self.leverage_bracket, 1, signed=True)),
            ("POST", "/fapi/v1/leverage", h(self.leverage, 1, signed=True)),
            ("POST", "/fapi/v1/marginType", h(self.margin_type, 1, signed=True)),
            ("POST", "/fapi/v1/listenKey", h(self.listen_key, 1, key_only=True)),
            ("PUT", "/fapi/v1/listenKey", h(self.listen_key, 1, key_only=True)),
            ("DELETE", "/fapi/v1/listenKey", h(self.listen_key, 1, key_only=True)),
            ("GET", "/ws", self.ws_market),
            ("GET", "/ws/{tail}", self.ws_market),
            ("GET", "/stream", self.ws_market),
            ("GET", "/{route:public|market|private}/ws", self.ws_market),
            ("GET", "/{route:public|market|private}/ws/{tail}", self.ws_market),
            ("GET", "/{route:public|market|private}/stream", self.ws_market),
            ("POST", "/sim/{action}", self.sim_control),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, str]:
        """Bind and start ticking; returns (REST base URL, websocket base URL)."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        bound = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._ticker = asyncio.ensure_future(self._run_ticks())
        return f"http://{host}:{bound}", f"ws://{host}:{bound}/ws"

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for ws in list(self.all_ws):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()


def _strip_signature(text: str) -> str:
    if "signature=" not in text:
        return text
    parts = [p for p in text.split("&") if not p.startswith("signature=")]
    return "&".join(parts)


def _ignore_result(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


# ---- `tradeterm sim-server binance-futures` -------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    parser.add_argument("--symbols", default="BTCUSDT,ETHUSDT", help="comma-separated markets")
    parser.add_argument("--extra-symbols", type=int, default=0, help="add SYM00USDT.. markets")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--speed", type=float, default=1.0, help="market clock speed-up")
    parser.add_argument("--tick-ms", type=int, default=250)
    parser.add_argument("--history-days", type=float, default=35.0)
    parser.add_argument("--funding-interval-s", type=float, default=8 * 3600.0)
    parser.add_argument("--funding-rate", type=float, default=0.0001)
    parser.add_argument("--balance", type=float, default=10_000.0)
    parser.add_argument("--weight-limit", type=int, default=2400)
    parser.add_argument("--api-key", default="", help="accept only this key (empty: any)")
    parser.add_argument("--api-secret", default="", help="verify HMAC with it (empty: any)")
    parser.add_argument("--drop-every", type=int, default=0, help="drop websockets every N frames")
    parser.add_argument("--delay-ms", type=int, default=0, help="delay every REST reply")
    parser.add_argument("--duplicate", action="store_true", help="send every ws frame twice")
    parser.add_argument(
        "--fail-order-every", type=int, default=0, help="answer every N-th order 503 (accepted)"
    )


def options_from_args(args: argparse.Namespace) -> BinanceSimOptions:
    return BinanceSimOptions(
        symbols=[s.strip().upper() for s in args.symbols.split(",") if s.strip()],
        extra_symbols=args.extra_symbols,
        seed=args.seed,
        speed=args.speed,
        tick_ms=args.tick_ms,
        history_days=args.history_days,
        funding_interval_s=args.funding_interval_s,
        funding_rate=args.funding_rate,
        balance=args.balance,
        weight_limit=args.weight_limit,
        api_key=args.api_key,
        api_secret=args.api_secret,
        drop_every=args.drop_every,
        delay_ms=args.delay_ms,
        duplicate=args.duplicate,
        fail_order_every=args.fail_order_every,
    )


def run(args: argparse.Namespace) -> int:
    async def main() -> None:
        sim = BinanceFuturesSim(options_from_args(args))
        rest, ws = await sim.start(args.host, args.port)
        print(rest, flush=True)
        print(ws, flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await sim.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0
