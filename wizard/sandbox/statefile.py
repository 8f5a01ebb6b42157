"""The `--state FILE` on disk: one writer at a time, and every save whole or not at all.

A second sandbox on the same file would overwrite the first one's writes with its own older copy,
so the first takes an exclusive lock (`flock` on `FILE.lock`, released by the kernel even when the
process is killed) and a second one is refused with a message saying who holds it. A save writes
an unnamed file in the same directory (`O_TMPFILE`), gives it a name only once it is complete and
synced, and renames it over the state file: a kill at any moment leaves the old file or the new
one, and nothing half-written. Names left by a kill in the instant between the two are removed by
the next sandbox to take the lock.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

try:  # POSIX; on other systems the state file is used without a lock
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_TMP_SUFFIX = ".tmp"


class StateFileBusyError(ValueError):
    """Another sandbox holds the state file (a ValueError: `sandbox serve` reports it, exit 2)."""


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}{_TMP_SUFFIX}")


def _leftovers(path: Path) -> list[Path]:
    prefix = f".{path.name}."
    return [p for p in path.parent.glob(f".{path.name}.*{_TMP_SUFFIX}") if p.name.startswith(prefix)]


class StateFileLock:
    """An exclusive hold on one state file for the life of one sandbox."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> StateFileLock:
        """Take the lock or raise StateFileBusyError naming the process that has it. Returns self."""
        if fcntl is None:  # pragma: no cover - Windows
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 64).decode("ascii", "replace").strip() or "another process"
                os.close(fd)
                raise StateFileBusyError(
                    f"the sandbox state file {self.path} is in use by process {holder}: stop that sandbox "
                    "first, or give this one another --state file"
                ) from None
            # The holder before us may have removed the lock file between our open and our lock:
            # a lock on a file no longer at that path guards nothing, so take the one that is there.
            try:
                same = os.stat(self.lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        for stale in _leftovers(self.path):  # named by a save that was killed mid-rename
            stale.unlink(missing_ok=True)
        return self

    def release(self) -> None:
        """Give the lock up and remove the lock file (safe to call twice)."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.lock_path.unlink()
        os.close(self._fd)  # closing the descriptor releases the flock
        self._fd = None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def _write_unnamed(directory: Path, tmp: Path, data: bytes) -> bool:
    """Write `data` to an unnamed file in `directory`, then name it `tmp`. False where the system
    has no O_TMPFILE or no /proc to name one through (nothing is left behind then)."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None:
        return False
    try:
        fd = os.open(directory, flag | os.O_WRONLY, 0o600)
    except OSError:
        return False
    try:
        _write_all(fd, data)
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            # With a dir_fd, os.link calls linkat with AT_SYMLINK_FOLLOW, which /proc/self/fd needs.
            os.link(f"/proc/self/fd/{fd}", tmp.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except OSError:
            return False
        finally:
            os.close(dir_fd)
    finally:
        os.close(fd)
    return True


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a reader or a crash sees the old file or the new one whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path)
    try:
        if not _write_unnamed(path.parent, tmp, data):
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
