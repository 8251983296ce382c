"""The pane table: a DataTable whose rows follow a keyed list in place.

Every list pane (markets, positions, signals, confirmations, arms) hands `KeyedTable.sync` the
rows it wants, in order, each under a stable key. Rows that did not change are left alone,
changed cells are updated in place, vanished rows are removed, and the operator's cursor stays on
the row it was on (the same market, the same confirmation) wherever that row moved to. So ten
updates a second neither flicker nor steal the selection.

Cells are Rich `Text` styled from the app's theme (`CellStyles`), because DataTable cells cannot
use Textual's `$variables`; panes rebuild their rows when the theme changes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rich.text import Text
from textual.app import App
from textual.theme import Theme
from textual.widget import Widget
from textual.widgets import DataTable


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column of a pane table: its key, header label, alignment, optional fixed width and
    priority. Priority 0 columns are always shown; when the rows do not fit the pane's width,
    columns are hidden highest priority number first (the detail view carries what is hidden)."""

    key: str
    label: str
    right: bool = False
    width: int | None = None
    priority: int = 0


@dataclass(frozen=True, slots=True)
class CellStyles:
    """Rich styles for good / bad / caution / highlighted / quiet cells, taken from the theme."""

    good: str = "green"
    bad: str = "red"
    caution: str = "yellow"
    accent: str = "cyan"
    muted: str = "dim"

    @classmethod
    def from_app(cls, app: App[object]) -> CellStyles:
        """The current theme's text colours ($text-success, $text-error, ...)."""
        variables = app.theme_variables or app.get_css_variables()
        plain = cls()
        return cls(
            good=variables.get("text-success", plain.good),
            bad=variables.get("text-error", plain.bad),
            caution=variables.get("text-warning", plain.caution),
            accent=variables.get("text-accent", plain.accent),
        )

    def signed(self, value: float) -> str:
        """The style of a PnL-like number: good when positive, bad when negative."""
        if value > 0:
            return self.good
        if value < 0:
            return self.bad
        return ""


def cell(text: str, style: str = "", *, right: bool = False) -> Text:
    """A table cell; numbers are right-aligned."""
    return Text(text, style=style, justify="right" if right else "left", no_wrap=True, end="")


def _same(before: Text, after: Text) -> bool:
    """Whether two cells look the same (rich's Text equality ignores the base style)."""
    return (
        before.plain == after.plain and before.style == after.style and before.spans == after.spans
    )


Row = tuple[str, tuple[Text, ...]]
"""A row as a pane hands it over: (key, cells in column order)."""

Item = TypeVar("Item", bound=Hashable)


class RowMemo(Generic[Item]):
    """Remembers the cells built for each view row, so a row that did not change costs one
    lookup (and the table skips it by identity). Forget everything when the theme changes."""

    def __init__(self, build: Callable[[Item], Row]) -> None:
        self._build = build
        self._built: dict[Item, Row] = {}

    def rows(self, items: Iterable[Item]) -> list[Row]:
        """The rows for `items`, reusing those built for equal items last time."""
        built: dict[Item, Row] = {}
        out: list[Row] = []
        for item in items:
            row = built.get(item) or self._built.get(item) or self._build(item)
            built[item] = row
            out.append(row)
        self._built = built
        return out

    def forget(self) -> None:
        """Drop what was built (the theme's colours changed)."""
        self._built = {}


class KeyedTable(DataTable[Text]):
    """A read-only, row-cursor DataTable kept in step with a keyed, ordered list of rows.

    With `sticky_top`, a cursor on the first row stays on the first row as new rows arrive
    above it (a log-tail: the newest signal stays selected); elsewhere it follows its row.
    """

    DEFAULT_CSS = """
    KeyedTable {
        height: 1fr;
        min-height: 3;
    }
    """

    def __init__(
        self,
        columns: Sequence[ColumnSpec],
        *,
        sticky_top: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id, classes=classes)
        self._specs = tuple(columns)
        self._sticky_top = sticky_top
        self._rows: dict[str, tuple[Text, ...]] = {}
        self._order: list[str] = []
        self._shown: tuple[int, ...] = tuple(range(len(self._specs)))
        """Indexes of the specs on screen (all until the width is known)."""

    def on_mount(self) -> None:
        self._add_columns()

    def on_resize(self) -> None:
        self._refit(grow=True)

    def _add_columns(self) -> None:
        if self.columns:
            return
        for index in self._shown:
            spec = self._specs[index]
            label = Text(spec.label, justify="right" if spec.right else "left")
            self.add_column(label, key=spec.key, width=spec.width)

    def relabel(self, labels: dict[str, str]) -> None:
        """Change column headers (e.g. to name a timeframe), where they differ."""
        changed = False
        specs = list(self._specs)
        for index, spec in enumerate(specs):
            label = labels.get(spec.key)
            if label is None or label == spec.label:
                continue
            specs[index] = ColumnSpec(spec.key, label, spec.right, spec.width, spec.priority)
            changed = True
            for column in self.columns.values():
                if column.key.value == spec.key:
                    column.label = Text(label, justify="right" if spec.right else "left")
                    column.content_width = max(column.content_width, len(label))
        if changed:
            self._specs = tuple(specs)
            self._require_update_dimensions = True
            self.refresh()

    @property
    def shown_columns(self) -> tuple[str, ...]:
        """Keys of the columns on screen, in order (low-priority ones hide on a narrow pane)."""
        return tuple(self._specs[i].key for i in self._shown)

    def _fit(self) -> tuple[int, ...]:
        """The columns that fit the pane's width, dropping the highest priority numbers first."""
        # the outer width less a scrollbar's room: scrollbars coming and going must not change
        # which columns are shown (that would rebuild the table at every refresh)
        width = self.size.width - self.styles.scrollbar_size_vertical
        if width <= 0:
            return self._shown
        pad = 2 * self.cell_padding
        need: list[int] = []
        for spec in self._specs:
            index = len(need)
            widest = max((cells[index].cell_len for cells in self._rows.values()), default=0)
            need.append((spec.width or max(len(spec.label), widest)) + pad)
        shown = set(range(len(self._specs)))
        total = sum(need)
        droppable = sorted(
            (i for i, spec in enumerate(self._specs) if spec.priority > 0),
            key=lambda i: (-self._specs[i].priority, -i),
        )
        for index in droppable:
            if total <= width:
                break
            shown.discard(index)
            total -= need[index]
        return tuple(sorted(shown))

    def _refit(self, *, grow: bool = False) -> None:
        """Show the columns that fit now; rebuild the table only when that set changed. New rows
        may only hide columns (`grow` False); a resize may bring them back, so the set of
        columns never flips back and forth as rows come and go."""
        shown = self._fit()
        if not grow:
            shown = tuple(i for i in shown if i in self._shown)
        if shown == self._shown:
            return
        cursor_key = self.selected_key()
        self._shown = shown
        self.clear(columns=True)
        self._add_columns()
        for key in self._order:
            self.add_row(*self._visible(self._rows[key]), key=key)
        if cursor_key is not None:  # the cursor stays on its row
            self.move_cursor(row=self._order.index(cursor_key), animate=False)

    def _visible(self, cells: tuple[Text, ...]) -> tuple[Text, ...]:
        return tuple(cells[i] for i in self._shown)

    @property
    def keys(self) -> tuple[str, ...]:
        """Row keys in the order the operator sees them."""
        return tuple(self._order)

    def has_row(self, key: str) -> bool:
        """Whether a row with this key is on screen."""
        return key in self._rows

    def selected_key(self) -> str | None:
        """The key of the row under the cursor, or None when the table is empty."""
        if not self._order:
            return None
        row = min(max(self.cursor_row, 0), len(self._order) - 1)
        return self._order[row]

    def text(self, key: str, column: str) -> str:
        """The plain text of one cell (also of a column hidden on a narrow pane)."""
        index = next(i for i, spec in enumerate(self._specs) if spec.key == column)
        return self._rows[key][index].plain

    def set_cell(self, key: str, column: str, value: Text) -> None:
        """Change one cell of an existing row (a ticking countdown), if it looks different."""
        cells = self._rows[key]
        index = next(i for i, spec in enumerate(self._specs) if spec.key == column)
        if _same(cells[index], value):
            return
        self._rows[key] = (*cells[:index], value, *cells[index + 1 :])
        if index not in self._shown:
            return
        grow = self._specs[index].width is None and value.cell_len > cells[index].cell_len
        self.update_cell(key, column, value, update_width=grow)

    def sync(self, rows: Sequence[Row]) -> None:
        """Make the table show exactly `rows`, in that order, touching only what changed."""
        self._add_columns()
        cursor_key = self.selected_key()
        at_top = self.cursor_row == 0
        wanted_set: set[str] = set()
        unique: list[Row] = []
        for key, cells in rows:  # a repeated key keeps its first row
            if key not in wanted_set:
                wanted_set.add(key)
                unique.append((key, cells))
        wanted = [key for key, _ in unique]
        for key in [k for k in self._order if k not in wanted_set]:
            self.remove_row(key)
            del self._rows[key]
        self._order = [k for k in self._order if k in wanted_set]
        for key, cells in unique:
            old = self._rows.get(key)
            if old is None:
                self.add_row(*self._visible(cells), key=key)
                self._order.append(key)
            elif old is not cells and not all(map(_same, old, cells)):
                self._update_row(key, old, cells)
            self._rows[key] = cells
        if self._order != wanted:
            self._arrange(wanted)
        self._restore_cursor(cursor_key, at_top)
        self._refit()

    def _update_row(self, key: str, old: tuple[Text, ...], new: tuple[Text, ...]) -> None:
        for index, (spec, before, after) in enumerate(zip(self._specs, old, new, strict=True)):
            if index in self._shown and not _same(before, after):
                grow = spec.width is None and after.cell_len > before.cell_len
                self.update_cell(key, spec.key, after, update_width=grow)

    def _arrange(self, wanted: list[str]) -> None:
        """Reorder rows to `wanted` through the public `sort`.

        The sort key sees only cell values, so rows are recognised by the identity of their first
        cell: every row holds its own Text objects (built fresh by `cell`), never shared ones.
        """
        first = self._specs[self._shown[0]].key
        rank = {id(self.get_cell(key, first)): index for index, key in enumerate(wanted)}
        self.sort(first, key=lambda value: rank[id(value)])
        self._order = list(wanted)

    def _restore_cursor(self, cursor_key: str | None, at_top: bool) -> None:
        if not self._order:
            return
        if self._sticky_top and at_top:
            target = 0
        elif cursor_key is not None and cursor_key in self._rows:
            target = self._order.index(cursor_key)
        else:
            return
        if target != self.cursor_row:
            self.move_cursor(row=target, animate=False)


class ViewPane(Widget):
    """Base of every pane: renders its `view` once mounted, and again when the theme changes.

    Subclasses declare `view: reactive[XView | None] = reactive(None, always_update=True)` and
    implement `show_view`, which reads `self.view` (None means "no data yet").
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._ready = False
        self.cell_styles = CellStyles()
        self._memos: list[RowMemo[Any]] = []

    def memo(self, build: Callable[[Item, CellStyles], Row]) -> RowMemo[Item]:
        """A RowMemo building rows with this pane's current theme styles (reset on a new theme)."""
        memo: RowMemo[Item] = RowMemo(lambda item: build(item, self.cell_styles))
        self._memos.append(memo)
        return memo

    def on_mount(self) -> None:
        self._ready = True
        self.cell_styles = CellStyles.from_app(self.app)
        self.app.theme_changed_signal.subscribe(self, self._retheme)
        self.show_view()

    def watch_view(self) -> None:
        if self._ready:
            self.show_view()

    def _retheme(self, theme: Theme) -> None:
        self.cell_styles = CellStyles.from_app(self.app)
        for memo in self._memos:
            memo.forget()
        self.show_view()

    def show_view(self) -> None:
        """Draw `self.view` (implemented by each pane)."""
        raise NotImplementedError
