"""The web server's access log, without the secrets some addresses carry.

A provisioning link's token is the credential a softphone fetches its seat's
password with; query strings may carry codes. Neither belongs in a log that
operators ship to other systems, so paths with a secret are cut and query
strings are never written."""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import re
from pathlib import Path

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from hotline.config import Settings

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


class PrivateDailyLog(logging.handlers.TimedRotatingFileHandler):
    """Each day's file readable by the service user only, the new one too."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding)


def access_logger(settings: Settings) -> logging.Logger | None:
    """The logger requests are written to, as web.access_log says."""
    if settings.web.access_log == "off":
        return None
    log = logging.getLogger("hotline.access")
    if settings.web.access_log == "stderr" or log.handlers:
        return log
    path = Path(settings.state_dir) / "access.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    # A file a day, kept retention.logs_days days (个人信息保护: addresses are personal data).
    handler = PrivateDailyLog(path, when="midnight", backupCount=settings.retention.logs_days, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return log
