"""corpus/ -> Article: every accepted file type, through qa.readers; a bad file is skipped, never fatal."""

from __future__ import annotations

import logging
from pathlib import Path

from qa.readers import read_corpus
from qa.types import Article

log = logging.getLogger("qa.corpus")


def load_articles(corpus_dir: Path) -> list[Article]:
    """Read every article of a corpus folder (see qa.readers.read_corpus).

    Files that cannot be read are skipped with one warning line here; `qa index` lists each with its fix.

    Raises:
        CorpusError: the folder is missing or holds no readable article.
    """
    read = read_corpus(Path(corpus_dir))
    if read.skipped:
        log.warning("%s: skipped %d file%s or record%s that could not be read (`qa index --corpus %s` lists why)",
                    corpus_dir, len(read.skipped), "s" * (len(read.skipped) != 1), "s" * (len(read.skipped) != 1),
                    corpus_dir)
    return read.articles


def corpus_hashes(corpus_dir: Path) -> dict[str, str]:
    """Article id -> sha256 (the no-change check; reuses the last read while no file changed)."""
    return {a.id: a.sha256 for a in read_corpus(Path(corpus_dir)).articles}
