"""Signed requests between the hotline and a peer (110), both ways: an
HMAC-SHA256 over the timestamp and the exact body bytes, with the peer's
shared secret. A request older than the allowed skew is refused, so a
captured request cannot be replayed later; within the skew a replay is
harmless because every message is idempotent on its key."""

from __future__ import annotations

import hashlib
import hmac

from hotline.errors import HotlineError

TIMESTAMP = "X-Hotline-Timestamp"
SIGNATURE = "X-Hotline-Signature"


class BadSignature(HotlineError):
    error_id = "peer-bad-signature"
    status = 401


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def headers(secret: bytes, body: bytes, now: float) -> dict[str, str]:
    ts = int(now)
    return {TIMESTAMP: str(ts), SIGNATURE: signature(secret, ts, body)}


def verify(secret: bytes, timestamp: str | None, given: str | None, body: bytes, now: float, max_skew: float) -> None:
    if not secret:
        raise BadSignature("未配置对端密钥")
    if not timestamp or not given:
        raise BadSignature(f"缺少签名头 {TIMESTAMP} / {SIGNATURE}")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise BadSignature("时间戳格式错误")
    if abs(now - int(timestamp)) > max_skew:
        raise BadSignature("请求时间超出允许范围，请校准时钟", skew=round(now - int(timestamp)))
    if not hmac.compare_digest(signature(secret, int(timestamp), body), given):
        raise BadSignature("签名不正确")


def link_signature(secret: bytes, what: str, expires: int) -> str:
    """A link a peer may open until `expires` (a recording), without a login."""
    return hmac.new(secret, f"link.{what}.{expires}".encode(), hashlib.sha256).hexdigest()
