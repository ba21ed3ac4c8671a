"""The hazard lifecycle's pure rules: the scripted flow, the named refusals, and properties over random steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from cloud.hazards.lifecycle import (
    OPEN,
    Actor,
    ActorKind,
    Facts,
    HazardRuleError,
    HazardState,
    Level,
    Mode,
    Step,
    check_deadline,
    escalation_target,
    next_state,
    timed_out,
)

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
FINDER = Actor(ActorKind.OFFICER, is_finder=True)
OTHER_OFFICER = Actor(ActorKind.OFFICER)
SUPERVISOR = Actor(ActorKind.SUPERVISOR)
ENTERPRISE = Actor(ActorKind.ENTERPRISE)
SYSTEM = Actor(ActorKind.SYSTEM)


def facts(state: HazardState, mode: Mode = Mode.COMBINED) -> Facts:
    return Facts(state=state, mode=mode, reported_at=T0, last_step_at=T0)


def refused(rule: str, *args: object, **kw: object) -> HazardRuleError:
    with pytest.raises(HazardRuleError) as caught:
        next_state(*args, **kw)  # type: ignore[arg-type]
    assert caught.value.rule == rule, caught.value
    return caught.value


def test_combined_mode_the_finder_follows_it_to_closure() -> None:
    now, state = T0 + timedelta(hours=1), HazardState.REPORTED
    for step, actor in ((Step.ASSIGN, FINDER), (Step.START, ENTERPRISE), (Step.RECTIFY, ENTERPRISE),
                        (Step.VERIFY, FINDER), (Step.CLOSE, FINDER)):
        state = next_state(facts(state), step, actor, now=now, evidence=True, deadline=T0 + timedelta(days=7))
    assert state is HazardState.CLOSED


def test_closed_without_verification_is_refused_naming_the_rule() -> None:
    for state in OPEN:
        error = refused("closed_without_verification", facts(state), Step.CLOSE, SUPERVISOR, now=T0)
        assert error.field == "state"


def test_a_deadline_before_the_report_is_refused_naming_the_rule() -> None:
    with pytest.raises(HazardRuleError) as caught:
        check_deadline(reported_at=T0, deadline=T0 - timedelta(minutes=1))
    assert (caught.value.rule, caught.value.field) == ("deadline_before_report", "deadline")
    refused("deadline_before_report", facts(HazardState.REPORTED), Step.ASSIGN, SUPERVISOR, now=T0,
            deadline=T0 - timedelta(days=1))
    refused("dispatch_without_deadline", facts(HazardState.REPORTED), Step.ASSIGN, SUPERVISOR, now=T0)


def test_modes_decide_which_officer_acts() -> None:
    refused("combined_mode_finder_only", facts(HazardState.REPORTED), Step.ASSIGN, OTHER_OFFICER, now=T0,
            deadline=T0 + timedelta(days=1))
    refused("separated_mode_hand_over", facts(HazardState.REPORTED, Mode.SEPARATED), Step.ASSIGN, FINDER, now=T0,
            deadline=T0 + timedelta(days=1))
    assert next_state(facts(HazardState.REPORTED, Mode.SEPARATED), Step.ASSIGN, OTHER_OFFICER, now=T0,
                      deadline=T0 + timedelta(days=1)) is HazardState.ASSIGNED


def test_the_enterprise_never_verifies_its_own_work_and_rectification_needs_evidence() -> None:
    refused("not_your_step", facts(HazardState.RECTIFIED), Step.VERIFY, ENTERPRISE, now=T0)
    refused("rectified_without_evidence", facts(HazardState.RECTIFYING), Step.RECTIFY, ENTERPRISE, now=T0)
    refused("not_your_step", facts(HazardState.ASSIGNED), Step.START, SYSTEM, now=T0)


def test_timeouts_escalate_street_to_district() -> None:
    assert escalation_target(Level.GRID) is Level.STREET
    assert escalation_target(Level.STREET) is Level.DISTRICT
    assert escalation_target(Level.DISTRICT) is Level.DISTRICT
    deadline, grace = T0 + timedelta(days=1), timedelta(hours=2)
    assert not timed_out(state=HazardState.ASSIGNED, deadline=deadline, now=deadline + grace / 2, grace=grace)
    assert timed_out(state=HazardState.ASSIGNED, deadline=deadline, now=deadline + grace, grace=grace)
    assert not timed_out(state=HazardState.CLOSED, deadline=deadline, now=deadline + grace, grace=grace)
    assert not timed_out(state=HazardState.ESCALATED, deadline=deadline, now=deadline + grace, grace=grace)
    assert next_state(facts(HazardState.RECTIFYING), Step.ESCALATE, SYSTEM, now=T0) is HazardState.ESCALATED


ACTORS = [FINDER, OTHER_OFFICER, SUPERVISOR, ENTERPRISE, SYSTEM]


class HazardMachine(RuleBasedStateMachine):
    """Random steps by random actors at random times: whatever is accepted keeps the lifecycle's promises."""

    def __init__(self) -> None:
        super().__init__()
        self.mode = Mode.COMBINED
        self.state = HazardState.REPORTED
        self.now = self.last = T0
        self.history: list[tuple[HazardState, Step, HazardState, Actor]] = []

    @rule(mode=st.sampled_from(list(Mode)))
    def set_mode(self, mode: Mode) -> None:
        if not self.history:  # the mode is fixed when the hazard is reported
            self.mode = mode

    @rule(step=st.sampled_from(list(Step)), actor=st.sampled_from(ACTORS), evidence=st.booleans(),
          advance_s=st.integers(-3600, 86400), deadline_s=st.none() | st.integers(-86400, 30 * 86400))
    def take(self, step: Step, actor: Actor, evidence: bool, advance_s: int, deadline_s: int | None) -> None:
        now = self.now + timedelta(seconds=advance_s)
        deadline = None if deadline_s is None else now + timedelta(seconds=deadline_s)
        before = self.state
        try:
            after = next_state(Facts(self.state, self.mode, T0, self.last), step, actor, now=now,
                               evidence=evidence, deadline=deadline)
        except HazardRuleError as error:
            assert error.rule  # refused: nothing moves
            assert self.state is before
            return
        assert now >= self.last
        if step is Step.RECTIFY:
            assert evidence
        if step is Step.ASSIGN:
            assert deadline is not None and deadline > now and deadline > T0
        if actor.kind is ActorKind.ENTERPRISE:
            assert step in (Step.START, Step.RECTIFY)
        if actor.kind is ActorKind.SYSTEM:
            assert step is Step.ESCALATE
        if actor.kind is ActorKind.OFFICER:
            assert actor.is_finder == (self.mode is Mode.COMBINED)
        self.history.append((before, step, after, actor))
        self.state, self.now, self.last = after, now, now

    @invariant()
    def closed_only_after_verification(self) -> None:
        for before, step, after, _ in self.history:
            if after is HazardState.CLOSED:
                assert before is HazardState.VERIFIED and step is Step.CLOSE

    @invariant()
    def verified_only_after_rectification(self) -> None:
        for before, _, after, _ in self.history:
            if after is HazardState.VERIFIED:
                assert before is HazardState.RECTIFIED

    @invariant()
    def closed_is_final(self) -> None:
        states = [after for _, _, after, _ in self.history]
        if HazardState.CLOSED in states:
            assert states[states.index(HazardState.CLOSED):] == [HazardState.CLOSED]


HazardMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestHazardMachine = HazardMachine.TestCase
