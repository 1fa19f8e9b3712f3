"""Whether a car-moving request may go ahead: pure rules over what the
database said about the requester and the plate."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.carmove.errors import Blacklisted, CarmoveRefused, LimitReached, Unregistered
from hotline.errors import HotlineError
from hotline.numbers import mask_number


@dataclass(frozen=True, slots=True)
class Asked:
    requester: str
    plate: str
    blacklisted: bool
    used_this_month: int
    monthly_limit: int
    owner: str | None  # the plate's verified owner, None when it is not registered


@dataclass(frozen=True, slots=True)
class Refusal:
    error: HotlineError
    log: str = ""  # kept in car moving's log (the blacklist and the limit are)


def refusal(a: Asked) -> Refusal | None:
    """Why the request is refused, or None: the blacklist first (it says
    nothing else about the plate), then the monthly limit, the plate, and a
    requester who is the owner."""
    if a.blacklisted:
        return Refusal(Blacklisted("该号码已被限制使用挪车服务"), f"黑名单号码 {mask_number(a.requester)}")
    if a.used_this_month >= a.monthly_limit:
        return Refusal(
            LimitReached(f"每个号码每月最多使用 {a.monthly_limit} 次挪车服务", used=a.used_this_month),
            f"{mask_number(a.requester)} 本月已用 {a.used_this_month} 次",
        )
    if a.owner is None:
        return Refusal(Unregistered(f"车牌 {a.plate} 未登记挪车联系电话", plate=a.plate))
    if a.owner == a.requester:
        return Refusal(CarmoveRefused("来电人就是登记的车主"))
    return None
