"""A wait that ends when files change: Linux inotify on one directory, through ctypes (nothing to install).

The SQLite store's observer blocks here instead of sleeping between looks at PRAGMA data_version: each
commit writes the database's -wal file (WAL mode), and that write is the event. Where inotify is missing
(macOS, BSD, an exhausted inotify limit) `FileWatch.open` returns None and the store keeps its timed poll.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import select
import struct
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

# <sys/inotify.h>
IN_MODIFY = 0x00000002
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
WATCHED = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of NUL-padded name
READ_SIZE = 64 * 1024

_libc: ctypes.CDLL | None = None


def _inotify() -> ctypes.CDLL | None:
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.inotify_init1.argtypes = [ctypes.c_int]
            libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
            _libc = libc
    return _libc


class FileWatch:
    """Changes to some files of one directory; `wait` blocks until one changes or the timeout passes.

    One thread waits at a time; `close` may come from another thread: it wakes the waiter, which then
    releases the descriptors (never closed under a select that still uses them).
    """

    def __init__(self, fd: int, names: Iterable[str]) -> None:
        self._fd = fd
        self._names = {os.fsencode(name) for name in names}
        self._wake_r, self._wake_w = os.pipe()
        self._lock = threading.Lock()
        self._waiting = False
        self._closed = False
        self.events = 0  # how many waits a watched file's change ended (tests and benchmarks read it)

    @classmethod
    def open(cls, directory: Path, names: Iterable[str]) -> FileWatch | None:
        """Watch `names` in `directory`; None where inotify can't be had (then poll instead)."""
        libc = _inotify()
        if libc is None:
            return None
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            return None
        if libc.inotify_add_watch(fd, os.fsencode(directory), WATCHED) < 0:
            os.close(fd)
            return None
        return cls(fd, names)

    @property
    def closed(self) -> bool:
        return self._closed

    def wait(self, timeout: float) -> bool:
        """True as soon as a watched file changes (events already queued count), False after `timeout`."""
        with self._lock:
            if self._closed:
                return False
            self._waiting = True
        try:
            ready, _, _ = select.select([self._fd, self._wake_r], [], [], max(0.0, timeout))
            if self._fd not in ready:
                return False
            changed = self._drain()
            self.events += changed
            return changed
        finally:
            with self._lock:
                self._waiting = False
                if self._closed:
                    self._release()

    def _drain(self) -> bool:
        """Read every queued event; whether one named a watched file (or the queue overflowed)."""
        changed = False
        while True:
            try:
                data = os.read(self._fd, READ_SIZE)
            except BlockingIOError:
                return changed
            offset = 0
            while offset + EVENT.size <= len(data):
                wd, _mask, _cookie, length = EVENT.unpack_from(data, offset)
                name = data[offset + EVENT.size : offset + EVENT.size + length].rstrip(b"\0")
                offset += EVENT.size + length
                changed = changed or wd < 0 or name in self._names  # wd -1: IN_Q_OVERFLOW, look anyway

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._waiting:
                os.write(self._wake_w, b"x")  # the waiter wakes and releases
            else:
                self._release()

    def _release(self) -> None:
        for fd in (self._fd, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
