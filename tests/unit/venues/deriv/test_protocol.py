"""The Deriv parsers on Deriv's own response messages (../shared/venues/deriv/responses), the
error-code mapping, both dialects, and 10,000 hostile frames through the connection's reader."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from tests.conftest import _shared_dir
from tradeterm.errors import PermanentVenueError, TemporaryVenueError
from tradeterm.venues.deriv.connection import DerivConnection
from tradeterm.venues.deriv.protocol import (
    BadFrame,
    decode,
    error_in,
    error_of,
    outgoing,
    parse_active_symbols,
    parse_balance,
    parse_buy,
    parse_contracts_for,
    parse_history,
    parse_open_contract,
    parse_portfolio,
    parse_sell,
    parse_tick,
)

RESPONSES = _shared_dir() / "venues" / "deriv" / "responses"


def real(name: str) -> dict[str, Any]:
    return decode((RESPONSES / f"{name}.json").read_text())


def test_tick() -> None:
    tick = parse_tick(real("tick_response"))
    assert (tick.symbol, tick.epoch, tick.quote) == ("R_50", 1587547610, 218.0926)
    assert tick.bid == 218.0826 and tick.ask == 218.1026


def test_history() -> None:
    rows = parse_history(real("tick_history_response"))
    assert rows[0] == (1587556946, 218.6404)
    assert [t for t, _ in rows] == sorted(t for t, _ in rows)


def test_portfolio_lists_the_multiplier() -> None:
    (entry,) = parse_portfolio(real("portfolio_response"))
    assert (entry.contract_id, entry.contract_type, entry.symbol) == (
        98350591008,
        "MULTUP",
        "1HZ50V",
    )
    assert entry.buy_price == 10.52


def test_open_contract() -> None:
    poc = parse_open_contract(real("proposal_open_contract_response"))
    assert poc is not None
    assert poc.contract_id == 79944933588 and poc.contract_type == "MULTDOWN"
    assert poc.entry_spot == 1417.65 and poc.multiplier == 100.0 and not poc.is_sold
    assert poc.purchase_time == 1587533920  # what matches a buy lost in a crash to its order
    frame = real("proposal_open_contract_response")
    row = frame["proposal_open_contract"]
    del row["purchase_time"]
    assert parse_open_contract(frame).purchase_time == row["date_start"]  # type: ignore[union-attr]
    del row["date_start"]
    assert parse_open_contract(frame).purchase_time == 0  # type: ignore[union-attr]


def test_buy_sell_balance() -> None:
    purchase = parse_buy(real("buy_contract_response"))
    assert purchase.contract_id == 79939279308 and purchase.buy_price == 49.12
    assert parse_sell(real("sell_response")) == (79939279308, 1200.0)
    assert parse_balance(real("balance_response")) == (9650.74, "USD")


def test_active_symbols_and_contracts_for_without_multipliers() -> None:
    rows = parse_active_symbols(real("active_symbols_response"))
    assert rows and all(r.pip > 0 for r in rows)
    assert parse_contracts_for(real("contract_for_response"), "R_50") is None  # CALL/PUT only


def test_new_dialect_fields_map_onto_the_same_model() -> None:
    msg = {
        "msg_type": "active_symbols",
        "active_symbols": [
            {
                "underlying_symbol": "R_100",
                "underlying_symbol_name": "Volatility 100 Index",
                "pip_size": 0.01,
                "market": "synthetic_index",
                "submarket": "random_index",
            }
        ],
    }
    (row,) = parse_active_symbols(msg)
    assert (row.symbol, row.name, row.pip) == ("R_100", "Volatility 100 Index", 0.01)
    req = {"proposal": 1, "symbol": "R_100", "contract_type": "MULTUP"}
    assert outgoing(req, "new")["underlying_symbol"] == "R_100"
    assert "underlying_symbol" not in outgoing(req, "legacy")


PROTOCOL_CODES = {
    "InputValidationFailed": PermanentVenueError,
    "InvalidToken": PermanentVenueError,
    "AuthorizationRequired": PermanentVenueError,
    "InvalidAppID": PermanentVenueError,
    "RateLimit": TemporaryVenueError,
    "ContractBuyValidationError": PermanentVenueError,
    "OfferingsValidationError": PermanentVenueError,
    "ContractCreationFailure": PermanentVenueError,
    "InvalidContractProposal": TemporaryVenueError,
    "PriceMoved": TemporaryVenueError,
    "InsufficientBalance": PermanentVenueError,
    "MarketIsClosed": TemporaryVenueError,
    "InvalidSymbol": PermanentVenueError,
    "AlreadySubscribed": TemporaryVenueError,
    "ContractNotFound": PermanentVenueError,
    "InternalError": TemporaryVenueError,
}
"""Every error code PROTOCOLS.md section 1.1 lists, and what it should mean."""


@pytest.mark.parametrize(("code", "kind"), sorted(PROTOCOL_CODES.items()))
def test_every_protocol_error_code_maps(code: str, kind: type) -> None:
    msg = {"msg_type": "buy", "echo_req": {}, "error": {"code": code, "message": "text"}}
    found = error_in(msg)
    assert found == (code, "text")
    err = error_of(*found, venue="deriv", call="buy")
    assert type(err) is kind and err.code == code and "buy" in str(err)


def test_unknown_codes_are_permanent() -> None:
    assert isinstance(error_of("Brand-new", "x", venue="d"), PermanentVenueError)


def hostile_frames(n: int, seed: int = 3) -> list[str | bytes]:
    rng = random.Random(seed)
    good = json.dumps(real("tick_response") | {"req_id": 1})
    frames: list[str | bytes] = []
    makers = [
        lambda: good[: rng.randrange(1, len(good))],  # truncated JSON
        lambda: json.dumps({"msg_type": rng.choice([1, None, [], {}])}),  # wrong types
        lambda: json.dumps({"msg_type": f"unknown_{rng.randrange(99)}", "req_id": 5}),
        lambda: json.dumps({"msg_type": "tick", "req_id": "x"}),
        lambda: json.dumps({"msg_type": "tick", "req_id": 7, "tick": {"quote": "nan?"}}),
        lambda: json.dumps(rng.choice([[], 1, "s", None])),
        lambda: "x" * 4_000_001,  # huge payload
        lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))),
    ]
    for i in range(n):
        frames.append(makers[i % len(makers)]() if i % len(makers) != 6 or i < 64 else "{}")
    return frames


def test_ten_thousand_hostile_frames_are_counted_and_skipped() -> None:
    conn = DerivConnection("ws://127.0.0.1:1/")
    frames = hostile_frames(10_000)
    for frame in frames:
        conn._dispatch(frame)
    # unknown msg_types and ticks with bad fields are valid envelopes (their parsers refuse them)
    assert conn.health.bad_frames == 7_500
    with pytest.raises(BadFrame):
        decode("x" * 4_000_001)
    for frame in frames[:200]:  # and every parser refuses them with BadFrame, nothing else
        try:
            msg = decode(frame)
        except BadFrame:
            continue
        for parser in (parse_tick, parse_history, parse_buy, parse_portfolio, parse_balance):
            with pytest.raises(BadFrame):
                parser(msg)
