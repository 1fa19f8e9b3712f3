"""Simulated callers and seats, for demos, tests and load runs.

No SIP stack is needed (DESIGN.md): a caller is an AMI Originate of
Local/<number>@from-pstn whose ;1 half waits, and a simulated seat is a Local
channel into context sim-seat that answers by itself. The controller treats
them like real phones.
"""

from __future__ import annotations

from hotline.ami.client import AMIClient


def seat_interface(seat: str) -> str:
    # '/n' keeps the Local channel pair from optimising itself away, so the
    # queue sees a stable member channel for the whole call.
    return f"Local/{seat}@sim-seat/n"


async def call_in(client: AMIClient, caller: str, *, number: str = "12345", name: str = "",
                  hold_s: int = 600) -> None:
    """Place a simulated call from `caller` to `number` in from-pstn."""
    caller_id = f'"{name}" <{caller}>' if name else f"<{caller}>"
    await client.action(
        "Originate",
        Channel=f"Local/{number}@from-pstn",
        Application="Wait",
        Data=str(hold_s),
        CallerID=caller_id,
        Async="true",
        Timeout=30000,
    )
