"""A flow compiled to dialplan, and the path it reports, without a PBX."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from hotline.ivr import dialplan
from hotline.ivr.flow_yaml import load_yaml
from hotline.ivr.serving import KEPT_VERSIONS, Serving
from hotline.ivr.steps import category_of, parse_steps, started_at
from tests.unit.test_ivr_runner import CAL, TZ, compiled

SCHEDULES = ("day", "lawyer")


def contexts(text: str) -> dict[str, list[str]]:
    """Context name -> its lines."""
    found: dict[str, list[str]] = {}
    name = ""
    for line in text.splitlines():
        m = re.fullmatch(r"\[([^\]]+)\]", line)
        if m:
            name = m.group(1)
            found[name] = []
        elif name and line.strip():
            found[name].append(line)
    return found


def test_the_common_path_is_dialplan_and_the_rest_resumes_over_fastagi() -> None:
    cf = compiled()
    ctx = contexts(dialplan.document(cf, [cf], "SECRET", SCHEDULES))
    # The start's own applications in place: the welcome plays from the entry.
    assert ctx["hotline-flow"][:3] == [
        "include => hfgone1",
        "exten => s,1,MSet(HF_PATH=${HF_PATH}>welcome,HF_AT=${HF_AT}>${EPOCH})",
        ' same => n,ExecIf($["${HF_TA}" = ""]?Background(/p/welcome.prompt))',
    ]
    # An announcement is entered at the branch its global chooses.
    assert ctx["hotline-flow"][3] == ' same => n,Goto(hf1-notice,${IF($["${HOTLINE_NOTICE}" = ""]?off:on)},1)'
    for nid in ("welcome", "notice", "shift", "day_menu", "consult", "to_seat"):
        # A time switch asks over FastAGI only once the windows it was given expire.
        body = "\n".join(ctx[f"hf1-{nid}"]).split("exten => resume,")[0]
        assert "AGI(" not in body, nid
    # Digits, a ticket's status, a message and an unstaffed-queue check need the controller.
    for nid in ("ticket_query", "ticket_status", "legal_message", "lawyer_queue"):
        agi = next(line for line in ctx[f"hf1-{nid}"] if "AGI(" in line)
        assert f"/ivr?key=SECRET,${{HOTLINE_CALLID}},${{HOTLINE_TAG}},${{HOTLINE_DIALED}},1,{nid}," in agi
        assert agi.endswith(",${HF_PATH:1},${HF_AT:1},${HF_TA})")
        assert ctx[f"hf1-{nid}"][-1].endswith("Goto(hotline-entry,s,after)")


def test_a_menu_answers_its_keys_retries_and_goes_to_its_default() -> None:
    cf = compiled()
    menu = contexts(dialplan.compile_flow(cf, "K", SCHEDULES))["hf1-day_menu"]
    text = "\n".join(menu)
    for key in cf.flow.nodes["day_menu"].options:  # type: ignore[union-attr]
        assert f"exten => {key},1,MSet(HF_PATH=${{HF_PATH}}>day_menu:{key}" in text
    # A move records the steps it passes: 1 is consult (a tag: the category) on the way to the seat.
    one = next(i for i, line in enumerate(menu) if line.startswith("exten => 1,1,"))
    # ... and a route is taken in place: reported, its prompt, the queue.
    assert menu[one : one + 4] == [
        "exten => 1,1,MSet(HF_PATH=${HF_PATH}>day_menu:1>consult>to_seat,"
        "HF_AT=${HF_AT}>${EPOCH}>${EPOCH}>${EPOCH},HOTLINE_CATEGORY=咨询投诉求助,"
        'HOTLINE_IVR=${HF_PATH:1:223}${IF($["${HF_PATH}" = ""]?:>)}day_menu:1>consult>to_seat,HOTLINE_ROUTE=queue)',
        " same => n,UserEvent(HotlineIvr,CallId: ${HOTLINE_CALLID},Flow: 1,Path: ${HF_PATH:1},At: ${HF_AT:1},"
        "Route: queue,Tag: ${HOTLINE_TAG},Dialed: ${HOTLINE_DIALED})",
        ' same => n,ExecIf($["${HF_TA}" = ""]?Playback(/p/to_seat.prompt))',
        " same => n,Goto(hotline-route,queue,1)",
    ]
    assert "exten => _[0-9*#],1,Set(HF_K=${EXTEN})" in text  # any other key is a wrong one
    assert "WaitExten(1)" in text and "GotoIf($[${HF_MISS} > 2]?out)" in text
    # No key at all goes to timeout_next without a retry.
    assert "exten => t,1,MSet(HF_PATH=${HF_PATH}>day_menu>waited,HF_AT" in text
    assert menu[-4].startswith(" same => n,MSet(HF_PATH=${HF_PATH}>day_menu:${HF_K}>to_seat,")  # past the retries
    assert menu[-1] == " same => n,Goto(hotline-route,queue,1)"


def test_a_key_during_a_prompt_is_kept_for_the_next_menu() -> None:
    cf = compiled()
    welcome = contexts(dialplan.compile_flow(cf, "K", SCHEDULES))["hf1-welcome"]
    assert "exten => _[0-9*#],1,Set(HF_TA=${EXTEN})" in welcome
    # Skipped once a key waits.
    assert welcome[1] == 'exten => s,1,ExecIf($["${HF_TA}" = ""]?Background(/p/welcome.prompt))'


def test_a_time_switch_trusts_the_windows_only_while_they_hold() -> None:
    shift = contexts(dialplan.compile_flow(compiled(), "K", SCHEDULES))["hf1-shift"]
    choose = (
        '${IF($["${HOTLINE_CAL_UNTIL}" <= "${EPOCH}"]?resume:'
        '${IF($["${HOTLINE_HOLIDAY}" = "1"]?holiday:${IF($["${HOTLINE_IN_day}" = "1"]?case0:other)})})}'
    )
    assert shift[1] == f"exten => s,1,Goto({choose},1)"
    assert any("AGI(" in line and ",shift," in line for line in shift)
    # The move into it goes straight to the branch: no step of its own.
    notice = contexts(dialplan.compile_flow(compiled(), "K", SCHEDULES))["hf1-notice"]
    assert notice[notice.index("exten => off,1,MSet(HF_PATH=${HF_PATH}>notice:off,HF_AT=${HF_AT}>${EPOCH})") + 1] == (
        f" same => n,Goto(hf1-shift,{choose},1)"
    )


def test_a_caller_who_hangs_up_in_the_ivr_is_reported_from_any_context_until_handed_on() -> None:
    cf = compiled()
    ctx = contexts(dialplan.document(cf, [cf], "K", SCHEDULES))
    assert ctx["hfgone1"] == [
        'exten => h,1,ExecIf($["${HOTLINE_ROUTE}${HF_AGI}" = ""]?UserEvent(HotlineIvr,CallId: ${HOTLINE_CALLID},'
        "Flow: 1,Path: ${HF_PATH:1},At: ${HF_AT:1},Route: hangup-in-ivr,Tag: ${HOTLINE_TAG},Dialed: ${HOTLINE_DIALED}))"
    ]
    assert all(lines[0] == "include => hfgone1" for name, lines in ctx.items() if name != "hfgone1")
    # The controller reports a call it resumed.
    assert ctx["hf1-ticket_query"][1] == "exten => s,1,Set(HF_AGI=1)"


def test_text_that_is_not_plain_is_never_written_into_the_dialplan() -> None:
    cf = compiled()
    tag = cf.flow.nodes["consult"].model_copy(update={"category": "咨询,投诉)"})
    nodes = {**cf.flow.nodes, "consult": tag}
    odd = dataclasses.replace(cf, flow=cf.flow.model_copy(update={"nodes": nodes}))
    text = dialplan.compile_flow(odd, "K", SCHEDULES)
    assert "咨询,投诉" not in text
    assert any(",consult," in line and "AGI(" in line for line in contexts(text)["hf1-consult"])
    # A schedule the configuration does not name: the controller decides.
    assert not dialplan.compilable(cf, "shift", ["lawyer"])


def test_the_path_comes_back_as_the_interpreter_records_it() -> None:
    cf = compiled()
    steps = parse_steps(cf, "welcome>notice:off>shift:day>day_menu:1>consult>to_seat>forged:9", "1796356952>1796356953")
    assert [(s.node, s.key) for s in steps] == [
        ("welcome", ""),
        ("notice", "off"),
        ("shift", "day"),
        ("day_menu", "1"),
        ("consult", ""),
        ("to_seat", ""),
    ]
    assert steps[3].label == "日间主菜单" and steps[3].type == "menu"
    assert steps[0].at == "2026-12-04T04:02:32+00:00" and steps[2].at == ""
    assert started_at(steps) == dt.datetime(2026, 12, 4, 4, 2, 32, tzinfo=dt.timezone.utc)
    assert category_of(cf, steps) == "咨询投诉求助"
    assert parse_steps(cf, "", "") == [] and category_of(cf, []) == ""


def test_the_windows_hold_until_the_next_start_end_or_midnight() -> None:
    # day 08:00-20:00, lawyer 09:00-17:00 (weekdays)
    assert CAL.next_change(dt.datetime(2026, 11, 25, 10, 0, tzinfo=TZ)) == dt.datetime(2026, 11, 25, 17, 0, tzinfo=TZ)
    assert CAL.next_change(dt.datetime(2026, 11, 25, 17, 0, tzinfo=TZ)) == dt.datetime(2026, 11, 25, 20, 0, tzinfo=TZ)
    assert CAL.next_change(dt.datetime(2026, 11, 25, 21, 0, tzinfo=TZ)) == dt.datetime(2026, 11, 26, 0, 0, tzinfo=TZ)


def test_serving_keeps_the_versions_calls_may_still_be_in() -> None:
    serving = Serving()
    changed: list[str] = []
    serving.on_change(changed.append)
    flow = load_yaml(compiled().flow.model_dump_json())
    for v in range(1, KEPT_VERSIONS + 3):
        serving.take("hotline", dataclasses.replace(compiled(), flow=flow, version=v))
    assert serving.current("hotline").version == KEPT_VERSIONS + 2  # type: ignore[union-attr]
    assert [c.version for c in serving.recent("hotline")] == list(range(3, KEPT_VERSIONS + 3))
    assert serving.version("hotline", 2) is None and serving.version("hotline", 3) is not None
    assert changed == ["hotline"] * (KEPT_VERSIONS + 2)
