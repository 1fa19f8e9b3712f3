"""Car moving's refusals, each with its fixed error id."""

from __future__ import annotations

from hotline.errors import HotlineError


class CarmoveRefused(HotlineError):
    error_id = "carmove-refused"
    status = 409


class Unregistered(HotlineError):
    error_id = "carmove-unregistered"
    status = 404


class Blacklisted(HotlineError):
    error_id = "carmove-blacklisted"
    status = 403


class LimitReached(HotlineError):
    error_id = "carmove-limit"
    status = 429


class CodeRefused(HotlineError):
    error_id = "carmove-code-refused"
    status = 400
