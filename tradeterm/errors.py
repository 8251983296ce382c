"""Exception types. Each type says what happens next (STYLE 10).

- ConfigError: user input is wrong; print one clear line per problem and exit 2.
- TemporaryVenueError: retry with backoff.
- PermanentVenueError: halt that venue.
- StrategyError: disable that strategy, keep the rest.
- StorageError: the database refused; stop acknowledging until fixed.
- ControlError: an operator command could not be carried out (message shown to the operator).
- InvalidTransition: a lifecycle (order, confirmation, stage) was asked to make an illegal move.
"""

from __future__ import annotations


class TradetermError(Exception):
    """Base of every error tradeterm raises on purpose. `str(err)` is the user-facing message."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


class UserError(TradetermError):
    """Bad input from the user (CLI arguments, files): one clear line, exit code 2."""

    exit_code = 2


class ConfigError(UserError):
    """An invalid configuration. `problems` holds one line per problem, each naming the TOML path."""

    def __init__(self, msg: str, problems: list[str] | None = None) -> None:
        super().__init__(msg)
        self.problems: list[str] = problems if problems is not None else [msg]


class DataError(UserError):
    """A data file (candles, funding) that cannot be read or has the wrong shape."""


class VenueError(TradetermError):
    """A venue said no, or could not be reached."""

    def __init__(self, msg: str, *, venue: str = "", code: str = "") -> None:
        super().__init__(msg)
        self.venue = venue
        self.code = code


class TemporaryVenueError(VenueError):
    """Worth retrying with backoff (timeouts, rate limits, disconnects)."""


class PermanentVenueError(VenueError):
    """Retrying will not help (bad keys, unknown symbol, rejected order); halt that venue."""


class StrategyError(TradetermError):
    """A strategy failed; disable it and keep the others."""


class StorageError(TradetermError):
    """The database failed; nothing may be acknowledged until it works again."""


class ControlError(TradetermError):
    """An operator command could not be carried out; the message is shown to the operator."""


class InvalidTransition(TradetermError):
    """A lifecycle was asked for a move its transition table does not allow."""

    def __init__(self, machine: str, state: str, event: str) -> None:
        super().__init__(f"{machine}: cannot apply '{event}' in state '{state}'")
        self.machine = machine
        self.state = state
        self.event = event
