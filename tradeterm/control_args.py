"""The arguments of every control command, as strict pydantic models: one registry.

Every request on the control socket is validated here BEFORE anything runs: unknown keys,
wrong types (`"enabled": "false"` is text, not false), non-finite numbers, over-long text and
out-of-range values are refused with one line naming the argument. Adding a command means adding
one model to `COMMAND_ARGS` (and its handler in `daemon.ControlCommands`); a test checks that
every served command has a model.

`changes` says whether a command asks for a change: those are written to the audit journal
whether they succeed, fail or are refused here.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tradeterm.domain.enums import Domain

MAX_TEXT = 500
"""Longest free text (a reason) accepted."""

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
"""Ids as the node makes them (`c1a2b3`, `tt-...`): letters, digits and - _ . : only."""


class CommandArgs(BaseModel):
    """Base of every command's arguments: strict types, no unknown keys, finite numbers."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)

    changes: ClassVar[bool] = True
    """Audited: the command asks the node to change something."""


class NoArgs(CommandArgs):
    """A read-only command without arguments."""

    changes: ClassVar[bool] = False


class ChangeNoArgs(CommandArgs):
    """A change without arguments (pause, resume, flatten)."""


class ConfirmationArgs(CommandArgs):
    id: str = Field(..., pattern=ID_PATTERN, description="Confirmation id, as `status` shows it.")


class RejectArgs(ConfirmationArgs):
    reason: str = Field("", max_length=MAX_TEXT, description="Why (kept in the audit journal).")


class PromoteArgs(CommandArgs):
    force: bool = Field(False, description="Promote past failed gates.")
    from_stage: int | None = Field(
        None, ge=1, le=1000, description="The stage the operator looked at (stale = refused)."
    )


class SetStageArgs(CommandArgs):
    index: int = Field(..., ge=1, le=1000, description="Stage to move to (1-based).")
    reason: str = Field("", max_length=MAX_TEXT, description="Why (kept in the audit journal).")
    force: bool = Field(
        False, description="Jump forward past failed gates (audited like a forced promotion)."
    )


class ToggleDomainArgs(CommandArgs):
    domain: Domain = Field(..., description="Domain to turn on or off for this session.")
    enabled: bool = Field(..., description="true = on, false = off.")


class SetExplorationArgs(CommandArgs):
    rate: float = Field(..., ge=0.0, le=1.0, description="Exploration rate (the floor applies).")


class SetLearningArgs(CommandArgs):
    enabled: bool = Field(..., description="Update the allocator from closed trades.")


POSITION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$"
"""A position as the operator names it: "wallet/venue:symbol", "venue:symbol" or a symbol."""


class PositionArgs(CommandArgs):
    position: str = Field(
        ...,
        pattern=POSITION_PATTERN,
        description='Open position: "venue:symbol", a symbol, or "wallet/venue:symbol".',
    )


class PositionPriceArgs(PositionArgs):
    price: float = Field(..., gt=0.0, description="The new level (a price).")


class DifferenceArgs(CommandArgs):
    id: str = Field(
        ..., pattern=ID_PATTERN, description="Difference id, as `reconcile list` shows it."
    )


class DifferencePreviewArgs(DifferenceArgs):
    changes: ClassVar[bool] = False
    action: Literal["adopt", "close", "ignore"] = Field(..., description="The action to preview.")


COMMAND_ARGS: dict[str, type[CommandArgs]] = {
    "status": NoArgs,
    "gates": NoArgs,
    "flatten_preview": NoArgs,
    "approve": ConfirmationArgs,
    "reject": RejectArgs,
    "flatten": ChangeNoArgs,
    "pause": ChangeNoArgs,
    "resume": ChangeNoArgs,
    "promote": PromoteArgs,
    "set_stage": SetStageArgs,
    "toggle_domain": ToggleDomainArgs,
    "set_exploration": SetExplorationArgs,
    "set_learning": SetLearningArgs,
    "reload": ChangeNoArgs,
    "close_position": PositionArgs,
    "move_stop": PositionPriceArgs,
    "move_target": PositionPriceArgs,
    "reconcile_list": NoArgs,
    "reconcile_preview": DifferencePreviewArgs,
    "reconcile_run": ChangeNoArgs,
    "reconcile_adopt": DifferenceArgs,
    "reconcile_close": DifferenceArgs,
    "reconcile_ignore": DifferenceArgs,
}
"""Command name -> its arguments. The one place a control command is declared."""


class BadArguments(ValueError):
    """The arguments of a command did not validate; `str()` is one line naming each problem."""


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "args"


def _why(err: Any) -> str:
    kind = str(err.get("type", ""))
    if kind == "extra_forbidden":
        return "unknown argument"
    if kind == "missing":
        return "missing"
    got = err.get("input")
    shown = type(got).__name__ if not isinstance(got, int | float | bool) else repr(got)
    if isinstance(got, str):
        shown = "text" if len(got) > 40 else repr(got)
    msg = str(err.get("msg", "invalid")).replace("Input should be", "must be")
    return f"{msg[:120]} (got {shown})"


def parse_args(command: str, raw: object) -> CommandArgs:
    """Validate `raw` (the request's `args`) for `command`. KeyError for an unknown command;
    BadArguments (one line, every problem) when they do not validate."""
    model = COMMAND_ARGS[command]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise BadArguments(f"{command}: args must be a JSON object, got {type(raw).__name__}")
    try:
        # JSON mode: the request came as JSON, so enum values arrive as their words
        return model.model_validate_json(json.dumps(raw))
    except ValidationError as exc:
        problems = "; ".join(
            f"{_where(e['loc'])}: {_why(e)}" for e in exc.errors(include_url=False)[:5]
        )
        raise BadArguments(f"{command}: bad arguments: {problems}") from None


def plain_args(args: CommandArgs) -> dict[str, Any]:
    """The validated arguments as JSON values with their types (for the audit journal)."""
    return args.model_dump(mode="json")
