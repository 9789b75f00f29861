"""Presentations and cooldown, with fake time: one alarm per presentation of a card."""

from __future__ import annotations

import pytest

from appliance.scanner.debounce import MAX_TRACKED, Debouncer, Presentation, Verdict

A, B = "card-a", "card-b"


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


def show(debouncer: Debouncer, clock: FakeTime, keys: list[str], *, seconds: float, fps: float = 15) -> list:
    """Show `keys` in every frame for `seconds`, acting like the runner (fire on NEW); all presentations."""
    started = []
    for _ in range(round(seconds * fps)):
        for p in debouncer.observe(keys):
            started.append(p)
            if p.verdict is Verdict.NEW:
                debouncer.fired(p.key)
        clock.t += 1 / fps
    return started


def test_a_card_held_still_for_ten_seconds_is_one_presentation(clock):
    d = Debouncer(cooldown=30, clock=clock)
    assert show(d, clock, [A], seconds=10) == [Presentation(A, Verdict.NEW)]


def test_a_card_held_past_its_cooldown_is_still_one_presentation(clock):
    d = Debouncer(cooldown=3, clock=clock)
    assert show(d, clock, [A], seconds=20) == [Presentation(A, Verdict.NEW)]


def test_frames_that_miss_the_card_briefly_do_not_end_the_presentation(clock):
    d = Debouncer(cooldown=0, clock=clock)
    started = show(d, clock, [A], seconds=1)
    started += show(d, clock, [], seconds=1.5)  # blurred frames
    started += show(d, clock, [A], seconds=1)
    assert started == [Presentation(A, Verdict.NEW)]


@pytest.mark.parametrize(
    ("cooldown", "away", "expected"),
    [
        (30, 2.5, Verdict.REPEAT),  # left the view, but the cooldown has not passed
        (30, 31, Verdict.NEW),  # both passed
        (1, 1.5, None),  # cooldown passed, but it never left the view for 2 s: same presentation
        (1, 2.5, Verdict.NEW),
        (0, 2.0, Verdict.NEW),
    ],
)
def test_the_same_card_again_needs_two_seconds_away_and_the_cooldown(clock, cooldown, away, expected):
    d = Debouncer(cooldown=cooldown, clock=clock)
    show(d, clock, [A], seconds=0.5)
    clock.t += away
    again = show(d, clock, [A], seconds=0.5)
    assert again == ([Presentation(A, expected)] if expected else [])


def test_a_repeat_does_not_restart_the_cooldown(clock):
    d = Debouncer(cooldown=10, clock=clock)
    show(d, clock, [A], seconds=0.5)  # alarm at t0
    clock.t += 3
    assert show(d, clock, [A], seconds=0.5) == [Presentation(A, Verdict.REPEAT)]
    clock.t += 7  # 11 s after the alarm, 7 s after the repeat
    assert show(d, clock, [A], seconds=0.5) == [Presentation(A, Verdict.NEW)]


def test_two_cards_in_one_frame_are_two_presentations(clock):
    d = Debouncer(cooldown=30, clock=clock)
    assert show(d, clock, [A, B], seconds=3) == [Presentation(A, Verdict.NEW), Presentation(B, Verdict.NEW)]


def test_a_second_card_joining_later_is_its_own_presentation(clock):
    d = Debouncer(cooldown=30, clock=clock)
    started = show(d, clock, [A], seconds=1) + show(d, clock, [A, B], seconds=1)
    assert started == [Presentation(A, Verdict.NEW), Presentation(B, Verdict.NEW)]


def test_a_rejected_code_without_fired_is_new_at_each_presentation(clock):
    d = Debouncer(cooldown=30, clock=clock)
    assert d.observe(["foreign"]) == [Presentation("foreign", Verdict.NEW)]
    clock.t += 1
    assert d.observe(["foreign"]) == []  # still in view: no second red blink
    clock.t += 3
    assert d.observe(["foreign"]) == [Presentation("foreign", Verdict.NEW)]


def test_repeated_keys_in_one_frame_count_once(clock):
    d = Debouncer(cooldown=30, clock=clock)
    assert d.observe([A, A, A]) == [Presentation(A, Verdict.NEW)]


def test_in_view_lists_cards_still_being_presented(clock):
    d = Debouncer(cooldown=30, clock=clock)
    d.observe([A, B])
    clock.t += 1
    d.observe([A])
    clock.t += 1.5
    assert d.in_view() == [A]


def test_a_flood_of_codes_never_forgets_a_cooling_card(clock):
    d = Debouncer(cooldown=60, clock=clock)
    show(d, clock, [A], seconds=0.2)
    for i in range(MAX_TRACKED * 2):
        d.observe([f"junk-{i}"])
        clock.t += 0.001
    clock.t += 3
    assert d.observe([A]) == [Presentation(A, Verdict.REPEAT)]
    assert len(d._tracks) <= MAX_TRACKED


def test_a_seeded_card_is_out_of_view_and_cooling(clock):
    d = Debouncer(cooldown=30, clock=clock)
    d.seed(A, fired_ago=10)
    assert d.observe([A]) == [Presentation(A, Verdict.REPEAT)]
    clock.t += 3
    assert d.observe([A]) == [Presentation(A, Verdict.REPEAT)]  # 13 s after its alarm
    clock.t += 20
    assert d.observe([A]) == [Presentation(A, Verdict.NEW)]  # 33 s after
