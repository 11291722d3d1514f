"""A from-scratch build does not hold the corpus (issue 25 item 4): the folder is read once for the plan and the
duplicate check, keeping refs, and each file is read again when its articles are embedded. A file changed
between the two reads stops the build with one line, the previous generation still answering."""

from __future__ import annotations

import gc
import weakref

import pytest

import qa.readers
from qa.config import Settings
from qa.errors import CorpusError
from qa.index import BuildOptions, current_dir
from qa.pipeline import refresh_index

from test_index import HashEncoder  # noqa: E402  (tests/ is on sys.path)

ARTICLES = 80


def story(i: int, sentences: int = 40) -> str:
    body = " ".join(f"Sentence {k} of story {i} is about the council budget in ward {i * 100 + k}."
                    for k in range(sentences))
    return f'---\ntitle: "Story {i}"\ndate: "2020"\n---\n{body}\n'


@pytest.fixture()
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i in range(ARTICLES):
        (folder / f"story-{i:03d}.md").write_text(story(i), "utf-8")
    return Settings(corpus_dir=folder, index_dir=tmp_path / "index", encoder="sentence-transformers")


@pytest.fixture()
def alive(monkeypatch):
    """How many Articles the readers made are still alive (a list of weak references)."""
    made: list[weakref.ref] = []

    def counting(reader):
        def read(f, options):
            found, notes = reader(f, options)
            made.extend(weakref.ref(a) for a in found)
            return found, notes
        return read

    for kind, reader in list(qa.readers.READERS.items()):
        monkeypatch.setitem(qa.readers.READERS, kind, counting(reader))

    def count() -> int:
        gc.collect()
        return sum(1 for r in made if r() is not None)
    return count


class Watching(HashEncoder):
    """The stand-in encoder, calling ``on_embed`` before each batch."""

    def __init__(self, on_embed):
        self.on_embed = on_embed

    def embed(self, texts, **kw):
        self.on_embed()
        return super().embed(texts, **kw)


def test_a_build_holds_a_batch_of_articles_not_the_corpus(corpus, alive):
    peak = []
    report = refresh_index(corpus, BuildOptions(embedder_factory=lambda _: Watching(lambda: peak.append(alive()))))
    assert report.articles == ARTICLES
    # Each article gives about 43 texts, a batch 512: about 12 articles are embedded at a time, and the batch
    # before it is still referenced while the next is prepared.
    assert len(peak) >= 6 and max(peak) <= 30, peak  # before: all 80, read before the first batch and kept


def test_a_file_changed_during_the_build_stops_it_and_the_previous_index_stays(corpus):
    refresh_index(corpus, BuildOptions(embedder_factory=lambda _: HashEncoder()))
    before = current_dir(corpus.index_dir)
    last = corpus.corpus_dir / f"story-{ARTICLES - 1:03d}.md"

    def change_the_last_file():
        last.write_text(story(ARTICLES - 1).replace("budget", "library"), "utf-8")

    with pytest.raises(CorpusError, match=r"^story-079\.md changed while it was being indexed: run `qa index` again"):
        refresh_index(corpus, BuildOptions(embedder_factory=lambda _: Watching(change_the_last_file)), rebuild=True)
    assert current_dir(corpus.index_dir) == before
    assert not [p for p in corpus.index_dir.rglob(".tmp-*")]
    again = refresh_index(corpus, BuildOptions(embedder_factory=lambda _: HashEncoder()))
    assert again.reembedded == (f"story-{ARTICLES - 1:03d}",)
