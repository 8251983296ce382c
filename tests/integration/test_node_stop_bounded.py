"""A node always stops: a venue that never answers its close (a half-open socket, a server that
holds the closing handshake) is given STOP_STEP_TIMEOUT_S, then cancelled and named in the log,
and the shutdown goes on to persist and release the state lock."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

import pytest

import tradeterm.node as node_module
from tradeterm.clock import SimClock
from tradeterm.node import NodeOptions, build_node
from tradeterm.statelock import StateLock
from tradeterm.testing.node_kit import busy_config

START_MS = 1_763_726_400_000


async def test_a_venue_that_never_closes_does_not_hold_the_shutdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(node_module, "STOP_STEP_TIMEOUT_S", 0.2)
    state = tmp_path / "state"
    node = build_node(busy_config(state), SimClock(START_MS), NodeOptions(metrics_server=False))
    await node.start()
    hung = asyncio.Event()

    async def never() -> None:
        hung.set()
        await asyncio.Event().wait()  # nobody ever sets it

    (name,) = node.venues
    node.venues[name] = replace(node.venues[name], close=never)
    with caplog.at_level(logging.INFO, logger="tradeterm.node"):
        # the guard only keeps a broken build from hanging the suite: the bound is 0.2 s
        await asyncio.wait_for(node.stop(), timeout=120)
    assert hung.is_set(), "the venue's close was called"
    text = caplog.text
    assert f"shutdown: venue {name} close did not finish" in text
    assert "node stopped" in text
    assert not node.started
    lock = StateLock(state)
    lock.acquire()  # released by the stop that went on
    lock.release()
