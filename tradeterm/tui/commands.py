"""ctrl+p: the console's actions in Textual's command palette (same actions as the keys)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

CONSOLE_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Approve selected confirmation", "approve", "y"),
    ("Reject selected confirmation", "reject", "n"),
    ("Confirmation details", "details", "enter"),
    ("Flatten everything", "flatten", "!"),
    ("Pause / resume entries", "pause", "p"),
    ("Stage machine and promotion", "stages", "s"),
    ("Exploration down 5%", "exploration(-1)", "e"),
    ("Exploration up 5%", "exploration(1)", "E"),
    ("Learning on/off", "learning", "l"),
    ("Domain toggles", "domains", "d"),
    ("Light / dark theme", "toggle_theme", "t"),
    ("Help: every key", "help", "?"),
    ("Quit (safe shutdown)", "quit_prompt", "q"),
)


class ConsoleCommands(Provider):
    """Every console action, searchable by name."""

    async def discover(self) -> Hits:
        for name, action, key in CONSOLE_COMMANDS:
            yield DiscoveryHit(name, partial(self.app.run_action, action), help=f"key: {key}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, key in CONSOLE_COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(name),
                    partial(self.app.run_action, action),
                    help=f"key: {key}",
                )
