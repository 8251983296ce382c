"""Bybit v5 protocol simulator (linear USDT perpetuals and spot): REST + websockets on loopback.

    sim = BybitSim(BinanceSimOptions(speed=60))
    rest_url, ws_url = await sim.start(port=0)   # http://127.0.0.1:P, ws://127.0.0.1:P

Same market, matching, positions and funding as the Binance simulator (one account), behind
Bybit's v5 dialect (../shared/venues/PROTOCOLS.md sections 5 and 7.3): the `{retCode, retMsg,
result, retExtInfo, time}` envelope with HTTP 200 for business errors; X-BAPI-* headers with
HMAC-SHA256 over timestamp + key + recvWindow + (query | body) checked (10003 / 10004 / 10002);
instruments-info, kline (newest first), mark-price-kline, tickers, funding/history, order
create/cancel/realtime with `orderLinkId` (a duplicate of an open order's id: 110072),
position/list, set-leverage (110043 when unchanged), switch-isolated, wallet-balance,
account/fee-rate (the account's maker/taker rates: the simulator's own fees); public
websocket `/v5/public/linear` (publicTrade, kline topics, op subscribe / ping) and private
`/v5/private` (op auth, then order / execution / position / wallet topics).

Spot (`category=spot`) trades the same markets' prices from the same unified wallet: USDT pays
for buys and receives sells, base coins are held in the wallet (wallet-balance lists them);
market and limit orders only (no reduce-only, no triggers, no leverage, no positions); a market
buy's qty is in USDT unless `marketUnit=baseCoin`; a sell beyond the coins held or a buy beyond
the USDT held is refused (170131). The public spot stream is `/v5/public/spot`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import math
import time
from typing import Any

from aiohttp import WSMsgType, web

from tradeterm.venues.sim.servers.binance import (
    BinanceError,
    BinanceFuturesSim,
    BinanceSimOptions,
    Market,
    SimOrder,
    options_from_args,
)
from tradeterm.venues.sim.servers.binance import (
    add_arguments as _binance_arguments,
)

BYBIT_INTERVALS = {"1": "1m", "3": "3m", "5": "5m", "15": "15m", "30": "30m", "60": "1h",
                   "120": "2h", "240": "4h", "360": "6h", "720": "12h", "D": "1d"}  # fmt: skip
STATUS = {"NEW": "New", "PARTIALLY_FILLED": "PartiallyFilled", "FILLED": "Filled",
          "CANCELED": "Cancelled", "EXPIRED": "Deactivated", "REJECTED": "Rejected"}  # fmt: skip


class BybitError(Exception):
    def __init__(self, code: int, msg: str, http: int = 200) -> None:
        super().__init__(msg)
        self.code, self.msg, self.http = code, msg, http


class BybitSim(BinanceFuturesSim):
    """The Bybit v5 face of the simulated market."""

    def __init__(self, options: BinanceSimOptions | None = None) -> None:
        super().__init__(options)
        self.public_ws: dict[web.WebSocketResponse, set[str]] = {}
        self.private_ws: dict[web.WebSocketResponse, bool] = {}
        self.spot_ids: set[int] = set()
        """Order ids of spot orders (the rest are linear)."""
        self.spot_coins: dict[str, float] = {}
        """Spot holdings of base coins (USDT is the shared wallet)."""
        self._placing_spot = False

    @staticmethod
    def _category(params: dict[str, Any]) -> str:
        category = str(params.get("category") or "linear")
        if category not in ("linear", "spot"):
            raise BybitError(10001, f"category {category[:20]} is not served by this simulator")
        return category

    def _cat(self, o: SimOrder) -> str:
        return "spot" if o.order_id in self.spot_ids else "linear"

    # ---- envelope and auth ----------------------------------------------------------------
    def _ok(self, result: Any) -> web.Response:
        return web.json_response(
            {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {},
             "time": int(time.time() * 1000)}
        )  # fmt: skip

    def _verify_bybit(self, request: web.Request, payload: str) -> None:
        h = request.headers
        key, ts, window, sign = (
            h.get("X-BAPI-API-KEY", ""),
            h.get("X-BAPI-TIMESTAMP", ""),
            h.get("X-BAPI-RECV-WINDOW", "5000"),
            h.get("X-BAPI-SIGN", ""),
        )
        if not key or (self.opt.api_key and key != self.opt.api_key):
            raise BybitError(10003, "API key is invalid.")
        if self.opt.api_secret:
            want = hmac.new(
                self.opt.api_secret.encode(), (ts + key + window + payload).encode(), hashlib.sha256
            ).hexdigest()
            if not hmac.compare_digest(want, sign):
                raise BybitError(10004, "error sign! origin_string[" + ts + key + window + "]")
        real = int(time.time() * 1000)
        if not ts.isdigit() or int(ts) > real + 1000 or real - int(ts) > int(window):
            raise BybitError(
                10002, "invalid request, please check your server timestamp or recv_window param"
            )

    def _bybit(self, fn: Any, signed: bool = False) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            self.requests.append((request.method, request.path))
            try:
                if request.method == "GET":
                    payload = request.query_string
                    params: dict[str, Any] = dict(request.query)
                else:
                    payload = await request.text()
                    params = json.loads(payload) if payload else {}
                if signed:
                    self._verify_bybit(request, payload)
                if self.opt.delay_ms:
                    await asyncio.sleep(self.opt.delay_ms / 1000)
                return self._ok(fn(params))
            except BybitError as exc:
                return web.json_response(
                    {"retCode": exc.code, "retMsg": exc.msg, "result": {}, "retExtInfo": {},
                     "time": int(time.time() * 1000)},
                    status=exc.http,
                )  # fmt: skip
            except BinanceError as exc:  # the shared matching engine's refusals
                code = {-4116: 110072, -2022: 110017, -1013: 10001, -4164: 110094}.get(
                    exc.code, 10001
                )
                return web.json_response(
                    {"retCode": code, "retMsg": exc.msg, "result": {}, "retExtInfo": {},
                     "time": int(time.time() * 1000)}
                )  # fmt: skip

        return handle

    def _market(self, params: dict[str, Any]) -> Market:
        self._category(params)
        symbol = str(params.get("symbol", ""))
        if symbol not in self.markets:
            raise BybitError(10001, "params error: symbol invalid")
        return self.markets[symbol]

    # ---- market data ----------------------------------------------------------------------
    def instruments(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("category") == "spot":
            return {"category": "spot", "list": [self._spot_instrument(m)
                                                 for m in self.markets.values()],
                    "nextPageCursor": ""}  # fmt: skip
        if params.get("category") != "linear":
            return {"category": params.get("category", ""), "list": [], "nextPageCursor": ""}
        rows = [
            {
                "symbol": m.symbol, "contractType": "LinearPerpetual", "status": "Trading",
                "baseCoin": m.symbol[:-4], "quoteCoin": "USDT", "settleCoin": "USDT",
                "launchTime": "1585526400000", "deliveryTime": "0", "deliveryFeeRate": "",
                "priceScale": str(m.price_dec),
                "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00",
                                   "leverageStep": "0.01"},
                "priceFilter": {"minPrice": m.fmt_price(m.tick), "maxPrice": "1999999.80",
                                "tickSize": m.fmt_price(m.tick)},
                "lotSizeFilter": {"maxOrderQty": "1190.000", "minOrderQty": m.fmt_qty(m.min_qty),
                                  "qtyStep": m.fmt_qty(m.step), "postOnlyMaxOrderQty": "1190.000",
                                  "maxMktOrderQty": "500.000",
                                  "minNotionalValue": f"{m.min_notional:g}"},
                "unifiedMarginTrade": True, "fundingInterval": 480, "settleCoin_": "USDT",
                "copyTrading": "both", "upperFundingRate": "0.005", "lowerFundingRate": "-0.005",
            }
            for m in self.markets.values()
        ]  # fmt: skip
        return {"category": "linear", "list": rows, "nextPageCursor": ""}

    @staticmethod
    def _spot_instrument(m: Market) -> dict[str, Any]:
        return {
            "symbol": m.symbol, "baseCoin": m.symbol[:-4], "quoteCoin": "USDT", "innovation": "0",
            "status": "Trading", "marginTrading": "none", "stTag": "0",
            "lotSizeFilter": {"basePrecision": m.fmt_qty(m.step), "quotePrecision": "0.00000001",
                              "minOrderQty": m.fmt_qty(m.min_qty), "maxOrderQty": "1000",
                              "minOrderAmt": f"{m.min_notional:g}", "maxOrderAmt": "2000000"},
            "priceFilter": {"tickSize": m.fmt_price(m.tick)},
            "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
        }  # fmt: skip

    def kline(self, params: dict[str, Any], mark: bool = False) -> dict[str, Any]:
        m = self._market(params)
        interval = BYBIT_INTERVALS.get(str(params.get("interval", "")))
        if interval is None:
            raise BybitError(10001, "params error: interval invalid")
        limit = min(int(params.get("limit", 200)), 1000)
        start = int(params["start"]) if "start" in params else None
        end = int(params["end"]) if "end" in params else None
        rows = self.klines(m.symbol, interval, start, end, limit, mark)
        out = [r[:5] + ([] if mark else [r[5], r[7]]) for r in rows]
        out = [[str(r[0]), *r[1:]] for r in out]
        out.reverse()  # newest first, as Bybit sends them
        return {"category": self._category(params), "symbol": m.symbol, "list": out}

    def tickers(self, params: dict[str, Any]) -> dict[str, Any]:
        category = self._category(params)
        wanted = params.get("symbol")
        rows = []
        for m in self.markets.values():
            if wanted and m.symbol != wanted:
                continue
            price = m.fmt_price(self.last(m.symbol))
            rows.append(
                {"symbol": m.symbol, "lastPrice": price, "markPrice": price, "indexPrice": price,
                 "bid1Price": price, "ask1Price": price, "bid1Size": "1", "ask1Size": "1",
                 "fundingRate": f"{self.opt.funding_rate:.6f}",
                 "nextFundingTime": str(self.next_funding_ms), "volume24h": "0",
                 "turnover24h": "0", "price24hPcnt": "0", "highPrice24h": price,
                 "lowPrice24h": price, "prevPrice24h": price, "openInterest": "0"}
            )  # fmt: skip
        return {"category": category, "list": rows}

    def funding_history(self, params: dict[str, Any]) -> dict[str, Any]:
        m = self._market(params)
        limit = min(int(params.get("limit", 200)), 200)
        start = int(params.get("startTime", 0))
        end = int(params.get("endTime", 2**62))
        rows = [r for r in m.funding if start <= r[0] <= end][-limit:]
        rows.reverse()
        return {
            "category": "linear",
            "list": [
                {"symbol": m.symbol, "fundingRate": f"{r:.6f}", "fundingRateTimestamp": str(t)}
                for t, r, _ in rows
            ],
        }

    # ---- orders and the account -----------------------------------------------------------
    def _order_row(self, o: SimOrder) -> dict[str, Any]:
        m = self.markets[o.symbol]
        stop_type = {
            "STOP_MARKET": "StopLoss",
            "TAKE_PROFIT_MARKET": "TakeProfit",
            "STOP": "StopLoss",
            "TAKE_PROFIT": "TakeProfit",
        }.get(o.type, "")
        status = STATUS.get(o.status, "New")
        if stop_type and status == "New" and not o.triggered:
            status = "Untriggered"
        return {
            "orderId": str(o.order_id), "orderLinkId": o.client_id, "symbol": o.symbol,
            "price": m.fmt_price(o.price), "qty": m.fmt_qty(o.qty),
            "side": "Buy" if o.side == "BUY" else "Sell", "orderStatus": status,
            "avgPrice": f"{o.avg:.8f}" if o.executed else "", "cumExecQty": m.fmt_qty(o.executed),
            "cumExecValue": f"{o.cum_quote:.8f}", "cumExecFee": "0",
            "leavesQty": m.fmt_qty(o.qty - o.executed),
            "timeInForce": {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK", "GTX": "PostOnly"}.get(
                o.tif, "GTC"),
            "orderType": "Limit" if o.type in ("LIMIT", "STOP", "TAKE_PROFIT") else "Market",
            "stopOrderType": stop_type, "triggerPrice": m.fmt_price(o.stop_price),
            "triggerDirection": 0, "triggerBy": "LastPrice" if stop_type else "",
            "reduceOnly": o.reduce_only, "closeOnTrigger": False, "positionIdx": 0,
            "createdTime": str(o.time_ms), "updatedTime": str(o.update_ms),
            "category": self._cat(o), "takeProfit": "", "stopLoss": "",
        }  # fmt: skip

    def create(self, params: dict[str, Any]) -> dict[str, Any]:
        if self._category(params) == "spot":
            return self._create_spot(params)
        m = self._market(params)
        trigger = float(params.get("triggerPrice") or 0)
        side = "BUY" if params.get("side") == "Buy" else "SELL"
        otype = "LIMIT" if params.get("orderType") == "Limit" else "MARKET"
        if trigger:
            # a trigger against the position: a stop below (long) / above (short) the market
            last = self.last(m.symbol)
            stop_loss = (side == "SELL" and trigger < last) or (side == "BUY" and trigger > last)
            otype = "STOP_MARKET" if stop_loss else "TAKE_PROFIT_MARKET"
            if params.get("orderType") == "Limit":  # a conditional limit (stop-limit)
                otype = "STOP" if stop_loss else "TAKE_PROFIT"
        tif = {"PostOnly": "GTX"}.get(
            str(params.get("timeInForce", "GTC")), params.get("timeInForce", "GTC")
        )
        translated = {
            "symbol": m.symbol,
            "side": side,
            "type": otype,
            "quantity": str(params.get("qty", "0")),
            "price": str(params.get("price", "0") or "0")
            if otype in ("LIMIT", "STOP", "TAKE_PROFIT")
            else "0",
            "stopPrice": str(trigger),
            "reduceOnly": "true" if params.get("reduceOnly") in (True, "true") else "false",
            "timeInForce": str(tif),
            "newClientOrderId": str(params.get("orderLinkId") or f"sim-{self.next_order_id + 1}"),
        }
        o = self._place(translated, algo=False)
        return {"orderId": str(o.order_id), "orderLinkId": o.client_id}

    def _create_spot(self, params: dict[str, Any]) -> dict[str, Any]:
        m = self._market(params)
        if params.get("triggerPrice") or params.get("reduceOnly") in (True, "true"):
            raise BybitError(10001, "spot: only market and limit orders, without reduceOnly")
        side = "BUY" if params.get("side") == "Buy" else "SELL"
        limit = params.get("orderType") == "Limit"
        last = self.last(m.symbol)
        qty = float(params.get("qty") or 0)
        if not limit and side == "BUY" and params.get("marketUnit") != "baseCoin":
            qty = math.floor(qty / last / m.step + 1e-9) * m.step  # the qty was USDT to spend
        price = float(params.get("price") or 0) if limit else last
        base = m.symbol[:-4]
        if side == "SELL" and qty > self.spot_coins.get(base, 0.0) + 1e-12:
            raise BybitError(170131, "Insufficient balance.")
        if side == "BUY" and qty * price * (1 + self.opt.taker_fee) > self.wallet + 1e-9:
            raise BybitError(170131, "Insufficient balance.")
        translated = {
            "symbol": m.symbol, "side": side, "type": "LIMIT" if limit else "MARKET",
            "quantity": m.fmt_qty(qty), "price": str(price) if limit else "0", "stopPrice": "0",
            "reduceOnly": "false", "timeInForce": str(params.get("timeInForce", "GTC")),
            "newClientOrderId": str(params.get("orderLinkId") or f"sim-{self.next_order_id + 1}"),
        }  # fmt: skip
        self._placing_spot = True
        try:
            o = self._place(translated, algo=False)
        finally:
            self._placing_spot = False
        return {"orderId": str(o.order_id), "orderLinkId": o.client_id}

    def _new_order(self, *args: Any, **kwargs: Any) -> SimOrder:
        o = super()._new_order(*args, **kwargs)
        if self._placing_spot:
            self.spot_ids.add(o.order_id)
        return o

    def _fill(self, o: SimOrder, price: float, now: int, *, maker: bool) -> None:
        if o.order_id not in self.spot_ids:
            super()._fill(o, price, now, maker=maker)
            return
        qty = round(o.qty - o.executed, 8)
        fee = qty * price * (self.opt.maker_fee if maker else self.opt.taker_fee)
        base = o.symbol[:-4]
        sign = 1.0 if o.side == "BUY" else -1.0
        self.spot_coins[base] = round(self.spot_coins.get(base, 0.0) + sign * qty, 8)
        self.wallet -= sign * qty * price + fee
        o.executed = o.qty
        o.cum_quote += qty * price
        o.status, o.update_ms = "FILLED", now
        self._order_event(o, "TRADE", now, last_qty=qty, last_price=price, fee=fee, maker=maker)
        self._account_event("ORDER", now, [o.symbol])

    def _find_bybit(self, params: dict[str, Any]) -> SimOrder:
        oid, link = params.get("orderId"), params.get("orderLinkId")
        found = [
            o
            for o in self.orders.values()
            if (oid and str(o.order_id) == str(oid)) or (link and o.client_id == link)
        ]
        if not found:
            raise BybitError(110001, "order not exists or too late to cancel")
        return max(found, key=lambda o: o.order_id)

    def cancel(self, params: dict[str, Any]) -> dict[str, Any]:
        o = self._find_bybit(params)
        try:
            self._cancel(o)
        except BinanceError:
            raise BybitError(110001, "order not exists or too late to cancel") from None
        return {"orderId": str(o.order_id), "orderLinkId": o.client_id}

    def realtime(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("orderId") or params.get("orderLinkId"):
            try:
                rows = [self._order_row(self._find_bybit(params))]
            except BybitError:
                rows = []
        else:
            symbol = params.get("symbol")
            category = self._category(params)
            rows = [
                self._order_row(o)
                for o in self._open_orders(symbol or None)
                if self._cat(o) == category
            ]
        return {"category": self._category(params), "list": rows, "nextPageCursor": ""}

    def history(self, params: dict[str, Any]) -> dict[str, Any]:
        rows = [
            self._order_row(o)
            for o in self.orders.values()
            if o.status not in ("NEW", "PARTIALLY_FILLED")
            and (not params.get("orderLinkId") or o.client_id == params["orderLinkId"])
            and (not params.get("orderId") or str(o.order_id) == str(params["orderId"]))
        ]
        return {"category": "linear", "list": rows[::-1][:50], "nextPageCursor": ""}

    def positions_list(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = params.get("symbol")
        rows = []
        for s, pos in self.positions.items():
            if (wanted and s != wanted) or (not wanted and not pos.amount):
                continue
            m = self.markets[s]
            mark = self.last(s)
            rows.append(
                {"positionIdx": 0, "symbol": s,
                 "side": "" if not pos.amount else ("Buy" if pos.amount > 0 else "Sell"),
                 "size": m.fmt_qty(abs(pos.amount)), "avgPrice": f"{pos.entry:.8f}",
                 "positionValue": f"{abs(pos.amount) * pos.entry:.8f}",
                 "tradeMode": 1 if pos.margin_type == "isolated" else 0,
                 "leverage": str(pos.leverage), "markPrice": m.fmt_price(mark),
                 "liqPrice": f"{self._liq_price(s):.8f}" if pos.amount else "",
                 "unrealisedPnl": f"{self._upnl(s):.8f}", "cumRealisedPnl": "0",
                 "positionIM": f"{abs(pos.amount) * mark / pos.leverage:.8f}",
                 "positionMM": f"{abs(pos.amount) * mark * 0.005:.8f}",
                 "takeProfit": "", "stopLoss": "", "trailingStop": "",
                 "createdTime": str(pos.update_ms), "updatedTime": str(pos.update_ms),
                 "positionStatus": "Normal", "autoAddMargin": 0, "riskId": 1}
            )  # fmt: skip
        return {"category": "linear", "list": rows, "nextPageCursor": ""}

    def set_leverage(self, params: dict[str, Any]) -> dict[str, Any]:
        m = self._market(params)
        lev = int(float(params.get("buyLeverage", 0)))
        if not 1 <= lev <= 100:
            raise BybitError(10001, "leverage invalid")
        if self.positions[m.symbol].leverage == lev:
            raise BybitError(110043, "leverage not modified")
        self.positions[m.symbol].leverage = lev
        return {}

    def switch_isolated(self, params: dict[str, Any]) -> dict[str, Any]:
        m = self._market(params)
        mode = "isolated" if int(params.get("tradeMode", 0)) == 1 else "cross"
        pos = self.positions[m.symbol]
        if pos.margin_type == mode:
            raise BybitError(110026, "Cross/isolated margin mode is not modified")
        if pos.amount:
            raise BybitError(110027, "Margin mode cannot be changed with an open position")
        pos.margin_type = mode
        return {}

    def coins(self, params: dict[str, Any]) -> dict[str, Any]:
        names = {"USDT", *(m.symbol[:-4] for m in self.markets.values())}
        return {
            "rows": [
                {"name": c, "coin": c, "remainAmount": "1000000", "chains": [
                    {"chainType": c, "confirmation": "1", "withdrawFee": "0", "depositMin": "0",
                     "withdrawMin": "0", "chain": c, "chainDeposit": "1", "chainWithdraw": "1",
                     "minAccuracy": "8", "withdrawPercentageFee": "0"}]}
                for c in sorted(names)
            ]
        }  # fmt: skip

    def fee_rate(self, params: dict[str, Any]) -> dict[str, Any]:
        """The account's fee tier per symbol (v5 account/fee-rate): the fees fills pay here."""
        self._category(params)
        symbol = params.get("symbol")
        if symbol and symbol not in self.markets:
            raise BybitError(10001, "params error: symbol invalid")
        rows = [
            {"symbol": m.symbol, "baseCoin": "", "takerFeeRate": f"{self.opt.taker_fee:g}",
             "makerFeeRate": f"{self.opt.maker_fee:g}"}
            for m in self.markets.values()
            if not symbol or m.symbol == symbol
        ]  # fmt: skip
        return {"list": rows}

    def wallet_balance(self, params: dict[str, Any]) -> dict[str, Any]:
        upnl = sum(self._upnl(s) for s in self.positions)
        wallet = f"{self.wallet:.8f}"
        equity = f"{self.wallet + upnl:.8f}"
        coin = {"coin": "USDT", "walletBalance": wallet, "equity": equity,
                "unrealisedPnl": f"{upnl:.8f}", "availableToWithdraw": wallet,
                "usdValue": equity, "locked": "0", "totalOrderIM": "0", "totalPositionIM": "0",
                "cumRealisedPnl": "0", "borrowAmount": "0", "accruedInterest": "0",
                "bonus": "0", "marginCollateral": True, "collateralSwitch": True}  # fmt: skip
        held = []
        for name, amount in sorted(self.spot_coins.items()):
            if amount <= 0:
                continue
            market = self.markets.get(f"{name}USDT")
            value = f"{amount * (self.last(market.symbol) if market else 0.0):.8f}"
            held.append({**coin, "coin": name, "walletBalance": f"{amount:.8f}",
                         "equity": f"{amount:.8f}", "unrealisedPnl": "0",
                         "availableToWithdraw": f"{amount:.8f}", "usdValue": value})  # fmt: skip
        return {
            "list": [
                {"accountType": "UNIFIED", "totalEquity": equity, "totalWalletBalance": wallet,
                 "totalAvailableBalance": equity, "totalMarginBalance": equity,
                 "totalPerpUPL": f"{upnl:.8f}", "accountIMRate": "0", "accountMMRate": "0",
                 "coin": [coin, *held]}
            ]
        }  # fmt: skip

    # ---- events ---------------------------------------------------------------------------
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
        row = self._order_row(o)
        self._send_private({"topic": "order", "id": f"o{now}", "creationTime": now, "data": [row]})
        if last_qty:
            m = self.markets[o.symbol]
            execution = {
                "category": self._cat(o), "symbol": o.symbol, "orderId": str(o.order_id),
                "orderLinkId": o.client_id, "side": row["side"], "execId": f"{o.order_id}-{now}",
                "execPrice": m.fmt_price(last_price), "execQty": m.fmt_qty(last_qty),
                "execFee": f"{fee:.8f}", "execType": "Trade", "execTime": str(now),
                "isMaker": maker, "orderType": row["orderType"], "feeRate": "0.00055",
            }  # fmt: skip
            self._send_private(
                {"topic": "execution", "id": f"e{now}", "creationTime": now, "data": [execution]}
            )

    def _account_event(self, reason: str, now: int, symbols: list[str]) -> None:
        positions = self.positions_list({})["list"]
        self._send_private(
            {"topic": "position", "id": f"p{now}", "creationTime": now, "data": positions}
        )
        self._send_private(
            {
                "topic": "wallet",
                "id": f"w{now}",
                "creationTime": now,
                "data": self.wallet_balance({})["list"],
            }
        )

    def inject_targets(self, to: str) -> list[web.WebSocketResponse]:
        if to == "user":
            return [ws for ws, authed in self.private_ws.items() if authed]
        return list(self.public_ws)

    def _send_private(self, payload: dict[str, Any]) -> None:
        for ws, authed in list(self.private_ws.items()):
            if authed:
                self._send(ws, payload)

    def _publish_market(self, m: Market, now: int, qty: float, closed: list[int]) -> None:
        if not self.public_ws:
            return
        price = m.fmt_price(m.bars[-1][3])
        trade = {
            "topic": f"publicTrade.{m.symbol}", "type": "snapshot", "ts": now,
            "data": [{"T": now, "s": m.symbol, "S": "Buy" if m.agg_id % 2 else "Sell",
                      "v": m.fmt_qty(qty), "p": price, "L": "PlusTick",
                      "i": str(m.agg_id), "BT": False}],
        }  # fmt: skip
        for ws, topics in list(self.public_ws.items()):
            for topic in topics:
                if topic == f"publicTrade.{m.symbol}":
                    self._send(ws, trade)
                elif topic.startswith("kline.") and topic.endswith(f".{m.symbol}"):
                    interval = BYBIT_INTERVALS.get(topic.split(".")[1], "")
                    for event in self._kline_events(m, interval, now, closed):
                        k = event["k"]
                        self._send(
                            ws,
                            {"topic": topic, "type": "snapshot", "ts": now,
                             "data": [{"start": k["t"], "end": k["T"],
                                       "interval": topic.split(".")[1], "open": k["o"],
                                       "close": k["c"], "high": k["h"], "low": k["l"],
                                       "volume": k["v"], "turnover": k["q"],
                                       "confirm": k["x"], "timestamp": now}]},
                        )  # fmt: skip

    async def ws_public(self, request: web.Request) -> web.StreamResponse:
        if time.monotonic() < self.ws_down_until:
            return web.json_response({"retCode": 10016, "retMsg": "sim outage"}, status=503)
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.all_ws.add(ws)
        topics: set[str] = set()
        self.public_ws[ws] = topics
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                with contextlib.suppress(ValueError):
                    req = json.loads(msg.data)
                    op = req.get("op")
                    if op == "subscribe":
                        topics.update(str(a) for a in req.get("args", []))
                    elif op == "unsubscribe":
                        topics.difference_update(str(a) for a in req.get("args", []))
                    reply = {"success": True, "ret_msg": "pong" if op == "ping" else "",
                             "conn_id": "sim", "req_id": req.get("req_id", ""), "op": op}  # fmt: skip
                    await ws.send_str(json.dumps(reply))
        finally:
            self.public_ws.pop(ws, None)
            self.all_ws.discard(ws)
        return ws

    async def ws_private(self, request: web.Request) -> web.StreamResponse:
        if time.monotonic() < self.ws_down_until:
            return web.json_response({"retCode": 10016, "retMsg": "sim outage"}, status=503)
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.all_ws.add(ws)
        self.private_ws[ws] = False
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                with contextlib.suppress(ValueError):
                    req = json.loads(msg.data)
                    op = req.get("op")
                    ok, text = True, ""
                    if op == "auth":
                        key, expires, sign = ([*list(req.get("args", [])), "", "", ""])[:3]
                        want = hmac.new(
                            self.opt.api_secret.encode(), f"GET/realtime{expires}".encode(),
                            hashlib.sha256,
                        ).hexdigest()  # fmt: skip
                        ok = bool(key) and (not self.opt.api_secret or want == sign)
                        text = "" if ok else "Params Error"
                        self.private_ws[ws] = ok
                    reply = {"success": ok, "ret_msg": text or ("pong" if op == "ping" else ""),
                             "conn_id": "sim", "req_id": req.get("req_id", ""), "op": op}  # fmt: skip
                    await ws.send_str(json.dumps(reply))
        finally:
            self.private_ws.pop(ws, None)
            self.all_ws.discard(ws)
        return ws

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)  # /sim/inject carries big frames
        b = self._bybit
        routes = [
            ("GET", "/v5/market/time", b(lambda p: {"timeSecond": str(int(time.time())),
                                                   "timeNano": str(time.time_ns())})),
            ("GET", "/v5/market/instruments-info", b(self.instruments)),
            ("GET", "/v5/market/kline", b(self.kline)),
            ("GET", "/v5/market/mark-price-kline", b(lambda p: self.kline(p, mark=True))),
            ("GET", "/v5/market/tickers", b(self.tickers)),
            ("GET", "/v5/market/funding/history", b(self.funding_history)),
            ("POST", "/v5/order/create", b(self.create, signed=True)),
            ("POST", "/v5/order/cancel", b(self.cancel, signed=True)),
            ("GET", "/v5/order/realtime", b(self.realtime, signed=True)),
            ("GET", "/v5/order/history", b(self.history, signed=True)),
            ("GET", "/v5/position/list", b(self.positions_list, signed=True)),
            ("POST", "/v5/position/set-leverage", b(self.set_leverage, signed=True)),
            ("POST", "/v5/position/switch-isolated", b(self.switch_isolated, signed=True)),
            ("GET", "/v5/asset/coin/query-info", b(self.coins, signed=True)),
            ("GET", "/v5/account/wallet-balance", b(self.wallet_balance, signed=True)),
            ("GET", "/v5/account/fee-rate", b(self.fee_rate, signed=True)),
            ("GET", "/v5/public/linear", self.ws_public),
            ("GET", "/v5/public/spot", self.ws_public),
            ("GET", "/v5/private", self.ws_private),
            ("POST", "/sim/{action}", self.sim_control),
        ]  # fmt: skip
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, str]:
        rest, _ = await super().start(host, port)
        return rest, rest.replace("http://", "ws://")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _binance_arguments(parser)


def run(args: argparse.Namespace) -> int:
    async def main() -> None:
        sim = BybitSim(options_from_args(args))
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
