"""Embedders: texts -> L2-normalised float32 rows. Models load lazily, on first use."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np


class Embedder(Protocol):
    """What the index and the retriever need from an encoder."""

    def embed(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """The reference encoder (torch). Importing it costs seconds, so it happens on first use.

    Usage example:
        vectors = SentenceTransformerEmbedder(bundled_model_path()).embed(["a sentence"])
    """

    def __init__(self, model_path: str):
        self.model_path = model_path
        self._model = None

    @property
    def model(self):
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self.model_path, device="cpu")
        return self._model

    @property
    def dim(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def embed(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def onnx_embedder(encoder_dir: Path, threads: int = 1) -> Embedder:
    """The torch-free encoder exported into the index (see qa/onnx_embedder.py)."""
    from qa.onnx_embedder import OnnxEmbedder

    return OnnxEmbedder(Path(encoder_dir), threads=threads)


class RecentVectors:
    """The vectors of the last ``size`` texts embedded, so that a follow-up does not embed its history
    again (in the chat, the previous question was embedded moments ago). Thread-safe.

    Usage example:
        recent = RecentVectors(512)
        recent.put("Who rated the council?", vector)
        recent.get("Who rated the council?")  # -> vector, or None once 512 newer texts pushed it out
    """

    def __init__(self, size: int = 512):
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> np.ndarray | None:
        with self._lock:
            vector = self._vectors.get(text)
            if vector is not None:
                self._vectors.move_to_end(text)
            return vector

    def put(self, text: str, vector: np.ndarray) -> None:
        with self._lock:
            self._vectors[text] = vector
            self._vectors.move_to_end(text)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)

    def __len__(self) -> int:
        return len(self._vectors)
