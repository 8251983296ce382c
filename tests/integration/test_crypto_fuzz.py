"""Hostile websocket frames on the crypto streams: thousands injected through the Binance and
Bybit simulators (POST /sim/inject writes them raw onto the market and user websockets) while
ccxt's binanceusdm / bybit -- through our adapter -- stream trades, klines and order updates.

Truncated JSON, wrong types in every field, unknown events, non-objects, deep nesting and
payloads over a megabyte: each must be logged (once per kind) and skipped while the stream
carries on -- no crash, no reconnect, no silent stop -- and the good frames after them must
still arrive: ticks keep coming, the 1-minute bars stay contiguous and equal to the venue's
REST history, and an order placed afterwards has its fill delivered on the user stream.

Seeded: TRADETERM_FUZZ_SEED reproduces a run (the seed is in every failure message).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tradeterm.domain.enums import OrderType, Side
from tradeterm.domain.market import Bar, Tick
from tradeterm.domain.orders import Fill, Order
from tradeterm.venues.crypto.binance import BINANCE_FUTURES
from tradeterm.venues.crypto.bybit import bybit_profile
from tradeterm.venues.crypto.ccxt_venue import (
    CcxtDataClient,
    CcxtExecClient,
    CcxtProfile,
    CcxtSession,
)
from tradeterm.venues.crypto.frames import MAX_FRAME_CHARS
from tradeterm.venues.sim.servers.binance import BinanceFuturesSim, BinanceSimOptions
from tradeterm.venues.sim.servers.bybit import BybitSim

SEED = int(os.environ.get("TRADETERM_FUZZ_SEED", "20261203"))
MARKET_FRAMES = 3000
USER_FRAMES = 1000
KEY, SECRET = "fuzz-key", "fuzz-secret"

HOSTILE_VALUES: tuple[Any, ...] = (
    None, "", "abc", "NaN", "-inf", "1e999", -1, 0, 1.5, 10**30, -(10**30), True, [], {},
    [1, 2], {"x": 1}, "\u0000", "é" * 50, "9" * 400,
)  # fmt: skip


@dataclass(frozen=True)
class Frame:
    text: str
    kind: str
    counted: bool
    """The guard must count it (it cannot be parsed or is too big); others may be parsed and
    ignored by ccxt (unknown events, other symbols)."""


def binance_market(now: int) -> list[dict[str, Any]]:
    t = now // 60_000 * 60_000
    return [
        {"e": "aggTrade", "E": now, "s": "BTCUSDT", "a": 5, "p": "43000.1", "q": "0.010",
         "f": 5, "l": 5, "T": now, "m": True},
        {"e": "kline", "E": now, "s": "BTCUSDT", "k": {
            "t": t, "T": t + 59_999, "s": "BTCUSDT", "i": "1m", "f": 0, "L": 0, "o": "43000.0",
            "c": "43001.0", "h": "43002.0", "l": "42999.0", "v": "1.0", "n": 1, "x": False,
            "q": "43000.0", "V": "0.5", "Q": "21500.0", "B": "0"}},
        {"e": "markPriceUpdate", "E": now, "s": "BTCUSDT", "p": "43000.0", "i": "43000.0",
         "P": "43000.0", "r": "0.0001", "T": now + 3_600_000},
    ]  # fmt: skip


def binance_user(now: int) -> list[dict[str, Any]]:
    return [
        {"e": "ORDER_TRADE_UPDATE", "E": now, "T": now, "o": {
            "s": "BTCUSDT", "c": "someone-else", "S": "BUY", "o": "MARKET", "f": "GTC",
            "q": "0.010", "p": "0", "ap": "43000.0", "sp": "0", "x": "TRADE", "X": "FILLED",
            "i": 99, "l": "0.010", "z": "0.010", "L": "43000.0", "N": "USDT", "n": "0.2",
            "T": now, "t": 1, "b": "0", "a": "0", "m": False, "R": False, "wt": "CONTRACT_PRICE",
            "ot": "MARKET", "ps": "BOTH", "cp": False, "rp": "0"}},
        {"e": "ACCOUNT_UPDATE", "E": now, "T": now, "a": {"m": "ORDER", "B": [
            {"a": "USDT", "wb": "1000", "cw": "1000", "bc": "0"}], "P": []}},
    ]  # fmt: skip


def bybit_market(now: int) -> list[dict[str, Any]]:
    t = now // 60_000 * 60_000
    return [
        {"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": now, "data": [
            {"T": now, "s": "BTCUSDT", "S": "Buy", "v": "0.010", "p": "43000.1", "L": "PlusTick",
             "i": "5", "BT": False}]},
        {"topic": "kline.1.BTCUSDT", "type": "snapshot", "ts": now, "data": [
            {"start": t, "end": t + 59_999, "interval": "1", "open": "43000.0",
             "close": "43001.0", "high": "43002.0", "low": "42999.0", "volume": "1.0",
             "turnover": "43000.0", "confirm": False, "timestamp": now}]},
    ]  # fmt: skip


def bybit_user(now: int) -> list[dict[str, Any]]:
    return [
        {"topic": "order", "id": f"o{now}", "creationTime": now, "data": [
            {"category": "linear", "symbol": "BTCUSDT", "orderId": "99",
             "orderLinkId": "someone-else", "side": "Buy", "orderType": "Market", "price": "0",
             "qty": "0.010", "orderStatus": "Filled", "cumExecQty": "0.010",
             "avgPrice": "43000.0", "cumExecFee": "0.2", "createdTime": str(now),
             "updatedTime": str(now), "reduceOnly": False, "triggerPrice": ""}]},
        {"topic": "execution", "id": f"e{now}", "creationTime": now, "data": [
            {"category": "linear", "symbol": "BTCUSDT", "orderId": "99",
             "orderLinkId": "someone-else", "side": "Buy", "execId": "x", "execPrice": "43000",
             "execQty": "0.01", "execFee": "0.2", "execType": "Trade", "execTime": str(now),
             "isMaker": False, "orderType": "Market", "feeRate": "0.00055"}]},
    ]  # fmt: skip


@dataclass(frozen=True)
class Venue:
    name: str
    sim: type[BinanceFuturesSim]
    profile: CcxtProfile
    market: Callable[[int], list[dict[str, Any]]]
    user: Callable[[int], list[dict[str, Any]]]


VENUES = [
    Venue("binance_futures", BinanceFuturesSim, BINANCE_FUTURES, binance_market, binance_user),
    Venue("bybit", BybitSim, bybit_profile("linear"), bybit_market, bybit_user),
]
BAD_TIMES: tuple[Any, ...] = (None, "abc", -60_000, 1_700_000_000_007, 1.5, [], {})


def _spoil_open_time(rng: random.Random, frame: dict[str, Any]) -> dict[str, Any]:
    """A kline frame whose bar open time is never valid (see `hostile_frames`)."""
    if isinstance(frame.get("k"), dict):  # Binance
        return {**frame, "k": {**frame["k"], "t": rng.choice(BAD_TIMES)}}
    data = frame.get("data")
    if str(frame.get("topic", "")).startswith("kline") and isinstance(data, list):  # Bybit
        rows = [{**r, "start": rng.choice(BAD_TIMES)} if isinstance(r, dict) else r for r in data]
        return {**frame, "data": rows}
    return frame


def _is_kline(frame: dict[str, Any]) -> bool:
    return frame.get("e") == "kline" or str(frame.get("topic", "")).startswith("kline")


def _mutate(rng: random.Random, value: Any, protect_time: bool) -> Any:
    """`value` with one field somewhere replaced by a hostile value."""
    if isinstance(value, dict) and value:
        out = dict(value)
        key = rng.choice(sorted(out))
        if isinstance(out[key], dict | list) and rng.random() < 0.6:
            out[key] = _mutate(rng, out[key], protect_time)
        else:
            out[key] = rng.choice(HOSTILE_VALUES)
        return out
    if isinstance(value, list) and value and rng.random() < 0.8:
        out_list = list(value)
        i = rng.randrange(len(out_list))
        out_list[i] = _mutate(rng, out_list[i], protect_time)
        return out_list
    return rng.choice(HOSTILE_VALUES)


def hostile_frames(rng: random.Random, templates: list[dict[str, Any]], n: int) -> list[Frame]:
    """`n` hostile frames built from real frame shapes (kline frames never keep a valid open
    time: a bar that parses with false but well-typed prices is not detectable by anyone)."""
    out: list[Frame] = []
    for _ in range(n):
        base = rng.choice(templates)
        good = json.dumps(base)
        pick = rng.random()
        if pick < 0.25:  # truncated JSON
            cut = rng.randrange(2, len(good) - 1)
            out.append(Frame(good[:cut], "truncated", True))
        elif pick < 0.70:  # wrong types, anywhere (several fields)
            bad: Any = base
            for _k in range(rng.randint(1, 4)):
                bad = _mutate(rng, bad, protect_time=False)
            if _is_kline(base) and isinstance(bad, dict):
                bad = _spoil_open_time(rng, bad)
            out.append(Frame(json.dumps(bad), "wrong types", False))
        elif pick < 0.80:  # unknown events and shapes
            event = rng.choice(
                ["weirdEvent", "", "kline_x", "ORDER_TRADE_UPDATEX", "listenKeyExpiredX"]
            )
            payload: Any = rng.choice(
                [{"e": event, "E": 1}, {"stream": "btcusdt@nothing", "data": {"e": event}},
                 {"result": None, "id": rng.randint(10**6, 10**7)}, {"data": [1, 2, 3]}]
            )  # fmt: skip
            out.append(Frame(json.dumps(payload), "unknown event", False))
        elif pick < 0.88:  # not an object at all
            out.append(Frame(rng.choice(["hello", "", " ", "[", "{", "null", "123", '"x"', "[]",
                                         "\u202e", "{]", "[}"]), "not json", False))  # fmt: skip
        elif pick < 0.94:  # nested past any parser's limit
            depth = rng.choice([2000, 20_000])
            out.append(Frame("[" * depth + "]" * depth, "deep nesting", True))
        elif pick < 0.97:  # huge payload, over the guard's limit
            size = MAX_FRAME_CHARS + rng.randint(1, 500_000)
            out.append(Frame('{"e":"aggTrade","p":"' + "9" * size + '"}', "oversized", True))
        else:  # huge but under the limit: a big unknown event ccxt must ignore
            out.append(
                Frame(json.dumps({"e": "bigNoise", "x": "z" * 400_000}), "big unknown", False)
            )
    return out


async def wait_for(predicate: Callable[[], Any], what: str, timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what} (seed {SEED})"
        await asyncio.sleep(0.05)


@pytest.fixture(params=VENUES, ids=[v.name for v in VENUES])
async def sim(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[Venue, BinanceFuturesSim, str, str]]:
    venue: Venue = request.param
    server = venue.sim(
        BinanceSimOptions(speed=60.0, history_days=1, api_key=KEY, api_secret=SECRET, tick_ms=100)
    )
    rest, ws = await server.start()
    yield venue, server, rest, ws
    await server.stop()


async def test_thousands_of_hostile_frames_are_skipped_and_the_streams_carry_on(
    sim: tuple[Venue, BinanceFuturesSim, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    venue, server, rest, ws = sim
    caplog.set_level(logging.WARNING, logger="tradeterm.venues.crypto.frames")
    session = CcxtSession(
        venue.name, venue.profile, api_key=KEY, secret=SECRET, rest_url=rest, ws_url=ws
    )
    data = CcxtDataClient(session)
    orders = CcxtExecClient(session, "live")
    await data.connect()
    await orders.connect()
    await data.subscribe(["BTCUSDT"])
    ticks: list[Tick] = []
    bars: list[Bar] = []
    fills: list[Fill] = []

    async def collect_ticks() -> None:
        async for tick in data.ticks():
            ticks.append(tick)

    async def collect_bars() -> None:
        async for bar in data.closed_bars("BTCUSDT", "1m"):
            bars.append(bar)

    async def collect_fills() -> None:
        async for event in orders.events():
            if isinstance(event, Fill):
                fills.append(event)

    tasks = [asyncio.create_task(c()) for c in (collect_ticks, collect_bars, collect_fills)]
    rng = random.Random(SEED)
    try:
        await wait_for(lambda: len(ticks) >= 5 and len(bars) >= 2, "the streams to start")
        await wait_for(lambda: server.inject_targets("user"), "the user stream to connect")
        now = server.now_ms()
        market = hostile_frames(rng, venue.market(now), MARKET_FRAMES)
        user = hostile_frames(rng, venue.user(now), USER_FRAMES)
        before_ticks, before_bars = len(ticks), len(bars)
        async with aiohttp.ClientSession() as http:
            for to, frames in (("market", market), ("user", user)):
                for batch in (frames[i : i + 100] for i in range(0, len(frames), 100)):
                    async with http.post(
                        f"{rest}/sim/inject", json={"to": to, "frames": [f.text for f in batch]}
                    ) as resp:
                        sent = await resp.json()
                    assert sent["sockets"] >= 1, (to, sent, SEED)
                    await asyncio.sleep(0)  # good frames interleave with the hostile ones
        # good frames after them still arrive, on the same connections
        await wait_for(lambda: len(ticks) >= before_ticks + 30, "ticks after the storm")
        await wait_for(lambda: len(bars) >= before_bars + 3, "bars after the storm")
        ack = await orders.submit(
            Order(
                client_order_id="tt-after-fuzz",
                wallet_id="live",
                venue=venue.name,
                symbol="BTCUSDT",
                side=Side.BUY,
                order_type=OrderType.MARKET,
                qty=0.003,
                created_ms=int(time.time() * 1000),
            )
        )
        assert not ack.reason, ack.reason
        await wait_for(
            lambda: [f for f in fills if f.client_order_id == "tt-after-fuzz"],
            "the fill of an order placed after the storm, on the user stream",
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert all(not t.done() or t.cancelled() for t in tasks), f"a stream ended (seed {SEED})"
    health = session.health
    assert health.reconnects == 0, f"the storm forced a reconnect: {health.detail} (seed {SEED})"
    must = sum(f.counted for f in (*market, *user))
    assert health.bad_frames >= must, (health.bad_frames, must, SEED)
    # logged once per kind (and every 1000th), not once per frame
    logged = [r for r in caplog.records if "bad websocket frame skipped" in r.getMessage()]
    kinds = session.frames.kinds
    assert len(logged) <= len(kinds) + sum(c // 1000 for c in kinds.values()), (len(logged), kinds)
    assert {"undecodable", "oversized"} <= set(kinds), kinds
    # the bars are the venue's bars: contiguous, none twice, equal to its REST history
    opens = [b.open_ms for b in bars]
    assert len(set(opens)) == len(opens), f"duplicated bar (seed {SEED})"
    assert all(b - a == 60_000 for a, b in itertools.pairwise(opens)), f"lost bar (seed {SEED})"
    truth = {
        b.open_ms: b
        for b in await data.history("BTCUSDT", "1m", end_ms=opens[-1] + 120_000, limit=200)
    }
    for bar in bars:
        assert truth[bar.open_ms].close == pytest.approx(bar.close), (bar, SEED)
        assert truth[bar.open_ms].high == pytest.approx(bar.high), (bar, SEED)
    await orders.close()
    await data.close()
    await session.close()
