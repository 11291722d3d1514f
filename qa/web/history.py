"""Chat history as the API and the chat send it, checked and cut to what a follow-up needs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from qa.errors import UsageError
from qa.web.limits import MAX_HISTORY_MESSAGES, MAX_REQUEST_QUESTION_CHARS


def checked_text(value: str, what: str = "the question") -> str:
    """``value`` when it is valid Unicode text.

    Raises:
        UsageError: it holds an unpaired surrogate (JSON's "\\ud800" decodes to one), which the
            engine's tokenizer cannot read.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UsageError(f"{what} holds an unpaired surrogate (\\u{ord(value[exc.start]):04x}) at character "
                         f"{exc.start + 1}: send valid Unicode text.") from None
    return value


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
        except RecursionError:  # nested deeper than Python's stack
            raise UsageError("history is nested too deeply: send a JSON list of {role, content} objects.") from None
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
            content = checked_text(content[:MAX_REQUEST_QUESTION_CHARS], "a history message")  # follow-ups search it
            out.append({"role": role, "content": content})
    return out[-MAX_HISTORY_MESSAGES:]
