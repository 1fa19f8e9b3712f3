"""The messages of the 110 link (docs/api/police-110.yaml), read with exact
types: an incident 110 hands over, a receipt or dispatch result for a matter
the hotline sent, and what the hotline sends back. Pure."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from hotline.errors import BadRequest
from hotline.numbers import FIRST_YEAR, LAST_YEAR, ascii_digits, sane_year
from hotline.text import text_field

INTAKE_NO = re.compile(r"^[A-Za-z0-9-]{4,64}$")
TICKET_NO = re.compile(r"^[0-9]{8,20}$")
URL = re.compile(r"^https?://[^\s]{1,500}$")
STAGES = {"received": "已接警", "dispatched": "已处警"}


@dataclasses.dataclass(frozen=True)
class Incident:
    """A non-police matter 110 hands to the hotline (警单)."""

    intake_no: str
    reported_at: dt.datetime
    address: str
    longitude: float | None
    latitude: float | None
    category_code: str
    caller: str
    caller_name: str
    content: str
    recording_url: str


@dataclasses.dataclass(frozen=True)
class Result:
    """110's receipt (接警) or dispatch result (处警) of a matter the hotline sent."""

    ticket: str
    intake_no: str
    stage: str
    result: str
    at: dt.datetime


def _text(body: dict[str, Any], key: str, max_len: int, required: bool = False) -> str:
    return text_field(body, key, max_len=max_len, required=required, strip=True)


def _time(body: dict[str, Any], key: str) -> dt.datetime:
    v = body.get(key)
    if type(v) is not str:
        raise BadRequest(f"{key} 必须是带时区的 ISO 8601 时间", field=key)
    try:
        t = dt.datetime.fromisoformat(v)
    except ValueError:
        raise BadRequest(f"{key} 必须是带时区的 ISO 8601 时间", field=key) from None
    if t.tzinfo is None:
        raise BadRequest(f"{key} 缺少时区", field=key)
    # 9999-12-31 at -23:59 is a valid text whose UTC instant is past year
    # 9999: read in UTC now, inside the years a ticket may carry.
    try:
        utc = t.astimezone(dt.timezone.utc)
    except OverflowError:
        utc = None
    if utc is None or not sane_year(utc.year):
        raise BadRequest(f"{key} 的年份应在 {FIRST_YEAR}-{LAST_YEAR} 之间", field=key)
    return t


def _coordinate(body: dict[str, Any], key: str, limit: float) -> float | None:
    v = body.get(key)
    if v is None:
        return None
    if type(v) not in (int, float) or v != v or not -limit <= v <= limit:
        raise BadRequest(f"{key} 必须是 -{limit:g} 到 {limit:g} 之间的数", field=key)
    return float(v)


def parse_incident(body: dict[str, Any]) -> Incident:
    intake_no = _text(body, "intake_no", 64, required=True)
    if not INTAKE_NO.match(intake_no):
        raise BadRequest("intake_no 是 4-64 位字母、数字或连字符", field="intake_no")
    caller = _text(body, "caller", 20)
    if caller and not ascii_digits(caller):
        raise BadRequest("caller 必须是数字", field="caller")
    recording = _text(body, "recording_url", 500)
    if recording and not URL.match(recording):
        raise BadRequest("recording_url 必须是 http(s) 地址", field="recording_url")
    code = _text(body, "category_code", 32)
    return Incident(
        intake_no=intake_no,
        reported_at=_time(body, "reported_at"),
        address=_text(body, "address", 256),
        longitude=_coordinate(body, "longitude", 180),
        latitude=_coordinate(body, "latitude", 90),
        category_code=code,
        caller=caller,
        caller_name=_text(body, "caller_name", 64),
        content=_text(body, "content", 4000, required=True),
        recording_url=recording,
    )


def parse_result(body: dict[str, Any]) -> Result:
    ticket = _text(body, "ticket", 20, required=True)
    if not TICKET_NO.match(ticket):
        raise BadRequest("ticket 是 12345 工单号", field="ticket")
    intake_no = _text(body, "intake_no", 64, required=True)
    if not INTAKE_NO.match(intake_no):
        raise BadRequest("intake_no 是 4-64 位字母、数字或连字符", field="intake_no")
    stage = body.get("stage")
    if type(stage) is not str or stage not in STAGES:
        raise BadRequest("stage 必须是 received（接警）或 dispatched（处警）", field="stage")
    result = _text(body, "result", 2000, required=stage == "dispatched")
    return Result(ticket=ticket, intake_no=intake_no, stage=stage, result=result, at=_time(body, "at"))


def district_of(address: str, districts: list[str]) -> str:
    """The district an address names (110's addresses are free text)."""
    for d in districts:
        if d and d in address:
            return d
    return ""
