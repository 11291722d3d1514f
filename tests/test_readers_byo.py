"""Bring your own articles: tests/data/byo/ (the five corpus articles as saved pages with furniture, a JSONL and
a CSV export of them, broken files) indexes in one `qa index`: each article once, no furniture quotable,
metadata from the pages, broken files listed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from qa.cli import main
from qa.readers import read_corpus

ROOT = Path(__file__).resolve().parents[1]
BYO = ROOT / "tests" / "data" / "byo"
CORPUS = ROOT / "corpus"
IDS = {p.stem for p in CORPUS.glob("*.md")}
PAGES = ["havering-rated-inadequate.html", "havering-significantly-improved-good.html",
         "havering-child-protection-adequate.htm", "havering-improvement-update.html",
         "havering-referral-assessment-praised.md"]
BROKEN = {"notes.txt": "is empty", "scan.md": "binary file", "utf16-no-bom.txt": "UTF-16 text without a byte-order mark",
          "bad-front-matter.md": "not valid YAML", "title-list.md": "title is a list",
          "minutes.pdf": "is not a PDF that can be read", "broken-export.jsonl record 1": "not valid JSON",
          "broken-export.jsonl record 2": "has no text", "broken-export.jsonl record 3": "empty text field",
          "passwd.txt": "symbolic link"}
# Page furniture of tests/data/byo (menus, banners, scripts, related links, captions, comments, footers):
# none of it may be quotable.
FURNITURE = ["cookies", "Accept All", "Skip to main content", "gtag", "dataLayer", "window.", "RELATED NEWS",
             "car parking charge hikes", "MORE NEWS", "Elm Park station", "Image: Havering Council",
             "Romford Recorder: Oscar Ford", "Advertisement", "newsletter", "Most Read", "Comments are closed",
             "WhatsApp", "Respect4SocialWork", "Make an Enquiry", "Contact Us", "Inspection of Havering",
             "Knowledge & Resources", "Read Full Story", "Star Hobson", "Homes for Ukraine", "Subscribe Today",
             "WP Quality Assured", "Mackman", "Share this", "annual report finds", "caseloads still too high",
             "About the author", "Related links", "Was this page helpful", "Bins and recycling", "Council tax",
             "Town Hall, Main Road", "Print this page", "Page last updated", "Related news", "Share this page",
             "Reader comments", "Concerned parent", "very little thanks", "Most Viewed", "Market traders",
             "Email this story", "Archant", "Picture: Archive", "All rights reserved", "Privacy"]
# Kept by the extractor, known and measured (benchmarks/extraction.md): a press-contact box and a
# "Did you know?" call-out inside the council page's article element.
KNOWN_LEFT = ["Media enquiries", "Did you know"]


def norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
                                .casefold()))


def clean(article_id: str) -> str:
    return (CORPUS / f"{article_id}.md").read_text("utf-8").split("\n---\n", 1)[1]


def pages_only(tmp_path: Path) -> Path:
    folder = tmp_path / "pages"
    folder.mkdir()
    for name in PAGES:
        shutil.copy2(BYO / name, folder / name)
    return folder


def test_pages_alone_lose_their_furniture_and_keep_every_sentence(tmp_path):
    from qa.chunking import split_sentences

    read = read_corpus(pages_only(tmp_path))
    assert {a.id for a in read.articles} == IDS and not read.skipped
    for a in read.articles:
        assert a.file_type == "html"
        kept = norm(a.text)
        for phrase in FURNITURE:
            assert norm(phrase) not in kept, (a.id, phrase)
        body = clean(a.id)
        for s, e in split_sentences(body):
            assert norm(body[s:e]) in kept, (a.id, body[s:e])


def test_pages_metadata_comes_from_the_pages(tmp_path):
    arts = {a.id: a for a in read_corpus(pages_only(tmp_path)).articles}
    titles = {i: re.search(r'^title: "(.*)"$', (CORPUS / f"{i}.md").read_text("utf-8"), re.M).group(1) for i in IDS}
    for i, a in arts.items():
        assert a.title == titles[i].replace('\\"', '"')
        assert a.url and a.url.startswith("https://www.") and ".example/" in a.url
    expected = {  # (date, where it came from, publisher, author)
        "havering-rated-inadequate": ("2024-01-12", "json-ld datePublished", "Romford Recorder", "Staff reporter"),
        "havering-significantly-improved-good": ("2018-08-03", "json-ld datePublished", "Children First",
                                                 "Editorial Team"),
        "havering-child-protection-adequate": ("2012-03-27", "meta dc.date.issued", "Havering Council", None),
        "havering-improvement-update": ("2024-12-18", "htmldate", "Havering Council", None),
        "havering-referral-assessment-praised": ("2010-06-24", "meta pubdate", "Romford Recorder", None),
    }
    for i, (date, origin, source, author) in expected.items():
        a = arts[i]
        assert (a.date, a.date_origin, a.source, a.author, a.date_approximate) == (date, origin, source, author, False)


@pytest.mark.model
def test_one_index_of_the_whole_collection(tmp_path, capsys):
    corpus = tmp_path / "byo"
    shutil.copytree(BYO, corpus, symlinks=True)
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    code = main(["index", "--corpus", str(corpus), "--index", str(tmp_path / "index")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    skipped = {ln.split(": ", 1)[0].removeprefix("skipped "): ln for ln in err.splitlines() if ln.startswith("skipped ")}
    assert set(skipped) == set(BROKEN)
    for name, words in BROKEN.items():
        assert words in skipped[name]
    assert out.strip().splitlines()[-1].startswith(f"indexed 5 articles from 16 files; skipped {len(BROKEN)}: ")
    # each article once, with the corpus ids; the duplicates are noted
    notes = [ln for ln in err.splitlines() if ln.startswith("note: ")]
    assert len(notes) == 5 and all("indexed once" in n for n in notes)

    from qa.index import load_index

    index = load_index(tmp_path / "index")
    assert set(index.articles) == IDS
    for a in index.articles.values():
        assert a.url and a.source and a.date and a.date[:4] in {"2010", "2012", "2018", "2024"}
    quotable = norm(" ".join(s.text for s in index.iter_sentences()))
    for phrase in FURNITURE + KNOWN_LEFT:
        assert norm(phrase) not in quotable, phrase
    assert "root" not in quotable.split()


def test_the_collection_yaml_of_the_test_collection_is_valid():
    from qa.readers.options import read_collection

    c = read_collection(BYO)
    assert not c.problems and c.options.keys("text") == ("story",) and c.options.max_chars == 200_000
