"""Torch-free sentence encoder: an exported ONNX model, its tokenizer, mean pooling, L2 norm."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import IndexCorruptError, IndexMissingError

# Nothing here may import torch, transformers or sentence_transformers, even indirectly:
# importing torch alone costs ~8 s, far over the one-shot `qa ask` budget.

_REQUIRED_KEYS = ("variant", "max_length", "pooling", "normalize", "dim", "sha256")
_REBUILD = "Run `qa index --rebuild` to export it again."


class OnnxEmbedder:
    """Embeds texts like the sentence-transformers model it was exported from.

    Construction only records the folder; encoder.json, the tokenizer and the ONNX session
    load on first use (or ``warm_up()``), when model.onnx is also checked against its hash.

    Usage example:
        embedder = OnnxEmbedder(Path("index/encoder"))
        vectors = embedder.embed(["Who inspected the school?"])  # (1, 384) float32, unit rows
    """

    def __init__(
        self, model_dir: Path, threads: int = 1, inter_op_threads: int = 1, *, spin: bool = False
    ) -> None:
        """Record where the exported encoder lives; loads nothing yet.

        Args:
            model_dir: Folder written by ``qa.onnx_export.export_onnx``.
            threads: ONNX Runtime intra-op threads. 1 by default: with another process busy
                on one of two cores, 2 threads collapse while 1 stays fast.
            inter_op_threads: ONNX Runtime inter-op threads (the graph runs sequentially).
            spin: Let idle intra-op threads busy-wait (ONNX Runtime's default). Off by
                default: on a shared machine spinning threads fight other processes for
                cores and multi-thread latency doubles; no effect with ``threads=1``.
        """
        if threads < 1 or inter_op_threads < 1:
            raise ValueError(f"threads must be at least 1; got {threads}, {inter_op_threads}")
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.inter_op_threads = inter_op_threads
        self.spin = spin
        self._info: dict[str, Any] | None = None
        self._tokenizer: Any = None  # truncating, for the model
        self._raw_tokenizer: Any = None  # untruncated, for count_tokens/truncate
        self._session: Any = None
        self._input_names: tuple[str, ...] = ()
        self._lock = threading.Lock()

    @property
    def info(self) -> dict[str, Any]:
        """The encoder.json dict (variant, max_length, dim, sha256, ...); a copy."""
        return dict(self._load_info())

    @property
    def dim(self) -> int:
        """Embedding dimension (384 for all-MiniLM-L6-v2)."""
        return int(self._load_info()["dim"])

    @property
    def max_length(self) -> int:
        """Longest input in model tokens, special tokens included; longer texts are truncated."""
        return int(self._load_info()["max_length"])

    def warm_up(self) -> None:
        """Load and verify the model now rather than on the first ``embed`` call.

        Raises:
            IndexMissingError: The folder or one of its files is missing.
            IndexCorruptError: model.onnx does not match encoder.json's sha256, or a file
                is unreadable.
        """
        self._load_session()

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False
    ) -> np.ndarray:
        """Embed texts as L2-normalised float32 rows, in the order given.

        Texts are batched by token length (then restored to input order) so that little
        time goes on padding; texts longer than ``max_length`` tokens are truncated, as
        sentence-transformers does.

        Args:
            texts: The texts to embed (not a single string).
            batch_size: Texts per ONNX run.
            progress: Show a tqdm progress bar.

        Returns:
            Array of shape (len(texts), dim), dtype float32, rows of unit length.

        Raises:
            TypeError: ``texts`` is a string, or holds something other than strings.
            IndexMissingError, IndexCorruptError: As for ``warm_up``.
        """
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not one string: use [text]")
        texts = list(texts)
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"embed() takes strings; got {type(text).__name__}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1; got {batch_size}")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        session = self._load_session()

        if len(texts) == 1:
            encodings = [self._tokenizer.encode(texts[0])]
        else:
            encodings = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.empty((len(texts), self.dim), dtype=np.float32)

        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="Embedding", unit="text")
        try:
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                feed, mask = self._feed([encodings[i] for i in rows])
                hidden = session.run(None, feed)[0]
                out[rows] = _mean_pool_normalize(hidden, mask)
                if bar is not None:
                    bar.update(len(rows))
        finally:
            if bar is not None:
                bar.close()
        return out

    def count_tokens(self, text: str) -> int:
        """Model word-pieces in ``text``, special tokens included, without truncation.

        Args:
            text: Any text.

        Returns:
            The token count; more than ``max_length`` means ``embed`` would truncate.
        """
        return len(self._load_raw_tokenizer().encode(text).ids)

    def truncate(self, text: str, max_tokens: int | None = None) -> str:
        """Longest prefix of ``text`` that the model reads whole.

        The cut falls at the end offset of the last token kept, so the result is a prefix
        of the original string; compare its length with ``text`` to report truncation.

        Args:
            text: Any text.
            max_tokens: Token budget, special tokens included; capped at (and by default)
                ``max_length``.

        Returns:
            ``text`` itself if it fits, else its longest fitting prefix.
        """
        limit = self.max_length if max_tokens is None else min(max_tokens, self.max_length)
        tokenizer = self._load_raw_tokenizer()
        encoding = tokenizer.encode(text)
        if len(encoding.ids) <= limit:
            return text
        ends = [end for (_, end), special in zip(encoding.offsets, encoding.special_tokens_mask)
                if not special]
        keep = limit - (len(encoding.ids) - len(ends))
        # A cut inside a word can re-tokenise into more pieces: step back until it fits.
        while keep > 0:
            prefix = text[: ends[keep - 1]]
            if len(tokenizer.encode(prefix).ids) <= limit:
                return prefix
            keep -= 1
        return ""

    # Loading -------------------------------------------------------------------------

    def _load_info(self) -> dict[str, Any]:
        if self._info is not None:
            return self._info
        path = self.model_dir / "encoder.json"
        if not path.is_file():
            raise IndexMissingError(f"no ONNX encoder in {self.model_dir} ({path.name} is missing). {_REBUILD}")
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(f"{path} is unreadable ({exc}). {_REBUILD}") from None
        missing = [k for k in _REQUIRED_KEYS if not isinstance(info, dict) or k not in info]
        if missing:
            raise IndexCorruptError(f"{path} lacks {', '.join(missing)}. {_REBUILD}")
        if info["pooling"] != "mean" or info["normalize"] is not True:
            # Pooling lives in this class, not in the graph: anything else would be wrong.
            raise IndexCorruptError(
                f"{path} asks for {info['pooling']} pooling (normalize={info['normalize']}); "
                f"only normalised mean pooling is supported. {_REBUILD}"
            )
        self._info = info
        return info

    def _read_tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        path = self.model_dir / "tokenizer.json"
        if not path.is_file():
            raise IndexMissingError(f"{path} is missing. {_REBUILD}")
        try:
            return Tokenizer.from_file(str(path))
        except Exception as exc:  # noqa: BLE001 - tokenizers raises bare Exception
            raise IndexCorruptError(f"{path} is unreadable ({exc}). {_REBUILD}") from None

    def _load_raw_tokenizer(self) -> Any:
        with self._lock:
            if self._raw_tokenizer is None:
                self._load_info()
                tokenizer = self._read_tokenizer()
                tokenizer.no_truncation()
                tokenizer.no_padding()
                self._raw_tokenizer = tokenizer
        return self._raw_tokenizer

    def _load_session(self) -> Any:
        if self._session is not None:
            return self._session
        with self._lock:
            if self._session is not None:
                return self._session
            info = self._load_info()
            tokenizer = self._read_tokenizer()
            # The bundled tokenizer.json truncates at 128 and pads every input to 128; the
            # model reads up to max_length, and fixed padding makes queries 4-5x slower.
            # Padding happens per batch in _feed instead.
            tokenizer.enable_truncation(max_length=int(info["max_length"]))
            tokenizer.no_padding()
            session = self._open_session(info)
            self._input_names = tuple(i.name for i in session.get_inputs())
            self._tokenizer = tokenizer
            self._session = session
        return self._session

    def _open_session(self, info: dict[str, Any]) -> Any:
        import onnxruntime as ort

        from qa.onnx_export import sha256_file

        path = self.model_dir / "model.onnx"
        try:
            digest = sha256_file(path)
        except FileNotFoundError:
            raise IndexMissingError(f"{path} is missing. {_REBUILD}") from None
        except OSError as exc:
            raise IndexCorruptError(f"{path} is unreadable ({exc}). {_REBUILD}") from None
        if digest != info["sha256"]:
            raise IndexCorruptError(
                f"{path} does not match the sha256 in {path.with_name('encoder.json')}: "
                f"the file was changed or damaged. {_REBUILD}"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = self.inter_op_threads
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.spin else "0")
        options.log_severity_level = 3  # warnings about unused initialisers are noise here
        # Loading from the path, not from bytes read here, and without the memory arena keeps
        # ~90 MB less resident (benchmarks/results.md). The file sits in an index generation
        # folder that is never rewritten, so the hash checked above is of what loads.
        options.enable_cpu_mem_arena = False
        try:
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises several unrelated types
            raise IndexCorruptError(f"{path} cannot be loaded ({exc}). {_REBUILD}") from None

    def _feed(self, encodings: Sequence[Any]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)  # 0 is [PAD] in BERT vocabularies
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n] = e.ids
            mask[row, :n] = e.attention_mask
            types[row, :n] = e.type_ids
        arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return {name: arrays[name] for name in self._input_names}, mask


def _mean_pool_normalize(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    # Same arithmetic as sentence-transformers' Pooling(mean) + Normalize.
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
