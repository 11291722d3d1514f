"""Every bound the web layer puts on a request, and the environment settings that size the server."""

from __future__ import annotations

from qa.config import int_from_env

MAX_REQUEST_BYTES = 1024 * 1024  # uvicorn and Gradio read any body whole; the chat resends its log (~6 KB a turn)
# Bounds what is read off the wire only: the engine cuts longer questions itself (to 2,000
# characters, then to what the model reads) and says so in a notice.
MAX_REQUEST_QUESTION_CHARS = 10_000
MAX_HISTORY_MESSAGES = 20  # older turns do not help a follow-up and only slow the query
RELOAD_INTERVAL_S = 5.0  # how often, at most, the server checks the index on disk

CONCURRENCY_ENV = "QA_CONCURRENCY"  # questions answered at once
DEFAULT_CONCURRENCY = 2  # chosen from benchmarks/load.md: best throughput of 1, 2, 4 on two cores
# Gradio keeps ~0.1 MB per session (its copy of the page's block config), and every API call
# without a session (README's curl) is a new one; its default cap of 10,000 sessions is ~1 GB.
SESSIONS_ENV = "QA_SESSIONS"
DEFAULT_SESSIONS = 500


def sessions_from_env() -> int:
    """Sessions whose state (chat history) the server keeps, from $QA_SESSIONS; the least
    recently used is dropped beyond it, so memory stays bounded (~0.1 MB each)."""
    return int_from_env(SESSIONS_ENV, DEFAULT_SESSIONS, 10, 100_000)


def concurrency_from_env() -> int:
    """Questions answered at once, from $QA_CONCURRENCY (default DEFAULT_CONCURRENCY)."""
    return int_from_env(CONCURRENCY_ENV, DEFAULT_CONCURRENCY, 1, 16)
