"""Typed events and the PBX mirror, fed a transcript recorded from the real
bundled Asterisk (tests/unit/transcripts/call_answered.ami): a member paused
with a reason, a caller queued, the member unpaused, the call answered by a
simulated seat and hung up, the member removed."""

from __future__ import annotations

from pathlib import Path

from hotline.ami import events as ev
from hotline.ami.mirror import PbxMirror, Snapshot
from hotline.ami.protocol import FrameBuffer, Message

TRANSCRIPT = Path(__file__).parent / "transcripts" / "call_answered.ami"
SEAT = "Local/seat01@sim-seat/n"


def transcript_events() -> list[ev.Event]:
    data = TRANSCRIPT.read_bytes()
    _banner, _, rest = data.partition(b"\r\n")
    return [ev.parse_event(m) for m in FrameBuffer().feed(rest) if isinstance(m, Message) and m.event]


def empty_snapshot() -> Snapshot:
    params = ev.QueueParams(queue="hotline", strategy="leastrecent")
    return Snapshot(channels=[], queue_params=[params], queue_members=[], queue_entries=[], devices=[])


def test_transcript_parses_without_malformed_events() -> None:
    events = transcript_events()
    assert not [e for e in events if isinstance(e, ev.MalformedEvent)]
    kinds = {type(e) for e in events}
    assert {ev.AgentCalled, ev.AgentConnect, ev.AgentComplete, ev.QueueCallerJoin} <= kinds


def test_typed_fields() -> None:
    events = transcript_events()
    added = next(e for e in events if isinstance(e, ev.QueueMemberAdded))
    assert (added.member_name, added.paused, added.paused_reason) == ("王芳", True, "小休")
    unpaused = next(e for e in events if isinstance(e, ev.QueueMemberPause))
    assert (unpaused.interface, unpaused.paused) == (SEAT, False)
    join = next(e for e in events if isinstance(e, ev.QueueCallerJoin))
    assert (join.caller_id_num, join.caller_id_name, join.position) == ("13912345678", "李四", 1)
    complete = next(e for e in events if isinstance(e, ev.AgentComplete))
    assert complete.interface == SEAT and complete.talk_time >= 1
    assert complete.reason in ("agent", "caller")


def test_unknown_and_malformed_events_are_values_not_errors() -> None:
    unknown = ev.parse_event(Message((("Event", "SomethingNew"), ("X", "1"))))
    assert isinstance(unknown, ev.UnknownEvent) and unknown.name == "SomethingNew"
    bad = ev.parse_event(Message((("Event", "Newchannel"), ("ChannelState", "up"))))
    assert isinstance(bad, ev.MalformedEvent) and "ChannelState" in bad.error


def test_unknown_caller_id_is_empty() -> None:
    e = ev.parse_event(Message((("Event", "Newchannel"), ("CallerIDNum", "<unknown>"))))
    assert isinstance(e, ev.Newchannel) and e.caller_id_num == ""


def test_mirror_follows_the_call_and_reports_only_changes() -> None:
    mirror = PbxMirror()
    mirror.load(empty_snapshot())
    seen_member_paused = seen_caller_waiting = False
    changes = 0
    for e in transcript_events():
        changes += mirror.apply(e)
        q = mirror.queues["hotline"]
        member = q.members.get(SEAT)
        if member is not None and member.paused:
            seen_member_paused = member.paused_reason == "小休"
        if q.callers:
            seen_caller_waiting = True
    assert seen_member_paused and seen_caller_waiting
    assert mirror.channels == {}, "every channel of the call hung up"
    assert mirror.queues["hotline"].members == {}
    assert mirror.queues["hotline"].callers == {}
    # Applying an event twice changes nothing the second time.
    added = next(e for e in transcript_events() if isinstance(e, ev.QueueMemberAdded))
    assert mirror.apply(added) is True
    assert mirror.apply(added) is False
    assert 0 < changes < len(transcript_events())


def test_resync_snapshot_equals_event_built_state() -> None:
    events = transcript_events()
    qs2_members = [e for e in events if isinstance(e, ev.QueueMember)]
    qs2_entries = [e for e in events if isinstance(e, ev.QueueEntry)]
    assert qs2_members and qs2_entries
    snap = Snapshot(
        channels=[],
        queue_params=[ev.QueueParams(queue="hotline", strategy="leastrecent")],
        queue_members=qs2_members,
        queue_entries=qs2_entries,
        devices=[],
    )
    rebuilt = PbxMirror()
    rebuilt.load(snap)
    member = rebuilt.queues["hotline"].members[SEAT]
    assert (member.name, member.paused, member.paused_reason) == ("王芳", True, "小休")
    assert list(rebuilt.queues["hotline"].callers.values()) == [1]


def test_caller_positions_close_up_when_one_leaves() -> None:
    mirror = PbxMirror()
    mirror.load(empty_snapshot())
    for i, uid in enumerate(["a", "b", "c"], start=1):
        mirror.apply(ev.QueueCallerJoin(queue="hotline", uniqueid=uid, position=i))
    mirror.apply(ev.QueueCallerAbandon(queue="hotline", uniqueid="a"))
    assert mirror.queues["hotline"].callers == {"b": 1, "c": 2}


def test_the_dialplans_user_events_are_typed() -> None:
    from hotline.ami.protocol import Message

    def parsed(*pairs: tuple[str, str]) -> ev.Event:
        return ev.parse_event(Message((("Event", "UserEvent"), *pairs)))

    cb = parsed(("UserEvent", "HotlineCallback"), ("Id", "17"), ("Status", "BUSY"))
    assert isinstance(cb, ev.HotlineCallback) and (cb.callback_id, cb.status) == ("17", "BUSY")
    survey = parsed(("UserEvent", "HotlineSurvey"), ("CallId", "1795.2"), ("Score", "4"))
    assert isinstance(survey, ev.HotlineSurvey) and (survey.call_id, survey.score) == ("1795.2", "4")
    other = parsed(("UserEvent", "CarrierGot"), ("Number", "110"))
    assert type(other) is ev.UserEvent and other.user_event == "CarrierGot"
