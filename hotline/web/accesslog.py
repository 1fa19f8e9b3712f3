"""The web server's access log, without the secrets some addresses carry.

A provisioning link's token is the credential a softphone fetches its seat's
password with; query strings may carry codes. Neither belongs in a log that
operators ship to other systems, so paths with a secret are cut and query
strings are never written."""

from __future__ import annotations

import re

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

# Paths whose last part is a secret: /provision/<token>.
_SECRET_TAIL = re.compile(r"^(/provision/)[^/]+")


def loggable(path: str) -> str:
    return _SECRET_TAIL.sub(r"\1[token]", path)


class AccessLog(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %s %.1f ms',
            request.remote,
            request.method,
            loggable(request.path),
            response.status,
            response.body_length,
            time * 1000,
        )
