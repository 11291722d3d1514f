"""`qa index --workers/--scheduler` (Dask) and `--device`: the cluster builds the index a plain build
builds, survives a worker killed mid-build, and nothing of Dask is imported without those flags."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import qa.index.build
from qa.config import Settings
from qa.index import BuildOptions, build_index

from test_index import synthetic  # noqa: E402  (tests/ is on sys.path)

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as c:
        yield c


@pytest.fixture()
def small_batches(monkeypatch):
    monkeypatch.setattr(qa.index.build, "EMBED_BATCH_TEXTS", 12)  # several tasks from a few articles


def vectors(index_dir: Path) -> dict[str, np.ndarray]:
    """Every table and vector file of the index's one segment."""
    (seg,) = [p for p in (index_dir / "segments").iterdir() if p.name.startswith("seg-")]
    out = {p.name: np.load(p) for p in seg.glob("*.npy")}
    out |= {p.name: np.fromfile(p, dtype=np.float32) for p in seg.glob("*.f32")}
    return out


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    s = Settings(corpus_dir=Path("unused"), index_dir=tmp_path_factory.mktemp("plain"))
    build_index(synthetic(10, sentences=4), s)
    return s


def same_index(a: Path, b: Path) -> None:
    va, vb = vectors(a), vectors(b)
    assert sorted(va) == sorted(vb)
    for name in va:
        if name.endswith(".f32"):
            assert np.abs(va[name] - vb[name]).max() <= 1e-6, name
        else:
            assert np.array_equal(va[name], vb[name]), name


def test_a_dask_build_gives_the_index_a_plain_build_gives(plain, cluster, tmp_path, small_batches):
    s = Settings(corpus_dir=Path("unused"), index_dir=tmp_path / "dask")
    report = build_index(synthetic(10, sentences=4), s, BuildOptions(scheduler=cluster.scheduler_address))
    assert report.articles == 10
    same_index(plain.index_dir, s.index_dir)


def test_a_worker_killed_mid_build_still_completes(plain, cluster, tmp_path, small_batches):
    client = distributed.Client(cluster)
    pids = client.run(os.getpid)
    s = Settings(corpus_dir=Path("unused"), index_dir=tmp_path / "killed")
    result: list = []
    build = threading.Thread(target=lambda: result.append(
        build_index(synthetic(10, sentences=4), s, BuildOptions(scheduler=cluster.scheduler_address))))
    build.start()
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and build.is_alive() and time.monotonic() < deadline:
        busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
        if busy:
            killed = busy[0]
            os.kill(pids[killed], signal.SIGKILL)
        time.sleep(0.05)
    build.join(300)
    client.close()
    assert killed is not None, "no worker was busy to kill"
    assert result and result[0].articles == 10
    same_index(plain.index_dir, s.index_dir)


def test_device_cuda_without_a_gpu_is_one_line(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible here")
    from qa.cli import main

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.md").write_text("# A\n\nOne sentence.\n", "utf-8")
    code = main(["index", "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index"),
                 "--device", "cuda"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "--device cuda" in err[0] and "--device cpu" in err[0]
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_no_dask_on_the_question_path(plain):
    code = ("import sys; from qa.cli import main; "
            f"main(['ask', 'Which council rated the library?', '--index', {str(plain.index_dir)!r}]); "
            "print('DASK', sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env=os.environ | {"PYTHONPATH": str(ROOT)})
    assert out.returncode == 0 and "Q: Which council" in out.stdout and "DASK []" in out.stdout, out.stdout + out.stderr


def test_a_lost_scheduler_is_one_line_and_the_previous_index_stays(tmp_path):
    """`qa index --scheduler` against a scheduler and worker in their own processes; the scheduler is killed
    once the first batch's vectors are being written: one line, a non-zero exit, the previous generation
    current and nothing of the new one left."""
    import socket

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "first.md").write_text("# First\n\nThe council rated the library.\n", "utf-8")
    index = tmp_path / "index"
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    qa_index = [sys.executable, "-m", "qa", "index", "--corpus", str(corpus), "--index", str(index)]
    assert subprocess.run(qa_index, capture_output=True, env=env, cwd=ROOT, timeout=300).returncode == 0
    before = (index / "CURRENT").read_text()
    for a in synthetic(60, sentences=25):
        (corpus / f"{a.id}.md").write_text(f"# {a.title}\n\n{a.text}\n", "utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dask = str(Path(sys.executable).parent / "dask")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env, "cwd": tmp_path}
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 **quiet)
    worker = build = None
    try:
        worker = subprocess.Popen([dask, "worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1", "--nworkers", "1",
                                   "--no-dashboard"], **quiet)
        build = subprocess.Popen(qa_index + ["--scheduler", f"tcp://127.0.0.1:{port}"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        deadline = time.monotonic() + 240
        while build.poll() is None and time.monotonic() < deadline:
            if list((index / "segments").glob(".tmp-seg-*")):  # the first batch is back and being written
                scheduler.kill()
                break
            time.sleep(0.05)
        out, err = build.communicate(timeout=240)
    finally:
        for p in (scheduler, worker, build):
            if p is not None and p.poll() is None:
                p.kill()
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith(("embedding", "exporting"))]
    assert build.returncode != 0 and len(lines) == 1, err
    assert "Dask cluster was lost mid-build" in lines[0] and "run `qa index` again" in lines[0], lines
    assert (index / "CURRENT").read_text() == before
    assert not list(index.glob(".tmp-*")) and not list((index / "segments").glob(".tmp-*"))
