"""The plain HTTP JSON API under /api/ (issue 18)."""

from __future__ import annotations

from typing import Any

API_PREFIX = "/api"


def add_api(app: Any, state: Any) -> None:
    """Add the /api/ routes to ``app``."""
