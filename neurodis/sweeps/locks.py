"""Claiming sweep runs with lock files, safely across processes and machines.

A process that trains a run first creates the run's lock file with
``O_CREAT | O_EXCL``: the one atomic "create if absent" that also holds on network file
systems (NFSv3 and later), so of two processes (or Dask workers on two machines sharing
the store) exactly one wins. The lock holds its owner (host, pid, the process's start
time, a random token). While a process holds locks, a daemon thread touches them every
:data:`HEARTBEAT_SECONDS` (a *heartbeat*). The owner removes its lock when the run is
done or fails, also on ``KeyboardInterrupt``; a lock left by an owner that died is
*stale* and is broken by the next claimant:

* a lock of this host is stale as soon as its process no longer runs (its pid is gone,
  a zombie, or now names a process started at another time);
* a lock of another host is stale when its heartbeat stopped: its modification time is
  older than :data:`STALE_SECONDS` (so the hosts' clocks must agree to well within that).

Breaking a stale lock is itself guarded by a second ``O_EXCL`` file, so that two
claimants never both break it, and one never removes a lock the other just created.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any

from neurodis.files import process_started

__all__ = ["HEARTBEAT_SECONDS", "STALE_SECONDS", "RunLock"]

#: Seconds between two touches of a held lock.
HEARTBEAT_SECONDS = 10.0

#: A lock of another host not touched for this long (twelve missed heartbeats) is stale.
STALE_SECONDS = 120.0

_HOST = socket.gethostname()


def _owner() -> dict[str, Any]:
    return {"host": _HOST, "pid": os.getpid(), "started": process_started(os.getpid()), "token": secrets.token_hex(8),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


class _Heartbeat:
    """Touches every lock this process holds, from one daemon thread."""

    def __init__(self) -> None:
        self._paths: set[Path] = set()
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, path: Path) -> None:
        with self._guard:
            self._paths.add(path)
            # a process forked from a holder inherits this object but not its thread
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._beat, name="neurodis-lock-heartbeat", daemon=True)
                self._thread.start()

    def discard(self, path: Path) -> None:
        with self._guard:
            self._paths.discard(path)

    def _beat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            with self._guard:
                paths = list(self._paths)
                if not paths:  # nothing held: end, and let the next add start a new thread
                    self._thread = None
                    return
            for path in paths:
                try:
                    os.utime(path)
                except OSError:  # released meanwhile
                    continue


_HEARTBEAT = _Heartbeat()


class RunLock:
    """The lock file that claims one run for one process.

    Parameters
    ----------
    path : path
        The lock file (its folder must exist).
    stale_after : float
        Seconds without a heartbeat after which a lock of another host is stale.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "claim.lock"
    >>> first, second = RunLock(path), RunLock(path)
    >>> first.acquire(), second.acquire(), second.held()
    (True, False, True)
    >>> first.release(); second.acquire()
    True
    >>> second.release(); path.exists()
    False
    """

    def __init__(self, path: str | os.PathLike, *, stale_after: float = STALE_SECONDS) -> None:
        self.path = Path(path)
        self.stale_after = stale_after
        self._token: str | None = None

    def _read(self) -> tuple[bytes, int, int] | None:
        """The lock's content, inode and modification time, or None if there is none."""
        try:
            with open(self.path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                return handle.read(), stat.st_ino, stat.st_mtime_ns
        except FileNotFoundError:
            return None

    def owner(self) -> dict[str, Any] | None:
        """The owner recorded in the lock, or None when there is no lock or it is being written."""
        seen = self._read()
        try:
            return None if seen is None else json.loads(seen[0])
        except ValueError:
            return None

    def _stale(self, seen: tuple[bytes, int, int]) -> bool:
        try:
            owner = json.loads(seen[0])
        except ValueError:  # half-written by its creator, or garbled: only its age tells
            owner = None
        if isinstance(owner, dict) and owner.get("host") == _HOST and isinstance(owner.get("pid"), int):
            started = process_started(owner["pid"])
            # a reused pid names a process started at another time (nan: not ours to see)
            return started is None or (owner.get("started") is not None and abs(started - owner["started"]) > 1.0)
        return time.time() - seen[2] / 1e9 > self.stale_after

    def held(self) -> bool:
        """Whether a live owner (this process or another) holds the lock."""
        seen = self._read()
        return seen is not None and not self._stale(seen)

    def _break_if_stale(self) -> bool:
        seen = self._read()
        if seen is None:
            return True
        if not self._stale(seen):
            return False
        guard = self.path.with_name(self.path.name + ".break")
        try:
            os.close(os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            # another claimant is breaking it; a guard left by one that died meanwhile goes with age
            try:
                if time.time() - guard.stat().st_mtime > self.stale_after:
                    guard.unlink(missing_ok=True)
            except FileNotFoundError:
                pass
            return False
        try:
            if self._read() == seen:  # not re-created nor touched since it was judged stale
                self.path.unlink(missing_ok=True)
        finally:
            guard.unlink(missing_ok=True)
        return True

    def acquire(self) -> bool:
        """Claim the run: True if this process now holds the lock, False if a live owner does.

        A stale lock is broken first. The lock is then kept fresh by this process's
        heartbeat until :meth:`release`.
        """
        for _ in range(2):  # the second attempt follows breaking a stale lock
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
            except FileExistsError:
                if not self._break_if_stale():
                    return False
                continue
            owner = _owner()
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(owner, handle)
                    handle.flush()
                    os.fsync(handle.fileno())
            except BaseException:
                self.path.unlink(missing_ok=True)
                raise
            self._token = owner["token"]
            _HEARTBEAT.add(self.path)
            return True
        return False

    def release(self) -> None:
        """Remove the lock if this object holds it (a lock broken and re-taken by another stays)."""
        if self._token is None:
            return
        _HEARTBEAT.discard(self.path)
        owner = self.owner()
        if owner is not None and owner.get("token") == self._token:
            self.path.unlink(missing_ok=True)
        self._token = None
