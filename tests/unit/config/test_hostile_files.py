"""Issue 9, defect 3: a config path may point at anything. Non-regular files and files over the
size limit are refused before they are read, parser recursion is caught, a BOM is named, and a
huge value never comes back whole in a message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tradeterm.checks import validate_config_file
from tradeterm.cli import main
from tradeterm.config.files import MAX_CONFIG_BYTES

REPO = Path(__file__).resolve().parents[3]
DEFAULT = REPO / "configs" / "default.toml"


def _one_line(problems: list[str]) -> str:
    assert len(problems) == 1, problems
    assert "\n" not in problems[0]
    return problems[0]


@pytest.mark.timeout(30)
def test_a_fifo_is_refused_without_reading_it(tmp_path: Path) -> None:
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)  # reading it would block forever: nobody writes
    line = _one_line(validate_config_file(fifo))
    assert line == f"{fifo}: is a FIFO (named pipe), not a TOML config file"


@pytest.mark.timeout(30)
def test_dev_zero_is_refused_without_reading_it() -> None:
    line = _one_line(validate_config_file("/dev/zero"))
    assert line == "/dev/zero: is a device, not a TOML config file"


def test_a_directory_is_refused(tmp_path: Path) -> None:
    assert _one_line(validate_config_file(tmp_path)).endswith(
        "is a directory, not a TOML config file"
    )


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * MAX_CONFIG_BYTES + "\n", encoding="utf-8")
    line = _one_line(validate_config_file(big))
    assert "too big for a TOML config file" in line and "at most 1,048,576 bytes" in line


@pytest.mark.parametrize(
    "text",
    [
        "a = " + "[" * 100_000 + "]" * 100_000 + "\n",  # 100k-deep nested array
        "".join(f"[{'.'.join(['t'] * n)}]\n" for n in (5000,)),  # a 5k-deep table
        "a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n",  # inline tables
        "a = " + "[" * 40 + "]" * 40 + "\n",  # parses, but deeper than any config
    ],
    ids=["array-100k", "table-5k", "inline-3k", "array-40"],
)
def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(text, encoding="utf-8")
    line = _one_line(validate_config_file(path))
    assert "nested too deeply" in line
    assert len(line) < 400


def test_a_bom_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + DEFAULT.read_bytes())
    line = _one_line(validate_config_file(path))
    assert "byte-order mark (BOM)" in line and str(path) in line


def test_a_huge_value_is_not_echoed_back_whole(tmp_path: Path) -> None:
    huge = "Q" * 1_000_000
    path = tmp_path / "huge.toml"
    path.write_text(f'[ui]\ntheme = "{huge[:900_000]}"\n', encoding="utf-8")
    line = _one_line(validate_config_file(path))
    assert line.startswith("ui.theme: must be one of")
    assert len(line) < 400 and "900,000 characters" in line


def test_a_huge_key_is_not_echoed_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "key.toml"
    path.write_text(f"[risk]\n{'k' * 500_000} = 1\n", encoding="utf-8")
    line = _one_line(validate_config_file(path))
    assert line.endswith("unknown key") and len(line) < 400


def test_a_huge_set_override_is_not_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate-config", str(DEFAULT), "--set", "ui.theme=" + "z" * 200_000]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 400


def test_deep_set_override_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    assert main(["validate-config", str(DEFAULT), "--set", f"ui.theme={deep}"]) == 2
    err = capsys.readouterr().err
    assert "nested too deeply" in err and err.count("\n") == 1


def test_not_utf8_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[ui]\ntheme = "d\xe9"\n')
    assert _one_line(validate_config_file(path)) == f"{path}: not UTF-8 text (byte 15)"
