"""Run a parser written in C on untrusted bytes in a child process bounded in memory and time.

A PDF can hold a stream that inflates to gigabytes, or an object graph that loops; the libraries that
read PDFs best (pdfium) have no limit of their own, and a crash in C code would take `qa index` with
it. So the parsing runs in one child process (a fresh interpreter), reused from file to file, whose address space
is capped (RLIMIT_AS); a file that makes it exceed the cap or run past the time limit costs that file
(one line, the rest indexed), and the next file gets a fresh child.

    result = run("qa.readers.pdf:extract", rel, raw, max_chars)   # raises FileError naming the limit it hit
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import pickle
import select
import struct
import subprocess
import sys
import time
from pathlib import Path

from qa.readers.base import FileError

MEMORY_BYTES = 1 << 30  # the child's whole address space: the interpreter, the library and one document
SECONDS = 60  # one document; a 340-page PDF (the test PDFs 20 times over) took 1.4 s at load average 8.7


class _Child:
    """``python -c 'serve()'``: a fresh interpreter (no fork of a process holding threads, no re-import of
    the caller's main module), talking length-prefixed pickles over its stdin and stdout."""

    def __init__(self):
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])]),
               "OMP_NUM_THREADS": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", f"from qa.readers.isolated import serve; serve({MEMORY_BYTES})"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, message) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self.process.stdin.write(struct.pack("<Q", len(data)) + data)
        self.process.stdin.flush()

    def receive(self, seconds: float):
        """The child's reply, or None when it sent none within ``seconds``; EOFError when it died."""
        out = self.process.stdout
        deadline = time.monotonic() + seconds
        head = _read_exactly(out, 8, deadline)
        if head is None:
            return None
        body = _read_exactly(out, struct.unpack("<Q", head)[0], deadline)
        return None if body is None else pickle.loads(body)

    def stop(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait(5)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()


def _read_exactly(stream, n: int, deadline: float) -> bytes | None:
    data = b""
    fd = stream.fileno()
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        block = os.read(fd, min(n - len(data), 1 << 20))
        if not block:
            raise EOFError
        data += block
    return data


_CHILD: _Child | None = None


def stop() -> None:
    """End the child process, if one is running (the next file starts a new one)."""
    global _CHILD
    if _CHILD is not None:
        _CHILD.stop()
        _CHILD = None


atexit.register(stop)


def run(function: str, rel: str, *args, seconds: float = SECONDS):
    """``function(*args)`` ("module:name") in the bounded child; its arguments and value must pickle.

    Raises:
        FileError: the child ran out of memory or time, or died (the file is named with the limit).
    """
    global _CHILD
    if _CHILD is None or not _CHILD.alive():
        stop()
        _CHILD = _Child()
    child = _CHILD
    try:
        child.send((function, args))
        reply = child.receive(seconds)
        if reply is None:
            stop()
            raise FileError(rel, f"took more than {seconds:.0f} s to read (a damaged or hostile file): it was "
                                 "passed over; check it, or save its text as .txt")
        status, value = reply
    except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
        stop()
        raise FileError(rel, f"could not be read within {MEMORY_BYTES >> 20:,} MB of memory (a damaged file, or "
                             "one built to inflate): it was passed over; check it, or save its text as .txt") from None
    if status == "ok":
        return value
    if status == "memory":
        stop()  # a child that ran out of memory may be in a bad state: the next file gets a new one
        raise FileError(rel, f"could not be read within {MEMORY_BYTES >> 20:,} MB of memory (a damaged file, or "
                             "one built to inflate): it was passed over; check it, or save its text as .txt")
    if status == "file":
        raise FileError(rel, value)
    raise FileError(rel, f"could not be read ({value}): check the file; if it looks fine, report this message")


def serve(memory: int) -> None:  # pragma: no cover - runs in the child
    """The child's loop: read (function, args), reply (status, value), until its stdin closes."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ImportError, ValueError, OSError):
        pass
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a library that prints must not corrupt the replies

    def reply(message) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.write(struct.pack("<Q", len(data)) + data)
        stdout.flush()

    while True:
        head = stdin.read(8)
        if len(head) < 8:
            return
        function, args = pickle.loads(stdin.read(struct.unpack("<Q", head)[0]))
        module, _, name = function.partition(":")
        try:
            message = ("ok", getattr(importlib.import_module(module), name)(*args))
        except MemoryError:
            message = ("memory", None)
        except FileError as exc:
            message = ("file", exc.reason)
        except Exception as exc:  # noqa: BLE001 - a library's error on one odd file is that file's line
            message = ("error", f"{type(exc).__name__}: {str(exc)[:160]}")
        del args
        try:
            reply(message)
        except MemoryError:
            reply(("memory", None))
