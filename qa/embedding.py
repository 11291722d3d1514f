"""Embedders: texts -> L2-normalised float32 rows. Models load lazily, on first use."""

from __future__ import annotations

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
