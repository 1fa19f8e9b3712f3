"""Who may open a FastAGI session: only Asterisk, for a call it really has.

The FastAGI port is open to every local process. A forged session could
otherwise make the controller book a callback to any number with caller ID
12345, or write call rows under a chosen call id. So a session is served
only when

* it carries the key the rendered dialplan holds (a private file), and
* its channel is live on the PBX as the mirror knows it (same unique id,
  same channel name), and for the IVR, the call id it reports is that
  channel's own.

The mirror learns of a channel from AMI, which may run a little behind the
AGI connection under load: the guard waits up to `wait` seconds for it.
"""

from __future__ import annotations

import asyncio
import hmac
import time

from hotline.ami.fastagi import AGISession
from hotline.ami.mirror import Channel, PbxMirror


class AgiGuard:
    def __init__(self, mirror: PbxMirror, key: str, wait: float = 2.0):
        self.mirror = mirror
        self.key = key.encode()
        self.wait = wait

    async def live_channel(self, session: AGISession) -> Channel | None:
        deadline = time.monotonic() + self.wait
        while True:
            chan = self.mirror.channels.get(session.uniqueid) if self.mirror.synced else None
            if chan is not None:
                return chan if chan.name == session.channel else None
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.02)

    async def __call__(self, session: AGISession) -> str | None:
        """None to serve the session, else why it is refused."""
        given = (session.args.get("key") or [""])[0].encode()
        if not self.key or not hmac.compare_digest(given, self.key):
            return "wrong or missing key"
        chan = await self.live_channel(session)
        if chan is None:
            return f"no live channel {session.channel!r} ({session.uniqueid!r})"
        if session.script == "ivr" and session.arg(1) not in ("", session.uniqueid):
            return f"call id {session.arg(1)!r} is not the channel's own"
        session.live = chan
        return None
