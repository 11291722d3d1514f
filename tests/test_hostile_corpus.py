"""What one file, one name or one damaged index file can do to `qa index`, `qa ask`, `qa show` and
`qa eval` (issue 23, items 8-14), tried as the attacker would: files on disk, the real CLI in a
subprocess. Each gets one line naming the file, the problem and the fix; the rest is indexed; no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOOD = "---\ntitle: Council report\ndate: 2019-05-01\n---\nThe council was rated good by inspectors in 2019.\n"


def qa(*args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUTF8="0", LC_ALL="C",
               PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "qa", *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          timeout=timeout)
    done.out, done.err = done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    return done


def no_traceback(done) -> None:
    assert "Traceback" not in done.err and "Error:" not in done.err.replace("qa: error:", ""), done.err[-2000:]


def skip_lines(done, name: str) -> list[str]:
    return [line for line in done.err.splitlines() if line.startswith(f"skipped {name}")]


# ---------------------------------------------------------------- item 8: file names


@pytest.mark.model
def test_odd_file_names_are_skipped_or_indexed_and_never_stop_the_rest(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "good.md").write_text(GOOD, "utf-8")
    body = "# {}\n\nThe {} file was indexed.\n"
    for raw in (b"\xff.md", b"caf\xe9.md"):  # Latin-1 names: not UTF-8
        Path(os.fsdecode(os.fsencode(corpus) + b"/" + raw)).write_text(body.format("T", "latin"), "utf-8")
    bad_dir = Path(os.fsdecode(os.fsencode(corpus) + b"/dir\xfe"))
    bad_dir.mkdir()
    (bad_dir / "inside.md").write_text(body.format("In", "inside"), "utf-8")
    (corpus / "new\nline.md").write_text(body.format("NL", "newline"), "utf-8")
    (corpus / "esc\x1b[31m.md").write_text(body.format("ESC", "escape"), "utf-8")
    (corpus / "\u202eevil.md").write_text(body.format("Bidi", "bidi"), "utf-8")
    (corpus / ("\u00e9" * 125 + ".md")).write_text(body.format("Long", "long"), "utf-8")  # 252 bytes
    deep = corpus.joinpath(*["d" * 200] * 15)  # a 3,000-character path
    deep.mkdir(parents=True)
    (deep / "deep.md").write_text(body.format("Deep", "deep"), "utf-8")
    done = qa("index", "--corpus", corpus, "--index", index)
    no_traceback(done)
    assert done.returncode == 0
    lines = done.err.splitlines()
    for shown in ("\\xff.md", "caf\\xe9.md", "dir\\xfe"):
        (line,) = skip_lines(done, shown)
        assert "not UTF-8" in line and "rename it" in line
    assert all("\x1b" not in line for line in lines)  # names are printed with their escapes
    assert "indexed 6 articles from 9 files; skipped 3" in done.out
    show = qa("show", "good", "--corpus", corpus, "--index", index)
    assert show.returncode == 0 and "rated good" in show.out
    ask = qa("ask", "Which file was indexed deep down?", "--corpus", corpus, "--index", index, "--json")
    no_traceback(ask)
    assert ask.returncode == 0 and '"article_id": "d' in ask.out
    import json

    cited = json.loads(ask.out)["citations"][0]["article_id"]
    assert len(cited) <= 255 and cited.startswith("d" * 100)  # a deep path's id is bounded, and unique by a hash


# ---------------------------------------------------------------- item 9: YAML aliases


def laughs(levels: int) -> str:
    """a0 is nine items; each next level nine aliases of the one before: 9**(levels+1) items expanded."""
    return "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, levels + 1))


@pytest.mark.model
def test_yaml_aliases_are_refused_before_expansion_in_front_matter_and_collection_yaml(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "good.md").write_text(GOOD, "utf-8")
    for name, key in (("id.md", "id"), ("title.md", "title"), ("author.md", "author"), ("note.md", "date_note")):
        (corpus / name).write_text(f"---\n{laughs(9)}{key}: *a9\n---\nBody text.\n", "utf-8")
    (corpus / "merge.md").write_text("---\nbase: &b {title: x}\n<<: *b\n---\nBody text.\n", "utf-8")
    (corpus / "self.md").write_text("---\nx: &x [*x]\ntitle: t\n---\nBody text.\n", "utf-8")
    (corpus / "digits.md").write_text(f"---\ndate_note: {'9' * 5000}\n---\nBody text.\n", "utf-8")
    (corpus / "collection.yaml").write_text(laughs(9) + "max_chars: *a9\n", "utf-8")
    done = qa("index", "--corpus", corpus, "--index", index, timeout=120)  # before: MemoryError after ~80 s
    no_traceback(done)
    assert done.returncode == 0, done.err
    for name in ("id.md", "title.md", "author.md", "note.md", "merge.md", "self.md", "collection.yaml"):
        (line,) = skip_lines(done, name)
        assert "YAML alias" in line and len(line) < 200, line
    (line,) = skip_lines(done, "digits.md")
    assert "too long" in line and len(line) < 200
    assert "indexed 1 article from 8 files; skipped 8" in done.out
    assert len(done.err) < 2000


# ---------------------------------------------------------------- item 12: CSV dialect sniffing


def test_sniffing_a_hostile_csv_reads_a_bounded_sample():
    """The Sniffer's quote pattern is quadratic in its sample: 64 KB of ',"' took 20 s per file (three
    such files: qa index 59 s). The reader sniffs the first lines, at most SNIFF_CHARS characters:
    the work bound is the sample's size, not a time."""
    from qa.readers import records

    for text in (',"' * 32_000, "id,text\n" + "1,x\n" * 10_000, "id,text\n" + "a," * 40_000):
        sample = records._sniff_sample(text[:65536])
        assert len(sample) <= records.SNIFF_CHARS and text.startswith(sample)
    lines = "id,text\n" + "1,x\n" * 10_000
    assert records._sniff_sample(lines).endswith("1,x")  # cut at a line end


@pytest.mark.model
def test_three_hostile_csv_files_index_quickly_and_the_rest_is_indexed(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "good.md").write_text(GOOD, "utf-8")
    for i in range(3):
        (corpus / f"q{i}.csv").write_text(',"' * 32_000, "utf-8")
    (corpus / "ok.csv").write_text("id,title,text\nrow1,Budget,The budget was approved in March.\n", "utf-8")
    done = qa("index", "--corpus", corpus, "--index", index, timeout=60)  # before: 59 s in the Sniffer
    no_traceback(done)
    assert done.returncode == 0 and "indexed 2 articles from 5 files; skipped 3" in done.out, done.out + done.err


# ---------------------------------------------------------------- item 13: index and output paths


def test_index_and_output_paths_are_checked_before_any_work(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.md").write_text(GOOD, "utf-8")
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine", "utf-8")
    long_name = tmp_path / ("x" * 300)
    for command in ("index", "ask"):
        for target, says in ((home, "holds other files (notes.txt), not an index"),
                             (long_name, "File name too long"), (Path("/proc/qa-index"), "cannot be written"),
                             (corpus / "good.md" / "x", "cannot hold a new folder")):
            args = [command] + (["Who?"] if command == "ask" else []) + ["--corpus", corpus, "--index", target]
            done = qa(*args, timeout=60)
            no_traceback(done)
            assert done.returncode in (1, 2) and says in done.err and len(done.err.strip().splitlines()) == 1, done.err
    assert sorted(p.name for p in home.iterdir()) == ["notes.txt"]  # nothing written beside the user's files
    for target, says in ((Path("/proc/qa-report.md"), "cannot be written"),
                         (tmp_path / ("r" * 300 + ".md"), "File name too long")):
        done = qa("eval", "--report", target, "--corpus", corpus, "--index", tmp_path / "never", timeout=60)
        no_traceback(done)
        assert done.returncode == 2 and says in done.err and not (tmp_path / "never").exists(), done.err


# ---------------------------------------------------------------- item 14: a damaged index


@pytest.mark.model
@pytest.mark.parametrize("damage", [{"counts": "x"}, {"segments": None}, {"model": {"dim": "x"}},
                                    {"segments": [{"name": 7}]}, "article_years.npz"])
def test_a_damaged_index_is_named_or_rebuilt_never_a_traceback(tmp_path, damage):
    import json
    import shutil

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "good.md").write_text(GOOD, "utf-8")
    assert qa("index", "--corpus", corpus, "--index", index).returncode == 0
    gen = index / (index / "CURRENT").read_text("utf-8").strip()
    if damage == "article_years.npz":
        for seg in (index / "segments").iterdir():
            (seg / "article_years.npz").write_bytes(b"PK\x03\x04 garbage" * 100)
    else:
        manifest = json.loads((gen / "manifest.json").read_text("utf-8"))
        (gen / "manifest.json").write_text(json.dumps(manifest | damage), "utf-8")
    from qa.index.layout import read_json
    from qa.errors import IndexCorruptError

    if damage != "article_years.npz":  # the one check of a manifest's shape names the file and the fix
        with pytest.raises(IndexCorruptError, match="manifest.json is damaged .*qa index --rebuild"):
            read_json(gen / "manifest.json")
    for args in (["show", "good"], ["ask", "How was the council rated?"], ["index", "--rebuild"],
                 ["ask", "How was the council rated?"]):
        done = qa(*args, "--corpus", corpus, "--index", index)
        no_traceback(done)
        named = done.err.strip().splitlines()[-1:] if done.returncode else []  # one line: the file and the fix
        assert done.returncode == 0 or (named and "qa index --rebuild" in named[0] and str(index) in named[0])
    assert done.returncode == 0 and "rated good" in done.out  # qa index --rebuild repaired it
    shutil.rmtree(index)


# ---------------------------------------------------------------- item 11: one file's skipped records


@pytest.mark.model
def test_one_csv_of_many_bad_rows_is_summarised_not_stored_row_by_row(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "good.md").write_text(GOOD, "utf-8")
    (corpus / "rows.csv").write_text("id,title,text\nr1,Budget,The budget was approved in March.\n" + "a,b,\n" * 50_000,
                                     "utf-8")
    done = qa("index", "--corpus", corpus, "--index", index, timeout=300)
    no_traceback(done)
    assert done.returncode == 0 and "indexed 2 articles" in done.out, done.out + done.err
    stored = sum(p.stat().st_size for p in index.rglob("*") if p.is_file() and p.suffix in (".json", ".sqlite"))
    assert stored < 2_000_000, stored  # before: every one of the 50,000 skips stored (500,000 rows: 57 MB)
    assert "50,000 in all" in done.out + done.err and len(done.err) < 10_000, done.err[-2000:]
