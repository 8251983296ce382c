"""Deriv (synthetic indices, multipliers) over its WebSocket API: our own asyncio client.

`build_deriv` is the venue builder registered for `kind = "deriv"` in venues/factory.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

from tradeterm.clock import Clock
from tradeterm.config.models import DerivVenueConfig, FillModelConfig, VenueConfig
from tradeterm.config.secrets import load_secrets
from tradeterm.domain.costs import CostModel
from tradeterm.domain.instruments import Instrument
from tradeterm.errors import ConfigError, PermanentVenueError, TemporaryVenueError
from tradeterm.venues.base import ExecClient, VenueHealth
from tradeterm.venues.deriv.connection import DerivConnection
from tradeterm.venues.deriv.data import DerivDataClient
from tradeterm.venues.factory import VenueHandle


def deriv_url(cfg: DerivVenueConfig) -> str:
    """The socket URL: the endpoint with app_id (legacy) or as given (the new API's OTP URL)."""
    if cfg.dialect == "new":
        return cfg.endpoint
    sep = "&" if "?" in cfg.endpoint else "?"
    return f"{cfg.endpoint}{sep}{urlencode({'app_id': cfg.app_id, 'l': 'EN', 'brand': 'deriv'})}"


def deriv_token() -> str | None:
    """DERIV_API_TOKEN from the environment or .env (None when unset)."""
    secret = load_secrets().deriv_api_token
    value = secret.get_secret_value() if secret is not None else ""
    return value or None


def otp_url_provider(name: str, cfg: DerivVenueConfig, token: str) -> Callable[[], Awaitable[str]]:
    """New API: POST the OTP endpoint with the token; its answer is the one-time socket URL."""

    async def fetch() -> str:
        import httpx

        if not cfg.account_id:
            raise PermanentVenueError(
                f"venues.{name}.account_id: the new dialect needs the trading account id",
                venue=name,
            )
        url = cfg.otp_endpoint.replace("{account}", cfg.account_id)
        headers = {"Authorization": f"Bearer {token}", "Deriv-App-ID": str(cfg.app_id)}
        try:
            async with httpx.AsyncClient(timeout=cfg.request_timeout_s) as client:
                reply = await client.post(url, headers=headers)
        except httpx.HTTPError as exc:
            raise TemporaryVenueError(f"{name}: OTP request failed: {exc}", venue=name) from None
        if reply.status_code in (401, 403):
            raise PermanentVenueError(
                f"{name}: the token was refused by the OTP endpoint ({reply.status_code})",
                venue=name,
                code="InvalidToken",
            )
        if reply.status_code != 200:
            raise TemporaryVenueError(
                f"{name}: OTP endpoint answered {reply.status_code}", venue=name
            )
        try:
            return str(reply.json()["data"]["url"])
        except (ValueError, KeyError, TypeError):
            raise TemporaryVenueError(f"{name}: OTP reply without data.url", venue=name) from None

    return fetch


def connection_for(name: str, cfg: DerivVenueConfig, *, token: str | None) -> DerivConnection:
    provider = otp_url_provider(name, cfg, token) if token and cfg.dialect == "new" else None
    return DerivConnection(
        deriv_url(cfg),
        venue=name,
        token=token,
        dialect=cfg.dialect,
        request_timeout_s=cfg.request_timeout_s,
        ping_interval_s=cfg.ping_interval_s,
        health=VenueHealth(venue=name),
        url_provider=provider,
    )


def multiplier_costs(cfg: DerivVenueConfig, instrument: Instrument) -> CostModel:
    """A multiplier trade's costs for the gate and paper fills: the commission (charged once, on
    notional) split over the two legs, no slippage (Deriv fills at the spot)."""
    half = cfg.commission_rate / 2
    return CostModel(
        taker_fee_rate=half,
        maker_fee_rate=half,
        slippage_bps=0.0,
        half_spread=instrument.half_spread,
        contract_size=instrument.contract_size,
    )


def build_deriv(name: str, cfg: VenueConfig, clock: Clock, state_dir: Path | None) -> VenueHandle:
    assert isinstance(cfg, DerivVenueConfig)
    conn = connection_for(name, cfg, token=None)  # market data needs no token
    data = DerivDataClient(name, conn, clock, conn.health)
    half = cfg.commission_rate / 2

    def exec_factory(account: str) -> ExecClient:
        # only live wallets ask for an ExecClient: they need the token (env/.env only)
        from tradeterm.venues.deriv.execution import DerivExecClient

        token = deriv_token()
        if token is None:
            raise ConfigError(
                f"venues.{name}: live wallets on Deriv need DERIV_API_TOKEN in the environment "
                "or .env (create a token with the Trade scope at app.deriv.com)"
            )
        return DerivExecClient(name, account, cfg, token, clock)

    return VenueHandle(
        name,
        "deriv",
        data,
        exec_factory,
        FillModelConfig(taker_fee_rate=half, maker_fee_rate=half, slippage_bps=0.0),
        data.close,
        lambda inst: multiplier_costs(cfg, inst),
        live_cash_from_venue=True,
    )
