"""A seat's call ended on its leg's Hangup: the late AgentComplete is taken
for that call, never for the one the seat is on by then."""

from __future__ import annotations

from hotline.ami import events as ev
from hotline.ami.legs import KEEP, EarlyEnds

SEAT = "Local/seat01@sim-seat/n"


def complete(dest: str = "", uniqueid: str = "", interface: str = SEAT) -> ev.AgentComplete:
    return ev.AgentComplete(interface=interface, dest_channel=dest, uniqueid=uniqueid)


def test_the_late_complete_is_known_by_the_leg_the_caller_or_its_missing_leg() -> None:
    early = EarlyEnds()
    early.mark(SEAT, "Local/seat01@sim-seat-01;1", "100.1")
    early.mark(SEAT, "Local/seat01@sim-seat-02;1", "100.2")
    early.mark(SEAT, "Local/seat01@sim-seat-03;1", "100.3")
    assert early.late(complete(uniqueid="100.2"))  # the caller named (its leg gone)
    assert early.late(complete(dest="Local/seat01@sim-seat-03;1"))  # the leg named
    # The call the seat is on now names its own leg: not a late one.
    assert not early.late(complete(dest="Local/seat01@sim-seat-04;1", uniqueid="100.4"))
    # Neither named: the oldest call that ended early.
    assert early.late(complete())
    assert not early.late(complete())  # nothing pending any more: a real completion
    assert not early.late(complete(uniqueid="100.1"))


def test_other_seats_and_forgotten_calls() -> None:
    early = EarlyEnds()
    early.mark(SEAT, "leg-a", "1.1")
    assert not early.late(complete(interface="Local/seat02@sim-seat/n"))
    for i in range(KEEP + 5):
        early.mark(SEAT, f"leg-{i}", f"2.{i}")
    assert not early.late(complete(dest="leg-a", uniqueid="1.1"))  # forgotten: a bound on what is kept
    assert early.late(complete(uniqueid=f"2.{KEEP + 4}"))
