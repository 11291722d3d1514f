"""Uploaded questions files: this server's own upload route and store.

Gradio's upload route writes into a folder shared by every Gradio app on the machine, replies with
the absolute path, and keeps the file; and Gradio's file components copy *any* path a client names
into its cache before a handler runs. The Evaluation tab uses neither: its button posts the file
from the page (``qa.web.eval_tab.UPLOAD_JS``) to

* ``POST /gradio_api/upload`` (``upload_route``, in front of Gradio's), which takes one file of at
  most MAX_UPLOAD_BYTES, keeps it in a private folder made for this server (mode 0700), and replies
  with an opaque reference ``"<32 hex>/<name>"``, not a path. At most MAX_PENDING_UPLOADS files wait;
  a new one deletes the oldest waiting one, and any waits at most UPLOAD_TTL_S.
* The tab's event receives that reference as a plain string and ``UploadStore.claim`` turns it into
  the stored file, once, refusing anything else (a server path, a URL, a reused or made-up
  reference) with one message. The handler deletes the file when it is done
  (``UploadStore.discard``); ``close()`` at shutdown deletes the folder.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import UsageError
from qa.web.limits import MAX_PENDING_UPLOADS, MAX_UPLOAD_BYTES, UPLOAD_TTL_S

NOT_AN_UPLOAD = "This file is not an upload waiting here (uploads are used once): upload the file again."
_REFERENCE = re.compile(r"(?P<token>[0-9a-f]{32})/(?P<name>[^/\\\x00-\x1f]{1,120})")
_UNSAFE_NAME = re.compile(r"[^\w.\- ()\[\]]+")


def safe_name(filename: str | None) -> str:
    """The last part of a client's file name, reduced to plain characters ("upload" when none is left)."""
    base = re.split(r"[/\\]", filename or "")[-1]
    cleaned = _UNSAFE_NAME.sub("_", base).strip(" .")[:120]
    return cleaned or "upload"


@dataclass
class _Waiting:
    created: float
    claimed: bool = False


class UploadStore:
    """Files uploaded to this server and not yet used, in a private temporary folder.

    Usage example:
        store = UploadStore()
        ref = store.save("questions.jsonl", b'{"id": ...}')
        path = store.claim(ref)      # the stored file, once; UsageError for anything else
        store.discard(path)          # when done with it
        store.close()                # at shutdown
    """

    def __init__(self, *, max_bytes: int = MAX_UPLOAD_BYTES, max_pending: int = MAX_PENDING_UPLOADS,
                 ttl_s: float = UPLOAD_TTL_S):
        self.max_bytes = max_bytes
        self.max_pending = max_pending
        self.ttl_s = ttl_s
        self.root = Path(tempfile.mkdtemp(prefix="qa-uploads-")).resolve()  # mode 0700
        self._waiting: dict[str, _Waiting] = {}
        self._lock = threading.Lock()

    def save(self, filename: str | None, data: bytes) -> str:
        """Store one upload; returns its reference "<token>/<name>".

        Raises:
            UsageError: over ``max_bytes``.
        """
        if len(data) > self.max_bytes:
            raise UsageError(f"the file is over {self.max_bytes // 1024} KiB: upload a smaller questions file "
                             "(or run `qa eval FILE` for a large one).")
        token, name = secrets.token_hex(16), safe_name(filename)
        folder = self.root / token
        folder.mkdir(mode=0o700)
        partial = folder / ".partial"
        try:
            with open(partial, "wb") as f:
                f.write(data)
            os.replace(partial, folder / name)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        with self._lock:
            self._waiting[token] = _Waiting(time.monotonic())
            self._expire_locked()
        return f"{token}/{name}"

    def _expire_locked(self) -> None:
        now = time.monotonic()
        waiting = [(w.created, t) for t, w in self._waiting.items() if not w.claimed]
        old = {t for created, t in waiting if now - created > self.ttl_s}
        fresh = sorted((created, t) for created, t in waiting if t not in old)
        old.update(t for _, t in fresh[: max(0, len(fresh) - self.max_pending)])
        for token in old:
            del self._waiting[token]
            shutil.rmtree(self.root / token, ignore_errors=True)

    def claim(self, reference: Any) -> Path:
        """The stored file a reference names, for one use.

        Raises:
            UsageError: the reference names no waiting upload of this store (whatever else it names).
        """
        match = _REFERENCE.fullmatch(reference) if isinstance(reference, str) else None
        if match is None:
            raise UsageError(NOT_AN_UPLOAD)
        token = match.group("token")
        with self._lock:
            self._expire_locked()
            waiting = self._waiting.get(token)
            if waiting is None or waiting.claimed:
                raise UsageError(NOT_AN_UPLOAD)
            path = self.root / token / match.group("name")
            try:
                real = path.resolve(strict=True)
            except (OSError, RuntimeError):
                raise UsageError(NOT_AN_UPLOAD) from None
            if real.parent != self.root / token or path.is_symlink() or not real.is_file():
                raise UsageError(NOT_AN_UPLOAD)
            waiting.claimed = True
        return real

    def discard(self, path: Path) -> None:
        """Delete a claimed upload."""
        path = Path(path)
        if path.parent.parent != self.root:
            return
        with self._lock:
            self._waiting.pop(path.parent.name, None)
        shutil.rmtree(path.parent, ignore_errors=True)

    def count(self) -> int:
        with self._lock:
            return len(self._waiting)

    def close(self) -> None:
        """Delete every upload and the folder."""
        with self._lock:
            self._waiting.clear()
        shutil.rmtree(self.root, ignore_errors=True)


async def upload_route(request: Any) -> Any:
    """``POST /gradio_api/upload`` into the app's store (``request.app.state.qa.uploads``): multipart
    field "files", one file; replies ``["<reference>"]``; 4xx ``{"error": …}`` otherwise."""
    from starlette.concurrency import run_in_threadpool
    from starlette.datastructures import UploadFile
    from starlette.exceptions import HTTPException
    from starlette.formparsers import MultiPartException
    from starlette.responses import JSONResponse

    store: UploadStore = request.app.state.qa.uploads
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return JSONResponse({"error": "send the file as multipart/form-data in the field 'files'."}, status_code=415)
    try:
        form = await request.form(max_files=1, max_fields=4, max_part_size=64 * 1024)
    except (MultiPartException, HTTPException) as exc:
        if getattr(exc, "status_code", 400) == 413:
            raise  # the Guard's body limit: it answers
        detail = str(getattr(exc, "detail", None) or getattr(exc, "message", None) or exc)
        return JSONResponse({"error": "send one file per upload." if "Too many files" in detail else
                             f"the upload is not valid multipart/form-data ({detail}): send one file in 'files'."},
                            status_code=400)
    try:
        files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
        if len(files) != 1:
            return JSONResponse({"error": "send one file per upload, in the field 'files'."}, status_code=400)
        data = await files[0].read(store.max_bytes + 1)
        try:
            reference = await run_in_threadpool(store.save, files[0].filename, data)
        except UsageError as exc:
            return JSONResponse({"error": str(exc)}, status_code=413)
    finally:
        await form.close()
    return JSONResponse([reference])
