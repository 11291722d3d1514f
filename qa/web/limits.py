"""Every bound the web layer puts on a request, and the environment settings that size the server."""

from __future__ import annotations

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

# The server's sizes (QA_CONCURRENCY, QA_QUEUE, QA_SESSIONS) are settings: see qa/config.py's ENV.

ARTICLES_PAGE_SIZE = 20  # articles per page in the Articles tab
MAX_ARTICLES_PAGE = 200  # the most /api/articles returns at once

# The connection (qa/web/protocol.py): what one client can hold before any route runs.
MAX_HEAD_BYTES = 64 * 1024  # request line and headers; more -> 431 and the connection closed
HEAD_TIMEOUT_S = 10.0  # a head must arrive whole within this, from the connection's (or request's) start -> 408
MAX_CONNECTIONS = 512  # open at once; one more -> 503 and closed (a chat tab holds one or two)
