"""stdin, stdout and stderr as shell pipelines use them.

- A reader that goes away (`runner-identity export plan.toml | head -1`) is not an error of ours:
  the stream goes quiet (its descriptor is pointed at /dev/null, as Python's documentation advises
  for SIGPIPE) and the command carries on to its own end. Stopping apply half-way because nobody
  reads its progress any more would leave the container app half-changed.
- A stream that cannot be written at all (closed with `>&-`, a full disk, `/dev/full`) goes quiet
  the same way. On stdout that is a failure the caller must see (`plan --out - > /dev/full` must not
  exit 0 as if the plan were saved): one line on stderr and exit 1 (or the command's own failure
  code). On stderr nothing can be said; the command's outcome stands.
- A descriptor that was closed before we started (0, 1 or 2) is pointed at /dev/null first, so no
  socket or file we open later takes its number and receives our output.
- Text a terminal's encoding cannot show (a tag value `Zoë` under `PYTHONIOENCODING=ascii`) is
  written with backslash escapes, as Python already does on stderr, never a crash.
- Data (`--out -`: a plan file, an export) is written as UTF-8 whatever the locale, byte for byte
  what `--out FILE` writes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO


class QuietStream:
    """A text stream that stops writing, silently, once its reader has gone or it cannot be
    written; `error` keeps the first failure that was not a departed reader."""

    def __init__(self, stream: TextIO | None) -> None:
        self.gone = False
        self.error: OSError | None = None
        self._closed = stream is None
        # A stream Python could not open (its descriptor was closed): writes fail as EBADF would.
        self._stream: TextIO = open(os.devnull, "w", encoding="utf-8") if stream is None else stream  # noqa: SIM115

    def write(self, text: str) -> int:
        if self.gone:
            return len(text)
        if self._closed:
            self._fail(OSError(errno.EBADF, os.strerror(errno.EBADF)))
            return len(text)
        try:
            try:
                return self._stream.write(text)
            except UnicodeEncodeError:
                encoding = self._stream.encoding or "ascii"
                return self._stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
        except OSError as err:
            self._fail(err)
            return len(text)

    def write_bytes(self, data: bytes) -> None:
        """Write bytes as they are (after whatever text is pending)."""
        if self.gone:
            return
        if self._closed:
            self._fail(OSError(errno.EBADF, os.strerror(errno.EBADF)))
            return
        try:
            self._stream.flush()
            buffer = getattr(self._stream, "buffer", None)
            if buffer is None:  # a stream without bytes underneath (a test's capture): text it is
                self._stream.write(data.decode("utf-8"))
                return
            buffer.write(data)
            buffer.flush()
        except OSError as err:
            self._fail(err)

    def flush(self) -> None:
        if self.gone:
            return
        try:
            self._stream.flush()
        except OSError as err:
            self._fail(err)

    def isatty(self) -> bool:
        return not self._closed and not self.gone and self._stream.isatty()

    def _fail(self, err: OSError) -> None:
        self.gone = True
        if not isinstance(err, BrokenPipeError) and self.error is None:
            self.error = err
        if self._closed:
            return
        # What is still buffered would fail again at exit ("Exception ignored ... BrokenPipeError"):
        # from now on the descriptor writes to /dev/null.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _reopen_closed_descriptors() -> None:
    """Point each of the descriptors 0, 1, 2 that is closed at /dev/null (see the module doc)."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            devnull = os.open(os.devnull, os.O_RDWR)  # the lowest free number: often `fd` itself
            if devnull != fd:
                os.dup2(devnull, fd)
                os.close(devnull)


def run_with_standard_streams(body: Callable[[], int]) -> int:
    """Run `body` (a command; returns its exit code, or raises SystemExit as argparse does) with
    sys.stdout and sys.stderr as QuietStreams and a closed stdin read as empty.

    Returns the exit code: `body`'s, or 1 in place of 0 when stdout could not be written (said in
    one line on stderr). Everything written is flushed before the streams are given back.
    """
    _reopen_closed_descriptors()
    saved = sys.stdin, sys.stdout, sys.stderr
    if sys.stdin is None:
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    out, err = QuietStream(saved[1]), QuietStream(saved[2])
    sys.stdout, sys.stderr = out, err  # type: ignore[assignment]
    try:
        try:
            code = body()
        except SystemExit as exited:  # argparse's --help, --version and usage errors
            code = exited.code if isinstance(exited.code, int) else (0 if exited.code is None else 1)
        out.flush()
        if out.error is not None:
            print(f"runner-identity: cannot write to stdout: {out.error.strerror or out.error}", file=err)
            code = code or 1
        err.flush()
        return code
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved


def write_data(text: str) -> None:
    """Write `text` to stdout as data: UTF-8 bytes whatever the locale's encoding."""
    stream: Any = sys.stdout
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    if encoding == "utf8":
        stream.write(text)
    elif isinstance(stream, QuietStream):
        stream.write_bytes(text.encode("utf-8"))
    else:
        stream.flush()
        stream.buffer.write(text.encode("utf-8"))
        stream.buffer.flush()
