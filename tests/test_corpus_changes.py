"""An update reads only the files that changed (issue 16: cost grows with the change), and finds the same
articles a full read would: copies of unchanged articles folded, id clashes skipped (no model: a stand-in
encoder)."""

from __future__ import annotations

import os
import time

import pytest

import qa.readers
from qa.config import Settings
from qa.index import BuildOptions, current_dir, read_manifest
from qa.index.catalog import Catalog
from qa.pipeline import refresh_index

from test_index import HashEncoder  # noqa: E402  (tests/ is on sys.path)

PAGE = '---\ntitle: "{title}"\ndate: "2020-0{month}"\nsource: "Gazette"\n---\n{text}\n'


def article(i: int) -> str:
    return PAGE.format(title=f"Story {i}", month=1 + i % 9,
                       text=f"Story number {i} tells of the council's plan for ward {i}. It has {i} paragraphs "
                            f"about housing and the library in ward {i}.")


@pytest.fixture()
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i in range(30):
        (folder / f"story-{i:02d}.md").write_text(article(i), "utf-8")
    s = Settings(corpus_dir=folder, index_dir=tmp_path / "index", encoder="sentence-transformers")
    refresh_index(s, BuildOptions(embedder_factory=lambda _: HashEncoder()))
    return s


@pytest.fixture()
def reads(monkeypatch):
    """The files each reader is asked to read."""
    seen: list[str] = []
    for kind, reader in list(qa.readers.READERS.items()):
        monkeypatch.setitem(qa.readers.READERS, kind, lambda f, o, reader=reader: seen.append(f.rel) or reader(f, o))
    return seen


def recorded_files(index_dir):
    """Every file's record in the current generation's catalog."""
    with Catalog(current_dir(index_dir) / "catalog.sqlite") as catalog:
        return catalog.records(rel for rel, _, _ in catalog.stats())


def touch(path, text: str) -> None:
    path.write_text(text, "utf-8")
    later = time.time_ns() + 5_000_000_000
    os.utime(path, ns=(later, later))


def update(s: Settings):
    return refresh_index(s, BuildOptions(embedder_factory=lambda _: HashEncoder()))


def test_an_update_reads_the_changed_file_alone(corpus, reads):
    touch(corpus.corpus_dir / "story-07.md", article(7).replace("plan", "new plan"))
    report = update(corpus)
    assert reads == ["story-07.md"] and report.changed == ("story-07",) and report.reembedded == ("story-07",)
    assert report.corpus["articles"] == 30 and report.corpus["files"] == 30
    reads.clear()
    assert update(corpus).unchanged and reads == []  # and nothing at all when nothing changed
    (corpus.corpus_dir / "story-08.md").unlink()
    report = update(corpus)
    assert reads == [] and report.removed == ("story-08",) and report.articles == 29


def test_a_new_copy_of_an_unchanged_article_is_folded_into_it(corpus, reads):
    touch(corpus.corpus_dir / "zz-copy.md", article(3))
    report = update(corpus)
    assert reads == ["zz-copy.md"] and report.added == () and report.articles == 30
    assert any("the same article" in n and "zz-copy.md" in n for n in report.corpus["notices"])
    files = recorded_files(corpus.index_dir)
    assert files["zz-copy.md"].ids == () and files["story-03.md"].ids == ("story-03",)


def test_a_new_file_reusing_an_unchanged_articles_id_is_skipped(corpus, reads):
    text = "---\nid: story-04\ntitle: \"Another\"\ndate: \"2021\"\n---\nA different text about the bus routes.\n"
    touch(corpus.corpus_dir / "zz-other.md", text)
    report = update(corpus)
    assert reads == ["zz-other.md"] and report.articles == 30 and not report.changed
    (skip,) = [s for s in report.corpus["skipped"] if s[0] == "zz-other.md"]
    assert "already used" in skip[1]


def test_partial_and_whole_reads_give_the_same_index(corpus, tmp_path):
    for i in (2, 11, 19):
        touch(corpus.corpus_dir / f"story-{i:02d}.md", article(i).replace("library", "museum"))
    touch(corpus.corpus_dir / "new.md", article(99))
    touch(corpus.corpus_dir / "aa-copy.md", article(5))  # a copy that comes first: it is the one kept
    update(corpus)
    partial = read_manifest(corpus.index_dir)
    whole_settings = Settings(corpus_dir=corpus.corpus_dir, index_dir=tmp_path / "whole", encoder="sentence-transformers")
    update(whole_settings)
    whole = read_manifest(whole_settings.index_dir)
    assert partial["corpus"]["articles"] == whole["corpus"]["articles"]
    assert "aa-copy" in partial["corpus"]["articles"] and "story-05" not in partial["corpus"]["articles"]
    assert ({k: (v.ids, v.keys) for k, v in recorded_files(corpus.index_dir).items()}
            == {k: (v.ids, v.keys) for k, v in recorded_files(whole_settings.index_dir).items()})
