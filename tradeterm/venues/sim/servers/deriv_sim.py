"""The Deriv API v3 protocol simulator: a websockets server on loopback.

It speaks the JSON envelope (req_id, echo_req, msg_type, subscription ids, error objects with
codes) for authorize, website_status, active_symbols, contracts_for, ticks, ticks_history (ticks
and candles, with the ohlc stream), forget, forget_all, proposal (multipliers with limit_order),
buy, proposal_open_contract, contract_update, sell, balance, portfolio, ping and time.

Two dialects behind a switch: "legacy" (authorize message) and "new" (the connection URL carries
a one-time password `?otp=...`, there is no authorize, and symbol fields are renamed:
underlying_symbol, underlying_symbol_name, pip_size).

Faults (FaultPlan): drop every connection every N sim seconds, duplicate and reorder stream
frames, delay replies, RateLimit every Nth request, InvalidToken on authorize, stall streams.
The account (balance, contracts) belongs to the simulator, not the connection: a client that
reconnects or restarts finds its contracts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tradeterm.clock import LiveClock
from tradeterm.domain.multipliers import (
    DEFAULT_COMMISSION_RATE,
    CloseReason,
    MultiplierDirection,
    MultiplierTerms,
    commission_for,
)
from tradeterm.venues.sim.servers.deriv_market import (
    CANCELLATION_RANGE,
    MAX_STAKE,
    MIN_STAKE,
    SUBMARKETS,
    DerivSimMarket,
    SimTime,
    TickRow,
    has_cancellation,
    multiplier_range,
)
from tradeterm.venues.sim.servers.deriv_otp import OtpService

log = logging.getLogger(__name__)

LOGINID = "VRTC1000001"
GRANULARITIES = (60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400)
PUBLIC_CALLS = frozenset(
    {
        "website_status",
        "active_symbols",
        "contracts_for",
        "ticks",
        "ticks_history",
        "forget",
        "forget_all",
        "ping",
        "time",
        "authorize",
        "proposal",
    }
)
CALLS = (
    "authorize",
    "website_status",
    "active_symbols",
    "contracts_for",
    "ticks_history",
    "ticks",
    "forget_all",
    "forget",
    "proposal_open_contract",
    "proposal",
    "buy",
    "sell",
    "contract_update",
    "balance",
    "portfolio",
    "ping",
    "time",
)


@dataclass
class FaultPlan:
    """Failures to inject. Times are sim seconds (they follow the accelerated clock)."""

    drop_every_s: float = 0.0
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    delay_ms: float = 0.0
    rate_limit_every: int = 0
    invalid_token: bool = False
    stall_every_s: float = 0.0
    stall_for_s: float = 0.0
    lose_buy_reply: bool = False
    """Drop the connection instead of answering the next `buy` (the contract is still bought)."""
    hold_buy_reply: bool = False
    """Never answer the next `buy`, the connection staying up (the contract is still bought): a
    client waits on it, as a node killed in the middle of a buy did."""


class ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Contract:
    contract_id: int
    symbol: str
    terms: MultiplierTerms
    buy_tx: int
    purchase_time: int
    entry_epoch: int
    cancellation: str = ""
    sell_tx: int = 0
    sell_price: float = 0.0
    sell_time: int = 0
    sell_spot: float = 0.0
    status: str = "open"
    current_spot: float = 0.0
    current_time: int = 0

    @property
    def open(self) -> bool:
        return self.status == "open"


MAX_PROPOSALS = 2000
"""Proposals kept buyable at once (a proposal stream issues a new one every tick)."""


@dataclass
class Subscription:
    sub_id: str
    kind: str  # ticks | candles | proposal | proposal_open_contract | balance
    request: dict[str, Any]
    symbol: str = ""
    granularity: int = 0
    contract_id: int = 0
    bucket: tuple[int, float, float, float, float] | None = None
    echo: dict[str, Any] = field(default_factory=dict)
    """The request as sent (req_id included): stream frames echo it, as Deriv's do."""


@dataclass(eq=False)
class Session:
    ws: ServerConnection
    authorized: bool = False
    subs: dict[str, Subscription] = field(default_factory=dict)
    requests: int = 0
    held: list[str] = field(default_factory=list)


class DerivSimulator:
    """Serve the simulated Deriv API on 127.0.0.1:`port` (0 = a free port); see `url`."""

    def __init__(
        self,
        *,
        port: int = 0,
        speed: float = 1.0,
        seed: int = 7,
        dialect: str = "legacy",
        faults: FaultPlan | None = None,
        balance: float = 10_000.0,
        history_s: int = 6 * 3600,
        start_ms: int | None = None,
        commission_rate: float = DEFAULT_COMMISSION_RATE,
    ) -> None:
        self.port = port
        self.dialect = dialect
        self.faults = faults or FaultPlan()
        self.clock = SimTime(start_ms if start_ms is not None else LiveClock().now_ms(), speed)
        self.market = DerivSimMarket(self.clock, seed=seed, history_s=history_s)
        self.balance = balance
        self.commission_rate = commission_rate
        self.contracts: dict[int, Contract] = {}
        self.proposals: dict[str, tuple[dict[str, Any], int]] = {}
        self.sessions: set[Session] = set()
        self.drops = 0
        self.requests_seen: list[dict[str, Any]] = []
        self._rng = random.Random(seed)
        self._next_id = 250_000_000
        self._server: Server | None = None
        self._pump: asyncio.Task[None] | None = None
        self._stalled_until = 0
        self.otp: OtpService | None = None
        """The New API's REST OTP service (dialect "new"); its passwords open one socket once."""

    # ---- life --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/websockets/v3"

    async def start(self) -> str:
        self.market.advance()
        if self.dialect == "new":
            self.otp = OtpService(lambda: self.url, refuse_tokens=self.faults.invalid_token)
            await self.otp.start()
        self._server = await serve(self._serve, "127.0.0.1", self.port, max_size=2**22)
        sock = next(iter(self._server.sockets))
        self.port = sock.getsockname()[1]
        self._pump = asyncio.get_running_loop().create_task(self._run_pump(), name="deriv-sim")
        return self.url

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self.otp is not None:
            await self.otp.stop()

    async def __aenter__(self) -> DerivSimulator:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # ---- connections -------------------------------------------------------------------
    async def _serve(self, ws: ServerConnection) -> None:
        session = Session(ws)
        path = ws.request.path if ws.request is not None else ""
        if self.dialect == "new":
            otp = parse_qs(urlparse(path).query).get("otp", [""])[0]
            if otp and (self.otp is None or not self.otp.take(otp)):
                await ws.close(4001, "OTP invalid, expired or already used")
                return
            session.authorized = bool(otp)
        self.sessions.add(session)
        try:
            async for raw in ws:
                await self._on_message(session, raw)
        except ConnectionClosed:
            pass
        finally:
            self.sessions.discard(session)

    async def _on_message(self, session: Session, raw: str | bytes) -> None:
        try:
            request = json.loads(raw)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            await self._send(
                session,
                {
                    "echo_req": {},
                    "msg_type": "error",
                    "error": {"code": "InputValidationFailed", "message": "Invalid JSON"},
                },
            )
            return
        self.requests_seen.append(request)
        call = next((c for c in CALLS if c in request), "")
        reply = self._handle(session, call, request)
        if reply is None:
            return
        if self.faults.delay_ms:
            await asyncio.sleep(self.faults.delay_ms / 1000)
        await self._send(session, reply)

    def _handle(self, session: Session, call: str, req: dict[str, Any]) -> dict[str, Any] | None:
        msg_type = _msg_type(call, req)
        try:
            if not call:
                raise ApiError("UnrecognisedRequest", "Unrecognised request.")
            session.requests += 1
            every = self.faults.rate_limit_every
            if every and session.requests % every == 0:
                raise ApiError("RateLimit", f"You have reached the rate limit for {call}.")
            if call not in PUBLIC_CALLS and not session.authorized:
                raise ApiError("AuthorizationRequired", "Please log in.")
            handler = getattr(self, f"_call_{call}")
            body = handler(session, req)
        except ApiError as exc:
            return _envelope(req, msg_type, error={"code": exc.code, "message": exc.message})
        if body is _NO_REPLY:
            return None
        assert isinstance(body, dict)
        return _envelope(req, body.pop("__msg_type__", msg_type), **body)

    async def _send(self, session: Session, message: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionClosed):
            await session.ws.send(json.dumps(message))

    # ---- calls -------------------------------------------------------------------------
    def _call_authorize(self, session: Session, req: dict[str, Any]) -> dict[str, Any]:
        if self.dialect == "new":
            raise ApiError("UnrecognisedRequest", "authorize is not part of the new API.")
        token = req.get("authorize")
        if self.faults.invalid_token or not isinstance(token, str) or not token:
            raise ApiError("InvalidToken", "The token is invalid.")
        session.authorized = True
        return {
            "authorize": {
                "loginid": LOGINID,
                "currency": "USD",
                "balance": round(self.balance, 2),
                "is_virtual": 1,
                "email": "sim@example.invalid",
                "fullname": "Sim Trader",
                "country": "id",
                "landing_company_name": "virtual",
                "landing_company_fullname": "Deriv Limited",
                "scopes": ["read", "trade"],
                "user_id": 1,
                "local_currencies": {},
                "account_list": [
                    {
                        "loginid": LOGINID,
                        "currency": "USD",
                        "is_virtual": 1,
                        "is_disabled": 0,
                        "landing_company_name": "virtual",
                        "account_type": "trading",
                    }
                ],
            }
        }

    def _call_website_status(self, _s: Session, _req: dict[str, Any]) -> dict[str, Any]:
        return {
            "website_status": {
                "site_status": "up",
                "clients_country": "id",
                "currencies_config": {
                    "USD": {
                        "fractional_digits": 2,
                        "is_deposit_suspended": 0,
                        "is_suspended": 0,
                        "is_withdrawal_suspended": 0,
                        "stake_default": 10,
                        "type": "fiat",
                        "transfer_between_accounts": {
                            "fees": {},
                            "limits": {"min": 1},
                            "limits_dxtrade": {},
                            "limits_mt5": {},
                        },
                    }
                },
                "api_call_limits": {
                    "max_proposal_subscription": {"applies_to": "subscribing", "max": 5},
                    "max_requestes_general": {
                        "applies_to": "rest",
                        "hourly": 14400,
                        "minutely": 180,
                    },
                    "max_requests_outcome": {
                        "applies_to": "portfolio",
                        "hourly": 1500,
                        "minutely": 25,
                    },
                    "max_requests_pricing": {
                        "applies_to": "proposal",
                        "hourly": 3600,
                        "minutely": 80,
                    },
                },
                "supported_languages": ["EN"],
                "terms_conditions_version": "1",
            }
        }

    def _symbol_row(self, symbol: str) -> dict[str, Any]:
        spec = self.market.spec(symbol)
        assert spec is not None
        sub, sub_name = SUBMARKETS[spec.family]
        if self.dialect == "new":
            return {
                "underlying_symbol": symbol,
                "underlying_symbol_name": spec.display_name,
                "underlying_symbol_type": "stockindex",
                "market": "synthetic_index",
                "submarket": sub,
                "subgroup": "synthetics",
                "pip_size": spec.pip,
                "exchange_is_open": 1,
                "is_trading_suspended": 0,
            }
        return {
            "symbol": symbol,
            "display_name": spec.display_name,
            "display_order": list(self.market.tapes).index(symbol) + 1,
            "exchange_is_open": 1,
            "is_trading_suspended": 0,
            "market": "synthetic_index",
            "market_display_name": "Derived",
            "pip": spec.pip,
            "subgroup": "synthetics",
            "subgroup_display_name": "Synthetics",
            "submarket": sub,
            "submarket_display_name": sub_name,
            "symbol_type": "stockindex",
        }

    def _call_active_symbols(self, _s: Session, _req: dict[str, Any]) -> dict[str, Any]:
        return {"active_symbols": [self._symbol_row(s) for s in self.market.tapes]}

    def _require_symbol(self, symbol: Any) -> str:
        if not isinstance(symbol, str) or self.market.spec(symbol) is None:
            raise ApiError("InvalidSymbol", f"Symbol {symbol} is invalid.")
        return symbol

    def _call_contracts_for(self, _s: Session, req: dict[str, Any]) -> dict[str, Any]:
        symbol = self._require_symbol(req.get("contracts_for"))
        spec = self.market.spec(symbol)
        assert spec is not None
        sub, _ = SUBMARKETS[spec.family]
        spot = self.market.spot(symbol)
        available = []
        for ctype, sentiment, display in (
            ("MULTUP", "up", "Multiply Up"),
            ("MULTDOWN", "down", "Multiply Down"),
        ):
            row: dict[str, Any] = {
                "barrier_category": "american",
                "barriers": 0,
                "contract_category": "multiplier",
                "contract_category_display": "Multiply Up/Multiply Down",
                "contract_display": display,
                "contract_type": ctype,
                "exchange_name": "RANDOM",
                "expiry_type": "no_expiry",
                "market": "synthetic_index",
                "max_contract_duration": "",
                "min_contract_duration": "",
                "sentiment": sentiment,
                "start_type": "spot",
                "submarket": sub,
                "underlying_symbol": symbol,
                "multiplier_range": multiplier_range(spec),
                "min_stake": MIN_STAKE,
                "max_stake": MAX_STAKE,
            }
            if has_cancellation(spec):
                row["cancellation_range"] = CANCELLATION_RANGE
            available.append(row)
        return {
            "contracts_for": {
                "available": available,
                "hit_count": len(available),
                "open": 0,
                "close": 86399,
                "spot": spot.quote if spot else None,
                "feed_license": "realtime",
            }
        }

    def _call_ping(self, _s: Session, _req: dict[str, Any]) -> dict[str, Any]:
        return {"ping": "pong"}

    def _call_time(self, _s: Session, _req: dict[str, Any]) -> dict[str, Any]:
        return {"time": self.clock.now_ms() // 1000}

    def _subscribe(
        self, session: Session, sub: Subscription, req: dict[str, Any]
    ) -> dict[str, Any]:
        sub.echo = req
        for other in session.subs.values():
            if other.kind == sub.kind and other.request == sub.request:
                raise ApiError("AlreadySubscribed", f"You are already subscribed to {sub.kind}.")
        session.subs[sub.sub_id] = sub
        return {"id": sub.sub_id}

    def _call_ticks(self, session: Session, req: dict[str, Any]) -> dict[str, Any]:
        symbol = self._require_symbol(req.get("ticks"))
        sub = Subscription(uuid.uuid4().hex, "ticks", _key(req), symbol=symbol)
        tick = self.market.spot(symbol)
        assert tick is not None
        body: dict[str, Any] = {"tick": self._tick_body(tick, sub.sub_id)}
        if req.get("subscribe"):
            body["subscription"] = self._subscribe(session, sub, req)
        return body

    def _tick_body(self, tick: TickRow, sub_id: str) -> dict[str, Any]:
        spec = self.market.spec(tick.symbol)
        assert spec is not None
        half = spec.half_spread
        decimals = self.market.tapes[tick.symbol].decimals
        return {
            "symbol": tick.symbol,
            "epoch": tick.epoch,
            "quote": tick.quote,
            "bid": round(tick.quote - half, decimals),
            "ask": round(tick.quote + half, decimals),
            "id": sub_id,
            "pip_size": decimals,
        }

    def _call_ticks_history(self, session: Session, req: dict[str, Any]) -> dict[str, Any]:
        symbol = self._require_symbol(req.get("ticks_history"))
        tape = self.market.tapes[symbol]
        self.market.spot(symbol)
        end = str(req.get("end", "latest"))
        end_epoch = int(end) if end.isdigit() else tape.epochs[-1]
        start = req.get("start", 0)
        start = start if isinstance(start, int) else 0
        count = (
            min(int(req.get("count", 1000)), 5000) if isinstance(req.get("count"), int) else 1000
        )
        style = req.get("style", "ticks")
        if style == "candles":
            gran = req.get("granularity", 60)
            if gran not in GRANULARITIES:
                raise ApiError("InputValidationFailed", "Input validation failed: granularity")
            rows = tape.candles(start, end_epoch, gran, count)
            body: dict[str, Any] = {
                "__msg_type__": "candles",
                "candles": [
                    {"epoch": t, "open": o, "high": h, "low": lo, "close": c}
                    for t, o, h, lo, c in rows
                ],
                "pip_size": tape.decimals,
            }
            if req.get("subscribe"):
                sub = Subscription(
                    uuid.uuid4().hex, "candles", _key(req), symbol=symbol, granularity=gran
                )
                sub.bucket = rows[-1] if rows else None
                body["subscription"] = self._subscribe(session, sub, req)
            return body
        ticks = tape.ticks_between(start, end_epoch, count)
        body = {
            "__msg_type__": "history",
            "history": {"prices": [q for _, q in ticks], "times": [t for t, _ in ticks]},
            "pip_size": tape.decimals,
        }
        if req.get("subscribe"):
            sub = Subscription(uuid.uuid4().hex, "ticks", _key(req), symbol=symbol)
            body["subscription"] = self._subscribe(session, sub, req)
        return body

    def _call_forget(self, session: Session, req: dict[str, Any]) -> dict[str, Any]:
        return {"forget": 1 if session.subs.pop(str(req.get("forget")), None) else 0}

    def _call_forget_all(self, session: Session, req: dict[str, Any]) -> dict[str, Any]:
        kinds = req.get("forget_all")
        wanted = {kinds} if isinstance(kinds, str) else set(kinds or [])
        gone = [k for k, s in session.subs.items() if s.kind in wanted]
        for key in gone:
            del session.subs[key]
        return {"forget_all": gone}

    # ---- multipliers -------------------------------------------------------------------
    def _terms(self, params: dict[str, Any]) -> tuple[str, MultiplierTerms, str]:
        ctype = params.get("contract_type")
        if ctype not in ("MULTUP", "MULTDOWN"):
            raise ApiError("OfferingsValidationError", "Trading is not offered for this asset.")
        symbol_key = "underlying_symbol" if self.dialect == "new" else "symbol"
        symbol = self._require_symbol(params.get(symbol_key))
        spec = self.market.spec(symbol)
        assert spec is not None
        if params.get("basis", "stake") != "stake":
            raise ApiError("ContractCreationFailure", "Basis must be stake for this contract.")
        allowed = multiplier_range(spec)
        multiplier = params.get("multiplier")
        if multiplier not in allowed:
            accepts = ",".join(str(m) for m in allowed)
            raise ApiError(
                "ContractBuyValidationError",
                f"Multiplier is not in acceptable range. Accepts {accepts}.",
            )
        stake = params.get("amount")
        if not isinstance(stake, int | float) or not MIN_STAKE <= stake <= MAX_STAKE:
            raise ApiError(
                "ContractBuyValidationError",
                f"Please enter a stake amount between {MIN_STAKE} and {MAX_STAKE}.",
            )
        commission = commission_for(stake, multiplier, self.commission_rate)
        limit = params.get("limit_order") or {}
        tp, sl = limit.get("take_profit"), limit.get("stop_loss")
        if tp is not None and (not isinstance(tp, int | float) or tp <= 0):
            raise ApiError(
                "ContractBuyValidationError",
                "Invalid take profit. Take profit must be higher than current spot price.",
            )
        if sl is not None and (not isinstance(sl, int | float) or not commission < sl < stake):
            raise ApiError(
                "ContractBuyValidationError",
                "Invalid stop loss. Stop loss must be lower than current spot price.",
            )
        cancellation = params.get("cancellation", "")
        if cancellation and (not has_cancellation(spec) or cancellation not in CANCELLATION_RANGE):
            raise ApiError(
                "ContractBuyValidationError", "Deal cancellation is not available for this asset."
            )
        spot = self.market.spot(symbol)
        assert spot is not None
        terms = MultiplierTerms(
            MultiplierDirection(ctype),
            float(stake),
            float(multiplier),
            spot.quote,
            commission,
            float(tp) if tp is not None else None,
            float(sl) if sl is not None else None,
        )
        return symbol, terms, cancellation

    def _limit_orders(self, terms: MultiplierTerms, symbol: str, date: int) -> dict[str, Any]:
        decimals = self.market.tapes[symbol].decimals
        out: dict[str, Any] = {
            "stop_out": {
                "display_name": "Stop out",
                "order_amount": -terms.stake,
                "order_date": date,
                "value": f"{terms.stop_out_price():.{decimals}f}",
            }
        }
        tp, sl = terms.take_profit_price(), terms.stop_loss_price()
        if tp is not None:
            out["take_profit"] = {
                "display_name": "Take profit",
                "order_amount": terms.take_profit,
                "order_date": date,
                "value": f"{tp:.{decimals}f}",
            }
        if sl is not None:
            out["stop_loss"] = {
                "display_name": "Stop loss",
                "order_amount": -(terms.stop_loss or 0.0),
                "order_date": date,
                "value": f"{sl:.{decimals}f}",
            }
        return out

    def _call_proposal(self, session: Session, req: dict[str, Any]) -> dict[str, Any]:
        pid, body, symbol = self._proposal_body(req)
        if req.get("subscribe"):
            sub = Subscription(pid, "proposal", _key(req), symbol=symbol)
            body["subscription"] = self._subscribe(session, sub, req)
        return body

    def _proposal_body(self, req: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
        """A fresh proposal at the current spot: its id (buyable once), the reply body and the
        symbol. A subscription gets one per tick, each with a new id, as Deriv's stream does."""
        symbol, terms, cancellation = self._terms(req)
        now = self.clock.now_ms() // 1000
        pid = uuid.uuid4().hex
        if len(self.proposals) >= MAX_PROPOSALS:  # streams issue one a tick: the oldest expire
            for old in sorted(self.proposals, key=lambda k: self.proposals[k][1])[:100]:
                del self.proposals[old]
        self.proposals[pid] = (dict(req), now)
        ask = terms.stake + (round(terms.stake * 0.05, 2) if cancellation else 0.0)
        body: dict[str, Any] = {
            "proposal": {
                "id": pid,
                "ask_price": ask,
                "display_value": f"{ask:.2f}",
                "payout": 0,
                "spot": terms.entry_spot,
                "spot_time": now,
                "date_start": now,
                "longcode": _longcode(terms),
                "commission": self.commission_rate * 100,
                "multiplier": terms.multiplier,
                "limit_order": self._limit_orders(terms, symbol, now),
            }
        }
        return pid, body, symbol

    def _call_buy(self, session: Session, req: dict[str, Any]) -> Any:
        pid = req.get("buy")
        if pid in (1, "1") and isinstance(req.get("parameters"), dict):
            params = req["parameters"]
        else:
            found = self.proposals.pop(str(pid), None)
            if found is None:
                raise ApiError("InvalidContractProposal", "Unknown contract proposal")
            params = found[0]
        symbol, terms, cancellation = self._terms(params)
        price = req.get("price")
        ask = terms.stake
        if isinstance(price, int | float) and price < ask:
            raise ApiError("PriceMoved", "The underlying market has moved too much.")
        if ask > self.balance:
            raise ApiError("InsufficientBalance", "Your account balance is insufficient.")
        now = self.clock.now_ms() // 1000
        cid = self._new_id()
        contract = Contract(cid, symbol, terms, self._new_id(), now, now, cancellation)
        contract.current_spot, contract.current_time = terms.entry_spot, now
        self.contracts[cid] = contract
        self.balance -= ask
        self._push_balance()
        if self.faults.lose_buy_reply:
            self.faults.lose_buy_reply = False
            asyncio.get_running_loop().create_task(session.ws.close(1011))
            return _NO_REPLY
        if self.faults.hold_buy_reply:
            self.faults.hold_buy_reply = False
            return _NO_REPLY
        body: dict[str, Any] = {
            "buy": {
                "contract_id": cid,
                "transaction_id": contract.buy_tx,
                "buy_price": ask,
                "balance_after": round(self.balance, 2),
                "start_time": now,
                "purchase_time": now,
                "longcode": _longcode(terms),
                "shortcode": _shortcode(contract),
                "payout": 0,
            }
        }
        if req.get("subscribe"):
            sub = Subscription(
                uuid.uuid4().hex, "proposal_open_contract", {"c": cid}, contract_id=cid
            )
            body["subscription"] = self._subscribe(session, sub, req)
        return body

    def _contract(self, cid: Any) -> Contract:
        contract = self.contracts.get(cid) if isinstance(cid, int) else None
        if contract is None:
            raise ApiError(
                "ContractNotFound", "This contract was not found among your open positions."
            )
        return contract

    def _poc(self, c: Contract) -> dict[str, Any]:
        terms = c.terms
        spot = c.sell_spot if not c.open else c.current_spot
        profit = (c.sell_price - terms.stake) if not c.open else terms.profit(spot)
        bid = c.sell_price if not c.open else terms.value(spot)
        body: dict[str, Any] = {
            "contract_id": c.contract_id,
            "contract_type": terms.direction.value,
            "underlying": c.symbol,
            "currency": "USD",
            "buy_price": terms.stake,
            "bid_price": round(bid, 2),
            "profit": round(profit, 2),
            "profit_percentage": round(profit / terms.stake * 100, 2),
            "is_sold": 0 if c.open else 1,
            "is_valid_to_sell": 1 if c.open else 0,
            "is_valid_to_cancel": 1 if c.open and c.cancellation else 0,
            "is_expired": 0 if c.open else 1,
            "status": c.status,
            "entry_spot": terms.entry_spot,
            "entry_tick": terms.entry_spot,
            "entry_tick_time": c.entry_epoch,
            "current_spot": c.current_spot,
            "current_spot_time": c.current_time,
            "date_start": c.purchase_time,
            "purchase_time": c.purchase_time,
            "commission": terms.commission,
            "multiplier": terms.multiplier,
            "longcode": _longcode(terms),
            "shortcode": _shortcode(c),
            "limit_order": self._limit_orders(terms, c.symbol, c.purchase_time),
            "transaction_ids": {"buy": c.buy_tx} | ({"sell": c.sell_tx} if c.sell_tx else {}),
        }
        if not c.open:
            body |= {
                "sell_price": c.sell_price,
                "sell_time": c.sell_time,
                "sell_spot": c.sell_spot,
                "exit_tick": c.sell_spot,
                "exit_tick_time": c.sell_time,
            }
        return body

    def _call_proposal_open_contract(self, session: Session, req: dict[str, Any]) -> Any:
        cid = req.get("contract_id")
        if cid is None:
            opened = [c for c in self.contracts.values() if c.open]
            if not opened:
                return {"proposal_open_contract": {}}
            return {"proposal_open_contract": self._poc(opened[0])}
        contract = self._contract(cid)
        body: dict[str, Any] = {"proposal_open_contract": self._poc(contract)}
        if req.get("subscribe") and contract.open:
            sub = Subscription(
                uuid.uuid4().hex, "proposal_open_contract", _key(req), contract_id=cid
            )
            body["subscription"] = self._subscribe(session, sub, req)
        return body

    def _call_sell(self, _s: Session, req: dict[str, Any]) -> dict[str, Any]:
        contract = self._contract(req.get("sell"))
        if not contract.open:
            raise ApiError("InvalidSellContractProposal", "This contract has been sold.")
        spot = self.market.spot(contract.symbol)
        assert spot is not None
        self._close(contract, spot, CloseReason.SOLD)
        return {
            "sell": {
                "sold_for": contract.sell_price,
                "balance_after": round(self.balance, 2),
                "contract_id": contract.contract_id,
                "transaction_id": contract.sell_tx,
                "reference_id": contract.buy_tx,
            }
        }

    def _call_contract_update(self, _s: Session, req: dict[str, Any]) -> dict[str, Any]:
        contract = self._contract(req.get("contract_id"))
        if not contract.open:
            raise ApiError("ContractUpdateFailure", "This contract has been sold.")
        if contract.cancellation:
            raise ApiError(
                "ContractUpdateDisabled",
                "Take profit and stop loss cannot be updated while deal cancellation is active.",
            )
        limit = req.get("limit_order") or {}
        terms = contract.terms
        tp = limit.get("take_profit", terms.take_profit)
        sl = limit.get("stop_loss", terms.stop_loss)
        if sl is not None and not terms.commission < sl < terms.stake:
            raise ApiError(
                "ContractUpdateFailure", "Invalid stop loss. Stop loss must be lower than spot."
            )
        from dataclasses import replace

        contract.terms = replace(terms, take_profit=tp, stop_loss=sl)
        orders = self._limit_orders(contract.terms, contract.symbol, self.clock.now_ms() // 1000)
        return {
            "contract_update": {
                k: v for k, v in orders.items() if k in ("take_profit", "stop_loss")
            }
        }

    def _call_balance(self, session: Session, req: dict[str, Any]) -> dict[str, Any]:
        sub_id = uuid.uuid4().hex
        body: dict[str, Any] = {
            "balance": {
                "balance": round(self.balance, 2),
                "currency": "USD",
                "loginid": LOGINID,
                "id": sub_id,
            }
        }
        if req.get("subscribe"):
            sub = Subscription(sub_id, "balance", _key(req))
            body["subscription"] = self._subscribe(session, sub, req)
        return body

    def _call_portfolio(self, _s: Session, _req: dict[str, Any]) -> dict[str, Any]:
        return {
            "portfolio": {
                "contracts": [
                    {
                        "contract_id": c.contract_id,
                        "transaction_id": c.buy_tx,
                        "contract_type": c.terms.direction.value,
                        "symbol": c.symbol,
                        "buy_price": c.terms.stake,
                        "payout": 0,
                        "currency": "USD",
                        "date_start": c.purchase_time,
                        "purchase_time": c.purchase_time,
                        "longcode": _longcode(c.terms),
                        "shortcode": _shortcode(c),
                        "app_id": 1089,
                    }
                    for c in self.contracts.values()
                    if c.open
                ]
            }
        }

    # ---- the market pump ---------------------------------------------------------------
    def _close(self, contract: Contract, spot: TickRow, reason: CloseReason) -> None:
        contract.sell_price = contract.terms.settle(spot.quote, reason)
        contract.sell_time = spot.epoch
        contract.sell_spot = spot.quote
        contract.current_spot, contract.current_time = spot.quote, spot.epoch
        contract.sell_tx = self._new_id()
        contract.status = (
            "sold"
            if reason is CloseReason.SOLD
            else ("won" if contract.sell_price > contract.terms.stake else "lost")
        )
        self.balance += contract.sell_price
        self._push_balance()
        self._push_contract(contract)

    def _push_balance(self) -> None:
        for session in self.sessions:
            for sub in list(session.subs.values()):
                if sub.kind == "balance":
                    body = {
                        "balance": {
                            "balance": round(self.balance, 2),
                            "currency": "USD",
                            "loginid": LOGINID,
                            "id": sub.sub_id,
                        },
                        "subscription": {"id": sub.sub_id},
                    }
                    session.held.append(json.dumps(_envelope(sub.echo, "balance", **body)))

    def _push_contract(self, contract: Contract) -> None:
        for session in self.sessions:
            for key, sub in list(session.subs.items()):
                if sub.kind == "proposal_open_contract" and sub.contract_id == contract.contract_id:
                    body = {
                        "proposal_open_contract": self._poc(contract) | {"id": sub.sub_id},
                        "subscription": {"id": sub.sub_id},
                    }
                    session.held.append(
                        json.dumps(_envelope(sub.echo, "proposal_open_contract", **body))
                    )
                    if not contract.open:
                        del session.subs[key]

    def _on_tick(self, tick: TickRow) -> None:
        for contract in self.contracts.values():
            if (
                contract.open
                and contract.symbol == tick.symbol
                and tick.epoch > contract.entry_epoch
            ):
                contract.current_spot, contract.current_time = tick.quote, tick.epoch
                reason = contract.terms.close_reason(tick.quote)
                if reason is not None:
                    self._close(contract, tick, reason)
                else:
                    self._push_contract(contract)
        for session in self.sessions:
            for sub in list(session.subs.values()):
                frame = self._stream_frame(sub, tick)
                if frame is not None:
                    session.held.append(json.dumps(frame))

    def _stream_frame(self, sub: Subscription, tick: TickRow) -> dict[str, Any] | None:
        if sub.symbol != tick.symbol:
            return None
        if sub.kind == "ticks":
            body = {"tick": self._tick_body(tick, sub.sub_id), "subscription": {"id": sub.sub_id}}
            return _envelope(sub.echo, "tick", **body)
        if sub.kind == "candles":
            gran = sub.granularity
            open_time = tick.epoch - tick.epoch % gran
            b = sub.bucket
            if b is None or b[0] != open_time:
                b = (open_time, tick.quote, tick.quote, tick.quote, tick.quote)
            else:
                b = (open_time, b[1], max(b[2], tick.quote), min(b[3], tick.quote), tick.quote)
            sub.bucket = b
            decimals = self.market.tapes[tick.symbol].decimals
            ohlc = {
                "open": f"{b[1]:.{decimals}f}",
                "high": f"{b[2]:.{decimals}f}",
                "low": f"{b[3]:.{decimals}f}",
                "close": f"{b[4]:.{decimals}f}",
                "epoch": tick.epoch,
                "open_time": open_time,
                "granularity": gran,
                "symbol": tick.symbol,
                "id": sub.sub_id,
                "pip_size": decimals,
            }
            return _envelope(sub.echo, "ohlc", ohlc=ohlc, subscription={"id": sub.sub_id})
        if sub.kind == "proposal":
            try:
                _pid, body, _symbol = self._proposal_body(sub.request)
            except ApiError:
                return None  # the terms no longer hold (e.g. the stake): no update
            body["proposal"]["id"] = _pid
            return _envelope(sub.echo, "proposal", **body, subscription={"id": sub.sub_id})
        return None

    async def _run_pump(self) -> None:
        next_drop = self.faults.drop_every_s
        next_stall = self.faults.stall_every_s
        start_s = self.clock.start_ms / 1000
        while True:
            await asyncio.sleep(0.02)
            try:
                for tick in self.market.advance():
                    self._on_tick(tick)
                now_s = self.clock.now_ms() / 1000 - start_s
                if next_stall and now_s >= next_stall:
                    self._stalled_until = self.clock.now_ms() + int(self.faults.stall_for_s * 1000)
                    next_stall += self.faults.stall_every_s
                await self._flush()
                if next_drop and now_s >= next_drop:
                    next_drop += self.faults.drop_every_s
                    await self.drop_all()
            except Exception:  # pragma: no cover - the pump must survive a bad frame
                log.exception("deriv sim pump")

    async def _flush(self) -> None:
        stalled = self.clock.now_ms() < self._stalled_until
        for session in list(self.sessions):
            if stalled:
                session.held.clear()
                continue
            frames, session.held = session.held, []
            frames = self._mangle(frames)
            for frame in frames:
                try:
                    await session.ws.send(frame)
                except ConnectionClosed:
                    break

    def _mangle(self, frames: list[str]) -> list[str]:
        f = self.faults
        if not (f.duplicate_rate or f.reorder_rate) or not frames:
            return frames
        out: list[str] = []
        for frame in frames:
            out.append(frame)
            if self._rng.random() < f.duplicate_rate:
                out.append(frame)
        for i in range(len(out) - 1):
            if self._rng.random() < f.reorder_rate:
                out[i], out[i + 1] = out[i + 1], out[i]
        return out

    async def drop_all(self) -> None:
        """Close every connection abruptly (code 1011); streams are gone for the client."""
        self.drops += 1
        for session in list(self.sessions):
            session.subs.clear()
            with contextlib.suppress(Exception):
                await session.ws.close(1011, "sim drop")

    # ---- the record --------------------------------------------------------------------
    def record_candles(
        self, symbol: str, granularity: int, start: int, end: int
    ) -> list[tuple[int, float, float, float, float]]:
        """The simulator's own candles of `symbol` between two epochs (the truth for tests)."""
        return self.market.tapes[symbol].candles(start, end, granularity, 10**9)


_NO_REPLY: Any = object()


def _key(req: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in req.items() if k not in ("req_id", "passthrough")}


def _msg_type(call: str, req: dict[str, Any]) -> str:
    if call == "ticks":
        return "tick"
    if call == "ticks_history":
        return "candles" if req.get("style") == "candles" else "history"
    return call or "error"


def _envelope(req: dict[str, Any], msg_type: str, **body: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"echo_req": req, "msg_type": msg_type}
    if isinstance(req.get("req_id"), int):
        out["req_id"] = req["req_id"]
    out.update(body)
    return out


def _longcode(terms: MultiplierTerms) -> str:
    way = "rise" if terms.direction is MultiplierDirection.UP else "fall"
    return f"Win {terms.multiplier:g}% of your stake for every 1% {way} in the market price."


def _shortcode(c: Contract) -> str:
    return f"{c.terms.direction.value}_{c.symbol}_{c.terms.stake:g}_{c.terms.multiplier:g}_{c.purchase_time}"
