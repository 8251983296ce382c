"""Bybit v5 (unified account) through ccxt's `bybit`: linear USDT perpetuals, or spot.

Spot (`category = "spot"`): market and limit orders only, no reduce-only, no resting stops (the
node's position monitor closes spot positions), no leverage, no shorts (the risk gate refuses
opening a spot position by selling), no funding; the venue's "positions" are the base coins the
unified wallet holds.
"""

from __future__ import annotations

from typing import Any

from tradeterm.domain.enums import ContractKind, Domain, OrderType
from tradeterm.errors import ConfigError
from tradeterm.venues.base import VenueCapabilities
from tradeterm.venues.crypto.ccxt_venue import CcxtProfile

BYBIT_TIMEFRAMES = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "1d")


def point_bybit(exchange: Any, rest_url: str, ws_url: str) -> None:
    """Point ccxt's bybit REST and websockets at other base urls (`http://127.0.0.1:P`,
    `ws://127.0.0.1:P`; the `/v5/public/<category>` and `/v5/private` paths are Bybit's)."""
    for key in list(exchange.urls["api"]):
        if isinstance(exchange.urls["api"][key], str):
            exchange.urls["api"][key] = rest_url
    if ws_url:
        ws = exchange.urls["api"]["ws"]
        for category in list(ws["public"]):
            ws["public"][category] = f"{ws_url}/v5/public/{category}"
        ws["private"]["contract"] = f"{ws_url}/v5/private"
        ws["private"]["spot"]["unified"] = f"{ws_url}/v5/private"


def bybit_id_params(coid: str, conditional: bool) -> dict[str, Any]:
    """Bybit names any order by orderLinkId (conditional ones included, on linear)."""
    return {"orderLinkId": coid, "acknowledged": True}


def bybit_spot_profile() -> CcxtProfile:
    return CcxtProfile(
        exchange_id="bybit",
        kind=ContractKind.SPOT,
        domain=Domain.CRYPTO_SPOT,
        settle="USDT",
        capabilities=VenueCapabilities(
            order_types=frozenset({OrderType.MARKET, OrderType.LIMIT}),
            contract_kinds=frozenset({ContractKind.SPOT}),
            reduce_only=False,
            native_stops=False,
            partial_fills=True,
            funding=False,
            history_timeframes=BYBIT_TIMEFRAMES,
            max_history_bars=1000,
            client_order_id_max_len=36,
        ),
        weight_per_minute=6000,
        point_urls=point_bybit,
        options={
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "defaultType": "spot",
            "enableUnifiedMargin": False,
            "enableUnifiedAccount": True,
        },
        market_type="spot",
        id_params=bybit_id_params,
        separate_trigger_orders=False,
        open_orders_params={"category": "spot"},
    )


def bybit_profile(category: str) -> CcxtProfile:
    if category == "spot":
        return bybit_spot_profile()
    if category != "linear":
        raise ConfigError(
            f"venues.*.category: '{category}' is not supported by the Bybit adapter (linear, spot)"
        )
    return CcxtProfile(
        exchange_id="bybit",
        kind=ContractKind.PERPETUAL,
        domain=Domain.CRYPTO_PERP,
        settle="USDT",
        capabilities=VenueCapabilities(
            # no TRAILING_STOP: Bybit trails only per position (v5 position/trading-stop,
            # ccxt's trailingAmount), which carries no orderLinkId -- no client id, no
            # idempotent retry, nothing reconciliation can name -- so it is refused here
            order_types=frozenset(
                {OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT}
            ),
            contract_kinds=frozenset({ContractKind.PERPETUAL}),
            reduce_only=True,
            native_stops=True,
            partial_fills=True,
            funding=True,
            history_timeframes=BYBIT_TIMEFRAMES,
            max_history_bars=1000,
            client_order_id_max_len=36,
        ),
        weight_per_minute=6000,  # Bybit limits per endpoint per second; a global ceiling here
        point_urls=point_bybit,
        options={
            "fetchMarkets": {"types": ["linear"]},
            "fetchCurrencies": False,
            "defaultType": "swap",
            "enableUnifiedMargin": False,
            "enableUnifiedAccount": True,
        },
        id_params=bybit_id_params,
        separate_trigger_orders=False,
        open_orders_params={"settleCoin": "USDT"},
        trigger_direction=True,
    )
