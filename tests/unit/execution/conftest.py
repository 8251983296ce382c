"""A factory of execution rigs that stops their background tasks and closes their databases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.unit.execution.kit import Rig, build_rig

MakeRig = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def make_rig(tmp_path: Path) -> AsyncIterator[MakeRig]:
    made: list[Rig] = []

    async def make(**kwargs: Any) -> Rig:
        rig = await build_rig(tmp_path / "state", **kwargs)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        await rig.engine.stop()
        rig.stores.close()
