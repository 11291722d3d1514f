"""SQuAD-format JSON (v1.1, v2.0, XQuAD, COVID-QA; plain or gzipped) -> Articles and TestQuestions."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import unicodedata
from pathlib import Path
from typing import Any

from qa.errors import UsageError
from qa.testset import GoldSpan, TestQuestion
from qa.types import Article

PARAGRAPH_SEPARATOR = "\n\n"
_GZIP_MAGIC = b"\x1f\x8b"


def slugify(text: str) -> str:
    """A lower-case ASCII slug: "Super_Bowl_50" -> "super-bowl-50"; "" if nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _read_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"SQuAD file {path} not found. Pass a SQuAD-format .json or .json.gz.") from None
    try:
        if raw.startswith(_GZIP_MAGIC):
            raw = gzip.decompress(raw)
        return json.loads(raw.decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UsageError(
            f"SQuAD file {path} is not readable JSON ({e}). Pass a SQuAD-format .json file, "
            "optionally gzipped."
        ) from None
    except RecursionError:
        raise UsageError(f"SQuAD file {path}: its JSON is nested too deeply to be SQuAD. Pass a SQuAD-format "
                         ".json file.") from None


def _dataset_name(path: Path, version: Any) -> str:
    name = path.name.lower()
    if "xquad" in name:
        return "XQuAD"
    if "covid" in name:
        return "COVID-QA"
    return f"SQuAD v{str(version).lstrip('vV')}" if version else "SQuAD"


SHAPE = ('{"data": [{"title": "…", "paragraphs": [{"context": "…", "qas": [{"id": "…", "question": "…", '
         '"answers": [{"text": "…", "answer_start": 0}]}]}]}]}')


def _bad(path: Path, where: str, problem: str) -> UsageError:
    return UsageError(f"SQuAD file {path}, {where}: {problem}. Each record must look like {SHAPE}.")


def _paragraphs(entry: Any, path: Path, n: int) -> list[dict]:
    """The article's paragraphs that have a context, each checked for shape."""
    if not isinstance(entry, dict):
        raise _bad(path, f"article {n}", f"is {type(entry).__name__}, not an object")
    paragraphs = entry.get("paragraphs", [])
    if not isinstance(paragraphs, list):
        raise _bad(path, f"article {n}", '"paragraphs" must be a list')
    out = []
    for i, p in enumerate(paragraphs, 1):
        where = f"article {n}, paragraph {i}"
        if not isinstance(p, dict):
            raise _bad(path, where, f"is {type(p).__name__}, not an object")
        if not p.get("context"):
            continue
        if not isinstance(p["context"], str):
            raise _bad(path, where, f'"context" must be text, not {type(p["context"]).__name__}')
        qas = p.get("qas", [])
        if not isinstance(qas, list):
            raise _bad(path, where, '"qas" must be a list of questions')
        for j, qa in enumerate(qas, 1):
            at = f"{where}, question {j}"
            if not isinstance(qa, dict):
                raise _bad(path, at, f"is {type(qa).__name__}, not an object")
            at += f" (id {qa['id']!r})" if "id" in qa else ""
            if not isinstance(qa.get("question"), str) or not qa["question"].strip():
                raise _bad(path, at, '"question" must be non-empty text')
            answers = qa.get("answers", [])
            if not isinstance(answers, list) or not all(
                    isinstance(a, dict) and isinstance(a.get("text", ""), str)
                    and isinstance(a.get("answer_start", 0), int) for a in answers):
                raise _bad(path, at, '"answers" must be a list of {"text": "…", "answer_start": N} objects')
        out.append(p)
    return out


def locate_answer(context: str, text: str, answer_start: int | None) -> tuple[int, int] | None:
    """Offsets of an answer in its context, trusting ``answer_start`` only when it points at it.

    Some files' offsets are off (COVID-QA: leading spaces, byte offsets, small shifts;
    rebuilt SQuAD: the first copy rather than the marked one), so when the text is not at
    ``answer_start`` the copy nearest to it is taken.

    Returns:
        (start, end) into ``context``, or None if the stripped text does not occur.
    """
    needle = text.strip()
    if not needle:
        return None
    if isinstance(answer_start, int):
        for start in (answer_start, answer_start + len(text) - len(text.lstrip())):
            if context[start:start + len(needle)] == needle:
                return start, start + len(needle)
    hits = [m.start() for m in re.finditer(re.escape(needle), context)]
    if not hits:
        return None
    anchor = answer_start if isinstance(answer_start, int) else 0
    start = min(hits, key=lambda h: abs(h - anchor))
    return start, start + len(needle)


def load_squad(
    path: str | Path, *, sample: int | None = None, seed: int = 0, source: str | None = None
) -> tuple[list[Article], list[TestQuestion]]:
    """Read a SQuAD-format file into one Article per SQuAD article and its questions.

    Every article of the file is returned, so that the ones no sampled question needs
    still act as distractors in the index; only the questions are sampled.

    Article ids are slugs of the titles; untitled articles (COVID-QA) get
    ``doc-<document_id>``, or ``doc-<n>`` (1-based position) without one. A repeated id
    gets a ``-2``, ``-3``… suffix. Paragraph contexts are joined with a blank line, and gold
    spans are offsets into that joined text. A question with ``is_impossible`` or no answers
    is unanswerable.

    Args:
        path: .json or .json.gz (detected by content).
        sample: how many questions to draw with ``random.Random(seed).sample``; all when None
            or not smaller than the total. The sample is returned in file order.
        seed: the sampling seed.
        source: the Article.source; by default derived from the file ("XQuAD", "COVID-QA",
            "SQuAD v2.0").

    Returns:
        (articles, questions).

    Raises:
        UsageError: the file is missing, not JSON, not SQuAD-shaped, or sample < 1.
    """
    path = Path(path)
    if sample is not None and sample < 1:
        raise UsageError(f"sample must be at least 1; it is {sample}. Leave it out to use all.")
    doc = _read_json(path)
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, list):
        raise UsageError(
            f"SQuAD file {path} has no \"data\" list. Expected "
            '{"data": [{"title", "paragraphs": [{"context", "qas": [...]}]}]}.'
        )
    source = source or _dataset_name(path, doc.get("version"))

    articles: list[Article] = []
    questions: list[TestQuestion] = []
    used_ids: set[str] = set()
    for n, entry in enumerate(data, start=1):
        paragraphs = _paragraphs(entry, path, n)
        if not paragraphs:
            continue
        raw_title = entry.get("title")
        document_id = paragraphs[0].get("document_id")
        if raw_title and slugify(str(raw_title)):
            base, title = slugify(str(raw_title)), str(raw_title).replace("_", " ")
        elif document_id is not None:
            base, title = f"doc-{document_id}", f"Document {document_id}"
        else:
            base, title = f"doc-{n}", f"Document {n}"
        article_id, suffix = base, 2
        while article_id in used_ids:
            article_id, suffix = f"{base}-{suffix}", suffix + 1
        used_ids.add(article_id)

        offset = 0
        for i, paragraph in enumerate(paragraphs):
            if i:
                offset += len(PARAGRAPH_SEPARATOR)
            context = paragraph["context"]
            for qa in paragraph.get("qas", []):
                answers = [a for a in qa.get("answers", []) if str(a.get("text", "")).strip()]
                expected = tuple(dict.fromkeys(str(a["text"]).strip() for a in answers))
                spans = []
                for a in answers:
                    found = locate_answer(context, str(a["text"]), a.get("answer_start"))
                    if found:
                        spans.append(GoldSpan(article_id, offset + found[0], offset + found[1]))
                answerable = bool(expected) and not qa.get("is_impossible", False)
                questions.append(TestQuestion(
                    id=str(qa.get("id", f"{article_id}-{len(questions) + 1}")),
                    question=str(qa["question"]).strip(),
                    type="answerable" if answerable else "unanswerable",
                    expected=expected if answerable else (),
                    articles=(article_id,) if answerable else (),
                    history=(),
                    answerable=answerable,
                    current=False,
                    gold=tuple(dict.fromkeys(spans)) if answerable else (),
                ))
            offset += len(context)
        text = PARAGRAPH_SEPARATOR.join(p["context"] for p in paragraphs)
        articles.append(Article(
            id=article_id,
            title=title,
            date=None,
            source=source,
            url=None,
            text=text,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        ))

    if sample is not None and sample < len(questions):
        picked = sorted(random.Random(seed).sample(range(len(questions)), sample))
        questions = [questions[i] for i in picked]
    return articles, questions
