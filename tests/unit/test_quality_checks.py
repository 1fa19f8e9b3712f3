"""Quality checks from who spoke when (pure), and the detector on real speech."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hotline.config import QualitySettings
from hotline.quality.checks import flags, measure, mmss, sampled, shift_of
from hotline.quality.vad import smooth, speech

CFG = QualitySettings()


def test_a_call_with_a_long_silence_and_overtalk_is_measured_and_flagged() -> None:
    # The agent greets, falls silent 12 s, then talks over the caller.
    agent = [(0.4, 2.5), (14.5, 20.5)]
    caller = [(16.0, 22.0)]
    c = measure(agent, caller, 22.5)
    assert c.greet_s == 0.4
    assert (c.longest_silence_s, c.longest_silence_at) == (12.0, 2.5)
    assert c.overtalk == ((16.0, 20.5),) and c.overtalk_s == 4.5
    assert c.overtalk_share == pytest.approx(4.5 / 22.5, abs=0.001)
    assert c.agent_share == pytest.approx(8.1 / 14.1, abs=0.001)
    got = {
        f.code: f for f in flags(c, CFG, {"category": "env", "district": "东城区", "address": "", "content": "噪音"})
    }
    assert set(got) == {"silence", "overtalk", "ticket-incomplete"}
    assert got["silence"].text == "静音 12 秒（00:02 起）" and got["silence"].at == 2.5
    assert got["overtalk"].at == 16.0 and "20%" in got["overtalk"].text
    assert got["ticket-incomplete"].text == "工单缺少：地址"


def test_hold_is_neither_silence_nor_talk_and_a_tidy_call_is_not_flagged() -> None:
    agent = [(0.5, 5.0), (40.0, 50.0)]
    caller = [(5.5, 10.0), (50.5, 55.0)]
    c = measure(agent, caller, 55.4, holds=[(10.0, 40.0)])
    assert c.hold_s == 30.0 and c.longest_silence_s == 0.5
    assert flags(c, CFG, {"category": "a", "district": "b", "address": "c", "content": "d"}) == []


def test_an_agent_who_never_speaks_or_greets_late_is_flagged() -> None:
    assert [f.code for f in flags(measure([], [(0.0, 3.0)], 4.0), CFG, None)] == ["no-greeting"]
    late = flags(measure([(7.0, 9.0)], [(0.0, 3.0)], 10.0), CFG, None)
    assert [f.text for f in late] == ["接通 7 秒后才问候"]
    assert mmss(75.2) == "01:15"


def test_frames_become_segments_short_pauses_bridged_short_bursts_dropped() -> None:
    frames = [True] * 10 + [False] * 5 + [True] * 10 + [False] * 20 + [True] * 3 + [False] * 30 + [True] * 10
    # 0.03 s frames: a 0.15 s pause is bridged, a 0.09 s burst is noise.
    assert smooth(frames, 0.03) == [(0.0, 0.75), (2.34, 2.64)]


@pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("sox") is None, reason="needs espeak-ng and sox")
def test_the_detector_finds_spoken_mandarin_and_not_the_silence_around_it(tmp_path: Path) -> None:
    said = tmp_path / "said.wav"
    subprocess.run(
        ["espeak-ng", "-v", "cmn", "-w", str(said), "--stdin"], input="您好，这里是市民服务热线".encode(), check=True
    )
    out = tmp_path / "call.wav"
    # 2 s of silence, the words, 3 s of silence; at the PBX's 8 kHz, 16-bit mono.
    subprocess.run(["sox", str(said), "-r", "8000", "-c", "1", "-b", "16", str(out), "pad", "2", "3"], check=True)
    segments, length = speech(out)
    assert segments, "no speech found"
    assert 1.8 <= segments[0][0] <= 2.3
    assert length - 3.3 <= segments[-1][1] <= length - 2.7


def test_a_call_counts_for_the_rostered_shift_that_began_last() -> None:
    import datetime as dt

    tz = dt.timezone(dt.timedelta(hours=8))
    day = dt.datetime(2026, 11, 25, tzinfo=tz)
    rostered = [
        ("zhang", "A", day.replace(hour=7), day.replace(hour=12)),
        ("zhang", "B", day.replace(hour=8, minute=30), day.replace(hour=17, minute=30)),
        ("li", "N", day.replace(hour=23), day.replace(hour=7, minute=30) + dt.timedelta(days=1)),
    ]
    assert shift_of("zhang", day.replace(hour=7, minute=45), rostered) == "A"
    assert shift_of("zhang", day.replace(hour=10), rostered) == "B"  # both cover it: B began later
    assert shift_of("li", day.replace(hour=2) + dt.timedelta(days=1), rostered) == "N"
    assert shift_of("li", day.replace(hour=10), rostered) == ""


def test_the_random_sample_of_unflagged_calls_is_the_share_asked_and_the_same_for_every_lead() -> None:
    ids = [f"1764000000.{i}" for i in range(10_000)]
    picked = [i for i in ids if sampled(i, 5.0)]
    assert 400 <= len(picked) <= 600  # 5 % of 10,000, give or take chance
    assert picked == [i for i in ids if sampled(i, 5.0)]  # the same on every look
    assert not any(sampled(i, 0.0) for i in ids[:500]) and all(sampled(i, 100.0) for i in ids[:500])
