"""Deriv API messages -> tradeterm's internal model (pure parsing, no I/O).

Both dialects map onto one model: the New API's renamed fields (underlying_symbol,
underlying_symbol_name, pip_size, ...) are normalised to the legacy names before parsing, and
`outgoing` renames the other way for requests. Every parser raises `BadFrame` on a message it
cannot read; callers log and skip it (a venue's odd frame never crashes the node).

Error codes map to what happens next: TemporaryVenueError (retry with backoff) or
PermanentVenueError (stop; a person must act).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from tradeterm.errors import PermanentVenueError, TemporaryVenueError, VenueError

MAX_FRAME_CHARS = 4_000_000
"""Frames longer than this are refused unparsed (a huge payload is a bad frame, not a crash)."""

TEMPORARY_CODES = frozenset(
    {
        "RateLimit",
        "InternalError",
        "PriceMoved",
        "InvalidContractProposal",
        "MarketIsClosed",
        "AlreadySubscribed",
        "WrongResponse",
        "ServiceUnavailable",
    }
)
"""Error codes worth retrying (after a backoff, a fresh proposal, or when the market opens)."""

PERMANENT_CODES = frozenset(
    {
        "InputValidationFailed",
        "InvalidToken",
        "AuthorizationRequired",
        "InvalidAppID",
        "ContractBuyValidationError",
        "OfferingsValidationError",
        "ContractCreationFailure",
        "InsufficientBalance",
        "InvalidSymbol",
        "ContractNotFound",
        "UnrecognisedRequest",
        "InvalidSellContractProposal",
        "ContractUpdateFailure",
        "ContractUpdateDisabled",
        "PermissionDenied",
    }
)
"""Error codes retrying cannot fix. Unknown codes are treated as permanent too (never loop on a
buy the venue refused for a reason we do not know)."""

NEW_TO_LEGACY = {
    "underlying_symbol": "symbol",
    "underlying_symbol_name": "display_name",
    "underlying_symbol_type": "symbol_type",
    "pip_size": "pip",
}

GRANULARITY_OF: dict[str, int] = {
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "8h": 28800,
    "1d": 86400,
}
"""tradeterm timeframes Deriv serves as candles (ticks_history granularity, seconds)."""


class BadFrame(ValueError):
    """A frame that is not a readable Deriv message."""


def error_of(code: str, message: str, *, venue: str, call: str = "") -> VenueError:
    """The venue error a Deriv error object means."""
    where = f" ({call})" if call else ""
    text = f"{venue}: {code}{where}: {message}"
    if code in TEMPORARY_CODES:
        return TemporaryVenueError(text, venue=venue, code=code)
    return PermanentVenueError(text, venue=venue, code=code)


def decode(raw: str | bytes) -> dict[str, Any]:
    """One frame as a message object: JSON, an object, with a string msg_type."""
    if len(raw) > MAX_FRAME_CHARS:
        raise BadFrame(f"frame of {len(raw)} characters is too large")
    try:
        msg = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadFrame(f"not JSON: {exc}") from None
    if not isinstance(msg, dict):
        raise BadFrame("not a JSON object")
    if not isinstance(msg.get("msg_type"), str):
        raise BadFrame("no msg_type")
    req_id = msg.get("req_id")
    if req_id is not None and (not isinstance(req_id, int) or isinstance(req_id, bool)):
        raise BadFrame("req_id is not an integer")
    return msg


def error_in(msg: dict[str, Any]) -> tuple[str, str] | None:
    """(code, message) of an error reply, or None."""
    err = msg.get("error")
    if err is None:
        return None
    if not isinstance(err, dict):
        return ("WrongResponse", "malformed error object")
    return (str(err.get("code") or "UnknownError"), str(err.get("message") or ""))


def subscription_id(msg: dict[str, Any]) -> str:
    sub = msg.get("subscription")
    if isinstance(sub, dict) and isinstance(sub.get("id"), str):
        return str(sub["id"])
    return ""


def normalise(row: Any) -> dict[str, Any]:
    """A payload object with New-API field names renamed to the legacy ones."""
    if not isinstance(row, dict):
        raise BadFrame("expected an object")
    return {NEW_TO_LEGACY.get(str(k), str(k)): v for k, v in row.items()}


def outgoing(request: dict[str, Any], dialect: str) -> dict[str, Any]:
    """A request in the dialect's field names (the New API calls `symbol` underlying_symbol)."""
    if dialect != "new":
        return request
    out = dict(request)
    if "proposal" in out and "symbol" in out:
        out["underlying_symbol"] = out.pop("symbol")
    params = out.get("parameters")
    if isinstance(params, dict) and "symbol" in params:
        out["parameters"] = {
            ("underlying_symbol" if k == "symbol" else k): v for k, v in params.items()
        }
    return out


def _num(row: dict[str, Any], key: str) -> float:
    value = row.get(key)
    if isinstance(value, bool) or value is None:
        raise BadFrame(f"{key} missing")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise BadFrame(f"{key} is not a number") from None
    if not math.isfinite(out):
        raise BadFrame(f"{key} is not finite")
    return out


def _int(row: dict[str, Any], key: str) -> int:
    value = row.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadFrame(f"{key} is not an integer")
    return value


def _str(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value:
        raise BadFrame(f"{key} is not a string")
    return value


@dataclass(frozen=True, slots=True)
class DerivTick:
    symbol: str
    epoch: int
    quote: float
    bid: float
    ask: float


def parse_tick(msg: dict[str, Any]) -> DerivTick:
    row = normalise(msg.get("tick"))
    quote = _num(row, "quote")
    bid = _num(row, "bid") if row.get("bid") is not None else quote
    ask = _num(row, "ask") if row.get("ask") is not None else quote
    return DerivTick(_str(row, "symbol"), _int(row, "epoch"), quote, bid, ask)


def parse_history(msg: dict[str, Any]) -> list[tuple[int, float]]:
    """(epoch, price) pairs of a `history` reply, oldest first."""
    hist = msg.get("history")
    if not isinstance(hist, dict):
        raise BadFrame("history missing")
    prices, times = hist.get("prices"), hist.get("times")
    if not isinstance(prices, list) or not isinstance(times, list) or len(prices) != len(times):
        raise BadFrame("history prices/times are not parallel lists")
    out = []
    for t, p in zip(times, prices, strict=True):
        row = {"t": t, "p": p}
        out.append((_int(row, "t"), _num(row, "p")))
    return out


@dataclass(frozen=True, slots=True)
class Candle:
    open_time: int
    open: float
    high: float
    low: float
    close: float


def parse_candles(msg: dict[str, Any]) -> list[Candle]:
    rows = msg.get("candles")
    if not isinstance(rows, list):
        raise BadFrame("candles missing")
    out = []
    for row in rows:
        if not isinstance(row, dict):
            raise BadFrame("candle is not an object")
        out.append(
            Candle(
                _int(row, "epoch"),
                _num(row, "open"),
                _num(row, "high"),
                _num(row, "low"),
                _num(row, "close"),
            )
        )
    return out


def parse_ohlc(msg: dict[str, Any]) -> tuple[str, int, Candle]:
    """(symbol, granularity, the current bucket) of an `ohlc` stream frame (prices are strings)."""
    row = msg.get("ohlc")
    if not isinstance(row, dict):
        raise BadFrame("ohlc missing")
    candle = Candle(
        _int(row, "open_time"),
        _num(row, "open"),
        _num(row, "high"),
        _num(row, "low"),
        _num(row, "close"),
    )
    return _str(row, "symbol"), _int(row, "granularity"), candle


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    symbol: str
    name: str
    market: str
    submarket: str
    pip: float
    open: bool


def parse_active_symbols(msg: dict[str, Any]) -> list[SymbolInfo]:
    rows = msg.get("active_symbols")
    if not isinstance(rows, list):
        raise BadFrame("active_symbols missing")
    out = []
    for raw in rows:
        row = normalise(raw)
        out.append(
            SymbolInfo(
                _str(row, "symbol"),
                str(row.get("display_name") or row["symbol"]),
                str(row.get("market") or ""),
                str(row.get("submarket") or ""),
                _num(row, "pip"),
                bool(row.get("exchange_is_open", 1)) and not row.get("is_trading_suspended", 0),
            )
        )
    return out


SYNTHETIC_MARKETS = frozenset({"synthetic_index", "volidx"})


@dataclass(frozen=True, slots=True)
class MultiplierOffer:
    """What contracts_for says about multipliers on one symbol."""

    symbol: str
    multipliers: tuple[int, ...]
    min_stake: float
    max_stake: float
    cancellation: tuple[str, ...]


def parse_contracts_for(msg: dict[str, Any], symbol: str) -> MultiplierOffer | None:
    """The multiplier offer of `symbol`, or None when it has no MULTUP/MULTDOWN."""
    body = msg.get("contracts_for")
    if not isinstance(body, dict) or not isinstance(body.get("available"), list):
        raise BadFrame("contracts_for.available missing")
    multipliers: set[int] = set()
    cancel: set[str] = set()
    mins, maxs = [], []
    for row in body["available"]:
        if not isinstance(row, dict) or row.get("contract_type") not in ("MULTUP", "MULTDOWN"):
            continue
        ranges = row.get("multiplier_range") or []
        if not isinstance(ranges, list):
            raise BadFrame("multiplier_range is not a list")
        multipliers.update(int(m) for m in ranges if isinstance(m, int | float))
        cancel.update(str(c) for c in row.get("cancellation_range") or [])
        if row.get("min_stake") is not None:
            mins.append(_num(row, "min_stake"))
        if row.get("max_stake") is not None:
            maxs.append(_num(row, "max_stake"))
    if not multipliers:
        return None
    return MultiplierOffer(
        symbol,
        tuple(sorted(multipliers)),
        max(mins) if mins else 0.0,
        min(maxs) if maxs else 0.0,
        tuple(sorted(cancel, key=lambda c: (len(c), c))),
    )


@dataclass(frozen=True, slots=True)
class OpenContract:
    """One multiplier contract as proposal_open_contract reports it."""

    contract_id: int
    contract_type: str
    symbol: str
    buy_price: float
    bid_price: float
    profit: float
    is_sold: bool
    status: str
    entry_spot: float
    current_spot: float
    commission: float
    multiplier: float
    take_profit: float | None
    stop_loss: float | None
    stop_out_price: float | None
    sell_price: float
    purchase_time: int = 0
    """Epoch seconds of the buy (0 when the frame does not say)."""


def _order_amount(limit: dict[str, Any], key: str) -> float | None:
    row = limit.get(key)
    if not isinstance(row, dict) or row.get("order_amount") is None:
        return None
    return abs(_num(row, "order_amount"))


def parse_open_contract(msg: dict[str, Any]) -> OpenContract | None:
    """The contract of a proposal_open_contract frame (None: no open contract)."""
    row = msg.get("proposal_open_contract")
    if not isinstance(row, dict):
        raise BadFrame("proposal_open_contract missing")
    if not row:
        return None
    limit = row.get("limit_order") if isinstance(row.get("limit_order"), dict) else {}
    assert isinstance(limit, dict)
    stop_out = limit.get("stop_out")
    stop_out_price = None
    if isinstance(stop_out, dict) and stop_out.get("value") is not None:
        stop_out_price = _num(stop_out, "value")
    entry = row.get("entry_spot", row.get("entry_tick"))
    return OpenContract(
        contract_id=_int(row, "contract_id"),
        contract_type=_str(row, "contract_type"),
        symbol=_str(row, "underlying"),
        buy_price=_num(row, "buy_price"),
        bid_price=_num(row, "bid_price") if row.get("bid_price") is not None else 0.0,
        profit=_num(row, "profit") if row.get("profit") is not None else 0.0,
        is_sold=bool(row.get("is_sold")),
        status=str(row.get("status") or ""),
        entry_spot=_num({"e": entry}, "e") if entry is not None else 0.0,
        current_spot=_num(row, "current_spot") if row.get("current_spot") is not None else 0.0,
        commission=_num(row, "commission") if row.get("commission") is not None else 0.0,
        multiplier=_num(row, "multiplier") if row.get("multiplier") is not None else 0.0,
        take_profit=_order_amount(limit, "take_profit"),
        stop_loss=_order_amount(limit, "stop_loss"),
        stop_out_price=stop_out_price,
        sell_price=_num(row, "sell_price") if row.get("sell_price") is not None else 0.0,
        purchase_time=_purchase_time(row),
    )


def _purchase_time(row: dict[str, Any]) -> int:
    """Epoch seconds of the buy; 0 when absent or not an integer (only recovery reads it: a
    contract is never dropped for it)."""
    for key in ("purchase_time", "date_start"):
        value = row.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 0


@dataclass(frozen=True, slots=True)
class Purchase:
    contract_id: int
    transaction_id: int
    buy_price: float
    balance_after: float
    start_time: int


def parse_buy(msg: dict[str, Any]) -> Purchase:
    row = msg.get("buy")
    if not isinstance(row, dict):
        raise BadFrame("buy missing")
    return Purchase(
        _int(row, "contract_id"),
        _int(row, "transaction_id"),
        _num(row, "buy_price"),
        _num(row, "balance_after"),
        _int(row, "start_time"),
    )


@dataclass(frozen=True, slots=True)
class PortfolioEntry:
    contract_id: int
    contract_type: str
    symbol: str
    buy_price: float


def parse_portfolio(msg: dict[str, Any]) -> list[PortfolioEntry]:
    body = msg.get("portfolio")
    if not isinstance(body, dict) or not isinstance(body.get("contracts"), list):
        raise BadFrame("portfolio.contracts missing")
    out = []
    for raw in body["contracts"]:
        row = normalise(raw)
        out.append(
            PortfolioEntry(
                _int(row, "contract_id"),
                _str(row, "contract_type"),
                _str(row, "symbol"),
                _num(row, "buy_price"),
            )
        )
    return out


def parse_balance(msg: dict[str, Any]) -> tuple[float, str]:
    row = msg.get("balance")
    if not isinstance(row, dict):
        raise BadFrame("balance missing")
    return _num(row, "balance"), _str(row, "currency")


def parse_sell(msg: dict[str, Any]) -> tuple[int, float]:
    """(contract_id, sold_for) of a sell reply."""
    row = msg.get("sell")
    if not isinstance(row, dict):
        raise BadFrame("sell missing")
    return _int(row, "contract_id"), _num(row, "sold_for")
