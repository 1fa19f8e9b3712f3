"""What callers hear from app_queue itself: the callback offer and the
position/wait announcements, under the fixed names queues.conf gives them,
and the digit files Asterisk's Chinese number rules read."""

from __future__ import annotations

OFFER_TEXT = "如您不想继续等待，请按1，轮到您时我们将给您回电，您的排队位置会为您保留。"
BOOKED_TEXT = "已为您登记回拨，轮到您时我们将用12345给您回电，请挂机。"
# app_queue plays these by a fixed name (queues.conf); made when the controller starts.
FIXED_PROMPTS = {
    "queue-callback-offer": OFFER_TEXT,
    "queue-callback-booked": BOOKED_TEXT,
    # Position and wait: "您现在排在第" 3 "位。" / "预计还需等待" 2 "分钟。"
    "queue-youarenext": "您已排在第一位，座席马上为您服务。",
    "queue-thereare": "您现在排在第",
    "queue-callswaiting": "位。",
    "queue-holdtime": "预计还需等待",
    "queue-minutes": "分钟。",
    "queue-minute": "分钟。",
    "queue-seconds": "秒。",
    "queue-thankyou": "感谢您的耐心等待。",
}
# The files Asterisk's zh number rules (main/say.c) read: digits/0-9, the
# tens, hundred, thousand, wan (10^4), yi (10^8), minus.
ZH_DIGITS = (
    {str(d): w for d, w in zip(range(10), "零一二三四五六七八九", strict=True)}
    | {str(t * 10): ("十" if t == 1 else "零一二三四五六七八九"[t] + "十") for t in range(1, 10)}
    | {"hundred": "百", "thousand": "千", "wan": "万", "yi": "亿", "minus": "负"}
)
