"""Word documents (.docx): paragraphs, headings as lines of their own, list items as "• …", table rows as
"a | b"; title, author and date from the core properties (python-docx) or the first lines.

A .docx is a zip: its XML parts are inflated block by block within a budget before python-docx sees
them (stored, pictures emptied), so a zip bomb is one line, not gigabytes, even when it lies about its
sizes. python-docx parses XML without resolving entities.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib

from qa.readers.base import FileError, SourceFile, read_bytes
from qa.readers.document import Properties, article
from qa.readers.options import CollectionOptions
from qa.types import Article

MAX_PARTS = 5_000
XML_PER_CHAR = 100  # word/document.xml bytes per character of text a document may take: ~10-20 in practice
LIST_STYLES = ("list", "bullet", "number")


def safe_package(raw: bytes, rel: str, options: CollectionOptions, body: str = "word/document.xml",
                 kind: str = "Word document (.docx") -> io.BytesIO:
    """The package python-docx may open: its XML parts inflated here, in bounded steps and within a
    budget, and stored uncompressed; the other parts (pictures, fonts) emptied, as text needs none.

    zipfile's read() inflates a part whole before cutting it to its declared size, so a part that
    declares 2 KB and inflates to gigabytes would be inflated whole; read in blocks, it is stopped at
    the budget.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise FileError(rel, f"is not a {kind} is a zip file, and this is not one): save it again") from None
    if len(infos) > MAX_PARTS:
        raise FileError(rel, f"holds {len(infos):,} parts, more than a document has: check the file")
    if not any(i.filename == body for i in infos):
        raise FileError(rel, f"is a zip without {body}, not a {kind.split(' (')[0]}: save it again")
    budget = XML_PER_CHAR * options.max_chars + 10_000_000
    used = 0
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as package:
        for info in infos:
            if info.is_dir():
                continue
            if not info.filename.lower().endswith((".xml", ".rels")) and info.filename != "mimetype":
                package.writestr(info.filename, b"")
                continue
            parts = []
            try:
                with archive.open(info) as member:
                    while block := member.read(1 << 16):
                        used += len(block)
                        if used > budget:
                            raise FileError(rel, f"inflates to more than {budget / 1e6:,.0f} MB of XML from "
                                                 f"{len(raw) / 1e6:,.1f} MB (a zip bomb?): it was not read; check the file")
                        parts.append(block)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
                raise FileError(rel, f"is a damaged zip ({info.filename}: {str(exc)[:80]}): save it again") from None
            package.writestr(info.filename, b"".join(parts))
    out.seek(0)
    return out


def read(f: SourceFile, options: CollectionOptions) -> tuple[list[Article], list[str]]:
    """One article from a .docx.

    Raises:
        FileError: over max_file_mb, not a .docx, an inflating zip, or no text.
    """
    raw = read_bytes(f, options.max_file_bytes)
    package = safe_package(raw, f.rel, options)
    import docx

    try:
        document = docx.Document(package)
    except Exception as exc:  # noqa: BLE001 - python-docx raises many kinds on a damaged package
        raise FileError(f.rel, f"is not a Word document that can be read ({type(exc).__name__}: {str(exc)[:80]}): "
                               "save it again as .docx") from None
    blocks, title_style = _blocks(document)
    core = document.core_properties
    created = core.created or core.modified
    props = Properties(title=(core.title or "").strip() or title_style, author=(core.author or "").strip() or None,
                       date=created.date().isoformat() if created else None,
                       date_origin="docx created" if core.created else "docx modified")
    if not blocks:
        raise FileError(f.rel, "has no text: add the article's text, or remove the file")
    return article(f, blocks, props, options, sha256=hashlib.sha256(raw).hexdigest(), file_type="docx")


def _blocks(document) -> tuple[list[str], str | None]:
    """The body in order: paragraphs and headings one block each, consecutive list items one block of
    "• " lines, a table one block of "a | b" lines. Also the text in the Title style, if any."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[str] = []
    items: list[str] = []
    title = None

    def flush() -> None:
        if items:
            out.append("\n".join(items))
            items.clear()

    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            p = Paragraph(child, document)
            text = " ".join(p.text.split())
            if not text:
                continue
            style = (p.style.name if p.style is not None else "").lower()
            if style == "title" and title is None:
                title = text
            if _is_list(child, style):
                items.append("• " + text)
                continue
            flush()
            out.append(text)
        elif tag == "tbl":
            flush()
            rows = []
            for row in Table(child, document).rows:
                cells: list[str] = []
                for cell in row.cells:
                    value = " ".join(cell.text.split())
                    if value and (not cells or cells[-1] != value):  # a merged cell repeats itself
                        cells.append(value)
                if cells:
                    rows.append(" | ".join(cells))
            if rows:
                out.append("\n".join(rows))
    flush()
    return out, title


def _is_list(p_element, style: str) -> bool:
    ppr = p_element.pPr
    if ppr is not None and ppr.numPr is not None:
        return True
    return style.startswith("list") and any(s in style for s in LIST_STYLES)
