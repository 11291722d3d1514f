"""`qa index` on a full disk (issue 14, item 11): one line naming the disk and how much to free, exit 1,
no half-written generation or segment left behind, the previous index untouched, and the model never
exported again. A real full disk: a small tmpfs (needs root; skipped where mounting is not allowed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def small_disk(tmp_path):
    mounted = []

    def mount(megabytes: int) -> Path:
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or 'not root'})")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def qa(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "qa", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def leftovers(index: Path) -> list[str]:
    return [p.name for p in index.glob(".tmp-*")] + [p.name for p in (index / "segments").glob(".tmp-*")]


def test_a_first_build_on_a_disk_too_small_says_so_and_leaves_nothing(corpus_copy, small_disk):
    disk = small_disk(20)  # the query encoder alone (copied: no hard link across file systems) is ~90 MB
    index = disk / "index"
    done = qa("index", "--corpus", str(corpus_copy), "--index", str(index))
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("qa: error")]
    assert len(lines) == 1 and "no space left" in lines[0] and "free at least" in lines[0], done.stderr
    assert "Traceback" not in done.stderr and "exporting the model" not in done.stderr
    assert not leftovers(index) and not (index / "CURRENT").exists()


def test_an_update_on_a_full_disk_keeps_the_previous_index(corpus_copy, small_disk, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(corpus_copy, corpus)
    disk = small_disk(160)
    index = disk / "index"
    assert qa("index", "--corpus", str(corpus), "--index", str(index)).returncode == 0
    current = (index / "CURRENT").read_text()
    free = shutil.disk_usage(disk).free
    (disk / "filler").write_bytes(b"\0" * (free - 64 * 1024))  # leave 64 kB
    target = sorted(corpus.glob("*.md"))[0]
    extra = "".join(f"\nParagraph {i} of an update about the council's new plans for libraries and parks.\n"
                    for i in range(400))
    target.write_text(target.read_text("utf-8") + extra, "utf-8")
    done = qa("index", "--corpus", str(corpus), "--index", str(index))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no space left" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert (index / "CURRENT").read_text() == current and not leftovers(index)
    asked = qa("ask", "How was the council rated?", "--json", "--index", str(index), "--corpus", str(corpus))
    assert asked.returncode == 0 and '"citations"' in asked.stdout  # still answers (from the previous index)
    (disk / "filler").unlink()
    assert qa("index", "--corpus", str(corpus), "--index", str(index)).returncode == 0
    assert (index / "CURRENT").read_text() != current
