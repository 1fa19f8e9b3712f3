"""The errors of running the bundled PBX, each with its fixed id."""

from __future__ import annotations

from hotline.errors import HotlineError


class PbxError(HotlineError):
    error_id = "pbx-error"


class PbxNotInstalled(PbxError):
    error_id = "pbx-not-installed"


class PbxBootFailed(PbxError):
    error_id = "pbx-boot-failed"
    # Asterisk still running when the wait ended (not an exit at start-up).
    hung = False


class PbxNotRunning(PbxError):
    error_id = "pbx-not-running"
