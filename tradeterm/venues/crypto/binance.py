"""Binance USDT-M futures through ccxt's `binanceusdm` (async REST + pro websockets)."""

from __future__ import annotations

from typing import Any

from tradeterm.domain.enums import ContractKind, Domain, OrderType
from tradeterm.venues.base import VenueCapabilities
from tradeterm.venues.crypto.ccxt_venue import CcxtProfile

BINANCE_TIMEFRAMES = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d")


def point_binance(exchange: Any, rest_url: str, ws_url: str) -> None:
    """Point binanceusdm's REST (fapi v1/v2/v3, public and private) and its linear websocket at
    other base urls (`http://127.0.0.1:P`, `ws://127.0.0.1:P/ws`; ccxt adds the routed
    `/market`, `/public` and `/private` paths itself)."""
    api = exchange.urls["api"]
    for key in list(api):
        if key.startswith(("fapiPublic", "fapiPrivate")):
            version = key.removeprefix("fapiPublic").removeprefix("fapiPrivate") or "V1"
            api[key] = f"{rest_url}/fapi/{version.lower()}"
    if ws_url:
        api["ws"]["linear"] = ws_url
        api["ws"]["future"] = ws_url


def binance_id_params(coid: str, conditional: bool) -> dict[str, Any]:
    """Binance names a regular order by origClientOrderId, an algo (conditional) one by
    clientAlgoId."""
    if conditional:
        return {"clientAlgoId": coid, "trigger": True}
    return {"origClientOrderId": coid}


BINANCE_FUTURES = CcxtProfile(
    exchange_id="binanceusdm",
    kind=ContractKind.PERPETUAL,
    domain=Domain.CRYPTO_PERP,
    settle="USDT",
    capabilities=VenueCapabilities(
        order_types=frozenset(
            {
                OrderType.MARKET,
                OrderType.LIMIT,
                OrderType.STOP,
                OrderType.STOP_LIMIT,
                OrderType.TRAILING_STOP,
            }
        ),
        contract_kinds=frozenset({ContractKind.PERPETUAL}),
        reduce_only=True,
        native_stops=True,
        partial_fills=True,
        funding=True,
        history_timeframes=BINANCE_TIMEFRAMES,
        max_history_bars=1500,
        client_order_id_max_len=36,
        hedge_mode=False,
    ),
    weight_per_minute=2000,  # of Binance's 2400: head-room for ccxt's own housekeeping calls
    point_urls=point_binance,
    options={
        "fetchMarkets": {"types": ["linear"]},
        "fetchCurrencies": False,
        "defaultType": "swap",
        # positionRisk v2 still reports leverage and margin type per position (v3 does not)
        "fetchPositionsRisk": {"useV2": True},
        # ticks from aggTrade (served on the routed /market path, PROTOCOLS.md 4.3)
        "watchTrades": {"name": "aggTrade"},
        "watchTradesForSymbols": {"name": "aggTrade"},
    },
    order_weight=1,
    history_weight=5,
    id_params=binance_id_params,
    separate_trigger_orders=True,
    callback_range=(0.1, 5.0),  # TRAILING_STOP_MARKET callbackRate, percent
    callback_step=0.1,
)
