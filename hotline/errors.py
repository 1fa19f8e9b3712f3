"""Errors that carry a fixed id (and, for the web, an HTTP status).

The id is what logs, API clients and tests match on; the message is for
people and may change.
"""

from __future__ import annotations


class HotlineError(Exception):
    error_id = "hotline-error"
    status = 500

    def __init__(self, message: str = "", **details: object):
        super().__init__(message or self.error_id)
        self.details = details

    def to_dict(self) -> dict[str, object]:
        return {"error_id": self.error_id, "message": str(self), "details": self.details}


class BadRequest(HotlineError):
    error_id = "bad-request"
    status = 400
