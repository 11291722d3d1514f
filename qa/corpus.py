"""corpus/ -> Article: Markdown or text files, optional YAML front matter."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

from qa.errors import CorpusError
from qa.types import Article

SUFFIXES = (".md", ".markdown", ".txt")
REQUIRED = ("title", "date")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


def article_files(corpus_dir: Path) -> list[Path]:
    """The article files of a corpus folder, sorted by name.

    Raises:
        CorpusError: the folder is missing or holds no article file.
    """
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(
            f"corpus folder {corpus_dir} does not exist: create it and put articles in it "
            f"({', '.join(SUFFIXES)} files), or pass --corpus DIR."
        )
    files = sorted(
        p for p in corpus_dir.iterdir()
        if p.is_file() and p.suffix.lower() in SUFFIXES
        and not p.name.startswith((".", "_")) and p.stem.upper() != "README"
    )
    if not files:
        raise CorpusError(
            f"corpus folder {corpus_dir} has no articles: add {', '.join(SUFFIXES)} files "
            "(Markdown with YAML front matter, see README), or pass --corpus DIR."
        )
    return files


def normalize_date(value: object, path: Path) -> str | None:
    """An ISO date string ("2024", "2024-01", "2024-01-15") or None."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    m = DATE_RE.match(text)
    ok = bool(m)
    if m:
        year, month, day = (int(g) if g else None for g in m.groups())
        try:
            dt.date(year, month or 1, day or 1)
        except ValueError:
            ok = False
    if not ok:
        raise CorpusError(
            f"{path}: date {text!r} is not an ISO date: write YYYY, YYYY-MM or YYYY-MM-DD "
            "(or null when unknown)."
        )
    return text


def _loader():
    """yaml.SafeLoader that leaves dates as text, so a bad one gets our message, not a ValueError."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


def parse_article(path: Path, raw: bytes) -> Article:
    """Parse one article file's bytes.

    Raises:
        CorpusError: not UTF-8, bad front matter, a missing field, a bad date or an empty body.
    """
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path}: not UTF-8 (byte {exc.start}): save the file as UTF-8."
        ) from None
    content = content.removeprefix("\ufeff")
    meta: dict = {}
    body = content
    m = FRONT_MATTER_RE.match(content)
    if content.startswith("---") and not m:
        raise CorpusError(f"{path}: front matter is not closed: end it with a line '---'.")
    if m:
        import yaml

        try:
            meta = yaml.load(m.group(1), Loader=_loader()) or {}
        except yaml.YAMLError as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            where = f" (line {line + 2})" if line is not None else ""
            raise CorpusError(f"{path}: front matter is not valid YAML{where}: fix its syntax.") from None
        if not isinstance(meta, dict):
            raise CorpusError(f"{path}: front matter must be 'key: value' lines.")
        missing = [k for k in REQUIRED if k not in meta]
        if missing:
            raise CorpusError(
                f"{path}: front matter lacks {', '.join(missing)}: add "
                + ", ".join(f"'{k}: …'" for k in missing) + " (date may be null when unknown)."
            )
        body = content[m.end():]
    if not body.strip():
        raise CorpusError(f"{path}: the article has no text: add its body or remove the file.")
    article_id = str(meta.get("id") or path.stem)
    if not ID_RE.match(article_id):
        raise CorpusError(
            f"{path}: id {article_id!r} is not a slug: use letters, digits, '.', '_' or '-' "
            "(rename the file or set 'id:' in the front matter)."
        )
    title = meta.get("title")
    if not m:
        title = body.strip().splitlines()[0][:120]
    elif not title or not str(title).strip():
        raise CorpusError(f"{path}: title is empty: give the article a title.")
    return Article(
        id=article_id,
        title=str(title).strip(),
        date=normalize_date(meta.get("date"), path),
        source=(str(meta["source"]).strip() or None) if meta.get("source") else None,
        url=(str(meta["url"]).strip() or None) if meta.get("url") else None,
        text=body,
        sha256=hashlib.sha256(raw).hexdigest(),
        date_approximate=bool(meta.get("date_approximate", False)),
        date_note=str(meta["date_note"]) if meta.get("date_note") else None,
        path=str(path),
    )


def load_articles(corpus_dir: Path) -> list[Article]:
    """Read every article of a corpus folder.

    Raises:
        CorpusError: on the first bad file, naming it and the fix.
    """
    articles: list[Article] = []
    seen: dict[str, Path] = {}
    for path in article_files(corpus_dir):
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CorpusError(f"{path}: cannot be read ({exc.strerror}): check its permissions.") from None
        article = parse_article(path, raw)
        if article.id in seen:
            raise CorpusError(
                f"{path}: id {article.id!r} is already used by {seen[article.id]}: "
                "rename one of them (or change its 'id:')."
            )
        seen[article.id] = path
        articles.append(article)
    return articles


def corpus_hashes(corpus_dir: Path) -> dict[str, str]:
    """Article id -> sha256, reading bytes only (cheap: used for the no-change check)."""
    return {a.id: a.sha256 for a in load_articles(corpus_dir)}
