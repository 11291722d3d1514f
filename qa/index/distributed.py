"""Embedding a build on a Dask cluster (`qa index --workers N` or `--scheduler tcp://HOST:PORT`).

Only the encoder runs on the workers: the main process reads, chunks and batches the articles as a
plain build does, sends each batch's texts as one task, and writes the vectors in order as they come
back, so the index is the one a plain build makes (vectors equal within 1e-6). Each worker loads the
index's own ONNX export once; a worker that does not see the file at its path (another machine) is
sent its bytes once. A worker lost mid-build has its tasks run again by the scheduler; a lost
scheduler or Ctrl-C stops the build, which leaves the previous generation answering (build.py undoes
what it wrote). Nothing here is imported unless one of those flags is given: Dask is an extra
(`pip install 'qa[dask]'`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections import deque
from pathlib import Path
from typing import Iterable, Iterator

from qa.errors import QAError

IN_FLIGHT_PER_WORKER = 2  # batches queued per worker: it never waits, and memory stays bounded
_ENCODERS: dict[str, object] = {}  # in a worker: encoder sha256 -> the loaded embedder


class ClusterError(QAError):
    """Dask is missing, or the cluster could not be reached or was lost."""


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError("--workers and --scheduler need Dask: pip install 'qa[dask]' "
                           "(or run `qa index` without them).") from None
    return distributed


class ClusterEmbedder:
    """Embeds batches of texts on a Dask cluster with the ONNX encoder in ``encoder_dir``.

    Usage example:
        with ClusterEmbedder.start(encoder_dir, workers=2) as embedder:
            for batch, texts, vectors in embedder.embed_batches(batches, batch_size=8):
                ...
    """

    def __init__(self, client, encoder_dir: Path, cluster=None):
        self.client, self.cluster = client, cluster
        self.encoder_dir = Path(encoder_dir)
        self._files = {p.name: p for p in self.encoder_dir.iterdir() if p.is_file()}
        from qa.onnx_export import sha256_file

        self.sha256 = sha256_file(self.encoder_dir / "model.onnx")
        self._local = None

    @classmethod
    @contextlib.contextmanager
    def start(cls, encoder_dir: Path, *, workers: int = 0, scheduler: str | None = None) -> Iterator["ClusterEmbedder"]:
        """A local cluster of ``workers`` processes (one thread each, the cores shared out), or a client
        of the scheduler at ``scheduler``; closed on leaving."""
        distributed = _import_distributed()
        import dask

        cluster = None
        try:
            with dask.config.set({"distributed.worker.daemon": False, "logging.distributed": "error"}):
                if scheduler:
                    client = distributed.Client(scheduler, timeout="10s")
                else:
                    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                       dashboard_address=None, silence_logs=40)
                    client = distributed.Client(cluster)
        except (OSError, TimeoutError) as exc:
            where = f"the Dask scheduler at {scheduler}" if scheduler else "a local Dask cluster"
            raise ClusterError(f"could not reach {where} ({str(exc).splitlines()[0][:200]}): check the address "
                               "and that the scheduler runs, or run `qa index` without --scheduler.") from None
        # A lost scheduler is our one line (ClusterError), not Dask's tracebacks.
        loggers = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)
                   if n.split(".")[0] == "distributed"]
        levels = [lg.level for lg in loggers]
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
        try:
            yield cls(client, encoder_dir, cluster)
        finally:
            with contextlib.suppress(Exception):
                client.close()
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.close()
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)

    def _threads(self) -> int:
        """ONNX threads per worker: the machine's cores shared among the local workers."""
        if self.cluster is None:
            return 1
        return max(1, (os.cpu_count() or 1) // max(1, len(self.cluster.workers)))

    def embed(self, texts: list[str], *, batch_size: int = 32):
        """A few texts in this process (a dimension probe): not worth a round trip."""
        if self._local is None:
            from qa.embedding import onnx_embedder

            self._local = onnx_embedder(self.encoder_dir)
        return self._local.embed(texts, batch_size=batch_size)

    def embed_batches(self, batches: Iterable[tuple[object, list[str]]], *, batch_size: int
                      ) -> Iterator[tuple[object, list[str], "object"]]:
        """(item, texts, vectors) for each (item, texts) of ``batches``, in order; a few batches are
        queued on the cluster ahead of the one being returned."""
        from distributed import CancelledError

        self._ship_encoder()
        window = IN_FLIGHT_PER_WORKER * max(1, len(self.client.scheduler_info().get("workers", {})))
        queued: deque = deque()
        source = iter(batches)
        threads = self._threads()
        try:
            while True:
                while len(queued) < window:
                    nxt = next(source, None)
                    if nxt is None:
                        break
                    item, texts = nxt
                    future = self.client.submit(embed_on_worker, str(self.encoder_dir), self.sha256, texts,
                                                batch_size, threads, pure=False, retries=2)
                    queued.append((item, texts, future))
                if not queued:
                    return
                item, texts, future = queued.popleft()
                yield item, texts, future.result()
                future.release()
        except (OSError, TimeoutError, CancelledError) as exc:
            raise ClusterError(f"the Dask cluster was lost mid-build ({type(exc).__name__}): the previous index "
                               "is untouched; run `qa index` again.") from None
        finally:
            for _, _, future in queued:
                with contextlib.suppress(Exception):
                    future.cancel()

    def _ship_encoder(self) -> None:
        """Send the encoder's files to the workers that do not see them at their path (other machines)."""
        have = self.client.run(has_encoder, str(self.encoder_dir), self.sha256)
        missing = [w for w, ok in have.items() if not ok]
        if missing:
            files = {name: path.read_bytes() for name, path in self._files.items()}
            self.client.run(install_encoder, files, self.sha256, workers=missing)


def has_encoder(encoder_dir: str, sha256: str) -> bool:
    """On a worker: the encoder is at ``encoder_dir`` (a shared disk) or was sent earlier."""
    from qa.onnx_export import sha256_file

    if sha256 in _ENCODERS or _shipped_dir(sha256).joinpath("model.onnx").is_file():
        return True
    try:
        return sha256_file(Path(encoder_dir) / "model.onnx") == sha256
    except OSError:
        return False


def install_encoder(files: dict[str, bytes], sha256: str) -> None:
    """On a worker: write the encoder's files into its temporary folder, atomically."""
    target = _shipped_dir(sha256)
    if target.joinpath("model.onnx").is_file():
        return
    tmp = Path(tempfile.mkdtemp(prefix=".qa-encoder-", dir=target.parent))
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    with contextlib.suppress(OSError):
        os.rename(tmp, target)


def _shipped_dir(sha256: str) -> Path:
    return Path(tempfile.gettempdir()) / f"qa-encoder-{sha256[:16]}"


def embed_on_worker(encoder_dir: str, sha256: str, texts: list[str], batch_size: int, threads: int):
    """On a worker: embed one batch with the encoder, loaded once per worker process."""
    embedder = _ENCODERS.get(sha256)
    if embedder is None:
        from qa.embedding import onnx_embedder

        shipped = _shipped_dir(sha256)
        folder = shipped if shipped.joinpath("model.onnx").is_file() else Path(encoder_dir)
        embedder = _ENCODERS[sha256] = onnx_embedder(folder, threads=threads)
    return embedder.embed(texts, batch_size=batch_size)
