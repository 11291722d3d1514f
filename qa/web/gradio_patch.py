"""Gradio, changed where its defaults cost this app time (no matplotlib backend switch per event) or
let a client read server files (upload buttons take only this server's uploads)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


class _NoBackendSwitch:
    """Stands in for gradio.utils.MatplotlibBackendMananger (sic), which imports matplotlib
    around *every* event to switch it to the agg backend: 26 MB and ~0.9 s on the first
    answer, for events that draw nothing. The one plot here (the Evaluation tab's) draws on
    its own Agg canvas without pyplot, so no backend switch is needed."""

    def __enter__(self) -> "_NoBackendSwitch":
        return self

    def __exit__(self, *exc: object) -> bool:
        return False


def skip_matplotlib_backend_switch() -> None:
    import gradio.utils

    if hasattr(gradio.utils, "MatplotlibBackendMananger"):
        gradio.utils.MatplotlibBackendMananger = _NoBackendSwitch


def guard_upload_buttons(guard_of: Callable[[Any], Any]) -> None:
    """Make every ``gr.UploadButton`` accept only what its guard maps (``qa.web.uploads``).

    Gradio hands every path or URL a client sends for a file input to the component's
    ``async_move_resource_to_block_cache`` before any check of its own (a mounted app never counts
    as launched, so its upload-folder check is skipped) and copies that file into its cache. The
    replacement asks ``guard_of(button)`` (an object with ``claim(reference) -> Path`` and
    ``owns(path) -> bool``) instead; a button without a guard accepts nothing. It is patched on the
    class, not on one instance, because Gradio rebuilds a component from its constructor arguments
    whenever an event updates it (``block.__class__(**kwargs)`` in Blocks.postprocess_data); a
    subclass would do, but Gradio's component metaclass writes a .pyi beside the module of every
    component class.
    """
    import gradio as gr

    cls = gr.UploadButton
    if getattr(cls, "_qa_guarded", False):
        return

    def claim(self: Any, reference: Any) -> str | None:
        if reference is None:
            return None
        guard = guard_of(self)
        try:
            if guard is None:
                raise ValueError("no guard")
            return str(guard.claim(reference))
        except Exception as exc:  # QAError from the guard, or no guard at all
            from qa.web.uploads import NOT_AN_UPLOAD

            message = str(exc) if guard is not None and str(exc) else NOT_AN_UPLOAD
            raise gr.Error(message, print_exception=False) from None

    async def async_claim(self: Any, reference: Any) -> str | None:
        return claim(self, reference)

    def preprocess(self: Any, payload: Any) -> Path | None:
        from qa.web.uploads import NOT_AN_UPLOAD

        if payload is None:
            return None
        files = list(payload.root) if hasattr(payload, "root") else [payload]
        guard = guard_of(self)
        if guard is None or len(files) != 1 or not guard.owns(Path(files[0].path)):
            raise gr.Error(NOT_AN_UPLOAD, print_exception=False)
        return Path(files[0].path)

    cls.async_move_resource_to_block_cache = async_claim
    cls.move_resource_to_block_cache = claim
    cls.preprocess = preprocess
    cls._qa_guarded = True
