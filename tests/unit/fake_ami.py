"""A scripted AMI server on loopback, for feeding the client bad input.

Only for unit tests of the client's parsing and resilience; everything the
client does with Asterisk is tested against the real PBX.
"""

from __future__ import annotations

import asyncio

from hotline.ami.protocol import FrameBuffer, Message


class FakeAMI:
    def __init__(self) -> None:
        self.writers: list[asyncio.StreamWriter] = []
        self.actions: list[Message] = []
        self.logins = 0
        self.answer_pings = True
        # What `core waitfullybooted` answers; None: it never answers.
        self.booted_output: str | None = None
        # Sent right after a login's reply (Asterisk's FullyBooted, say).
        self.on_login = b""
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        for w in self.writers:
            w.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def send(self, data: bytes) -> None:
        w = self.writers[-1]
        w.write(data)
        await w.drain()

    def hang_up(self) -> None:
        self.writers[-1].close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        frames = FrameBuffer()
        try:
            while data := await reader.read(4096):
                for msg in frames.feed(data):
                    assert isinstance(msg, Message)
                    self.actions.append(msg)
                    action = msg.get("Action").lower()
                    aid = msg.action_id
                    if action == "login":
                        self.logins += 1
                        writer.write(
                            f"Response: Success\r\nActionID: {aid}\r\nMessage: Authentication accepted\r\n\r\n".encode()
                        )
                        writer.write(self.on_login)
                    elif action == "filter":
                        writer.write(
                            f"Response: Success\r\nActionID: {aid}\r\nMessage: Filter Added Successfully\r\n\r\n".encode()
                        )
                    elif action == "ping" and self.answer_pings:
                        writer.write(f"Response: Success\r\nActionID: {aid}\r\nPing: Pong\r\n\r\n".encode())
                    elif action == "command" and msg.get("Command") == "core waitfullybooted":
                        if self.booted_output is not None:
                            writer.write(
                                f"Response: Success\r\nActionID: {aid}\r\nOutput: {self.booted_output}\r\n\r\n".encode()
                            )
                    elif action == "fail":
                        writer.write(
                            f"Response: Error\r\nActionID: {aid}\r\nMessage: Permission denied\r\n\r\n".encode()
                        )
                await writer.drain()
        except ConnectionError:
            pass
