"""Corpus files through the CLI: bad files are skipped and listed, the rest is indexed, `--strict` refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.cli import main
from qa.corpus import corpus_hashes, load_articles

GOOD = "---\ntitle: A title\ndate: 2024-01\nsource: The Paper\nurl: null\n---\nFirst sentence. Second one.\n"
BAD = {  # one of each kind the issue names, each with the words its line must hold
    "notes.txt": (b"", "is empty"),
    "scan.md": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary file"),
    "utf16.txt": ("Council notes\n\nThe committee met.\n".encode("utf-16-le"), "UTF-16 text without a byte-order mark"),
    "odd-date.md": (b"---\ntitle: T\ndate: last spring\n---\nBody.\n", "is not a date"),
    "title-list.md": (b"---\ntitle: [a, b]\ndate: 2020\n---\nBody.\n", "title is a list"),
    "yaml.md": (b"---\ntitle: [unclosed\ndate: 2020\n---\nBody.\n", "not valid YAML"),
    "unclosed.md": (b"---\ntitle: T\ndate: 2020\nBody.\n", "not closed"),
    "same-id.md": (b"---\nid: good\ntitle: Other\n---\nA different body altogether, about something else.\n",
                   "already used by good.md"),
}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_corpus_articles_have_metadata_and_verbatim_bodies(articles):
    assert len(articles) == 5
    for a in articles.values():
        assert a.title and a.text.strip()
        assert a.date is None or a.date[:2] in ("19", "20")
        assert a.url is None  # none of the seeds shows its address: never invented
        if a.date_approximate:
            assert a.date_note  # an inferred date says from what
    # bodies are verbatim: every line of each body appears in one of the seed files
    seeds = "\n".join(p.read_text("utf-8") for p in (Path(__file__).parent / "data" / "seeds").glob("*.txt"))
    assert len(seeds) > 20_000
    for a in articles.values():
        for line in a.text.splitlines():
            assert line in seeds


def test_dropping_in_a_file_adds_an_article(tmp_path):
    (tmp_path / "one.md").write_text(GOOD, "utf-8")
    (tmp_path / "plain.txt").write_text("A headline\n\nBody text here.\n", "utf-8")
    (tmp_path / "page.html").write_text("<html><head><title>A page | Site</title></head><body><article><p>"
                                        + "Text of the page, long enough to be an article. " * 4
                                        + "</p></article></body></html>", "utf-8")
    arts = {a.id: a for a in load_articles(tmp_path)}
    assert set(arts) == {"one", "plain", "page"}
    assert arts["one"].date == "2024-01" and arts["one"].source == "The Paper"
    assert arts["one"].text == "First sentence. Second one.\n"
    assert arts["plain"].title == "A headline" and arts["plain"].date is None
    assert arts["page"].title == "A page" and arts["page"].text.startswith("Text of the page")
    assert corpus_hashes(tmp_path) == {i: a.sha256 for i, a in arts.items()}


@pytest.mark.model
def test_bad_files_are_skipped_and_listed_and_the_rest_is_indexed(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.md").write_text(GOOD, "utf-8")
    for name, (content, _) in BAD.items():
        (corpus / name).write_bytes(content)
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    code, out, err = run(capsys, "index", "--corpus", str(corpus), "--index", str(tmp_path / "idx"))
    assert code == 0, err
    assert "Traceback" not in err
    lines = err.splitlines()
    for name, (_, expect) in BAD.items():
        (line,) = [ln for ln in lines if ln.startswith(f"skipped {name}: ")]
        assert expect in line
    assert any(ln.startswith("skipped passwd.txt: is a symbolic link") for ln in lines)
    summary = out.strip().splitlines()[-1]
    assert summary.startswith(f"indexed 1 article from {len(BAD) + 2} files; skipped {len(BAD) + 1}: ")
    from qa.index import load_index

    index = load_index(tmp_path / "idx")
    assert set(index.articles) == {"good"}
    assert "root:" not in "".join(c.text for c in index.iter_chunks())

    # --strict: the same folder changes nothing and exits 3
    (corpus / "good2.md").write_text(GOOD.replace("First", "Another first"), "utf-8")
    code, out, err = run(capsys, "index", "--strict", "--corpus", str(corpus), "--index", str(tmp_path / "idx"))
    assert code == 3 and "--strict" in err and "index was not changed" in err
    assert set(load_index(tmp_path / "idx").articles) == {"good"}

    # and the good index keeps answering: `qa show`/`qa ask` are not blocked by the bad files
    code, out, err = run(capsys, "show", "good", "--corpus", str(corpus), "--index", str(tmp_path / "idx"), "--json")
    assert code == 0 and json.loads(out)["text"] == "First sentence. Second one.\n"


@pytest.mark.model
def test_ask_is_not_blocked_by_a_bad_file(tmp_path, capsys, caplog):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.md").write_text(GOOD.replace("First sentence. Second one.",
                                                 "The council approved the budget on Tuesday."), "utf-8")
    (corpus / "empty.txt").write_bytes(b"")
    code, out, err = run(capsys, "ask", "When was the budget approved?", "--json", "--corpus", str(corpus),
                         "--index", str(tmp_path / "idx"))
    assert code == 0 and "Traceback" not in err
    assert json.loads(out.splitlines()[0])["question"] == "When was the budget approved?"
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "qa.corpus"]
    assert "skipped 1 file" in warning and "qa index" in warning  # one line, pointing at `qa index`


def test_missing_empty_and_unreadable_corpus_folders(tmp_path, capsys):
    code, _, err = run(capsys, "index", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "i"))
    assert code == 1 and "does not exist" in err and "--corpus" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "index", "--corpus", str(tmp_path / "empty"), "--index", str(tmp_path / "i"))
    assert code == 1 and "has no articles" in err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.txt").write_bytes(b"")
    (tmp_path / "bad" / "b.csv").write_text("x,y\n1,2\n", "utf-8")
    (tmp_path / "bad" / "c.pdf").write_bytes(b"%PDF")
    code, _, err = run(capsys, "index", "--corpus", str(tmp_path / "bad"), "--index", str(tmp_path / "i"))
    assert code == 1 and "3 files, none readable" in err
    assert "skipped a.txt: is empty" in err and "skipped b.csv: has no text column" in err
    assert "Traceback" not in err
    (tmp_path / "file.md").write_text(GOOD, "utf-8")
    code, _, err = run(capsys, "index", "--corpus", str(tmp_path / "file.md"), "--index", str(tmp_path / "i"))
    assert code == 2 and "is a file, not a folder" in err  # a usage error, like every bad flag value
    assert not (tmp_path / "i" / "CURRENT").exists()


def test_bad_flags_exit_2(tmp_path, capsys):
    code, _, err = run(capsys, "index", "--max-tokens", "8", "--index", str(tmp_path / "i"))
    assert code == 2 and "--max-tokens" in err
    code, _, err = run(capsys, "index", "--max-tokens", "100", "--overlap", "100", "--index", str(tmp_path / "i"))
    assert code == 2 and "--overlap" in err
    with pytest.raises(SystemExit) as exc:
        main(["index", "--max-tokens", "many"])
    assert exc.value.code == 2
