"""The Deriv client against the Deriv protocol simulator over loopback: what the simulator says
validates against Deriv's published JSON schemas, what the client sends validates too, and the
fault switches reach the client as the right venue errors."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
import pytest
from websockets.asyncio.client import connect

from tests.conftest import _shared_dir
from tradeterm.clock import LiveClock
from tradeterm.config.models import DerivVenueConfig
from tradeterm.errors import PermanentVenueError, TemporaryVenueError
from tradeterm.venues.deriv import connection_for
from tradeterm.venues.deriv.connection import DerivConnection
from tradeterm.venues.deriv.data import DerivDataClient
from tradeterm.venues.sim.servers.deriv_sim import DerivSimulator, FaultPlan

SCHEMAS = _shared_dir() / "venues" / "deriv" / "schemas"
MULT = {
    "contract_type": "MULTUP",
    "currency": "USD",
    "symbol": "R_100",
    "amount": 10,
    "basis": "stake",
    "multiplier": 100,
    "limit_order": {"take_profit": 5, "stop_loss": 2},
}


def schema(call: str, side: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / call / f"{side}.json").read_text())


class Raw:
    """A bare websocket client: send a request, return its reply (skipping stream frames)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.n = 0

    async def call(self, request: dict[str, Any]) -> dict[str, Any]:
        self.n += 1
        await self.ws.send(json.dumps({**request, "req_id": self.n}))
        while True:
            reply: dict[str, Any] = json.loads(await self.ws.recv())
            if reply.get("req_id") == self.n:
                return reply


def check(call: str, reply: dict[str, Any]) -> None:
    assert "error" not in reply, reply.get("error")
    jsonschema.validate(reply, schema(call, "receive"))


async def test_every_reply_validates_against_deriv_schemas() -> None:
    async with DerivSimulator(speed=10, history_s=600) as sim, connect(sim.url) as ws:
        raw = Raw(ws)
        check("authorize", await raw.call({"authorize": "any-token"}))
        check("website_status", await raw.call({"website_status": 1}))
        check("active_symbols", await raw.call({"active_symbols": "brief"}))
        check("contracts_for", await raw.call({"contracts_for": "R_100", "currency": "USD"}))
        check("ticks", await raw.call({"ticks": "R_100"}))
        check(
            "ticks_history", await raw.call({"ticks_history": "R_100", "end": "latest", "count": 5})
        )
        candles = await raw.call(
            {"ticks_history": "R_100", "end": "latest", "style": "candles", "granularity": 60}
        )
        check("ticks_history", candles)
        assert candles["msg_type"] == "candles"
        proposal = await raw.call({"proposal": 1, **MULT})
        check("proposal", proposal)
        bought = await raw.call({"buy": proposal["proposal"]["id"], "price": 10})
        check("buy", bought)
        cid = bought["buy"]["contract_id"]
        poc = await raw.call({"proposal_open_contract": 1, "contract_id": cid})
        check("proposal_open_contract", poc)
        check("portfolio", await raw.call({"portfolio": 1}))
        check("balance", await raw.call({"balance": 1}))
        update = await raw.call(
            {"contract_update": 1, "contract_id": cid, "limit_order": {"take_profit": 3}}
        )
        check("contract_update", update)
        check("sell", await raw.call({"sell": cid, "price": 0}))
        check("ping", await raw.call({"ping": 1}))
        check("time", await raw.call({"time": 1}))
        check("forget", await raw.call({"forget": "nope"}))
        check("forget_all", await raw.call({"forget_all": "ticks"}))
        sold = await raw.call({"proposal_open_contract": 1, "contract_id": cid})
        check("proposal_open_contract", sold)
        assert sold["proposal_open_contract"]["is_sold"] == 1


async def test_what_the_client_sends_validates_against_deriv_schemas() -> None:
    async with DerivSimulator(speed=10, history_s=600) as sim:
        conn = DerivConnection(sim.url, token="tok")
        client = DerivDataClient("deriv", conn, LiveClock(), conn.health)
        await client.connect()
        await client.discover()
        await client.history("R_100", "1m", limit=5)
        await client.subscribe(["R_100"])
        await conn.request({"proposal": 1, **MULT})
        await client.close()
    calls = {
        "authorize",
        "active_symbols",
        "contracts_for",
        "ticks",
        "ticks_history",
        "proposal",
    }
    seen = set()
    for request in sim.requests_seen:
        call = next(c for c in calls if c in request)
        seen.add(call)
        jsonschema.validate(request, schema(call, "send"))
    assert seen == calls


async def test_errors_and_faults_reach_the_client_as_venue_errors() -> None:
    async with DerivSimulator(speed=10, history_s=600, faults=FaultPlan(rate_limit_every=3)) as sim:
        patient = DerivConnection(sim.url, max_rps=0, rate_limit_backoff_s=0.01)
        await patient.open()
        for _ in range(4):  # the third is refused once, backed off and sent again
            assert (await patient.request({"ping": 1}))["ping"] == "pong"
        assert patient.rate_limited == 1
        await patient.close()
        conn = DerivConnection(sim.url, max_rps=0, rate_limit_retries=0)
        await conn.open()
        await conn.request({"ping": 1})
        await conn.request({"ping": 1})
        with pytest.raises(TemporaryVenueError, match="RateLimit"):
            await conn.request({"ping": 1})
        await conn.request({"ping": 1})
        await conn.request({"ping": 1})
        with pytest.raises(TemporaryVenueError, match="RateLimit"):  # never repeated: a buy
            await conn.request({"buy": "x" * 32, "price": 1})
        with pytest.raises(PermanentVenueError, match="InvalidSymbol"):
            await conn.request({"ticks": "NOPE"})
        with pytest.raises(PermanentVenueError, match="AuthorizationRequired"):
            await conn.request({"portfolio": 1})
        await conn.close()
    async with DerivSimulator(speed=10, history_s=600, faults=FaultPlan(invalid_token=True)) as sim:
        conn = DerivConnection(sim.url, token="tok")
        with pytest.raises(PermanentVenueError, match="InvalidToken"):
            await conn.open()
        await conn.close()


async def test_multiplier_validation_errors() -> None:
    async with DerivSimulator(speed=10, history_s=600) as sim:
        conn = DerivConnection(sim.url, token="tok", max_rps=0)
        await conn.open()
        for change, code in (
            ({"multiplier": 7}, "ContractBuyValidationError"),
            ({"basis": "payout"}, "ContractCreationFailure"),
            ({"contract_type": "CALL"}, "OfferingsValidationError"),
            ({"limit_order": {"stop_loss": 50}}, "ContractBuyValidationError"),
        ):
            with pytest.raises(PermanentVenueError, match=code):
                await conn.request({"proposal": 1, **MULT, **change})
        with pytest.raises(TemporaryVenueError, match="InvalidContractProposal"):
            await conn.request({"buy": "stale-id", "price": 10})
        await conn.close()


async def test_timeouts_are_temporary() -> None:
    async with DerivSimulator(speed=10, history_s=600, faults=FaultPlan(delay_ms=400)) as sim:
        conn = DerivConnection(sim.url, request_timeout_s=0.1)
        await conn.open()
        with pytest.raises(TemporaryVenueError, match="no reply"):
            await conn.request({"ping": 1})
        await conn.close()


async def test_the_contract_closes_at_take_profit_on_the_sim_tick_path() -> None:
    """A take profit of one cent closes on the first favourable tick; the POC stream says so."""
    async with DerivSimulator(speed=30, history_s=600) as sim:
        conn = DerivConnection(sim.url, token="tok", max_rps=0)
        await conn.open()
        body = {**MULT, "symbol": "1HZ100V", "limit_order": {"take_profit": 0.01}}
        proposal = await conn.request({"proposal": 1, **body})
        bought = await conn.request({"buy": proposal["proposal"]["id"], "price": 10})
        cid = bought["buy"]["contract_id"]
        stream = await conn.subscribe({"proposal_open_contract": 1, "contract_id": cid})
        last: dict[str, Any] = stream.first["proposal_open_contract"]
        async for msg in stream:
            last = msg["proposal_open_contract"]
            if last["is_sold"]:
                break
        assert last["is_sold"] == 1
        profit = last["sell_price"] - 10
        assert profit >= 0.01 or last["status"] == "lost"  # TP, or stop-out/SL first
        await conn.close()


async def test_the_new_dialect_maps_onto_the_same_model() -> None:
    """New API: public socket without authorize, trading on the OTP URL, renamed fields."""
    async with DerivSimulator(speed=10, history_s=600, dialect="new") as sim:
        public = DerivConnection(sim.url, dialect="new", max_rps=0)
        client = DerivDataClient("deriv", public, LiveClock(), public.health)
        await client.connect()
        offers = await client.discover()
        assert len(offers) >= 20 and offers[0].info.name.endswith("Index")
        with pytest.raises(PermanentVenueError, match="AuthorizationRequired"):
            await public.request({"portfolio": 1})
        await client.close()
        assert sim.otp is not None
        cfg = DerivVenueConfig(
            endpoint=sim.url,
            dialect="new",
            account_id="CR90000001",
            otp_endpoint=f"{sim.otp.base_url}/trading/v1/options/accounts/{{account}}/otp",
        )
        trading = connection_for("deriv", cfg, token="pat-token")
        await trading.open()  # POST .../otp -> one-time URL -> socket
        assert not sim.otp.issued  # the password was spent by this connection
        replay = DerivConnection(f"{sim.url}?otp=already-used", dialect="new")
        with pytest.raises(TemporaryVenueError):
            await replay.open()
            await replay.request({"ping": 1})
        await replay.close()
        proposal = await trading.request({"proposal": 1, **MULT})
        assert "underlying_symbol" in proposal["echo_req"] and "symbol" not in proposal["echo_req"]
        bought = await trading.request({"buy": proposal["proposal"]["id"], "price": 10})
        assert bought["buy"]["contract_id"] in sim.contracts
        await trading.close()


async def test_the_new_dialect_otp_endpoint_refuses_a_bad_token() -> None:
    faults = FaultPlan(invalid_token=True)
    async with DerivSimulator(speed=10, history_s=600, dialect="new", faults=faults) as sim:
        assert sim.otp is not None
        cfg = DerivVenueConfig(
            endpoint=sim.url,
            dialect="new",
            account_id="CR90000001",
            otp_endpoint=f"{sim.otp.base_url}/trading/v1/options/accounts/{{account}}/otp",
        )
        conn = connection_for("deriv", cfg, token="bad")
        with pytest.raises(PermanentVenueError, match="refused"):
            await conn.open()
        await conn.close()


async def test_a_proposal_stream_refreshes_every_tick_with_buyable_ids() -> None:
    """A subscribed proposal is re-priced on each tick of its symbol (a new proposal id each
    time, the subscription id unchanged), every frame validates, and the latest id buys."""
    async with DerivSimulator(speed=30, history_s=600) as sim:
        conn = DerivConnection(sim.url, token="tok", max_rps=0)
        await conn.open()
        stream = await conn.subscribe({"proposal": 1, **MULT, "symbol": "1HZ100V", "subscribe": 1})
        check("proposal", stream.first)
        ids = [stream.first["proposal"]["id"]]
        spots = [stream.first["proposal"]["spot"]]

        async def updates() -> None:
            async for msg in stream:
                check("proposal", msg)
                assert msg["subscription"]["id"] == stream.first["subscription"]["id"]
                ids.append(msg["proposal"]["id"])
                spots.append(msg["proposal"]["spot"])
                if len(ids) >= 4:
                    return

        await asyncio.wait_for(updates(), timeout=60)  # 1HZ100V ticks every sim second
        assert len(set(ids)) == 4 and len(set(spots)) > 1  # re-priced at each new spot
        bought = await conn.request({"buy": ids[-1], "price": 10})
        assert bought["buy"]["contract_id"] in sim.contracts
        await conn.close()
