"""Chinese licence plates (GA 36): read as typed (spaces, dots, lower case),
checked, and spelled out for the owner's message. Pure."""

from __future__ import annotations

import re

from hotline.errors import BadRequest

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Province, issuing-office letter, then 5 characters (6 for new-energy
# plates), optionally ending in 挂/学/警; I and O are never used.
_PLATE = re.compile(rf"^[{PROVINCES}][A-HJ-NP-Z][A-HJ-NP-Z0-9]{{4,5}}[A-HJ-NP-Z0-9挂学警]$")
_SPOKEN = {"0": "洞", "1": "幺", "2": "两", "7": "拐", "9": "勾"}  # as dispatchers read digits aloud


def normalize(text: object) -> str:
    """'京a·12345 ' -> '京A12345', or a BadRequest saying what a plate looks like."""
    if type(text) is not str:
        raise BadRequest("车牌号必须是文本", field="plate")
    plate = "".join(c for c in text.strip().upper() if c not in " ·.-_")
    if not _PLATE.match(plate):
        raise BadRequest("车牌号格式不对，应为省份简称 + 字母 + 5-6 位字母或数字，如 京A12345", field="plate")
    return plate


def spoken(plate: str) -> str:
    """How the message reads it: each character apart, digits the radio way."""
    return "，".join(_SPOKEN.get(c, c) for c in plate)
