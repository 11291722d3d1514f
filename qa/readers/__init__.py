"""Readers: the corpus folder -> Articles, one small module per file type behind one interface.

    files, skipped = find_files(corpus_dir)          # stat only: nothing is opened
    articles, notices = read_file(files[0], options) # one file -> zero or more Articles
    read = read_corpus(corpus_dir)                   # all of it, duplicates folded, bad files listed

A file that cannot be read never stops the rest: it is listed in ``CorpusRead.skipped`` with one
line naming it, the problem and the fix.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from qa.errors import CorpusError
from qa.readers import html, markdown, records
from qa.readers.base import FileError, Skipped, SkippedFilesError, SourceFile
from qa.readers.dedupe import resolve
from qa.readers.options import CollectionOptions, collection_problems
from qa.readers.stream import stop_child
from qa.readers.walk import SUFFIXES, accepted, find_files
from qa.types import Article

__all__ = ["SourceFile", "Skipped", "CollectionOptions", "CorpusRead", "find_files", "read_file", "read_corpus",
           "READERS", "SUFFIXES", "FileError", "SkippedFilesError", "NothingReadableError", "summary_line",
           "read_files", "scan_corpus", "read_one"]

log = logging.getLogger("qa.corpus")

# reader name (walk.SUFFIXES) -> function(SourceFile, CollectionOptions) -> (articles, notices)
READERS: dict[str, Callable[[SourceFile, CollectionOptions], tuple[list[Article], list]]] = {
    "markdown": markdown.read,  # .md .markdown .txt; a saved page among them goes to the HTML reader
    "html": html.read,
    "json": records.read_json,
    "jsonl": records.read_jsonl,
    "csv": records.read_csv,
    "pdf": lambda f, options: _lazy("pdf").read(f, options),  # each imports its library only when such a file is read
    "feed": lambda f, options: _lazy("feed").read(f, options),
    "docx": lambda f, options: _lazy("docx").read(f, options),
    "odt": lambda f, options: _lazy("odt").read(f, options),
    "warc": lambda f, options: _lazy("warc").read(f, options),
}


def _lazy(name: str):
    import importlib

    return importlib.import_module(f"qa.readers.{name}")


@dataclass(frozen=True)
class CorpusRead:
    """What reading a corpus folder found."""

    articles: list[Article]
    skipped: list[Skipped]  # files and records not indexed, each with the problem and the fix
    notices: list[str]  # indexed, but worth knowing: a text cut, a duplicate folded, a date set aside
    files: list[SourceFile]

    @property
    def found(self) -> int:
        """Files found in the folder: those read, and those passed over unread (other types, links…)."""
        read = {f.rel for f in self.files}
        return len(read) + sum(1 for s in self.skipped
                               if s.rel not in read and " record " not in s.rel and s.rel != "collection.yaml")

    def summary(self, limit: int = 5, verb: str = "read") -> str:
        """'indexed 1,204 articles from 1,210 files; skipped 6: a.txt, b.md, … and 1 more'"""
        return summary_line(len(self.articles), self.found, [s.rel for s in self.skipped], limit, verb)


def summary_line(articles: int, files: int, skipped: list[str], limit: int = 5, verb: str = "read") -> str:
    """The one-line account of a corpus read (also given from the index's record when nothing changed)."""
    line = f"{verb} {articles:,} article{'s' * (articles != 1)} from {files:,} file{'s' * (files != 1)}"
    if skipped:
        shown = ", ".join(skipped[:limit]) + (f" and {len(skipped) - limit:,} more" if len(skipped) > limit else "")
        line += f"; skipped {len(skipped):,}" + (f": {shown}" if limit else "")
    return line


def read_file(f: SourceFile, options: CollectionOptions | None = None) -> tuple[list[Article], list]:
    """The articles of one file, and its notices.

    Returns:
        (articles, notices): zero or more Articles; the notices are strings ("x.html: cut to …") and,
        for an export, a `Skipped` for each record that could not be read (str() of it is one line too).

    Raises:
        FileError: (a CorpusError) naming the file, the problem and the fix when the file cannot be read.
    """
    options = options or CollectionOptions()
    kind = SUFFIXES.get(f.suffix)
    if kind is None:
        raise FileError(f.rel, f"is not an article file: accepted are {accepted()}")
    return READERS[kind](f, options)


class NothingReadableError(CorpusError):
    """The folder holds no article that could be read; ``read`` says what was found."""

    def __init__(self, message: str, read: CorpusRead):
        self.read = read
        super().__init__(message)


_LAST: dict[Path, tuple[tuple, CorpusRead]] = {}
RACY_NS = 2_000_000_000  # a file changed this recently may change again within the same mtime tick


def read_corpus(corpus_dir: Path, *, strict: bool = False) -> CorpusRead:
    """Read every article file of a corpus folder; bad files are skipped and listed, never fatal.

    The last read of each folder is kept in memory and reused while no file's size or mtime has
    changed (files changed in the last two seconds are always read again), so `qa index` can report
    on the files it then indexes without reading them twice.

    Raises:
        CorpusError: the folder is missing, or holds no readable article (the message says what it found).
        SkippedFilesError: ``strict`` and some file or record was skipped.
    """
    corpus_dir = Path(corpus_dir)
    files, skipped = find_files(corpus_dir)
    options, problems = collection_problems(corpus_dir)
    yaml_path = corpus_dir / "collection.yaml"
    try:
        yaml_stat = (yaml_path.stat().st_size, yaml_path.stat().st_mtime_ns)
    except OSError:
        yaml_stat = None
    key = (tuple((f.rel, f.size, f.mtime_ns) for f in files), tuple(skipped), tuple(problems), options, yaml_stat,
           time.strftime("%Y-%m-%d"))
    root = corpus_dir.resolve()
    cached = _LAST.get(root)
    if cached is not None and cached[0] == key:
        result = cached[1]
    else:
        result = _read(files, skipped + problems, options)
        newest = max((f.mtime_ns for f in files), default=0)
        if newest < time.time_ns() - RACY_NS:
            _LAST.clear()  # one folder at a time: the cache holds a whole corpus
            _LAST[root] = (key, result)
        else:
            _LAST.pop(root, None)
    return _checked(corpus_dir, result, strict)


def _checked(corpus_dir: Path, result: CorpusRead, strict: bool) -> CorpusRead:
    if not len(result.articles):
        raise NothingReadableError(_nothing_readable(corpus_dir, result), result)
    if strict and result.skipped:
        raise SkippedFilesError(result, f"--strict: {len(result.skipped):,} file{'s' * (len(result.skipped) != 1)} or record"
                                f"{'s' * (len(result.skipped) != 1)} skipped ({', '.join(s.rel for s in result.skipped[:5])}"
                                f"{' …' if len(result.skipped) > 5 else ''}): fix them or run without --strict; "
                                "the index was not changed.")
    return result


def read_files(files: list[SourceFile], skipped: list[Skipped], options: CollectionOptions) -> CorpusRead:
    """Read these files (duplicates among them folded); bad ones join ``skipped``."""
    return _read(files, skipped, options)


def _read(files: list[SourceFile], skipped: list[Skipped], options: CollectionOptions) -> CorpusRead:
    articles: list[Article] = []
    notices: list[str] = []
    skipped = list(skipped)
    for f in files:
        found, notes = read_one(f, options, skipped)
        articles += found
        for n in notes:
            (skipped if isinstance(n, Skipped) else notices).append(n)
    stop_child()
    articles, dup_notices, dup_skipped = resolve(articles)
    return CorpusRead(articles=articles, skipped=sorted(skipped + dup_skipped, key=_skip_order),
                      notices=notices + dup_notices, files=files)


def read_one(f: SourceFile, options: CollectionOptions, skipped: list[Skipped]) -> tuple[list[Article], list]:
    """read_file, with a file that cannot be read added to ``skipped`` (and nothing returned for it)."""
    try:
        return read_file(f, options)
    except FileError as exc:
        skipped.append(Skipped(exc.rel, exc.reason))
    except CorpusError as exc:
        skipped.append(Skipped(f.rel, str(exc)))
    except Exception as exc:  # noqa: BLE001 - a library's bug on one odd file must not stop the rest
        skipped.append(Skipped(f.rel, f"could not be read ({type(exc).__name__}: {str(exc)[:120]}): check the "
                                      "file; if it looks fine, report this message"))
    return [], []


def scan_corpus(corpus_dir: Path, *, strict: bool = False) -> CorpusRead:
    """read_corpus without holding the articles: its ``articles`` is a qa.readers.stream.ArticleStream,
    which reads each file again when iterated (a from-scratch build; nothing is cached).

    Raises:
        CorpusError, SkippedFilesError: as read_corpus.
    """
    from qa.readers.stream import scan

    corpus_dir = Path(corpus_dir)
    files, skipped = find_files(corpus_dir)
    options, problems = collection_problems(corpus_dir)
    articles, notices, skipped = scan(files, skipped + problems, options)
    return _checked(corpus_dir, CorpusRead(articles=articles, skipped=sorted(skipped, key=_skip_order),
                                           notices=notices, files=files), strict)


def _skip_order(s: Skipped):
    path, _, record = s.rel.partition(" record ")
    return PurePosixPath(path).parts, int(record) if record.isdigit() else 0


def _nothing_readable(corpus_dir: Path, result: CorpusRead) -> str:
    if not result.files and not result.skipped:
        return (f"corpus folder {corpus_dir} has no articles: add {accepted()} files (see "
                "docs/articles.md), or pass --corpus DIR.")
    n = result.found
    reasons = "; ".join(str(s) for s in result.skipped[:3]) + (" …" if len(result.skipped) > 3 else "")
    return f"corpus folder {corpus_dir}: {n:,} file{'s' * (n != 1)}, none readable: {reasons}"
