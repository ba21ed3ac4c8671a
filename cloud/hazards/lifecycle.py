"""The hazard lifecycle as a pure state machine: which step may follow which, who may take it, and the rules a
step must keep. Synchronous, no database, time passed in; the service (``cloud.hazards.service``) applies the
result to rows and the event table.

    reported → assigned → rectifying → rectified → verified → closed
                   ↑                        │ (reject: back to rectifying)
    escalated ─────┘   (any open state → escalated, by a person or by the timeout rule)

Who may take a step depends on the actor's kind and on the hazard's mode (per grid):

- combined (巡办结合): the officer who found it follows it to closure — among grid officers only the finder acts;
- separated (巡办分离): the finder hands over — the finder may take no step after reporting; another officer of
  the grid or a supervisor does.

Supervisors (district, city) may take every person's step in their scope; the enterprise's safety manager
starts and records rectification (never verifies its own work); the system only escalates on timeout.
A refused step raises :class:`HazardRuleError` naming its rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class HazardState(StrEnum):
    REPORTED = "reported"
    ASSIGNED = "assigned"
    RECTIFYING = "rectifying"
    RECTIFIED = "rectified"
    VERIFIED = "verified"
    CLOSED = "closed"
    ESCALATED = "escalated"


class Step(StrEnum):
    ASSIGN = "assign"  # dispatch (分拨) to a street office or a department, with a deadline
    START = "start"  # rectification begins
    RECTIFY = "rectify"  # rectification done, with evidence
    VERIFY = "verify"
    REJECT = "reject"  # verification failed: rectify again
    CLOSE = "close"
    ESCALATE = "escalate"


class Mode(StrEnum):
    COMBINED = "combined"  # 巡办结合
    SEPARATED = "separated"  # 巡办分离


class ActorKind(StrEnum):
    SUPERVISOR = "supervisor"
    OFFICER = "officer"
    ENTERPRISE = "enterprise"
    SYSTEM = "system"


class Severity(StrEnum):
    GENERAL = "general"  # 一般隐患
    MAJOR = "major"  # 重大事故隐患


class Level(StrEnum):
    """Where a dispatched hazard sits: escalation on timeout moves it up one level."""

    GRID = "grid"
    STREET = "street"
    DISTRICT = "district"


OPEN = frozenset({HazardState.REPORTED, HazardState.ASSIGNED, HazardState.RECTIFYING, HazardState.RECTIFIED})

#: step → (states it may start from, state it leads to)
TRANSITIONS: dict[Step, tuple[frozenset[HazardState], HazardState]] = {
    Step.ASSIGN: (frozenset({HazardState.REPORTED, HazardState.ESCALATED}), HazardState.ASSIGNED),
    Step.START: (frozenset({HazardState.ASSIGNED}), HazardState.RECTIFYING),
    Step.RECTIFY: (frozenset({HazardState.RECTIFYING}), HazardState.RECTIFIED),
    Step.VERIFY: (frozenset({HazardState.RECTIFIED}), HazardState.VERIFIED),
    Step.REJECT: (frozenset({HazardState.RECTIFIED}), HazardState.RECTIFYING),
    Step.CLOSE: (frozenset({HazardState.VERIFIED}), HazardState.CLOSED),
    Step.ESCALATE: (OPEN, HazardState.ESCALATED),
}

_PEOPLE = frozenset({ActorKind.SUPERVISOR, ActorKind.OFFICER})
#: step → the kinds of actor that may take it (officers further limited by the mode)
WHO: dict[Step, frozenset[ActorKind]] = {
    Step.ASSIGN: _PEOPLE,
    Step.START: _PEOPLE | {ActorKind.ENTERPRISE},
    Step.RECTIFY: _PEOPLE | {ActorKind.ENTERPRISE},
    Step.VERIFY: _PEOPLE,
    Step.REJECT: _PEOPLE,
    Step.CLOSE: _PEOPLE,
    Step.ESCALATE: _PEOPLE | {ActorKind.SYSTEM},
}


class HazardRuleError(Exception):
    """A step the rules refuse; ``rule`` is its stable name (the API's error code), ``field`` the input at fault."""

    def __init__(self, rule: str, message: str, *, field: str | None = None) -> None:
        self.rule = rule
        self.message = message
        self.field = field
        super().__init__(f"{rule}: {message}")


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    is_finder: bool = False  # the officer who reported the hazard


@dataclass(frozen=True)
class Facts:
    """What the rules need to know of a hazard."""

    state: HazardState
    mode: Mode
    reported_at: datetime
    last_step_at: datetime


def check_deadline(*, reported_at: datetime, deadline: datetime | None, field: str = "deadline") -> None:
    """A rectification deadline must come after the report."""
    if deadline is not None and deadline <= reported_at:
        raise HazardRuleError("deadline_before_report", "整改期限须晚于上报时间 / the rectification deadline must be "
                                                        "after the report", field=field)


def next_state(facts: Facts, step: Step, actor: Actor, *, now: datetime, evidence: bool = False,
               deadline: datetime | None = None) -> HazardState:
    """The state ``step`` leads to, or :class:`HazardRuleError` naming the rule it breaks."""
    if now < facts.last_step_at:
        raise HazardRuleError("time_backwards", "步骤时间早于上一步 / a step cannot come before the previous one")
    sources, target = TRANSITIONS[step]
    if facts.state not in sources:
        if step is Step.CLOSE and facts.state in OPEN:
            raise HazardRuleError("closed_without_verification",
                                  "隐患须经核查后才能销号 / a hazard is closed only after verification", field="state")
        raise HazardRuleError("wrong_state", f"{step.value} is not allowed from {facts.state.value}", field="state")
    if actor.kind not in WHO[step]:
        raise HazardRuleError("not_your_step", f"a {actor.kind.value} may not {step.value} a hazard")
    if actor.kind is ActorKind.OFFICER:
        if facts.mode is Mode.COMBINED and not actor.is_finder:
            raise HazardRuleError("combined_mode_finder_only", "巡办结合：由发现人跟踪到销号 / combined mode: the "
                                                               "officer who found it follows it to closure")
        if facts.mode is Mode.SEPARATED and actor.is_finder:
            raise HazardRuleError("separated_mode_hand_over", "巡办分离：发现人须移交处置 / separated mode: the "
                                                              "finder hands the hazard over")
    if step is Step.RECTIFY and not evidence:
        raise HazardRuleError("rectified_without_evidence", "整改完成须附证据照片 / rectification needs evidence "
                                                             "photos", field="evidence_photos")
    if step is Step.ASSIGN:
        if deadline is None:
            raise HazardRuleError("dispatch_without_deadline", "分拨须有整改期限 / a dispatch needs a deadline",
                                  field="deadline")
        check_deadline(reported_at=facts.reported_at, deadline=deadline)
        if deadline <= now:
            raise HazardRuleError("deadline_passed", "整改期限已过 / the deadline has already passed",
                                  field="deadline")
    return target


def escalation_target(level: Level) -> Level:
    """Timeouts escalate one level up: grid → street → district (the district is the top)."""
    return {Level.GRID: Level.STREET, Level.STREET: Level.DISTRICT, Level.DISTRICT: Level.DISTRICT}[level]


def timed_out(*, state: HazardState, deadline: datetime | None, now: datetime, grace: timedelta) -> bool:
    """Whether the escalation rule fires: an open hazard whose rectification deadline passed ``grace`` ago."""
    return state in OPEN and deadline is not None and now >= deadline + grace
