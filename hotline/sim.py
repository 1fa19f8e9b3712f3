"""Simulated callers and seats, for demos, tests and load runs.

No SIP stack is needed (DESIGN.md): a caller is an AMI Originate of
Local/<number>@from-pstn whose ;1 half waits, and a simulated seat is a Local
channel into context sim-seat that answers by itself. The controller treats
them like real phones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hotline.ami.client import AMIClient

# What a speaking simulated caller says: the hold tune, about 11 s a turn.
SPEECH = "/var/lib/asterisk/hotline/moh/hold"


def seat_interface(seat: str) -> str:
    # '/n' keeps the Local channel pair from optimising itself away, so the
    # queue sees a stable member channel for the whole call.
    return f"Local/{seat}@sim-seat/n"


async def call_in(
    client: AMIClient,
    caller: str,
    *,
    number: str = "12345",
    name: str = "",
    hold_s: int = 600,
    speak: bool = False,
    listen: str = "",
) -> None:
    """Place a simulated call from `caller` to `number` in from-pstn.

    A silent caller (Wait) sends no audio at all, so a recording of it stays
    empty; `speak` has the caller send a steady sound (the hold music) the
    way a real phone always sends audio. (MusicOnHold on the originated half
    was measured sending nothing into the call; Playback does.) `listen`
    keeps what the caller hears instead, for a test to measure.
    """
    caller_id = f'"{name}" <{caller}>' if name else f"<{caller}>"
    if listen:
        # The caller's half records what it hears (sim-listener, sim-heard-<listen>.wav).
        await client.action(
            "Originate",
            Channel=f"Local/{number}@from-pstn",
            Context="sim-listener",
            Exten=listen,
            Priority="1",
            CallerID=caller_id,
            Async="true",
            Timeout=30000,
        )
        return
    await client.action(
        "Originate",
        Channel=f"Local/{number}@from-pstn",
        Application="Playback" if speak else "Wait",
        Data="&".join([SPEECH] * 10) if speak else str(hold_s),
        CallerID=caller_id,
        Async="true",
        Timeout=30000,
    )


async def watch(client: AMIClient, handlers: dict[type, Callable[[Any], Any]]) -> None:
    """A load script's event handlers registered, then the connection up."""
    for kind, handler in handlers.items():
        client.on(kind, handler)
    await client.start()
    await client.wait_connected(10)
