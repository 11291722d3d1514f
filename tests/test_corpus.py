"""Corpus files: metadata, and each bad input gives one clear line and a non-zero exit."""

from __future__ import annotations

import shutil

import pytest

from qa.cli import main
from qa.corpus import load_articles

GOOD = "---\ntitle: A title\ndate: 2024-01\nsource: The Paper\nurl: null\n---\nFirst sentence. Second one.\n"


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
    seeds = "\n".join(p.read_text("utf-8") for p in (pytest.importorskip("pathlib").Path(__file__).parents[2]
                                                        / "shared" / "seeds").glob("*.txt"))
    if seeds:
        for a in articles.values():
            for line in a.text.splitlines():
                assert line in seeds


def test_dropping_in_a_file_adds_an_article(tmp_path):
    (tmp_path / "one.md").write_text(GOOD, "utf-8")
    (tmp_path / "plain.txt").write_text("A headline\n\nBody text here.\n", "utf-8")
    arts = {a.id: a for a in load_articles(tmp_path)}
    assert set(arts) == {"one", "plain"}
    assert arts["one"].date == "2024-01" and arts["one"].source == "The Paper"
    assert arts["one"].text == "First sentence. Second one.\n"
    assert arts["plain"].title == "A headline" and arts["plain"].date is None


@pytest.mark.parametrize("name,content,expect", [
    ("bad.md", b"\xff\xfe not utf8", "not UTF-8"),
    ("empty.md", b"---\ntitle: T\ndate: 2020\n---\n   \n", "has no text"),
    ("nofield.md", b"---\ntitle: T\n---\nBody.\n", "lacks date"),
    ("baddate.md", b"---\ntitle: T\ndate: 2024-13-01\n---\nBody.\n", "not an ISO date"),
    ("baddate2.md", b"---\ntitle: T\ndate: last spring\n---\nBody.\n", "not an ISO date"),
    ("unclosed.md", b"---\ntitle: T\ndate: 2020\nBody.\n", "not closed"),
    ("yaml.md", b"---\ntitle: [unclosed\ndate: 2020\n---\nBody.\n", "not valid YAML"),
])
def test_bad_article_files(tmp_path, capsys, name, content, expect):
    (tmp_path / "good.md").write_text(GOOD, "utf-8")
    (tmp_path / name).write_bytes(content)
    code, out, err = run(capsys, "index", "--corpus", str(tmp_path), "--index", str(tmp_path / "idx"))
    assert code == 1
    assert expect in err and name in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_duplicate_ids(tmp_path, capsys):
    (tmp_path / "a.md").write_text(GOOD, "utf-8")
    (tmp_path / "b.md").write_text(GOOD.replace("title:", "id: a\ntitle:"), "utf-8")
    code, _, err = run(capsys, "index", "--corpus", str(tmp_path), "--index", str(tmp_path / "idx"))
    assert code == 1 and "already used" in err and "a.md" in err and "b.md" in err


def test_missing_and_empty_corpus_folder(tmp_path, capsys):
    code, _, err = run(capsys, "index", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "i"))
    assert code == 1 and "does not exist" in err and "--corpus" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "index", "--corpus", str(tmp_path / "empty"), "--index", str(tmp_path / "i"))
    assert code == 1 and "has no articles" in err
    assert not (tmp_path / "i" / "CURRENT").exists()


def test_bad_flags_exit_2(tmp_path, capsys):
    code, _, err = run(capsys, "index", "--max-tokens", "8", "--index", str(tmp_path / "i"))
    assert code == 2 and "--max-tokens" in err
    code, _, err = run(capsys, "index", "--max-tokens", "100", "--overlap", "100", "--index", str(tmp_path / "i"))
    assert code == 2 and "--overlap" in err
    with pytest.raises(SystemExit) as exc:
        main(["index", "--max-tokens", "many"])
    assert exc.value.code == 2
