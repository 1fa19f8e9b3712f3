"""Phone numbers: one masking rule for every screen, digits the PBX may dial."""

from __future__ import annotations

from hotline.acd.views import SeatView
from hotline.numbers import ascii_digits, mask_number
from hotline.seatmap import model


def test_masking_keeps_only_what_identifies_nobody() -> None:
    assert mask_number("13800001234") == "138****1234"
    assert mask_number("66001001") == "******01"
    assert mask_number("6543210") == "*****10"  # a 7-digit landline is never shown whole
    assert mask_number("") == ""


def test_seat_map_masks_a_landline_caller() -> None:
    tile = model.seat(
        SeatView(
            seat="seat01",
            agent="a1",
            agent_name="张三",
            status="talking",
            pause_reason="",
            on_line=True,
            standby=False,
            since=0.0,
            caller="6543210",
            wrapup_until=None,
            desynced=None,
        )
    )
    assert tile["caller"] == "*****10"


def test_only_ascii_digits_are_dialable() -> None:
    assert ascii_digits("13800001234")
    assert not ascii_digits("١٢٣")  # Arabic-Indic digits pass str.isdigit
    assert not ascii_digits("12³")
    assert not ascii_digits("")
    assert not ascii_digits("110&Local/1@x")
