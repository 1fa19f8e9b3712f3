from __future__ import annotations

import asyncio

from hotline.acd.views import HeaderView, LinesView, SeatView
from hotline.seatmap import model
from hotline.seatmap.hub import RESYNC, Viewer
from hotline.seatmap.terminal import render


def floor(status: str = "ready", caller: str = "", waiting: float = 0.0) -> dict:
    """A one-seat floor as the hub builds it from the ACD's read models."""
    seat = SeatView(
        seat="seat01",
        agent="a1",
        agent_name="王芳",
        status=status,
        pause_reason="",
        on_line=True,
        standby=False,
        since=100.0,
        caller=caller,
        wrapup_until=None,
        desynced=None,
        tag="城建" if caller else "",
        category="挪车" if caller else "",
    )
    head = HeaderView(
        lines=LinesView(
            window="day", scheduled=6, target=6, override=None, standby_active=False, standby_reason="", staffed=1
        ),
        waiting=1 if waiting else 0,
        longest_wait_s=waiting,
    )
    return model.build([seat], head)


def test_talking_seat_shows_masked_caller_tag_and_category() -> None:
    seat = floor("talking", "13800000000")["seats"]["seat01"]
    assert (seat["caller"], seat["tag"], seat["category"], seat["text"]) == ("138****0000", "城建", "挪车", "通话中")
    idle = floor("ready", "13800000000")["seats"]["seat01"]
    assert idle["caller"] == "" and idle["category"] == ""  # nothing shown once the call is over


def test_a_slow_viewer_loses_its_backlog_and_gets_a_snapshot() -> None:
    async def go() -> None:
        v = Viewer(queue=asyncio.Queue(maxsize=3))
        v.resync = False
        for i in range(10):
            v.offer(f'{{"type": "delta", "n": {i}}}')
        assert v.resync and v.dropped == 3 and v.queue.qsize() == 1
        assert v.queue.get_nowait() == RESYNC

    asyncio.run(go())


def test_terminal_view_renders() -> None:
    from rich.console import Console

    console = Console(width=120, record=True)
    console.print(render(floor("talking", "13800000000", waiting=20.0)))
    text = console.export_text()
    assert "seat01" in text and "通话中" in text and "138****0000" in text and "超过 15 秒" in text
