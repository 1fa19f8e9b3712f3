from __future__ import annotations

import pytest

from hotline.ami.protocol import FrameBuffer, FrameError, Message, encode, parse


def feed_all(fb: FrameBuffer, data: bytes, step: int) -> list[Message | FrameError]:
    out: list[Message | FrameError] = []
    for i in range(0, len(data), step):
        out.extend(fb.feed(data[i : i + step]))
    return out


@pytest.mark.parametrize("step", [1, 2, 3, 5, 7, 4096])
def test_multibyte_characters_survive_any_split(step: int) -> None:
    data = "Event: Newchannel\r\nCallerIDName: 张三丰\r\nCallerIDNum: 13800000000\r\n\r\n".encode()
    (msg,) = feed_all(FrameBuffer(), data, step)
    assert isinstance(msg, Message)
    assert msg.get("CallerIDName") == "张三丰"


def test_repeated_keys_are_kept_in_order() -> None:
    msg = parse("Response: Success\r\nOutput: line 1\r\nOutput: line 2")
    assert msg.all("Output") == ["line 1", "line 2"]
    assert msg.get("output") == "line 1"  # lookups ignore case


def test_values_keep_colons_and_inner_spaces() -> None:
    msg = parse("Event: X\r\nAppData: agi://127.0.0.1:4573/ivr\r\nMessage:  two spaces")
    assert msg.get("AppData") == "agi://127.0.0.1:4573/ivr"
    assert msg.get("Message") == " two spaces"


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    (msg,) = list(FrameBuffer().feed(b"Event: X\r\nName: \xff\xfeok\r\n\r\n"))
    assert isinstance(msg, Message)
    assert msg.get("Name").endswith("ok")


def test_oversize_message_is_dropped_and_the_next_one_arrives() -> None:
    fb = FrameBuffer(max_bytes=64 * 1024)
    big = b"Event: Big\r\nBlob: " + b"x" * (1024 * 1024) + b"\r\n\r\n"
    good = b"Event: Small\r\n\r\n"
    out = feed_all(fb, big + good, 8192)
    assert isinstance(out[0], FrameError) and out[0].size > 1024 * 1024
    assert isinstance(out[1], Message) and out[1].event == "Small"
    assert fb.pending == 0


def test_encode_refuses_header_injection() -> None:
    with pytest.raises(ValueError):
        encode("Originate", {"CallerID": "x\r\nAction: Command"})
    assert encode("Ping", {"ActionID": "1"}) == b"Action: Ping\r\nActionID: 1\r\n\r\n"


def test_encode_repeats_list_values() -> None:
    data = encode("Originate", {"Variable": ["A=1", "B=2"]})
    assert data.count(b"Variable:") == 2
