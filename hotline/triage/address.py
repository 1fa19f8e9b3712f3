"""Addresses as agents type them, normalised (地址标准化): the city's own
gazetteer (district -> street -> community, and the roads and compounds each
community owns, [tickets] streets) finds where an address belongs; the
house number is parsed apart (号 / 号楼 / 栋 / 单元 / 室).

Why not a package: the maintained ones (cpca and its forks) resolve
province, city and district against the national division codes, which a
city's own hotline already knows from its district list; they stop above
the street and community that decide 属地, and bring pandas with them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hotline.tickets.units import Unit, Units
from hotline.triage.features import fold

_CN = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUM = r"[零〇一二两三四五六七八九十百]+"
# What follows the road: number, building, unit, room; each optional, in that order.
_HOUSE = re.compile(
    rf"(?P<no>(\d+|{_CN_NUM})(-\d+)?)号(?!楼)"
    rf"|(?P<bldg>(\d+|{_CN_NUM}))(号楼|栋|幢|座)"
    rf"|(?P<unit>(\d+|{_CN_NUM}))单元"
    rf"|(?P<room>\d+)(室|号房)?$"
)


@dataclass(frozen=True, slots=True)
class Address:
    text: str  # as typed, full-width forms folded and spaces gone
    district: str
    street: str
    community: str
    station: str  # the grid station's code when a community owns it
    number: str  # 12号, 3号楼2单元501室

    def as_dict(self) -> dict[str, str]:
        return {
            "text": self.text,
            "district": self.district,
            "street": self.street,
            "community": self.community,
            "station": self.station,
            "number": self.number,
        }


def cn_number(text: str) -> int:
    """一百二十三 -> 123, 十二 -> 12, 二十 -> 20 (up to 999)."""
    total, digit = 0, 0
    for ch in text:
        if ch in _CN:
            digit = _CN[ch]
        elif ch == "十":
            total += (digit or 1) * 10
            digit = 0
        elif ch == "百":
            total += (digit or 1) * 100
            digit = 0
    return total + digit


def _digits(m: re.Match[str], group: str) -> str:
    raw = m.group(group)
    return raw if raw[0].isdigit() else str(cn_number(raw))


def normalise(address: str, units: Units, district: str = "", districts: tuple[str, ...] = ()) -> Address:
    text = re.sub(r"\s+", "", fold(address)).replace("—", "-").replace("－", "-")
    if not district:
        district = next((d for d in districts if d in text), "")
    unit: Unit | None = units.locate(text, district)
    parts = []
    for m in _HOUSE.finditer(text):
        if m.group("no"):
            parts.append(f"{_digits(m, 'no')}号")
        elif m.group("bldg"):
            parts.append(f"{_digits(m, 'bldg')}号楼")
        elif m.group("unit"):
            parts.append(f"{_digits(m, 'unit')}单元")
        elif m.group("room") and parts:
            parts.append(f"{m.group('room')}室")
    return Address(
        text=text,
        district=unit.district if unit else district,
        street=unit.street if unit else "",
        community=unit.community if unit else "",
        station=unit.code if unit else "",
        number="".join(parts),
    )
