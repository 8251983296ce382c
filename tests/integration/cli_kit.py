"""In-process `tradeterm` CLI runs for the integration tests: the real entry point (`cli.main`)
on a copy of the default config whose state and reports live in the test's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.parity_kit import REPO
from tradeterm.cli import main

DEFAULT = REPO / "configs" / "default.toml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`tradeterm ARGV...` in this process: (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def default_config_in(folder: Path) -> Path:
    """configs/default.toml copied to FOLDER/config.toml, its state and reports under FOLDER."""
    path = folder / "config.toml"
    text = (
        DEFAULT.read_text(encoding="utf-8")
        .replace('state_dir = "state"', f'state_dir = "{folder / "state"}"')
        .replace('reports_dir = "reports"', f'reports_dir = "{folder / "reports"}"')
    )
    path.write_text(text, encoding="utf-8")
    return path
