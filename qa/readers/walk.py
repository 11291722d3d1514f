"""The corpus folder -> the files to read: a walk that only stat()s, never opens, never follows a link."""

from __future__ import annotations

import functools
import os
import stat
from operator import attrgetter
from stat import S_ISREG
from pathlib import Path

from qa.errors import CorpusError
from qa.readers.base import Skipped, SourceFile, suffix_of

# suffix -> reader name (qa.readers.READERS); the one table every message about accepted files reads.
SUFFIXES = {
    ".md": "markdown", ".markdown": "markdown", ".txt": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".csv": "csv", ".tsv": "csv",
    ".pdf": "pdf", ".docx": "docx", ".odt": "odt",
    ".rss": "feed", ".atom": "feed", ".xml": "feed",
    ".warc": "warc", ".warc.gz": "warc",
}
# Never articles, never reported: the collection's settings, its test questions, notes for people,
# and what operating systems leave behind.
IGNORED_NAMES = {"collection.yaml", "collection.yml", "questions.jsonl", "thumbs.db", "desktop.ini"}
NOT_REGULAR = {stat.S_IFIFO: "a named pipe", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device",
               stat.S_IFBLK: "a device"}


def accepted() -> str:
    return ", ".join(SUFFIXES)


def text_name(name: str) -> str | None:
    """A name as os.scandir gives it, as text: None when its bytes are not UTF-8 (Linux allows any bytes).

    Under a C locale without UTF-8 mode, Python decodes names as ASCII, each other byte a lone surrogate
    (\\udcc3); the bytes are what the name is, so they are read as UTF-8 here.
    """
    if name.isascii():
        return name
    try:
        return os.fsencode(name).decode("utf-8")
    except UnicodeDecodeError:
        return None


def safe_name(name: str) -> str:
    """A name that is not UTF-8, with each such byte as \\xNN: text that can be printed and stored."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def is_ignored(name: str) -> bool:
    """Dot-files, _drafts, README*, collection.yaml, questions.jsonl: left alone without a word."""
    return (name.startswith((".", "_")) or name.lower() in IGNORED_NAMES
            or name.upper().startswith("README"))


def find_files(corpus_dir: Path) -> tuple[list[SourceFile], list[Skipped]]:
    """Every article file under ``corpus_dir`` (recursively, sorted by path), and what was passed over.

    Only regular files whose real path is inside the corpus folder are read: a symbolic link (to a
    file or a folder), a named pipe, a socket or a device is skipped with a line naming it, so
    ``ln -s /etc/passwd corpus/passwd.txt`` indexes nothing. A folder saved beside a web page by a
    browser ("page_files/" next to "page.html") holds the page's images and scripts and is left alone.

    Raises:
        CorpusError: the folder does not exist or is a file.
    """
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.exists():
        raise CorpusError(f"corpus folder {corpus_dir} does not exist: create it and put articles in it "
                          f"({accepted()} files), or pass --corpus DIR.")
    if not corpus_dir.is_dir():
        raise CorpusError(f"{corpus_dir} is a file, not a folder: pass the folder that holds the articles "
                          "with --corpus DIR.")
    root = corpus_dir.resolve()
    files: list[SourceFile] = []
    skipped: list[Skipped] = []
    # Depth first, each folder's entries by name and a subfolder's files where its name falls: the files
    # come out sorted by path components (rel.split("/")) with no sort of the whole list. The loop is
    # written for 100,000 files: a plain name takes the short way (ASCII, a known suffix, a regular file).
    stack = [_listing(str(root), "", skipped)]
    while stack:
        entries, rel_folder, names = stack[-1]
        prefix = rel_folder + "/" if rel_folder else ""
        for entry in entries:
            name = entry.name
            if name.isascii():
                if name[0] in "._" or name.lower() in IGNORED_NAMES or name[:6].upper() == "README":
                    continue
            else:
                name = text_name(name)
                if name is None:  # the index, its messages and its JSON hold text
                    _not_utf8(entry, rel_folder, skipped)
                    continue
                if is_ignored(name):
                    continue
            rel = prefix + name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                skipped.append(Skipped(rel, f"cannot be examined ({exc.strerror}): check its permissions"))
                continue
            if S_ISREG(st.st_mode):
                # inside the folder by construction: the walk starts at its real path and never follows a link
                dot = name.rfind(".")
                suffix = name[dot:].lower() if dot > 0 else ""
                if suffix in SUFFIXES:
                    files.append(SourceFile(entry.path, rel, st.st_size, st.st_mtime_ns))
                    continue
                suffix = suffix_of(name)
                if suffix in SUFFIXES:
                    files.append(SourceFile(entry.path, rel, st.st_size, st.st_mtime_ns))
                else:
                    what = f"{suffix} files are" if suffix else "a file without a suffix is"
                    skipped.append(Skipped(rel, f"is not an article file ({what} not read): accepted are "
                                                f"{accepted()}; convert it, or move it out of the folder"))
            elif stat.S_ISDIR(st.st_mode):
                page = name[:-len("_files")].lower() if name.lower().endswith("_files") else None
                if page and any(page + s in names() for s in (".html", ".htm", ".xhtml")):
                    continue  # the browser's copy of a page's images and scripts
                stack.append(_listing(entry.path, rel, skipped))
                break  # its files next; this folder's iterator goes on after them
            else:
                _not_a_file(entry, rel, st.st_mode, skipped)
        else:
            stack.pop()
    return files, skipped


def _listing(folder: str, rel_folder: str, skipped: list[Skipped]):
    """(an iterator over a folder's entries sorted by name, the folder's rel, its lower-case names on demand)."""
    try:
        with os.scandir(folder) as it:
            entries = list(it)
        plain = all(e.name.isascii() for e in entries)  # then the name is the text: sorted in C
        entries.sort(key=attrgetter("name") if plain else lambda e: text_name(e.name) or safe_name(e.name))
    except OSError as exc:
        skipped.append(Skipped(rel_folder + "/", f"folder cannot be listed ({exc.strerror}): check its "
                                                 "permissions"))
        entries = []

    @functools.cache
    def names() -> frozenset[str]:
        return frozenset((text_name(e.name) or "").lower() for e in entries)

    return iter(entries), rel_folder, names


def _not_utf8(entry: os.DirEntry, rel_folder: str, skipped: list[Skipped]) -> None:
    if is_ignored(safe_name(entry.name)):
        return
    shown = f"{rel_folder}/{safe_name(entry.name)}" if rel_folder else safe_name(entry.name)
    skipped.append(Skipped(shown, "name is not UTF-8 (shown with \\x escapes): rename it"
                                  + (" (its files are not read)" if entry.is_dir(follow_symlinks=False) else "")))


def _not_a_file(entry: os.DirEntry, rel: str, mode: int, skipped: list[Skipped]) -> None:
    """A link, a pipe, a socket or a device: one line naming it."""
    if stat.S_ISLNK(mode):
        try:
            target = os.readlink(entry.path)
        except OSError:
            target = "?"
        skipped.append(Skipped(rel, f"is a symbolic link (to {target}): links are not followed; copy the "
                                    "file into the corpus folder instead"))
    else:
        what = NOT_REGULAR.get(stat.S_IFMT(mode), "not a regular file")
        skipped.append(Skipped(rel, f"is {what}, not a file: remove it from the corpus folder"))
