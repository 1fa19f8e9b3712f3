"""What the browser phone's relay passes (pure: seats/webphone.py refusal)."""

from __future__ import annotations

from hotline.seats.webphone import refusal, web_endpoint


def msg(first: str, **headers: str) -> str:
    lines = [first] + [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return "\r\n".join(lines) + "\r\n\r\n"


OWN = web_endpoint("seat01")


def test_a_register_must_be_the_seats_own_browser_phone() -> None:
    assert OWN == "seat01-web"
    ok = msg("REGISTER sip:pbx SIP/2.0", From="<sip:seat01-web@pbx>;tag=a", To="<sip:seat01-web@pbx>")
    assert refusal(ok, OWN) == ""
    other = msg("REGISTER sip:pbx SIP/2.0", From="<sip:seat02-web@pbx>;tag=a", To="<sip:seat02-web@pbx>")
    assert "seat01-web" in refusal(other, OWN)
    mixed = msg("REGISTER sip:pbx SIP/2.0", From="<sip:seat01-web@pbx>;tag=a", To="<sip:seat02@pbx>")
    assert refusal(mixed, OWN)  # registering someone else's AOR from one's own From
    compact = msg("REGISTER sip:pbx SIP/2.0", f="<sip:seat02@pbx>;tag=a", t="<sip:seat02@pbx>")
    assert refusal(compact, OWN)  # compact header names are read too
    assert refusal(msg("REGISTER sip:pbx SIP/2.0"), OWN)  # no From at all


def test_a_new_call_must_come_from_the_seat_and_dialogs_asterisk_holds_pass() -> None:
    call = msg("INVITE sip:12345@pbx SIP/2.0", From='"seat01" <sip:seat01-web@pbx>;tag=x', To="<sip:12345@pbx>")
    assert refusal(call, OWN) == ""
    spoof = msg("INVITE sip:12345@pbx SIP/2.0", From="<sip:seat07@pbx>;tag=x", To="<sip:12345@pbx>")
    assert refusal(spoof, OWN)
    # Inside a dialog Asterisk set up (a To tag), and responses: Asterisk's to judge.
    bye = msg("BYE sip:abc@pbx SIP/2.0", From="<sip:r4nd0m@x.invalid>;tag=1", To="<sip:seat01@pbx>;tag=2")
    assert refusal(bye, OWN) == ""
    assert refusal(msg("SIP/2.0 200 OK", From="<sip:seat09@pbx>;tag=1", To="<sip:zz@pbx>;tag=2"), OWN) == ""
