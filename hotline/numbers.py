"""Citizens' phone numbers: what the PBX may dial, and what a screen may show.

Dialling: ASCII digits only. str.isdigit also accepts '٣', '³' and other
Unicode digits, which must never reach a Dial string.

Showing, one rule for every screen:

Mobile numbers keep their carrier prefix and last four digits
(138****1234), enough to tell callers apart on a seat map; shorter numbers
(landlines, 7-8 digits) keep only their last two, so a landline is never
shown whole.
"""

from __future__ import annotations


def mask_number(number: str) -> str:
    if not number:
        return ""
    if len(number) >= 11:
        return number[:3] + "****" + number[-4:]
    return "*" * max(0, len(number) - 2) + number[-2:]


def ascii_digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


# Years a report, figure or briefing may be asked for: periods reach weeks
# before and after the one asked, and years 1 and 9999 overflowed dates.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def sane_year(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR
