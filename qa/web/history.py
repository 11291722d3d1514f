"""Chat history as the API and the chat send it, checked and cut to what a follow-up needs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from qa.errors import UsageError
from qa.web.limits import MAX_HISTORY_MESSAGES, MAX_REQUEST_QUESTION_CHARS


def normalize_history(history: Any) -> list[dict[str, str]]:
    """History from the API (a list or its JSON text) as [{"role", "content"}], newest last.

    Raises:
        UsageError: when it is neither a list nor a JSON list.
    """
    if history is None or history == "":
        return []
    if isinstance(history, (str, bytes)):
        try:
            history = json.loads(history)
        except ValueError as exc:
            raise UsageError(f"history must be a JSON list of {{role, content}} objects: {exc}") from None
    if not isinstance(history, Sequence) or isinstance(history, (str, bytes)):
        raise UsageError("history must be a list of {role, content} objects.")
    out = []
    for item in history:
        if not isinstance(item, Mapping):
            continue
        role, content = item.get("role"), item.get("content")
        if role in ("user", "assistant") and isinstance(content, str):
            out.append({"role": role, "content": content[:MAX_REQUEST_QUESTION_CHARS]})  # follow-ups search it
    return out[-MAX_HISTORY_MESSAGES:]
