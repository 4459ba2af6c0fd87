"""Metrics shared by the worker processes of one server (gunicorn, uvicorn --workers).

Every worker writes its whole state, now and then and at exit, to a file of its own in the
metrics directory, named by a random ID (never a PID: PIDs are reused). Beside it the worker
holds an exclusive ``flock`` on a lock file for as long as it lives; the kernel releases it when
the process ends, however it ends, so a lock file that can be locked belongs to a dead worker.
A dead worker's last state is folded into one archive, under the directory's lock, at worker
start, at exit and at every scrape. The directory thus holds two files per live worker and the
archive, however many workers came and went, and a scrape reads only those.

Exactly once: the archive lists the workers folded into it by its last write, and a file named
there is deleted, not merged, if a crash left it behind. A worker killed without exit (SIGKILL,
OOM) loses what it recorded since its last write (``interval``); gauges (requests in flight)
count live workers only.

Imports: the standard library, ``_core.safety`` and this package's ``store`` and ``recorder``.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import secrets
import threading
import weakref
from collections.abc import Iterator

from msatrace._core.metrics.recorder import Recorder
from msatrace._core.metrics.store import Snapshot, decode, encode, merge
from msatrace._core.safety import guard

_ARCHIVE = "archive.json"
_ARCHIVE_LOCK = "archive.lock"
_DATA = ".json"
_LOCK = ".lock"
_PREFIX = "live-"

_instances: weakref.WeakSet[SharedDir] = weakref.WeakSet()
_held: set[int] = set()  # descriptors of directory locks held right now, by any thread


class SharedDir:
    """This process's share of a metrics directory: writes it, folds dead workers, scrapes it."""

    def __init__(self, path: str, recorder: Recorder, limit: int, interval: float = 1.0) -> None:
        os.makedirs(path, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(f"cannot write in {path}")
        self.path = path
        self.recorder = recorder
        self.limit = limit
        self.interval = interval
        self._lock = threading.Lock()  # one writer of this process's file at a time
        self._id: str | None = None
        self._fd: int | None = None
        self._written = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        _instances.add(self)
        self._start()
        atexit.register(self.close)

    # --- this worker's file ---

    def _start(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="msatrace-metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with guard("metrics.write"):
                if self.recorder.changes != self._written:
                    self.write()

    def _register(self) -> None:
        """Take an ID and its lock: locked under a temporary name, so never seen unlocked."""
        wid = secrets.token_hex(8)
        tmp = os.path.join(self.path, f".new-{wid}{_LOCK}")
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(tmp, self._file(wid, _LOCK))
        self._id, self._fd = wid, fd
        self.compact()  # a worker's start is the moment to fold those that died before it

    def _file(self, wid: str, ext: str) -> str:
        return os.path.join(self.path, f"{_PREFIX}{wid}{ext}")

    def write(self) -> None:
        """Write this process's whole state to its file (atomically: a reader sees old or new)."""
        with self._lock:
            if self._id is None:
                self._register()
            assert self._id is not None
            changes = self.recorder.changes
            data = encode(self.recorder.snapshot())
            tmp = os.path.join(self.path, f".tmp-{self._id}")
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, self._file(self._id, _DATA))
            self._written = changes

    def close(self) -> None:
        """At exit: the last write, the lock released, and this worker folded into the archive."""
        atexit.unregister(self.close)
        _instances.discard(self)  # a later fork has nothing to restart
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.interval + 1.0)
        self._thread = None
        with guard("metrics.close"):
            if self.recorder.changes != self._written:
                self.write()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
                self.compact()

    def _after_fork(self) -> None:
        """In a forked child: the parent's counts, ID, lock and thread are not this process's."""
        self._lock = threading.Lock()
        self.recorder.reset()
        self._written = 0
        self._id = None
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # the parent keeps its lock: flock locks the open file
            self._fd = None
        if self._thread is not None:
            self._start()

    # --- the directory ---

    @contextlib.contextmanager
    def _dir_lock(self) -> Iterator[None]:
        fd = os.open(os.path.join(self.path, _ARCHIVE_LOCK), os.O_RDWR | os.O_CREAT, 0o644)
        # A process forked while this is held would hold the lock too (flock belongs to the
        # open file, which the child shares) until it exits: the fork hook closes it there.
        _held.add(fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            _held.discard(fd)
            os.close(fd)  # releases the lock

    def compact(self) -> Snapshot:
        """Fold dead workers' files into the archive; returns the archive."""
        with self._dir_lock():
            return self._compact()

    def _compact(self) -> Snapshot:
        archive_path = os.path.join(self.path, _ARCHIVE)
        try:
            with open(archive_path, "rb") as f:
                archive, doc = decode(f.read())
            already = set(doc.get("folded", ()))
        except FileNotFoundError:
            archive, already = Snapshot(), set()
        for wid in already:  # folded by the last write, left behind by a crash: not again
            self._remove(wid)
        folded = []
        for name in os.listdir(self.path):
            if name.startswith(".new-") and _dead(os.path.join(self.path, name)):
                _unlink(os.path.join(self.path, name))
                continue
            if not (name.startswith(_PREFIX) and name.endswith(_LOCK)):
                continue
            wid = name[len(_PREFIX) : -len(_LOCK)]
            if wid in already or not _dead(os.path.join(self.path, name)):
                continue
            try:
                with open(self._file(wid, _DATA), "rb") as f:
                    merge(archive, decode(f.read())[0], self.limit, gauges=False)
            except FileNotFoundError:
                pass  # it died before its first write
            folded.append(wid)
        if folded:
            archive.gauges = {}
            tmp = os.path.join(self.path, f".tmp-archive-{secrets.token_hex(4)}")
            with open(tmp, "wb") as f:
                f.write(encode(archive, folded=folded))
            os.replace(tmp, archive_path)
            for wid in folded:
                self._remove(wid)
        return archive

    def _remove(self, wid: str) -> None:
        # data first: a lock file without data is a worker that never wrote, folded as nothing
        _unlink(self._file(wid, _DATA))
        _unlink(os.path.join(self.path, f".tmp-{wid}"))
        _unlink(self._file(wid, _LOCK))

    def collect(self) -> Snapshot:
        """The totals of every worker, live and dead: what one scrape returns."""
        if self.recorder.changes != self._written or self._id is None:
            # this worker's file is brought up to date, so no scrape shows less than the last
            self.write()
        with self._dir_lock():
            total = Snapshot()
            merge(total, self._compact(), self.limit)
            for name in os.listdir(self.path):
                if name.startswith(_PREFIX) and name.endswith(_DATA):
                    try:
                        with open(os.path.join(self.path, name), "rb") as f:
                            data = f.read()
                    except FileNotFoundError:
                        continue
                    merge(total, decode(data)[0], self.limit)
            return total


def _dead(lock_path: str) -> bool:
    """Whether no process holds the lock file (its owner ended, or it is gone)."""
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _after_fork_in_child() -> None:
    for fd in list(_held):
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()
    for shared in list(_instances):
        shared._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
