"""OpenDocument text (.odt, LibreOffice): paragraphs, headings as lines, lists as "• …", tables as "a | b";
title, author and date from its meta.xml (odfpy, which parses through defusedxml: no entities).

The package is pre-inflated within a budget as a .docx is (qa/readers/docx.py, safe_package).
"""

from __future__ import annotations

import hashlib

from qa.readers.base import FileError, SourceFile, read_bytes
from qa.readers.document import Properties, article
from qa.readers.docx import safe_package
from qa.readers.options import CollectionOptions
from qa.types import Article


def read(f: SourceFile, options: CollectionOptions) -> tuple[list[Article], list[str]]:
    """One article from an .odt.

    Raises:
        FileError: over max_file_mb, not an .odt, an inflating zip, or no text.
    """
    raw = read_bytes(f, options.max_file_bytes)
    package = safe_package(raw, f.rel, options, body="content.xml", kind="OpenDocument text (.odt")
    from odf import opendocument

    try:
        doc = opendocument.load(package)
    except Exception as exc:  # noqa: BLE001 - odfpy and defusedxml raise many kinds on a damaged or hostile file
        raise FileError(f.rel, f"is not an OpenDocument text that can be read ({type(exc).__name__}: "
                               f"{str(exc)[:80]}): save it again as .odt or .docx") from None
    blocks, title_style = _blocks(doc.text)
    if not blocks:
        raise FileError(f.rel, "has no text: add the article's text, or remove the file")
    meta = {_local(e.qname): _text(e) for e in doc.meta.childNodes if e.nodeType == e.ELEMENT_NODE}
    created = meta.get("creation-date") or meta.get("date")
    props = Properties(title=meta.get("title") or title_style, author=meta.get("initial-creator") or meta.get("creator"),
                       date=created[:10] if created else None,
                       date_origin="odt created" if meta.get("creation-date") else "odt date")
    return article(f, blocks, props, options, sha256=hashlib.sha256(raw).hexdigest(), file_type="odt")


def _local(qname) -> str:
    return qname[1] if isinstance(qname, tuple) else str(qname)


def _text(element) -> str:
    from odf import teletype

    return " ".join(teletype.extractText(element).split())


def _blocks(root) -> tuple[list[str], str | None]:
    out: list[str] = []
    title = None

    def walk(node) -> None:
        nonlocal title
        for child in node.childNodes:
            if child.nodeType != child.ELEMENT_NODE:
                continue
            name = _local(child.qname)
            if name in ("p", "h"):
                text = _text(child)
                if text:
                    style = (child.getAttribute("stylename") or "").lower()
                    if style == "title" and title is None:
                        title = text
                    out.append(text)
            elif name == "list":
                items = []
                for item in child.getElementsByType(_list_item()):
                    text = " ".join(_text(p) for p in item.childNodes
                                    if p.nodeType == p.ELEMENT_NODE and _local(p.qname) in ("p", "h"))
                    if text.strip():
                        items.append("• " + text.strip())
                if items:
                    out.append("\n".join(items))
            elif name == "table":
                rows = []
                for row in child.getElementsByType(_row()):
                    cells = [_text(c) for c in row.childNodes if c.nodeType == c.ELEMENT_NODE
                             and _local(c.qname) == "table-cell"]
                    line = " | ".join(c for c in cells if c)
                    if line:
                        rows.append(line)
                if rows:
                    out.append("\n".join(rows))
            elif name in ("section", "text"):
                walk(child)

    walk(root)
    return out, title


def _list_item():
    from odf.text import ListItem

    return ListItem


def _row():
    from odf.table import TableRow

    return TableRow
