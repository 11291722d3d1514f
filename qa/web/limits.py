"""Every bound the web layer puts on a request, and the environment settings that size the server."""

from __future__ import annotations

from qa.config import int_from_env

MAX_REQUEST_BYTES = 1024 * 1024  # uvicorn and Gradio read any body whole; the chat resends its log (~6 KB a turn)
# Bounds what is read off the wire only: the engine cuts longer questions itself (to 2,000
# characters, then to what the model reads) and says so in a notice.
MAX_REQUEST_QUESTION_CHARS = 10_000
MAX_HISTORY_MESSAGES = 20  # older turns do not help a follow-up and only slow the query
RELOAD_INTERVAL_S = 2.0  # how often a background thread checks whether a newer index is on disk

# Uploads (the Evaluation tab's questions files). A 1,000-question file is ~300 KB.
MAX_UPLOAD_BYTES = 512 * 1024
MAX_PENDING_UPLOADS = 8  # uploads kept waiting to be evaluated; a new one deletes the oldest beyond this
UPLOAD_TTL_S = 600.0  # an upload never used is deleted after this long

# Evaluation runs (the Evaluation tab): one at a time per server, bounded by the questions asked.
MAX_EVAL_QUESTIONS = 1000
MAX_EVAL_HISTORY_TURNS = 20  # earlier turns of one test question (each is asked too)
MAX_EVAL_ASKS = 3000  # questions asked in all: (1 + earlier turns) x 3 methods, summed over the file

# The chat page keeps its log on the server (gr.State), never in the request; this many messages
# (two per turn) stay on the page, older ones are dropped with a note saying so.
MAX_CHAT_LOG_MESSAGES = 100

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

# Questions waiting for an answer thread beyond QA_CONCURRENCY; one more is refused with 503 at
# once. 32 holds 20 clients asking at once without a refusal (benchmarks/api_load.md) and is ~0.1-0.2 s
# of work for two threads.
WAITING_ENV = "QA_QUEUE"
DEFAULT_WAITING = 32

ARTICLES_PAGE_SIZE = 20  # articles per page in the Articles tab
MAX_ARTICLES_PAGE = 200  # the most /api/articles returns at once


def waiting_from_env() -> int:
    """Questions allowed to wait for an answer thread, from $QA_QUEUE (default DEFAULT_WAITING)."""
    return int_from_env(WAITING_ENV, DEFAULT_WAITING, 0, 10_000)
