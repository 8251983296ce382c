"""The confirmation queue: approved intents waiting for the operator's yes or no, each with a TTL.

A confirmation's lifecycle is a transition table run by the shared FSM:

    pending -approve-> approved     pending -reject-> rejected
    pending -expire->  expired      pending -cancel-> cancelled   (flatten-all, HALTED)

Everything else is illegal and comes back to the operator as a ControlError with a plain reason
("confirmation c1a2b3c expired 12 s ago"). Every change is stored (in the wallet's database)
before it is published. Ids are short enough to type: "c" and six hex digits, derived from the
risk decision, so a replayed decision finds its existing confirmation instead of a second one.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum

from tradeterm.clock import Clock
from tradeterm.domain.enums import ConfirmationStatus
from tradeterm.domain.events import PendingConfirmation, RiskDecision
from tradeterm.domain.fsm import StateMachine
from tradeterm.domain.ids import stable_id
from tradeterm.errors import ControlError
from tradeterm.storage import codec
from tradeterm.storage.router import Stores


class ConfirmationEvent(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    EXPIRE = "expire"
    CANCEL = "cancel"


_C = ConfirmationStatus
_E = ConfirmationEvent

CONFIRMATION_TRANSITIONS: dict[tuple[ConfirmationStatus, ConfirmationEvent], ConfirmationStatus] = {
    (_C.PENDING, _E.APPROVE): _C.APPROVED,
    (_C.PENDING, _E.REJECT): _C.REJECTED,
    (_C.PENDING, _E.EXPIRE): _C.EXPIRED,
    (_C.PENDING, _E.CANCEL): _C.CANCELLED,
}

CONFIRMATION_FSM: StateMachine[ConfirmationStatus, ConfirmationEvent] = StateMachine(
    "confirmation", CONFIRMATION_TRANSITIONS
)


def describe_closed(conf: PendingConfirmation, now_ms: int) -> str:
    """Why a confirmation can no longer be decided, in the operator's words."""
    if conf.status is ConfirmationStatus.EXPIRED:
        ago = max(0, round((now_ms - conf.expires_ms) / 1000))
        return f"confirmation {conf.id} expired {ago} s ago"
    who = f" by {conf.decided_by}" if conf.decided_by else ""
    why = f" ({conf.reason})" if conf.reason else ""
    return f"confirmation {conf.id} is already {conf.status.value}{who}{why}"


class ConfirmationQueue:
    """Pending confirmations in memory, every confirmation in its wallet's database."""

    def __init__(self, clock: Clock, stores: Stores, ttl_s: float) -> None:
        self._clock = clock
        self._stores = stores
        self._ttl_ms = round(ttl_s * 1000)
        self._pending: dict[str, PendingConfirmation] = {}

    @property
    def ttl_s(self) -> float:
        return self._ttl_ms / 1000.0

    def restore(self) -> list[PendingConfirmation]:
        """Pending confirmations from every open database (overdue ones included: the caller
        expires them)."""
        self._pending.clear()
        for store in self._stores.all():
            for conf in store.load_confirmations(ConfirmationStatus.PENDING):
                self._pending[conf.id] = conf
        return self.pending()

    def pending(self) -> list[PendingConfirmation]:
        """Waiting confirmations, oldest first."""
        return sorted(self._pending.values(), key=lambda c: (c.created_ms, c.id))

    def get(self, confirmation_id: str) -> PendingConfirmation | None:
        """A confirmation in any state (pending ones from memory, others from storage)."""
        conf = self._pending.get(confirmation_id)
        if conf is not None:
            return conf
        for store in self._stores.all():
            rows = list(
                store.db.query("SELECT data FROM confirmations WHERE id = ?", (confirmation_id,))
            )
            if rows:
                return codec.loads(PendingConfirmation, rows[0]["data"])
        return None

    def open(self, decision: RiskDecision) -> tuple[PendingConfirmation, bool]:
        """The confirmation of `decision`, created and stored if new; the flag says it was."""
        conf_id = self._id_for(decision)
        existing = self.get(conf_id)
        if existing is not None:
            return existing, False
        now = self._clock.now_ms()
        conf = PendingConfirmation(
            id=conf_id,
            decision=decision,
            status=ConfirmationStatus.PENDING,
            created_ms=now,
            expires_ms=now + self._ttl_ms,
        )
        self._stores.for_wallet(decision.intent.wallet_id).save_confirmation(conf)
        self._pending[conf.id] = conf
        return conf, True

    def decide(
        self, confirmation_id: str, event: ConfirmationEvent, *, by: str, reason: str = ""
    ) -> PendingConfirmation:
        """Apply `event` and store the result. ControlError when it is unknown or not pending."""
        conf = self.get(confirmation_id)
        if conf is None:
            raise ControlError(f"no confirmation '{confirmation_id}'")
        now = self._clock.now_ms()
        if not CONFIRMATION_FSM.can(conf.status, event):
            raise ControlError(describe_closed(conf, now))
        decided = replace(
            conf,
            status=CONFIRMATION_FSM.next_state(conf.status, event),
            decided_ms=now,
            decided_by=by,
            reason=reason,
        )
        self._stores.for_wallet(conf.intent.wallet_id).save_confirmation(decided)
        self._pending.pop(conf.id, None)
        return decided

    def due(self) -> list[str]:
        """Ids of pending confirmations whose time is up."""
        now = self._clock.now_ms()
        return [c.id for c in self.pending() if c.expires_ms <= now]

    def _id_for(self, decision: RiskDecision) -> str:
        """`c` + 6 hex digits of the decision id; a clash with another decision moves on."""
        for salt in range(1000):
            conf_id = "c" + stable_id(decision.id, salt or "", length=6)
            found = self.get(conf_id)
            if found is None or found.decision.id == decision.id:
                return conf_id
        raise ControlError("no free confirmation id")  # pragma: no cover - 1000 clashes
