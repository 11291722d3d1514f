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

    def __init__(self, model_path: str, device: str = "cpu"):
        self.model_path = model_path
        self.device = device
        self._model = None

    @property
    def model(self):
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self.model_path, device=self.device)
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


DEVICES = ("cpu", "cuda", "auto")
CUDA_CHECK_TEXTS = 16  # texts of the first batch embedded both ways to check the GPU's vectors
CUDA_MIN_COSINE = 0.999  # as the ONNX export's own check


def resolve_device(device: str) -> str:
    """"cpu" or "cuda" for ``--device`` (auto: cuda when PyTorch sees a CUDA GPU). torch is imported only
    for cuda and auto.

    Raises:
        UsageError: an unknown device, or cuda without a visible GPU or a CUDA build of PyTorch (one line).
    """
    from qa.errors import UsageError

    if device not in DEVICES:
        raise UsageError(f"--device must be one of {', '.join(DEVICES)}; it is {device!r}.")
    if device == "cpu":
        return "cpu"
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        if device == "auto":
            return "cpu"
        raise UsageError("--device cuda needs PyTorch with CUDA (docs/SCALING.md, 'Building on a GPU'); "
                         "or use --device cpu.")
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "auto":
        return "cpu"
    why = "this PyTorch is built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
    raise UsageError(f"--device cuda: {why} (torch {torch.__version__}); install the CUDA build "
                     "(docs/SCALING.md, 'Building on a GPU') or use --device cpu.")


class CudaEmbedder(SentenceTransformerEmbedder):
    """The reference encoder on a CUDA GPU, for building; its first batch is checked against the
    index's ONNX encoder (``onnx_dir``): every sampled text's cosine must be at least CUDA_MIN_COSINE."""

    def __init__(self, model_path: str, onnx_dir: Path | None):
        super().__init__(model_path, device="cuda")
        self.onnx_dir = onnx_dir
        self.checked = onnx_dir is None

    def embed(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        vectors = super().embed(texts, batch_size=batch_size, progress=progress)
        if not self.checked and len(texts):
            sample = list(texts[:CUDA_CHECK_TEXTS])
            reference = onnx_embedder(self.onnx_dir).embed(sample)
            worst = float(np.min(np.sum(reference * vectors[:len(sample)], axis=1)))
            if worst < CUDA_MIN_COSINE:
                from qa.errors import QAError

                raise QAError(f"the GPU's vectors differ from the ONNX encoder's (cosine {worst:.4f} < "
                              f"{CUDA_MIN_COSINE}): build with --device cpu. The previous index is untouched.")
            self.checked = True
        return vectors


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
