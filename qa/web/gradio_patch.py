"""Gradio, changed where its defaults cost this app time: no matplotlib backend switch per event."""

from __future__ import annotations


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
