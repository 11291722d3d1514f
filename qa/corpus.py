"""The corpus folder as the index sees it: every accepted file type (qa.readers), and what changed since
the index recorded it, so an update reads only the files that changed."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from qa.readers import read_corpus
from qa.readers.stream import ArticleStream
from qa.types import Article

log = logging.getLogger("qa.corpus")
MOSTLY_CHANGED = 0.5  # with more of the files changed than this, the folder is read whole


def load_articles(corpus_dir: Path) -> list[Article]:
    """Read every article of a corpus folder (see qa.readers.read_corpus).

    Files that cannot be read are skipped with one warning line here; `qa index` lists each with its fix.

    Raises:
        CorpusError: the folder is missing or holds no readable article.
    """
    read = read_corpus(Path(corpus_dir))
    if read.skipped:
        _warn(corpus_dir, len(read.skipped))
    return read.articles


def corpus_hashes(corpus_dir: Path) -> dict[str, str]:
    """Article id -> sha256 of every article of the folder (reads it whole)."""
    return {a.id: a.sha256 for a in read_corpus(Path(corpus_dir)).articles}


def _warn(corpus_dir, count: int) -> None:
    log.warning("%s: skipped %d file%s or record%s that could not be read (`qa index --corpus %s` lists why)",
                corpus_dir, count, "s" * (count != 1), "s" * (count != 1), corpus_dir)


@dataclass(frozen=True)
class FileRecord:
    """One corpus file as the index recorded it: its size and time (a file whose stat() still matches is
    not read again), and the articles it gave with the keys that find their copies."""

    size: int
    mtime_ns: int
    ids: tuple[str, ...] = ()
    keys: tuple[tuple[str, str], ...] = ()  # per id: (hash of the normalised text, normalised address)

    def matches(self, f) -> bool:
        """``f`` (a SourceFile) has the size and time recorded."""
        return self.size == f.size and self.mtime_ns == f.mtime_ns

    def without(self, dropped: set[str]) -> "FileRecord":
        pairs = [(i, k) for i, k in zip(self.ids, self.keys) if i not in dropped]
        return FileRecord(self.size, self.mtime_ns, tuple(i for i, _ in pairs), tuple(k for _, k in pairs))


@dataclass
class Changes:
    """What to index: the articles read (new or changed files), the ids (with hashes) of those kept
    unread, the files as the next run will compare them, and the account of what the folder holds."""

    articles: "list[Article] | ArticleStream"  # a folder read whole: refs, each file read again when iterated
    keep: dict[str, str] = field(default_factory=dict)
    # The records of the folder's files: all of them, or (with ``base``) those that changed, the rest
    # being as the catalog ``base`` has them, less ``removed_files``. None: not from a folder.
    files: dict[str, FileRecord] | None = None
    account: dict | None = None  # files, articles, skipped, notices, collection
    unchanged: bool = False  # no file added, removed or touched: nothing read, not even the catalog
    base: Path | None = None
    removed_files: frozenset[str] = frozenset()
    digest: str | None = None  # the folder's sizes and times (qa.index.layout.files_digest)


@dataclass
class _Walk:
    """The folder as walked now, against the record: every file found, what the walk passed over, and
    the files changed (size or time differ, or new) and removed since."""

    files: list
    skipped: list
    changed: list
    removed: set[str]


@dataclass
class _Record:
    """What the index recorded of the folder: its catalog (qa.index.catalog.Catalog), the account."""

    catalog: object
    account: dict


def collection_stat(corpus_dir: Path) -> list[int] | None:
    try:
        st = (Path(corpus_dir) / "collection.yaml").stat()
        return [st.st_size, st.st_mtime_ns]
    except OSError:
        return None


def changes(corpus_dir: Path, manifest: dict | None, *, strict: bool = False,
            indexed: Callable[[str], Article | None] = lambda i: None, catalog: Callable[[], object] | None = None
            ) -> Changes:
    """Compare the folder with the index's record (``manifest``, the light one; None: read everything).

    Nothing changed (the walk's sizes and times hash to the record's digest): only stat() calls, and
    not even the catalog is read. A few files changed: the catalog (``catalog()``: a
    qa.index.catalog.Catalog, or None when there is none to use) gives every file's size and time, and
    only the changed files are read, their articles checked for copies among the unchanged ones (by
    text, address and id, looked up in the catalog and read back from the index through ``indexed``).
    Most changed, collection.yaml changed, a damaged catalog, or no record: the folder is read whole.
    """
    from qa.errors import IndexCorruptError
    from qa.index.layout import files_digest
    from qa.readers import find_files
    from qa.readers.options import collection_problems

    corpus_dir = Path(corpus_dir)
    files, walk_skipped = find_files(corpus_dir)
    found = [(f.rel, f.size, f.mtime_ns) for f in files]
    digest = files_digest(found)
    account = (manifest or {}).get("read") or {}
    if (manifest is None or catalog is None or account.get("collection") != collection_stat(corpus_dir)
            or (strict and account.get("skipped"))):
        return _whole(corpus_dir, strict, digest)
    if manifest.get("files_digest") == digest:
        return Changes([], account=account, unchanged=True, digest=digest)
    try:
        with contextlib.closing(catalog()) as record:
            if not record.files_recorded:
                return _whole(corpus_dir, strict, digest)
            recorded = record.stats()
            new = set(found) - recorded  # added or touched: compared as sets of (path, size, time), in C
            changed = [f for f, t in zip(files, found) if t in new]
            removed = {rel for rel, _, _ in recorded} - {rel for rel, _, _ in found}
            if len(changed) <= MOSTLY_CHANGED * len(files):
                options, problems = collection_problems(corpus_dir)
                if not problems:
                    return _partial(corpus_dir, _Walk(files, walk_skipped, changed, removed), _Record(record, account),
                                    options, indexed, strict, digest)
    except IndexCorruptError:
        pass  # a damaged catalog: read the folder whole
    return _whole(corpus_dir, strict, digest)


def _whole(corpus_dir: Path, strict: bool, digest: str | None = None) -> Changes:
    """Every file read, its articles kept as refs (qa.readers.stream): the build reads them again in turn."""
    from qa.readers import scan_corpus
    from qa.readers.stream import by_file

    read = scan_corpus(corpus_dir, strict=strict)
    if read.skipped:
        _warn(corpus_dir, len(read.skipped))
    per_file = by_file(read.articles)
    files = {f.rel: FileRecord(f.size, f.mtime_ns, tuple(i for i, _ in per_file.get(f.rel, [])),
                               tuple(k for _, k in per_file.get(f.rel, []))) for f in read.files}
    account = {"files": read.found, "articles": len(read.articles),
               "skipped": [[s.rel, s.reason] for s in read.skipped], "notices": list(read.notices),
               "collection": collection_stat(corpus_dir)}
    return Changes(read.articles, {}, files, account, digest=digest)


def _partial(corpus_dir: Path, walk: _Walk, record: _Record, options, indexed: Callable[[str], Article | None],
             strict: bool, digest: str) -> Changes:
    """Read the changed files alone; fold their articles with copies among the unchanged ones."""
    from qa.readers import SkippedFilesError, read_files
    from qa.readers.dedupe import keys, resolve

    files, changed, account, catalog = walk.files, walk.changed, record.account, record.catalog
    changed_rels = {f.rel for f in changed}
    read = read_files(changed, [], options)
    stale = changed_rels | walk.removed
    new_keys = {id(a): keys(a) for a in read.articles}
    by_id, by_text, by_url = {}, {}, {}
    for rel, _, i, text_key, url_key in catalog.matching({a.id for a in read.articles},
                                                         {k[0] for k in new_keys.values()},
                                                         {k[1] for k in new_keys.values() if k[1]}):
        if rel in stale:
            continue
        by_id[i] = rel
        by_text.setdefault(text_key, i)
        if url_key:
            by_url.setdefault(url_key, []).append(i)
    involved = set()
    for a in read.articles:
        text_key, url_key = new_keys[id(a)]
        involved |= {i for i in [by_text.get(text_key), a.id if a.id in by_id else None, *by_url.get(url_key, [])]
                     if i is not None}
    kept_new, notices, dropped = list(read.articles), list(read.notices), set()
    skipped = list(read.skipped)
    if involved:
        order = {f.rel: n for n, f in enumerate(files)}
        old = [a for a in (indexed(i) for i in sorted(involved)) if a is not None]
        merged = sorted(old + list(read.articles), key=lambda a: order.get(a.path or "", -1))
        result, dup_notices, dup_skipped = resolve(merged)
        survivors = {(a.id, a.path) for a in result}
        kept_new = [a for a in read.articles if (a.id, a.path) in survivors]
        dropped = {a.id for a in old if (a.id, a.path) not in survivors}
        notices += dup_notices
        skipped += [s for s in dup_skipped if s.rel.split(" record ")[0] in changed_rels]
    if strict and skipped:
        from qa.readers import CorpusRead

        raise SkippedFilesError(CorpusRead(kept_new, skipped, notices, changed),
                                f"--strict: {len(skipped):,} file(s) or record(s) skipped "
                                f"({', '.join(s.rel for s in skipped[:5])}): fix them or run without --strict; "
                                "the index was not changed.")
    if skipped:
        _warn(corpus_dir, len(skipped))
    gone = {i for r in catalog.records(stale).values() for i in r.ids} | dropped
    keep = {i: h for i, h in catalog.hashes().items() if i not in gone}
    new_files = {}
    for f in changed:
        mine = [a for a in kept_new if a.path == f.rel]
        new_files[f.rel] = FileRecord(f.size, f.mtime_ns, tuple(a.id for a in mine),
                                      tuple(tuple(new_keys[id(a)]) for a in mine))
    folded = {by_id[i] for i in dropped if i in by_id}  # unchanged files whose article a changed file's copy replaced
    for rel, entry in catalog.records(folded).items():
        new_files[rel] = entry.without(dropped)
    old_skipped = [s for s in account.get("skipped", []) if s[0].split(" record ")[0] not in stale]
    account = {"files": len(files) + len(walk.skipped), "articles": len(keep) + len(kept_new),
               "skipped": old_skipped + [[s.rel, s.reason] for s in skipped],
               "notices": [n for n in account.get("notices", []) if not any(r in n for r in stale)] + notices,
               "collection": collection_stat(corpus_dir)}
    return Changes(kept_new, keep, new_files, account, base=catalog.path, removed_files=frozenset(walk.removed),
                   digest=digest)
