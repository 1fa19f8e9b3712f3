"""Who spoke when, from one party's recording: WebRTC's voice activity
detector (webrtcvad-wheels, no model to download) over 30 ms frames,
smoothed into speech segments. Runs in a child process (quality/service.py):
a minute of audio costs milliseconds of CPU, but never the event loop's."""

from __future__ import annotations

import wave
from pathlib import Path

FRAME_MS = 30
RATES = (8000, 16000, 32000, 48000)
# A pause shorter than this inside speech is still speech (breaths, stops).
BRIDGE_S = 0.3
# A burst shorter than this is a click or line noise, not a word.
SHORTEST_S = 0.2


class AudioError(ValueError):
    """A file the detector cannot read (not 16-bit mono PCM at a rate it knows)."""


def speech(path: Path, aggressiveness: int = 2) -> tuple[list[tuple[float, float]], float]:
    """(speech segments as (start, end) seconds, the file's length in seconds)."""
    import webrtcvad  # the child process's import; the controller never loads it

    try:
        with wave.open(str(path), "rb") as w:
            rate, width, channels, frames = w.getframerate(), w.getsampwidth(), w.getnchannels(), w.getnframes()
            pcm = w.readframes(frames)
    except (wave.Error, EOFError) as exc:
        raise AudioError(f"{path.name}: {exc}") from None
    if width != 2 or channels != 1 or rate not in RATES:
        raise AudioError(f"{path.name}: {rate} Hz, {width * 8}-bit, {channels} channels")
    vad = webrtcvad.Vad(aggressiveness)
    step = rate * FRAME_MS // 1000 * 2
    voiced = [vad.is_speech(pcm[i : i + step], rate) for i in range(0, len(pcm) - step + 1, step)]
    return smooth(voiced, FRAME_MS / 1000), frames / rate


def smooth(voiced: list[bool], frame_s: float) -> list[tuple[float, float]]:
    """Frames into segments: short pauses bridged, short bursts dropped (pure)."""
    raw: list[tuple[float, float]] = []
    start = None
    for i, v in enumerate([*voiced, False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            raw.append((start * frame_s, i * frame_s))
            start = None
    merged: list[tuple[float, float]] = []
    for a, b in raw:
        if merged and a - merged[-1][1] < BRIDGE_S:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return [(round(a, 2), round(b, 2)) for a, b in merged if b - a >= SHORTEST_S]


def analyse(
    caller: str, agent: str, aggressiveness: int
) -> tuple[list[tuple[float, float]], list[tuple[float, float]], float, float]:
    """The child process's whole job for one call: (agent's speech, caller's
    speech, the call's length, the CPU seconds it took)."""
    import time

    t0 = time.process_time()
    heard, length_c = speech(Path(caller), aggressiveness)
    said, length_a = speech(Path(agent), aggressiveness)
    return said, heard, max(length_a, length_c), time.process_time() - t0
