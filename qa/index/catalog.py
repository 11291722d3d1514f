"""A generation's record of its corpus folder, as SQLite tables (catalog.sqlite), read by key.

    articles       id -> sha256 of every article of the index
    files          each corpus file's path, size and mtime_ns (an unchanged file is not read again)
    file_articles  each file's articles in order, with the keys that find their copies (text hash, address)

`qa index` that finds nothing changed never opens it (the manifest holds a digest of the files' sizes
and times, qa.index.layout.files_digest); an update reads every file's size and time, and the rows of
the changed files and of the copies their articles may have; the next generation's catalog is a copy
of this one with those rows replaced. At 100,000 articles the JSON it replaces was 25 MB, parsed whole.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from qa.errors import IndexCorruptError

if TYPE_CHECKING:
    from qa.corpus import Changes, FileRecord

SCHEMA = """
CREATE TABLE articles (id TEXT PRIMARY KEY, sha256 TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE files (rel TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE file_articles (rel TEXT NOT NULL, ord INTEGER NOT NULL, id TEXT NOT NULL, text_key TEXT,
                            url_key TEXT, PRIMARY KEY (rel, ord)) WITHOUT ROWID;
CREATE INDEX file_articles_id ON file_articles (id);
CREATE INDEX file_articles_text ON file_articles (text_key);
CREATE INDEX file_articles_url ON file_articles (url_key);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
"""
_IN = 500  # keys per IN (...) list
_LAST_HASHES: dict = {}  # the last catalog's article hashes read, by the file's identity (one at a time)


class Catalog:
    """catalog.sqlite of one generation, read only.

    Usage example:
        with Catalog(gen / "catalog.sqlite") as catalog:
            stats = catalog.stats()  # {("2019/council.md", 1234, 1700000000000000000), ...}
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            self.files_recorded = self._one("SELECT value FROM meta WHERE key = 'files'") == ("recorded",)
        except sqlite3.Error:
            raise self._damaged() from None

    def _damaged(self) -> IndexCorruptError:
        return IndexCorruptError(f"{self.path} is unreadable or damaged: run `qa index --rebuild`.")

    def _one(self, sql: str):
        return self._db.execute(sql).fetchone()

    def _rows(self, sql: str, args: Iterable = ()) -> list:
        try:
            return self._db.execute(sql, tuple(args)).fetchall()
        except sqlite3.Error:
            raise self._damaged() from None

    def _rows_in(self, sql: str, keys: Iterable) -> list:
        """``sql`` with ``{}`` standing for an IN list, run over ``keys`` in slices."""
        keys, out = list(keys), []
        for i in range(0, len(keys), _IN):
            part = keys[i:i + _IN]
            out += self._rows(sql.format(",".join("?" * len(part))), part)
        return out

    def hashes(self) -> dict[str, str]:
        """Article id -> sha256, every article of the index (a copy of the last read of this file: an
        update asks twice, for the articles it keeps and for the previous generation's record)."""
        try:
            st = os.stat(self.path)
        except OSError:
            raise self._damaged() from None
        key = (str(self.path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if _LAST_HASHES.get("key") != key:
            _LAST_HASHES.clear()
            _LAST_HASHES.update(key=key, hashes=dict(self._rows("SELECT id, sha256 FROM articles")))
        return dict(_LAST_HASHES["hashes"])

    def stats(self) -> set[tuple[str, int, int]]:
        """(path, size, mtime_ns) of every file recorded."""
        return set(self._rows("SELECT rel, size, mtime_ns FROM files"))

    def records(self, rels: Iterable[str]) -> dict[str, "FileRecord"]:
        """The records of the files ``rels`` (those recorded)."""
        from qa.corpus import FileRecord

        rels = list(rels)
        stats = {r: (s, m) for r, s, m in self._rows_in("SELECT rel, size, mtime_ns FROM files WHERE rel IN ({})", rels)}
        rows: dict[str, list] = {r: [] for r in stats}
        for rel, _, i, text_key, url_key in sorted(self._rows_in(
                "SELECT rel, ord, id, text_key, url_key FROM file_articles WHERE rel IN ({})", rels)):
            rows[rel].append((i, (text_key, url_key)))
        return {rel: FileRecord(*stats[rel], tuple(i for i, _ in rows[rel]), tuple(k for _, k in rows[rel]))
                for rel in stats}

    def matching(self, ids: set[str], text_keys: set[str], url_keys: set[str]) -> list[tuple]:
        """(rel, ord, id, text key, address) of the recorded articles with one of these ids, text hashes
        or addresses, in the files' order."""
        rows = set(self._rows_in("SELECT rel, ord, id, text_key, url_key FROM file_articles WHERE id IN ({})", ids))
        rows |= set(self._rows_in("SELECT rel, ord, id, text_key, url_key FROM file_articles WHERE text_key IN ({})",
                                  text_keys))
        rows |= set(self._rows_in("SELECT rel, ord, id, text_key, url_key FROM file_articles WHERE url_key IN ({})",
                                  url_keys))
        return sorted(rows)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_catalog(path: Path, articles: dict[str, str], changes: "Changes",
                  old_articles: dict[str, str] | None = None) -> None:
    """Write ``path`` (a new generation's catalog): a copy of ``changes.base`` with the rows of the files
    it changed or removed replaced (and, with ``old_articles``, the base's hashes, only the articles
    that differ), or, without a base, every row. Written to a temporary file, fsynced, renamed."""
    from qa.index.layout import fsync_file

    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    if changes.base is not None:
        shutil.copyfile(changes.base, tmp)
    db = sqlite3.connect(tmp)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        if changes.base is None:
            db.executescript(SCHEMA)
        if changes.base is None or old_articles is None:
            db.execute("DELETE FROM articles")
            db.executemany("INSERT INTO articles VALUES (?, ?)", articles.items())
        else:
            db.executemany("DELETE FROM articles WHERE id = ?", ((i,) for i in old_articles.keys() - articles.keys()))
            db.executemany("INSERT OR REPLACE INTO articles VALUES (?, ?)", articles.items() - old_articles.items())
        files = changes.files or {}
        for rel in (set(files) | set(changes.removed_files)) if changes.base is not None else ():
            db.execute("DELETE FROM files WHERE rel = ?", (rel,))
            db.execute("DELETE FROM file_articles WHERE rel = ?", (rel,))
        db.executemany("INSERT INTO files VALUES (?, ?, ?)", ((rel, r.size, r.mtime_ns) for rel, r in files.items()))
        db.executemany("INSERT INTO file_articles VALUES (?, ?, ?, ?, ?)",
                       ((rel, n, i, k[0], k[1]) for rel, r in files.items() for n, (i, k) in enumerate(zip(r.ids, r.keys))))
        recorded = changes.files is not None or changes.base is not None
        db.execute("INSERT OR REPLACE INTO meta VALUES ('files', ?)", ("recorded" if recorded else "none",))
        db.commit()
    except sqlite3.Error:
        db.close()
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    db.close()
    fsync_file(tmp)
    os.replace(tmp, path)
