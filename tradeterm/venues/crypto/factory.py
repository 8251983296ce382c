"""Venue handles of the crypto venues: one ccxt session per venue shared by its data client
and its account clients; keys from the environment (BINANCE_API_KEY / BINANCE_API_SECRET,
BYBIT_API_KEY / BYBIT_API_SECRET) or `.env`, never from the config file."""

from __future__ import annotations

from typing import Any

from tradeterm.config.models import BinanceFuturesVenueConfig, BybitVenueConfig, VenueConfig
from tradeterm.config.secrets import load_secrets
from tradeterm.venues.crypto.binance import BINANCE_FUTURES
from tradeterm.venues.crypto.ccxt_venue import (
    CcxtDataClient,
    CcxtExecClient,
    CcxtProfile,
    CcxtSession,
)
from tradeterm.venues.factory import VenueHandle


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


def _handle(
    name: str,
    kind: str,
    cfg: Any,
    profile: CcxtProfile,
    key: str,
    secret: str,
    ws_url: str,
    options: dict[str, Any] | None = None,
) -> VenueHandle:
    session = CcxtSession(
        name,
        profile,
        api_key=key,
        secret=secret,
        testnet=cfg.testnet,
        rest_url=cfg.rest_url,
        ws_url=ws_url,
        options=options,
    )
    data = CcxtDataClient(session)
    accounts: dict[str, CcxtExecClient] = {}

    def exec_client(account: str) -> CcxtExecClient:
        if account not in accounts:
            accounts[account] = CcxtExecClient(session, account)
        return accounts[account]

    async def close() -> None:
        for client in accounts.values():
            await client.close()
        await data.close()

    def fee_rates(symbol: str) -> tuple[float, float] | None:
        return session.fee_rates(symbol)

    return VenueHandle(
        name,
        kind,
        data,
        exec_client,
        cfg.fill_model,
        close,
        fee_rates=fee_rates,
        load_fees=session.load_trading_fees,
    )


def build_binance_futures(name: str, cfg: VenueConfig) -> VenueHandle:
    assert isinstance(cfg, BinanceFuturesVenueConfig)
    secrets = load_secrets()
    return _handle(
        name,
        "binance_futures",
        cfg,
        BINANCE_FUTURES,
        _secret(secrets.binance_api_key),
        _secret(secrets.binance_api_secret),
        cfg.ws_url,
        {"recvWindow": cfg.recv_window_ms},
    )


def build_bybit(name: str, cfg: VenueConfig) -> VenueHandle:
    from tradeterm.venues.crypto.bybit import bybit_profile

    assert isinstance(cfg, BybitVenueConfig)
    secrets = load_secrets()
    return _handle(
        name,
        "bybit",
        cfg,
        bybit_profile(cfg.category),
        _secret(secrets.bybit_api_key),
        _secret(secrets.bybit_api_secret),
        cfg.ws_url,
    )
