"""The catalogue of synthetic indices: what the trader sees in the instrument list."""

from __future__ import annotations

import pytest

from tradeterm.domain.enums import ContractKind, Domain
from tradeterm.errors import ConfigError
from tradeterm.venues.sim.catalog import INDEX_SPECS, KNOWN_SYMBOLS, index_spec, resolve_symbols


def test_every_deriv_family_is_offered_with_its_pip_and_cadence() -> None:
    expected = {
        "R_10": (0.001, 2000),
        "R_25": (0.001, 2000),
        "R_50": (0.0001, 2000),
        "R_75": (0.0001, 2000),
        "R_100": (0.01, 2000),
        "1HZ100V": (0.01, 1000),
        "CRASH500": (0.001, 1000),
        "BOOM1000": (0.001, 1000),
        "stpRNG": (0.1, 1000),
        "JD75": (0.01, 1000),
    }
    for symbol, (pip, interval) in expected.items():
        spec = index_spec(symbol)
        assert spec is not None, symbol
        assert (spec.pip, spec.interval_ms) == (pip, interval)
    assert len(KNOWN_SYMBOLS) == len(INDEX_SPECS) == 20


def test_instrument_of_an_index() -> None:
    spec = index_spec("R_100")
    assert spec is not None
    inst = spec.instrument("sim")
    assert inst.key == "sim:R_100"
    assert inst.kind is ContractKind.SYNTHETIC
    assert inst.domain is Domain.SYNTHETICS
    assert inst.tick_size == 0.01
    assert inst.display_name == "Volatility 100 Index"
    assert inst.min_notional == 1.0
    assert inst.lot_step in (0.01, 0.001)
    names = {s.symbol: s.display_name for s in INDEX_SPECS}
    assert names["1HZ100V"] == "Volatility 100 (1s) Index"
    assert names["CRASH1000"] == "Crash 1000 Index"
    assert names["stpRNG"] == "Step Index"


def test_spread_brackets_the_quote_by_whole_pips() -> None:
    for spec in INDEX_SPECS:
        assert spec.half_spread_pips >= 1
        assert spec.half_spread == pytest.approx(spec.half_spread_pips * spec.pip)


def test_unknown_symbol_names_the_config_path_and_the_symbol() -> None:
    with pytest.raises(ConfigError) as err:
        resolve_symbols("mysim", ["R_100", "R_999", "FOO"])
    assert "venues.mysim.symbols" in str(err.value)
    assert "R_999" in str(err.value)
    assert len(err.value.problems) == 2
    assert "FOO" in err.value.problems[1]


def test_empty_symbol_list_means_every_index_and_start_prices_override() -> None:
    assert [s.symbol for s in resolve_symbols("sim", [])] == list(KNOWN_SYMBOLS)
    (spec,) = resolve_symbols("sim", ["R_50"], start_prices={"R_50": 321.5})
    assert spec.start_price == 321.5
    gen = spec.generator(seed=1, start_ms=0)
    assert abs(gen.next_chunk().quote[0] - 321.5) < 1.0
    with pytest.raises(ConfigError):
        resolve_symbols("sim", ["R_50"], start_prices={"R_50": -1.0})
