"""AMI wire format: framing and parsing, no I/O.

A message is a block of ``Key: Value`` lines ended by an empty line (CRLF
CRLF). Bytes are buffered until a whole message is there and only then
decoded, so a multi-byte character split across TCP reads arrives whole
(panoramisk 1.4 decoded each read on its own and lost characters).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

SEPARATOR = b"\r\n\r\n"


@dataclass(frozen=True, slots=True)
class Message:
    """One AMI message; keys keep their order and may repeat (Output, ChanVariable)."""

    pairs: tuple[tuple[str, str], ...]
    # Lower-cased key -> first value; parse() fills it as it reads the lines.
    _index: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    # ChanVariable name -> value, made the first time one is asked for.
    _vars: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.pairs and not self._index:
            for key, value in self.pairs:
                self._index.setdefault(key.lower(), value)

    def get(self, key: str, default: str = "") -> str:
        return self._index.get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._index

    def all(self, key: str) -> list[str]:
        k = key.lower()
        return [v for name, v in self.pairs if name.lower() == k]

    def chan_var(self, name: str) -> str:
        """A channel variable sent along as `ChanVariable: NAME=value` (the first, as Asterisk sends each once)."""
        if not self._vars and "chanvariable" in self._index:
            for key, value in self.pairs:
                if key.lower() == "chanvariable":
                    var, _, val = value.partition("=")
                    self._vars.setdefault(var, val)
        return self._vars.get(name, "")

    @property
    def event(self) -> str:
        return self.get("Event")

    @property
    def response(self) -> str:
        return self.get("Response")

    @property
    def action_id(self) -> str:
        return self.get("ActionID")

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.pairs}


@dataclass(frozen=True, slots=True)
class FrameError:
    """Something on the wire that is not a message; reported, never raised."""

    reason: str
    size: int


def parse(text: str) -> Message:
    pairs = []
    index: dict[str, str] = {}
    for line in text.split("\r\n"):
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep:
            # Old Asterisk 'Command' output arrives as bare lines; keep them.
            key, value = "Output", line
        else:
            key = key.strip()
            if value[:1] == " ":
                value = value[1:]
        pairs.append((key, value))
        index.setdefault(key.lower(), value)
    return Message(tuple(pairs), index)


class FrameBuffer:
    """Collects bytes and yields whole messages.

    A message larger than ``max_bytes`` is discarded up to its end and
    reported as a FrameError; the connection and later messages are unharmed.
    """

    def __init__(self, max_bytes: int = 4 * 1024 * 1024):
        self.max_bytes = max_bytes
        self._buf = bytearray()
        self._discarding = 0  # bytes dropped of an oversize message so far

    def feed(self, data: bytes) -> Iterator[Message | FrameError]:
        self._buf += data
        while True:
            end = self._buf.find(SEPARATOR)
            if end < 0:
                if len(self._buf) > self.max_bytes:
                    # Keep the tail in case it holds the start of the separator.
                    keep = len(SEPARATOR) - 1
                    self._discarding += len(self._buf) - keep
                    del self._buf[:-keep]
                return
            raw = bytes(self._buf[:end])
            del self._buf[: end + len(SEPARATOR)]
            if self._discarding or end > self.max_bytes:
                yield FrameError("message larger than the limit was dropped", self._discarding + end)
                self._discarding = 0
                continue
            if not raw.strip():
                continue
            text = raw.decode("utf-8", errors="replace")
            yield parse(text)

    @property
    def pending(self) -> int:
        return len(self._buf)


def encode(action: str, fields: dict[str, object]) -> bytes:
    """Serialise an action; CR/LF in values would inject headers, so refuse them."""
    lines = [f"Action: {action}"]
    for key, value in fields.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            s = "" if v is None else (("true" if v else "false") if isinstance(v, bool) else str(v))
            if "\r" in s or "\n" in s or "\r" in key or "\n" in key:
                raise ValueError(f"AMI field {key!r} holds a line break")
            lines.append(f"{key}: {s}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
