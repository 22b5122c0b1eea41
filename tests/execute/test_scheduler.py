"""The scheduler: units in plan order as workers free up, a dead worker's rest at the front."""

from __future__ import annotations

from fastci.execute.scheduler import LongestFirst, Scheduler
from fastci.plan.planner import Unit


def unit(name: str, duration: float = 1.0) -> Unit:
    return Unit(id=name, files=(name,), duration=duration)


def test_units_go_out_in_plan_order_then_none() -> None:
    scheduler: Scheduler = LongestFirst()
    scheduler.add([unit("big", 9), unit("mid", 5), unit("small", 1)])
    assert scheduler.pending() == 3
    assert [scheduler.next_for(w) for w in ("gw0", "gw1", "gw0")] == [
        unit("big", 9), unit("mid", 5), unit("small", 1),
    ]  # fmt: skip
    assert scheduler.next_for("gw1") is None


def test_a_requeued_unit_goes_out_before_the_rest_unless_asked_otherwise() -> None:
    scheduler = LongestFirst()
    scheduler.add([unit("a"), unit("b")])
    first = scheduler.next_for("gw0")
    assert first is not None
    rest = first._replace(tests=("a::test_2",))
    scheduler.requeue(rest, front=True)
    scheduler.requeue(unit("late"), front=False)
    assert scheduler.next_for("gw1") == rest
    assert scheduler.drain() == [unit("b"), unit("late")]
    assert scheduler.pending() == 0
    assert scheduler.next_for("gw0") is None
