"""Work the IVR and the ACD hand over: a recorded voice message (a lawyer's
for legal messages), and a callback whose automatic attempts are spent; the
work queue's hooks, run in the transaction that records either."""

from __future__ import annotations

from hotline.acd.callbacks import CallbackGaveUp
from hotline.ivr.agi import MessageRecorded
from hotline.numbers import mask_number
from hotline.work import rows
from hotline.work.policy import WorkPolicy


class MessageWork:
    def __init__(self, policy: WorkPolicy):
        self.policy = policy

    async def on_message(self, e: MessageRecorded) -> None:
        msg = e.message
        kind = "legal" if e.for_lawyers else "voicemail"
        not_before, due = e.window if e.window is not None else (0.0, None)
        await rows.enqueue(
            e.db,
            self.policy,
            kind=kind,
            now=e.at,
            ref=str(msg.id),
            category=msg.category,
            due_at=due,
            not_before=not_before,
            title=f"{mask_number(msg.caller)} 的"
            + ("法律咨询留言" if kind == "legal" else "语音留言")
            + (f"（{msg.category}）" if msg.category else ""),
        )


class CallbackWork:
    def __init__(self, policy: WorkPolicy):
        self.policy = policy

    async def on_gave_up(self, e: CallbackGaveUp) -> None:
        await rows.enqueue(
            e.db,
            self.policy,
            kind="callback",
            now=e.at,
            ref=str(e.callback_id),
            title=f"来电 {mask_number(e.number)} 自动回拨 {e.attempts} 次未接通",
        )
