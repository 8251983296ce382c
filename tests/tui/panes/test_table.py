"""The pane table keeps the operator's place: rows update in place, the cursor follows its row
through inserts, removals and reorders, and a log-tail table keeps its top row selected."""

from __future__ import annotations

from tests.tui.panes.conftest import WIDE, Host
from tradeterm.tui.panes.table import ColumnSpec, KeyedTable, Row, cell

COLUMNS = (ColumnSpec("name", "Name"), ColumnSpec("value", "Value", right=True))


def rows(*items: tuple[str, str]) -> list[Row]:
    return [(key, (cell(key), cell(value, right=True))) for key, value in items]


async def test_cells_update_in_place_and_the_cursor_follows_its_row() -> None:
    table = KeyedTable(COLUMNS)
    async with Host(table).run_test(size=WIDE) as pilot:
        table.sync(rows(("b", "1"), ("c", "2")))
        table.move_cursor(row=1)
        await pilot.pause()
        assert table.selected_key() == "c"

        table.sync(rows(("a", "0"), ("b", "1"), ("c", "3")))
        await pilot.pause()
        assert table.keys == ("a", "b", "c")
        assert table.text("c", "value") == "3"
        assert table.selected_key() == "c"

        table.sync(rows(("c", "4"), ("a", "0")))
        await pilot.pause()
        assert list(table.keys) == ["c", "a"]
        assert table.selected_key() == "c"
        assert table.row_count == 2


async def test_a_removed_row_under_the_cursor_leaves_the_cursor_on_a_neighbour() -> None:
    table = KeyedTable(COLUMNS)
    async with Host(table).run_test(size=WIDE) as pilot:
        table.sync(rows(("a", "0"), ("b", "1"), ("c", "2")))
        table.move_cursor(row=2)
        table.sync(rows(("a", "0"), ("b", "1")))
        await pilot.pause()
        assert table.selected_key() == "b"
        table.sync([])
        assert table.selected_key() is None


async def test_sticky_top_keeps_the_newest_row_selected_until_the_operator_moves() -> None:
    table = KeyedTable(COLUMNS, sticky_top=True)
    async with Host(table).run_test(size=WIDE) as pilot:
        table.sync(rows(("s1", "x")))
        table.sync(rows(("s2", "y"), ("s1", "x")))
        await pilot.pause()
        assert table.selected_key() == "s2"
        table.move_cursor(row=1)
        table.sync(rows(("s3", "z"), ("s2", "y"), ("s1", "x")))
        await pilot.pause()
        assert table.selected_key() == "s1"


async def test_a_repeated_key_shows_once() -> None:
    table = KeyedTable(COLUMNS)
    async with Host(table).run_test(size=WIDE):
        table.sync(rows(("a", "first"), ("a", "second")))
        assert table.keys == ("a",)
        assert table.text("a", "value") == "first"
