"""Which job a free worker takes next (autograder.schedule)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from autograder.schedule import Schedule


@dataclass(frozen=True)
class FakeJob:
    student: str
    lesson: str
    canary: str | None = None
    fill_cache: bool = False


def students(lesson: str, count: int) -> list[FakeJob]:
    return [FakeJob(f"s{number}", lesson) for number in range(count)]


def take_all(schedule: Schedule) -> list[FakeJob]:
    taken = []
    while schedule:
        taken.append(schedule.take())
    return taken


def test_canaries_first_then_the_costliest_lesson_known_beforehand():
    canaries = [FakeJob("canary", "b", "solution"), FakeJob("canary", "b", "release")]
    schedule = Schedule([*students("a", 2), *canaries, *students("b", 2)],
                        prior={"a": 1.0, "b": 5.0})
    assert [job.lesson for job in take_all(schedule)] == ["b", "b", "b", "b", "a", "a"]


def test_measured_seconds_replace_the_prior_and_a_timeout_does_not_count_much():
    schedule = Schedule([*students("a", 5), *students("b", 5)], prior={"a": 9.0, "b": 1.0})
    first = schedule.take()
    assert first.lesson == "a"
    schedule.finished(first, 2.0)
    assert schedule.take().lesson == "a"  # 2 s measured is still more than b's prior
    for seconds in (3.0, 3.0):
        schedule.finished(FakeJob("x", "b"), seconds)
    assert schedule.take().lesson == "b"
    schedule.finished(FakeJob("y", "a"), 25.0)  # one submission ran into its timeout
    schedule.finished(FakeJob("z", "a"), 2.0)
    assert schedule.estimate("a") == 2.0
    assert schedule.take().lesson == "b"


def test_a_solution_canary_estimates_its_lesson_until_submissions_are_measured():
    solution = FakeJob("canary", "b", "solution")
    schedule = Schedule([solution, *students("a", 3), *students("b", 3)], prior={"a": 4.0})
    assert schedule.take() == solution
    assert schedule.take().lesson == "a"  # b: nothing known yet
    schedule.finished(solution, 7.0)
    assert schedule.estimate("b") == 7.0
    assert schedule.take().lesson == "b"


def test_a_lesson_whose_cache_is_being_filled_waits_while_others_have_work():
    filler = FakeJob("canary", "b", "solution", fill_cache=True)
    schedule = Schedule([filler, *students("a", 2), *students("b", 2)],
                        prior={"a": 1.0, "b": 50.0})
    assert schedule.take() == filler
    assert [schedule.take().lesson for _ in range(2)] == ["a", "a"]
    assert schedule.take().lesson == "b"  # nothing else is left: it goes anyway
    schedule.finished(filler, 30.0)
    assert schedule.take().lesson == "b"


@given(st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from([None, "solution"]),
                          st.booleans()), max_size=40),
       st.dictionaries(st.sampled_from("abcd"), st.floats(0, 100)),
       st.lists(st.floats(0, 100), max_size=40))
def test_every_job_is_handed_out_once_canaries_first_and_each_lesson_in_order(
        specs, prior, durations):
    jobs = [FakeJob(f"s{number}", lesson, canary, fill_cache=fill and canary is not None)
            for number, (lesson, canary, fill) in enumerate(specs)]
    schedule = Schedule(jobs, prior)
    taken = []
    while schedule:
        job = schedule.take()
        taken.append(job)
        if durations:
            schedule.finished(job, durations.pop())
    assert sorted(taken, key=jobs.index) == jobs
    kinds = [job.canary is None for job in taken]
    assert kinds == sorted(kinds)
    for lesson in "abcd":
        own = [job for job in taken if job.lesson == lesson and job.canary is None]
        assert own == [job for job in jobs if job.lesson == lesson and job.canary is None]
