"""Frozen dataclasses passed between stages; no I/O here."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Article:
    """One article of the corpus. Offsets everywhere index into ``text``."""

    id: str  # stable slug: the file name without its suffix
    title: str
    date: str | None  # ISO date, as precise as known: "2024", "2024-01", "2024-01-15"
    source: str | None  # publisher, only when the text shows it
    url: str | None  # original address, only when known: never invented
    text: str
    sha256: str  # of the whole file, front matter included; of the record's fields for an export's record
    date_approximate: bool = False
    date_note: str | None = None
    path: str | None = None  # the file, relative to the corpus folder
    author: str | None = None  # byline, when the file or page names one
    date_origin: str | None = None  # where the date came from: "front matter", "json-ld datePublished", "htmldate"…
    file_type: str | None = None  # the reader: "markdown", "text", "html", "json", "jsonl", "csv", "pdf", "docx", "feed", "warc"
    record: int | None = None  # 1-based record number in an export (json, jsonl, csv)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "date": self.date,
            "date_approximate": self.date_approximate,
            "date_note": self.date_note,
            "source": self.source,
            "url": self.url,
            "text": self.text,
        }


def date_order(date: str | None) -> str:
    """Sort key of an ISO date as precise as known ("2024" < "2024-01" < "2024-01-15"); undated first."""
    return date or ""


@dataclass(frozen=True)
class Sentence:
    id: str  # f"{article_id}:{ordinal}"
    article_id: str
    ordinal: int
    start: int  # article.text[start:end] == text
    end: int
    text: str


@dataclass(frozen=True)
class Chunk:
    id: str  # f"{article_id}#{ordinal}"
    article_id: str
    ordinal: int
    start: int  # article.text[start:end] == text
    end: int
    text: str
    sentences: tuple[int, ...] = ()  # ordinals of the sentences it holds (whole or part)
    tokens: int = 0


@dataclass(frozen=True)
class QueryVectors:
    """A question's vectors: the one searched with (a follow-up: with its earlier turn's) and its own."""

    search: "np.ndarray"
    own: "np.ndarray"


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused score and the parts of that score."""

    chunk: Chunk
    rank: int  # 1-based
    score: float  # fused score, higher is better
    dense: float  # cosine similarity of question and chunk
    lexical: float  # BM25 score, normalised to [0, 1] within the query's hits
    date: float = 0.0  # boost from the question's time cues (latest / a named year)
    sentence: float = 0.0  # cosine similarity of question and the closest sentence in the chunk

    def to_dict(self, article: Article | None = None) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "article_id": self.chunk.article_id,
            "chunk_id": self.chunk.id,
            "title": article.title if article else None,
            "date": article.date if article else None,
            "score": round(self.score, 4),
            "scores": {"dense": round(self.dense, 4), "sentence": round(self.sentence, 4),
                       "lexical": round(self.lexical, 4), "date": round(self.date, 4)},
            "start": self.chunk.start,
            "end": self.chunk.end,
            "text": self.chunk.text,
        }


@dataclass(frozen=True)
class Span:
    """A short answer (date, number, amount, person, place) inside a quote."""

    kind: str
    start: int  # offsets into Article.text
    end: int
    text: str


@dataclass(frozen=True)
class Citation:
    number: int  # 1-based marker [n] in the answer
    article_id: str
    title: str
    date: str | None
    date_approximate: bool
    source: str | None
    url: str | None
    start: int  # the quoted sentence's offsets in Article.text
    end: int
    quote: str  # == Article.text[start:end]
    chunk_id: str
    score: float
    short_answer: Span | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["score"] = round(self.score, 4)
        return d


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str  # the quoted text, sentences joined by " "; "" when abstained
    abstained: bool
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]  # when abstained: the closest, not an answer
    message: str = ""  # human text: the abstention sentence, or "" when answered
    notices: tuple[str, ...] = ()  # e.g. "question truncated to 256 tokens"
    query: str = ""  # what was searched (the question, expanded by follow-up context)
    dated: bool = False  # quotes shown newest first because sources from different dates differ
    confidence: float = 0.0
    filter: dict[str, Any] | None = None  # the filter the question was answered within (qa.retrieve.Scope)
    articles: dict[str, Article] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``qa ask --json`` and of the web API."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "message": self.message,
            "confidence": round(self.confidence, 4),
            "dated": self.dated,
            "query": self.query,
            "notices": list(self.notices),
            "filter": self.filter,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict(self.articles.get(p.chunk.article_id)) for p in self.passages],
        }
