"""Kamailio's JSON-RPC over its Unix datagram socket (module jsonrpcs).

Each request binds its own reply socket beside the edge's, so concurrent
callers never read each other's answers."""

from __future__ import annotations

import itertools
import json
import os
import socket
from pathlib import Path
from typing import Any

from hotline.errors import HotlineError

_ids = itertools.count(1)


class EdgeRpcError(HotlineError):
    error_id = "edge-rpc-failed"


def _call(path: Path, method: str, params: list[Any], timeout: float) -> Any:
    number = next(_ids)
    request = {"jsonrpc": "2.0", "method": method, "params": params, "id": number}
    # Beside the edge's socket (a private folder), short enough for sun_path.
    reply = path.parent / f"r{os.getpid()}-{number}.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(reply))
        try:
            sock.settimeout(timeout)
            sock.sendto(json.dumps(request).encode(), str(path))
            data = sock.recv(1 << 20)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise EdgeRpcError(f"the edge is not running ({path}: {exc.strerror})") from None
        except TimeoutError:
            raise EdgeRpcError(f"{method}: no answer from the edge within {timeout:g} s") from None
        finally:
            reply.unlink(missing_ok=True)
    try:
        answer = json.loads(data)
    except ValueError:
        raise EdgeRpcError(f"{method}: the edge answered something that is not JSON") from None
    if not isinstance(answer, dict):
        raise EdgeRpcError(f"{method}: unexpected answer {answer!r:.200}")
    if "error" in answer:
        raise EdgeRpcError(f"{method}: {answer['error']}")
    return answer.get("result")


def rpc_sync(path: Path, method: str, *params: Any, timeout: float = 3.0) -> Any:
    return _call(path, method, list(params), timeout)
