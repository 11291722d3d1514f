"""Where an index lives on disk: the CURRENT pointer, generations, shared segments, the build lock.

    index/CURRENT            names the complete generation (replaced atomically)
    index/gen-<time>/        manifest.json (written last), catalog.sqlite (each file's size, time and
                             articles, each article's hash: for `qa index`, not for answering; read only
                             when a file changed),
                             encoder/ (the ONNX query encoder)
    index/segments/seg-<id>/ immutable segments that generations share (see segment.py)
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from pathlib import Path

from qa.errors import IndexCorruptError, IndexMissingError, QAError, UsageError

CURRENT = "CURRENT"
SEGMENTS = "segments"
CATALOG = "catalog.sqlite"
LEGACY_CATALOG = "catalog.json"  # indexes written before the catalog was a table


def current_dir(index_dir: Path) -> Path | None:
    """The complete generation that index_dir/CURRENT names, or None."""
    pointer = Path(index_dir) / CURRENT
    try:
        name = pointer.read_text("utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"{pointer} cannot be read ({getattr(exc, 'strerror', exc)}): "
                                "run `qa index --rebuild`.") from None
    gen = Path(index_dir) / name
    if not name.startswith("gen-") or "/" in name or not gen.is_dir():
        raise IndexCorruptError(
            f"{pointer} names {name!r}, which is not a complete index: run `qa index --rebuild`."
        )
    return gen


# milvus.db: the Milvus Lite database of an index on Milvus (qa.index.milvus_schema.LITE_FILE)
INDEX_ENTRIES = (CURRENT, f".{CURRENT}.tmp", ".lock", SEGMENTS, "milvus.db")


def check_index_folder(index_dir: Path) -> None:
    """That ``index_dir`` can hold an index: missing (it is created), empty, or an index already.

    Raises:
        UsageError: one line: the path cannot be used (too long, in /proc, a file on the way…), or it is a
            folder holding other files (``--index /`` would write beside them).
    """
    index_dir = Path(index_dir)
    try:
        if not index_dir.exists():
            parent = next((p for p in index_dir.absolute().parents if p.exists()), None)
            if parent is not None and (not parent.is_dir() or not os.access(parent, os.W_OK)):
                raise UsageError(f"--index {index_dir}: {parent} cannot hold a new folder: choose another path.")
            return
        if not index_dir.is_dir():
            return  # the CLI names a file given as a folder itself
        other = sorted(e.name for e in os.scandir(index_dir)
                       if e.name not in INDEX_ENTRIES and not e.name.startswith(("gen-", ".tmp-")))
    except OSError as exc:
        raise UsageError(f"--index {str(index_dir)[:80]}{'…' if len(str(index_dir)) > 80 else ''} cannot be used "
                      f"({exc.strerror}): choose another folder.") from None
    if other:
        shown = ", ".join(other[:3]) + (f" and {len(other) - 3:,} more" if len(other) > 3 else "")
        raise UsageError(f"--index {index_dir} holds other files ({shown}), not an index: pass an empty or new "
                      "folder (nothing was written).")


def read_manifest(index_dir: Path, *, full: bool = True) -> dict:
    """The current generation's manifest; ``full``: with its catalog (per-file and per-article maps)."""
    gen = current_dir(index_dir)
    if gen is None:
        raise IndexMissingError(f"no index in {index_dir}: run `qa index --index {index_dir}` to build one.")
    manifest = read_json(gen / "manifest.json")
    return with_catalog(gen, manifest) if full else manifest


def with_catalog(gen: Path, manifest: dict) -> dict:
    """The manifest with each article's hash (``corpus.articles``) from its catalog (qa.index.catalog;
    an index written before the catalog was a table has ``files`` too). They are apart so that
    answering, reloading and a `qa index` that finds nothing changed never read them."""
    name = manifest.get("catalog")
    if name is None or "articles" in manifest.get("corpus", {}):
        return manifest  # written before the catalog existed, or already merged
    if name == CATALOG:
        from qa.index.catalog import Catalog

        with Catalog(gen / CATALOG) as catalog:
            return manifest | {"corpus": manifest.get("corpus", {}) | {"articles": catalog.hashes()}}
    if name == LEGACY_CATALOG:
        catalog = read_json(gen / LEGACY_CATALOG)
        articles, files = catalog.get("articles"), catalog.get("files")
    else:
        raise IndexCorruptError(f"{gen / 'manifest.json'} names a catalog {name!r}: run `qa index --rebuild`.")
    if not isinstance(articles, dict) or not isinstance(files, (dict, type(None))):
        raise IndexCorruptError(f"{gen / name} is not an index catalog: run `qa index --rebuild`.")
    return manifest | {"files": files, "corpus": manifest.get("corpus", {}) | {"articles": articles}}


def split_catalog(manifest: dict) -> tuple[dict, dict]:
    """(the manifest without each article's hash, naming its catalog; article id -> sha256)."""
    corpus = dict(manifest.get("corpus", {}))
    articles = corpus.pop("articles", {})
    light = {k: v for k, v in manifest.items() if k != "files"} | {"corpus": corpus, "catalog": CATALOG}
    return light, articles


def files_digest(stats) -> str:
    """One hash of (path, size, mtime_ns) triples, in any order: equal to the record's when no file of
    the corpus folder was added, removed or touched."""
    import hashlib

    lines = "".join([f"{rel}\0{size}\0{mtime_ns}\n" for rel, size, mtime_ns in sorted(stats)])
    return hashlib.sha256(lines.encode("utf-8", "surrogatepass")).hexdigest()  # one update: 0.1 s less at 100k


def write_json(path: Path, data: dict) -> None:
    """Written to a temporary file, fsynced, renamed over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> dict:
    """A JSON object of the index (manifest, segment.json), or IndexCorruptError naming the file."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"{path} is missing: run `qa index --rebuild`.") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        raise IndexCorruptError(f"{path} is unreadable or truncated: run `qa index --rebuild`.") from None
    if not isinstance(data, dict):
        raise IndexCorruptError(f"{path} is not an index file: run `qa index --rebuild`.")
    if path.name == "manifest.json":
        problem = manifest_problem(data)
        if problem:
            raise IndexCorruptError(f"{path} is damaged ({problem}): run `qa index --rebuild`.")
    return data


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# key -> (the types it may have, a check of its value): the one place a manifest's shape is checked
MANIFEST_SHAPE = {
    "format": (int, _is_int),
    "model": (dict, lambda m: isinstance(m.get("name"), (str, type(None))) and _is_int(m.get("dim", 0))),
    "segments": (list, lambda xs: all(isinstance(e, dict) and isinstance(e.get("name"), str)
                                      and isinstance(e.get("deleted", []), list)
                                      and all(isinstance(d, str) for d in e.get("deleted", [])) for e in xs)),
    "counts": (dict, lambda c: all(_is_int(c.get(k)) for k in ("articles", "chunks", "sentences"))),
    "corpus": (dict, lambda c: isinstance(c.get("articles", {}), dict)),
    "chunking": (dict, None), "tokenizer": (dict, None), "encoder": ((dict, type(None)), None),
    "query_encoder": ((dict, type(None)), None), "catalog": ((str, type(None)), None),
    "previous": ((str, type(None)), None), "changes": ((str, type(None)), None),
    "read": ((dict, type(None)), None), "files": ((dict, type(None)), None),
}


def manifest_problem(manifest: dict) -> str | None:
    """What is wrong with a manifest's shape ("counts is text"), or None."""
    for key, (types, check) in MANIFEST_SHAPE.items():
        if key not in manifest:
            if key in ("format", "model", "segments", "counts"):
                return f"{key} is missing"
            continue
        value = manifest[key]
        if not isinstance(value, types) or isinstance(value, bool) or (check is not None and not check(value)):
            return f"{key} is not what an index holds"
    return None


def segment_dir(index_dir: Path, name: str) -> Path:
    if not name.startswith("seg-") or "/" in name or name in (".", ".."):
        raise IndexCorruptError(f"the manifest names a segment {name!r}: run `qa index --rebuild`.")
    return Path(index_dir) / SEGMENTS / name


@contextlib.contextmanager
def build_lock(index_dir: Path):
    """Held while a build writes index_dir; a second build is told to wait."""
    import fcntl

    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir / ".lock", "w")
    except OSError as exc:
        raise QAError(f"the index folder {str(index_dir)[:80]} cannot be written ({exc.strerror}): choose another "
                      "folder with --index.") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildRunningError(f"another `qa index` is writing {index_dir}: wait for it to finish.") from None
        yield


class BuildRunningError(QAError):
    """Another process holds the build lock."""


class SpaceError(QAError):
    """The disk holding the index is full; the build was undone."""


def fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def publish(index_dir: Path, tmp: Path, name: str) -> Path:
    """Rename a complete generation into place and point CURRENT at it (atomic on POSIX)."""
    final = index_dir / name
    os.rename(tmp, final)
    pointer_tmp = index_dir / f".{CURRENT}.tmp"
    pointer_tmp.write_text(name + "\n", "utf-8")
    fsync_file(pointer_tmp)
    os.replace(pointer_tmp, index_dir / CURRENT)
    fsync_dir(index_dir)
    return final


def prune(index_dir: Path, keep: tuple[str, ...]) -> None:
    """Remove generations other than ``keep`` (the new one and the one it replaces: a server that loaded
    that one may not have opened all its files yet), the segments none of them uses, and what killed
    builds left. A running server keeps reading what it has open: removing a file leaves its data while
    it is open."""
    for p in index_dir.iterdir():
        if p.name not in keep and (p.name.startswith("gen-") or p.name.startswith(".tmp-")) and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
    used: set[str] = set()
    for name in keep:
        try:
            used |= {e["name"] for e in read_json(index_dir / name / "manifest.json").get("segments", [])}
        except (IndexCorruptError, KeyError, TypeError):
            continue
    seg_root = index_dir / SEGMENTS
    if seg_root.is_dir():
        for p in seg_root.iterdir():
            if p.name not in used and p.is_dir():
                shutil.rmtree(p, ignore_errors=True)


def clear_leftovers(index_dir: Path) -> None:
    """Folders a killed build left half-written."""
    for p in list(index_dir.glob(".tmp-*")) + list((index_dir / SEGMENTS).glob(".tmp-*")):
        shutil.rmtree(p, ignore_errors=True)


def folder_bytes(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, f)).st_size
    return total


def out_of_space(exc: BaseException) -> bool:
    """A write failed for lack of room (a FAISS write reports it as a RuntimeError)."""
    import sqlite3

    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    if isinstance(exc, sqlite3.OperationalError):
        return "full" in str(exc).lower()
    return isinstance(exc, RuntimeError) and any(w in str(exc).lower() for w in ("write", "fwrite", "no space"))


def space_error(index_dir: Path, needed: int) -> SpaceError:
    """One line: where the disk is full and about how much to free."""
    try:
        free = shutil.disk_usage(index_dir).free
    except OSError:
        free = 0
    short = max(needed - free, 1 << 20)
    return SpaceError(f"no space left on the disk holding {index_dir}: free at least {short / 2**20:,.0f} MB "
                   f"(the index needs about {needed / 2**20:,.0f} MB; {free / 2**20:,.0f} MB are free), then run "
                   "`qa index` again. The previous index is untouched.")
