"""The test lab: real servers (Prometheus, PostgreSQL, Redis) started on loopback with free ports, and stopped
after; a fault proxy in front of them. What every lab server shares is here."""

from __future__ import annotations

import os
import socket
import subprocess


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require(installed: object, message: str) -> None:
    """Skip the test when a server binary is missing, but fail under CI: CI installs it, so missing there
    is a broken setup, not a reason to skip."""
    if installed:
        return
    import pytest

    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM and wait for a clean shutdown; SIGKILL if it takes over 10 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class LabError(RuntimeError):
    """A lab server did not come up; the message carries its stderr."""
