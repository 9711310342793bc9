"""Steer the lab's stand-in API and load generator: plain JSON POSTs to their `/_lab/...` endpoints."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

from tui.lab.state import LabState


class ControlError(RuntimeError):
    """The API or the load generator did not take the order (down, or it refused it)."""


def post_json(base_url: str, path: str, payload: dict[str, Any], timeout: float = 30.0) -> Any:
    """POST `payload` as JSON to base_url + path on loopback; the decoded answer, or ControlError."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80, timeout=timeout)
    try:
        body = json.dumps(payload).encode()
        conn.request("POST", path, body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        answer = json.loads(response.read() or b"null")
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise ControlError(f"{base_url}{path}: {error}") from None
    finally:
        conn.close()
    if response.status != 200:
        raise ControlError(f"{base_url}{path}: {response.status} {answer}")
    return answer


def set_api_fault(state: LabState, name: str, on: bool, **args: Any) -> list[str]:
    """Switch one fault mode of the stand-in API (errors, slow-queries, leak-connections, seqscan,
    slow-responses); the modes on afterwards."""
    answer = post_json(state.api_url, "/_lab/fault", {"name": name, "on": on, **args})
    return list(answer.get("faults", []))


def set_load(state: LabState, mode: str, **args: Any) -> str:
    """Switch the load generator's mode (normal, searches, misses, catalog, surge); the mode now."""
    answer = post_json(state.load_url, "/_lab/load", {"mode": mode, **args})
    return str(answer.get("mode", ""))
