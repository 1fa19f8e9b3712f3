"""Phone numbers: one masking rule for every screen, digits the PBX may dial."""

from __future__ import annotations

from hotline.numbers import ascii_digits, mask_number
from hotline.seatmap import model


def test_masking_keeps_only_what_identifies_nobody() -> None:
    assert mask_number("13800001234") == "138****1234"
    assert mask_number("66001001") == "******01"
    assert mask_number("6543210") == "*****10"  # a 7-digit landline is never shown whole
    assert mask_number("") == ""


def test_seat_map_masks_a_landline_caller() -> None:
    tile = model.seat({"seat": "seat01", "agent_name": "张三", "agent": "a1", "status": "talking", "desynced": "",
                       "pause_reason": "", "since": 0.0, "on_line": True, "caller": "6543210"})
    assert tile["caller"] == "*****10"


def test_only_ascii_digits_are_dialable() -> None:
    assert ascii_digits("13800001234")
    assert not ascii_digits("١٢٣")  # Arabic-Indic digits pass str.isdigit
    assert not ascii_digits("12³")
    assert not ascii_digits("")
    assert not ascii_digits("110&Local/1@x")
