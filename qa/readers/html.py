"""Saved web pages: the article's main text (trafilatura), metadata from JSON-LD, <meta> and htmldate."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from urllib.parse import urljoin

from qa.readers.base import (FileError, SourceFile, as_author, as_text, as_url, clip_title, decode, file_id,
                             read_bytes, within_max_chars)
from qa.readers.dates import DateError, is_future, parse_date
from qa.readers.options import CollectionOptions
from qa.types import Article

# The kinds of schema.org thing whose headline and dates are the article's.
ARTICLE_TYPES = ("NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle", "OpinionNewsArticle",
                 "BackgroundNewsArticle", "Article", "BlogPosting", "Report", "LiveBlogPosting", "ScholarlyArticle")
TITLE_META = ("og:title", "twitter:title", "dc.title", "dcterms.title", "title", "headline")
DATE_META = ("article:published_time", "og:article:published_time", "datepublished", "article.published",
             "pubdate", "publishdate", "publish-date", "publish_date", "publication_date", "dc.date.issued",
             "dcterms.issued", "dc.date", "dcterms.date", "dcterms.created", "date", "sailthru.date",
             "parsely-pub-date", "citation_publication_date", "citation_date")
AUTHOR_META = ("author", "article:author", "dc.creator", "dcterms.creator", "parsely-author", "sailthru.author", "byl")
SOURCE_META = ("og:site_name", "application-name", "publisher", "dc.publisher", "dcterms.publisher")
URL_META = ("og:url", "twitter:url")
TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " « ", " » ")
# What the chosen extractor is asked for (benchmarks/extraction.py measures the alternatives).
EXTRACT_OPTIONS = {"include_comments": False, "include_tables": True, "include_images": False,
                   "include_links": False, "deduplicate": False, "favor_precision": False, "favor_recall": False}

for _name in ("trafilatura", "htmldate", "courlan"):  # their "discarding data" chatter is not the user's business
    logging.getLogger(_name).setLevel(logging.ERROR)


@dataclass(frozen=True)
class Page:
    text: str
    title: str | None = None
    date: str | None = None
    date_precision: str | None = None
    date_origin: str | None = None
    author: str | None = None
    source: str | None = None
    url: str | None = None
    future_date: str | None = None  # a date the page gives that lies in the future (not used)


def read(f: SourceFile, options: CollectionOptions) -> tuple[list[Article], list[str]]:
    """One article from an .html or .htm page.

    Raises:
        FileError: undecodable, over max_file_mb, or no article text found.
    """
    raw = read_bytes(f, options.max_file_bytes)
    return read_page(f, raw, decode(raw, f.rel, html=True), options, sha256=hashlib.sha256(raw).hexdigest())


def read_page(f: SourceFile, raw: bytes, text: str, options: CollectionOptions, *, sha256: str
              ) -> tuple[list[Article], list[str]]:
    page = extract_page(text, **({"prune_xpath": list(options.drop)} if options.drop else {}))
    if options.drop:  # what the page yields depends on drop:, so the index must see it change
        sha256 = hashlib.sha256(f"{sha256}:drop={options.drop!r}".encode()).hexdigest()
    if not page.text.strip():
        raise FileError(f.rel, "has no article text that could be found: save the article's own page (not a "
                               "listing or a log-in page), or save its text as .txt")
    notices = []
    if page.future_date:
        notices.append(f"{f.rel}: the page's date {page.future_date} is in the future: indexed as undated")
    body, sha256, cut_notice = within_max_chars(page.text, sha256, f.rel, options.max_chars)
    notices += cut_notice
    title = clip_title(page.title) or _first_line(body)
    return [Article(
        id=file_id(f.rel), title=title, date=page.date, source=page.source, url=page.url, text=body,
        sha256=sha256, date_approximate=page.date_precision not in (None, "day"),
        date_note=None, path=f.rel, author=page.author, date_origin=page.date_origin, file_type="html",
    )], notices


def _first_line(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= 120 else line[:120].rsplit(" ", 1)[0] + "…"


# ------------------------------------------------------------------ main text
def extract_page(html_text: str, **extract_options) -> Page:
    """The article's text and metadata from a whole page."""
    import trafilatura

    tree = trafilatura.load_html(_without_xml_declaration(html_text))
    if tree is None:
        return Page(text="")
    meta = page_metadata(tree)
    blocks = main_blocks(html_text, **extract_options)
    return Page(text=join(tidy(blocks, meta)), **meta)


def main_text(html_text: str, **extract_options) -> str:
    """trafilatura's main text, rendered as paragraphs separated by blank lines ("" when none found)."""
    return join(main_blocks(html_text, **extract_options))


def main_blocks(html_text: str, **extract_options) -> list[tuple[str, str]]:
    """trafilatura's main text as (kind, text) blocks: kind "head", "p", "list" or "table"."""
    import trafilatura

    options = {**EXTRACT_OPTIONS, **extract_options}
    tree = trafilatura.load_html(_without_xml_declaration(html_text))
    if tree is None:
        return []
    doc = trafilatura.bare_extraction(tree, output_format="python", with_metadata=False, **options)
    if (doc is None or doc.body is None or not len(doc.body)) and not options.get("favor_recall"):
        tree = trafilatura.load_html(_without_xml_declaration(html_text))  # the first pass pruned it
        doc = trafilatura.bare_extraction(tree, output_format="python", with_metadata=False,
                                          **{**options, "favor_precision": False, "favor_recall": True})
    if doc is None or doc.body is None:
        return []
    return render(doc.body)


def fragment_text(fragment: str) -> str:
    """Text of the HTML in an export's body field: the same extractor, told that it is all content."""
    return main_text(f"<html><body><article>{fragment}</article></body></html>", favor_recall=True)


def _without_xml_declaration(text: str) -> str:
    # lxml refuses a str that carries its own encoding declaration (XHTML pages start with one).
    return re.sub(r"\A\s*<\?xml[^>]*\?>", "", text, count=1)


BLOCKS = {"p", "head", "quote", "list", "table", "code", "pre", "div", "blockquote", "section"}


def render(body) -> list[tuple[str, str]]:
    """trafilatura's XML (p, head, list/item, quote, table/row/cell, lb) -> (kind, text) blocks: one line
    per list item ("• …") and per table row ("a | b")."""
    blocks: list[tuple[str, str]] = []
    _blocks(body, blocks)
    return [(k, t) for k, t in blocks if t]


def join(blocks: list[tuple[str, str]]) -> str:
    """Blocks as text: paragraphs separated by blank lines."""
    return "\n\n".join(t for _, t in blocks)


def _blocks(el, out: list[tuple[str, str]]) -> None:
    for child in el:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "list":
            items = []
            _items(child, items)
            out.append(("list", "\n".join(items)))
        elif tag == "table":
            rows = []
            for row in child.iter("row"):
                cells = [_inline(c) for c in row if isinstance(c.tag, str) and c.tag == "cell"]
                line = " | ".join(c.replace("\n", " ") for c in cells if c)
                if line:
                    rows.append(line)
            out.append(("table", "\n".join(rows)))
        elif tag in ("quote", "blockquote", "div", "section") and any(
                isinstance(c.tag, str) and c.tag in BLOCKS for c in child):
            if (child.text or "").strip():
                out.append(("p", _clean(child.text)))
            _blocks(child, out)
        elif tag in ("graphic", "comments"):
            continue
        else:
            out.append(("head" if tag == "head" else "p", _inline(child)))
        if (child.tail or "").strip() and el.tag not in ("list",):
            out.append(("p", _clean(child.tail)))


def _items(lst, out: list[str]) -> None:
    for item in lst:
        if not isinstance(item.tag, str) or item.tag != "item":
            continue
        nested = [c for c in item if isinstance(c.tag, str) and c.tag == "list"]
        for c in nested:
            item.remove(c)  # rendered after the item's own text, as items of their own
        text = _inline(item).replace("\n", " ")
        if text:
            out.append("• " + text)
        for c in nested:
            _items(c, out)


def _inline(el) -> str:
    parts: list[str] = [el.text or ""]
    for child in el:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "lb":
            parts.append("\n")
        elif tag in ("graphic",):
            pass
        else:
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return _clean("".join(parts))


def _clean(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.casefold()).strip()


def tidy(blocks: list[tuple[str, str]], meta: dict) -> list[tuple[str, str]]:
    """What the extractor keeps but is page furniture all the same, by rules about layout, never words:
    the headline (already the title), a byline or a dateline ("Published: 5 March 2019", "Page last
    updated: …") before or after the text, and a heading whose section is empty (its list of links
    was removed, so the next thing is another heading or the end)."""
    title = _norm(meta.get("title") or "")
    author = _norm(meta.get("author") or "")

    def furniture(kind: str, text: str) -> bool:
        if "\n" in text:
            return False
        b = _norm(text)
        return bool((title and b == title) or (author and b in (author, "by " + author)) or _is_dateline(text))

    out = list(blocks)
    while out and furniture(*out[0]):
        out.pop(0)
    while out and furniture(*out[-1]):
        out.pop()
    out = [b for i, b in enumerate(out)
           if not (b[0] == "head" and (i + 1 == len(out) or out[i + 1][0] == "head"))]
    return out if any(k != "head" for k, _ in out) else blocks


def _is_dateline(block: str) -> bool:
    if len(block) > 60:
        return False
    try:
        return parse_date(block) is not None
    except DateError:
        return False


# ------------------------------------------------------------------ metadata
def page_metadata(tree) -> dict:
    """title, date (with its precision and origin), author, source and url from JSON-LD, <meta> and <link>,
    then htmldate for the date. A value the page does not give stays None: nothing is invented."""
    nodes = _json_ld(tree)
    by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
    article = next((n for n in nodes if _is_type(n, ARTICLE_TYPES)), None)
    metas: dict[str, str] = {}
    for el in tree.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        content = (el.get("content") or "").strip()
        if key and content and key not in metas:
            metas[key] = content

    def node(value):
        if isinstance(value, dict) and set(value) <= {"@id", "@type"} and value.get("@id") in by_id:
            return by_id[value["@id"]]
        return value

    def text_of(value):
        if isinstance(value, list):
            value = next((v for v in value if isinstance(v, (str, dict))), None)
        value = node(value)
        if isinstance(value, dict):
            value = value.get("name")
        try:
            return as_text(value, "value", "") if isinstance(value, (str, int)) else None
        except FileError:
            return None

    source = None
    if article is not None:
        source = text_of(article.get("publisher"))
    source = source or next((text_of(metas[k]) for k in SOURCE_META if metas.get(k)), None)

    title = text_of(article.get("headline")) if article is not None else None
    title = title or next((text_of(metas[k]) for k in TITLE_META if metas.get(k)), None)
    if not title:
        title = _page_title(tree, source)

    author = None
    if article is not None and article.get("author") is not None:
        raw = article["author"]
        raw = [node(a) for a in raw] if isinstance(raw, list) else node(raw)
        try:
            author = as_author(raw, "")
        except FileError:
            author = None
    if not author:
        for k in AUTHOR_META:
            value = metas.get(k)
            if value and not value.lower().startswith(("http://", "https://")):
                author = re.sub(r"^by\s+", "", " ".join(value.split()), flags=re.I) or None
                if author:
                    break

    url = None
    base = metas.get("og:url")
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            url = _absolute(link.get("href"), base)
            break
    if url is None and article is not None:
        entity = node(article.get("mainEntityOfPage"))
        candidates = [article.get("url"), entity.get("@id") if isinstance(entity, dict) else entity]
        url = next((u for u in (_absolute(c, base) for c in candidates if isinstance(c, str)) if u), None)
    url = url or next((u for u in (_absolute(metas[k], None) for k in URL_META if metas.get(k)) if u), None)

    date = precision = origin = future = None
    candidates = []
    if article is not None:
        candidates += [("json-ld datePublished", article.get("datePublished")),
                       ("json-ld dateCreated", article.get("dateCreated"))]
    candidates += [(f"meta {k}", metas.get(k)) for k in DATE_META]
    candidates += [("time datetime", t.get("datetime")) for t in tree.iter("time")
                   if t.get("itemprop") == "datePublished" or t.get("pubdate") is not None]
    for where, value in candidates:
        if not value or not isinstance(value, (str, int)):
            continue
        try:
            d = parse_date(value)
        except DateError:
            continue
        if d is None:
            continue
        if is_future(d):
            future = future or d.iso
            continue
        date, precision, origin = d.iso, d.precision, where
        break
    if date is None:
        found = _htmldate(tree)
        if found:
            date, precision, origin = found, "day", "htmldate"
    return {"title": title, "date": date, "date_precision": precision, "date_origin": origin, "author": author,
            "source": source, "url": url, "future_date": future if date is None else None}


def _htmldate(tree) -> str | None:
    try:
        from htmldate import find_date
    except ImportError:
        return None
    try:
        found = find_date(tree, extensive_search=False, original_date=True, outputformat="%Y-%m-%d")
    except Exception:  # noqa: BLE001 - a heuristic that fails only costs the date
        return None
    return found or None


def _json_ld(tree) -> list[dict]:
    nodes: list[dict] = []

    def walk(value, depth=0):
        if depth > 6:
            return
        if isinstance(value, list):
            for v in value:
                walk(v, depth + 1)
        elif isinstance(value, dict):
            nodes.append(value)
            if "@graph" in value:
                walk(value["@graph"], depth + 1)

    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            walk(json.loads(script.text or "", strict=False))
        except (ValueError, RecursionError):
            continue
    return nodes


def _is_type(node: dict, types: tuple[str, ...]) -> bool:
    t = node.get("@type")
    names = t if isinstance(t, list) else [t]
    return any(isinstance(n, str) and n.rsplit("/", 1)[-1] in types for n in names)


def _absolute(href: str | None, base: str | None) -> str | None:
    if not href or not isinstance(href, str):
        return None
    href = href.strip()
    if base and not re.match(r"^https?://", href, re.I):
        href = urljoin(base, href)
    try:
        return as_url(href, "")
    except FileError:
        return None


def _page_title(tree, source: str | None) -> str | None:
    """<title> without the site's name ("Headline | Site"), or the page's only <h1>."""
    h1s = [" ".join("".join(h.itertext()).split()) for h in tree.iter("h1")]
    h1s = [h for h in h1s if h]
    titles = [t for t in tree.iter("title")]
    page_title = " ".join("".join(titles[0].itertext()).split()) if titles else ""
    for h1 in h1s:
        if page_title and h1.lower() in page_title.lower():
            return h1
    if page_title:
        for sep in TITLE_SEPARATORS:
            if sep in page_title:
                head, _, tail = page_title.rpartition(sep) if source and page_title.endswith(sep + source) \
                    else page_title.partition(sep)
                if head.strip():
                    return head.strip()
        return page_title
    return h1s[0] if len(h1s) == 1 else None
