"""Test questions: the records of a questions file (JSON lines) and their loader, shared by `qa eval`,
the web Evaluation tab and the SQuAD reader."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import UsageError

REQUIRED_FIELDS = ("id", "question", "type", "expected", "articles", "answerable")
EXAMPLE_LINE = (
    '{"id": "q001", "question": "Who is the cabinet member?", "type": "person", '
    '"expected": ["Jane Smith"], "articles": ["council-rated-inadequate"], '
    '"history": [], "answerable": true, "current": false}'
)


@dataclass(frozen=True)
class GoldSpan:
    """A gold sentence or answer span: offsets into the article's text."""

    article_id: str
    start: int
    end: int


@dataclass(frozen=True)
class TestQuestion:
    """One line of a questions file.

    Usage example:
        q = TestQuestion(id="q1", question="Who?", type="person", expected=("Jane Smith",),
                         articles=("council-rated-inadequate",), history=(),
                         answerable=True, current=False)
    """

    __test__ = False  # not a pytest test class, despite the name

    id: str
    question: str
    type: str
    expected: tuple[str, ...]  # any of them in the answer makes it correct
    articles: tuple[str, ...]  # gold article ids; the answer must cite one
    history: tuple[str, ...]  # earlier user questions, replayed before this one
    answerable: bool
    current: bool
    gold: tuple[GoldSpan, ...] = ()
    filter: dict | None = None  # the articles it is asked within (qa.filters.Filter fields)


# ---------------------------------------------------------------- loading


def _line_error(path: Path, lineno: int, problem: str, fix: str) -> UsageError:
    return UsageError(f"{path}, line {lineno}: {problem}. {fix}")


def _string_list(value: Any, name: str, path: Path, lineno: int) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _line_error(
            path, lineno, f"field {name!r} must be a list of strings, not {json.dumps(value)}",
            f'Write it as e.g. "{name}": ["..."] (or [] for none).',
        )
    return tuple(value)


def _parse_gold(value: Any, path: Path, lineno: int) -> tuple[GoldSpan, ...]:
    fix = 'Write it as "gold": [{"article_id": "...", "start": 0, "end": 10}], or leave it out.'
    if not isinstance(value, list):
        raise _line_error(path, lineno, "field 'gold' must be a list", fix)
    spans = []
    for item in value:
        ok = (
            isinstance(item, dict)
            and isinstance(item.get("article_id"), str)
            and all(isinstance(item.get(k), int) and not isinstance(item.get(k), bool)
                    for k in ("start", "end"))
        )
        if not ok or not 0 <= item["start"] <= item["end"]:
            raise _line_error(path, lineno, f"gold span {json.dumps(item)} is malformed", fix)
        spans.append(GoldSpan(item["article_id"], item["start"], item["end"]))
    return tuple(spans)


def _parse_question(obj: Any, path: Path, lineno: int) -> TestQuestion:
    if not isinstance(obj, dict):
        raise _line_error(path, lineno, f"expected a JSON object, found {type(obj).__name__}",
                          f"Write one object per line, e.g. {EXAMPLE_LINE}")
    missing = [f for f in REQUIRED_FIELDS if f not in obj]
    if missing:
        raise _line_error(
            path, lineno, f"missing field{'s' if len(missing) > 1 else ''} "
            + ", ".join(repr(f) for f in missing),
            f"Each question needs {', '.join(REQUIRED_FIELDS)}, e.g. {EXAMPLE_LINE}",
        )
    for name in ("id", "question", "type"):
        if not isinstance(obj[name], str) or not obj[name].strip():
            raise _line_error(path, lineno, f"field {name!r} must be a non-empty string",
                              f'Write it as e.g. "{name}": "...".')
    for name in ("answerable", "current"):
        if name in obj and not isinstance(obj[name], bool):
            raise _line_error(path, lineno, f"field {name!r} must be true or false, "
                              f"not {json.dumps(obj[name])}", "Use a JSON boolean.")
    expected = _string_list(obj["expected"], "expected", path, lineno)
    articles = _string_list(obj["articles"], "articles", path, lineno)
    history = _string_list(obj.get("history", []), "history", path, lineno)
    if obj["answerable"] and not (expected and articles):
        raise _line_error(
            path, lineno, "an answerable question needs at least one expected phrase and one "
            "gold article", 'Fill "expected" and "articles", or set "answerable": false.',
        )
    if not obj["answerable"] and expected:
        raise _line_error(path, lineno, "an unanswerable question has expected phrases",
                          'Set "expected": [], or set "answerable": true.')
    flt = obj.get("filter")
    if flt is not None:
        from qa.filters import Filter

        try:
            made = Filter.of(flt)
        except UsageError as exc:
            raise _line_error(path, lineno, f"field 'filter': {exc}".rstrip("."),
                              'Write it as e.g. "filter": {"since": "2019", "sources": ["The Local Herald"]}.') from None
        flt = made.to_dict() if made else None
    return TestQuestion(
        id=obj["id"],
        question=obj["question"],
        type=obj["type"],
        expected=expected,
        articles=articles,
        history=history,
        answerable=obj["answerable"],
        current=obj.get("current", False),
        gold=_parse_gold(obj.get("gold", []), path, lineno),
        filter=flt,
    )


def load_questions(path: str | Path) -> list[TestQuestion]:
    """Read a JSONL questions file: one JSON object per line, blank lines skipped.

    Args:
        path: the file, e.g. corpus/questions.jsonl.

    Returns:
        The questions in file order.

    Raises:
        UsageError: the file is missing or empty, a line is not JSON, a field is missing
            or of the wrong type, or an id repeats. The message names file, line and fix.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UsageError(
            f"questions file {path} not found. Pass the path of a JSONL file, "
            "e.g. corpus/questions.jsonl."
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read questions file {path}: {e}. It must be UTF-8 text.") from e
    questions: list[TestQuestion] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise _line_error(path, lineno, f"not valid JSON ({e.msg} at column {e.colno})",
                              f"Write one JSON object per line, e.g. {EXAMPLE_LINE}") from None
        except RecursionError:
            raise _line_error(path, lineno, "JSON nested too deeply",
                              f"Write one flat JSON object per line, e.g. {EXAMPLE_LINE}") from None
        question = _parse_question(obj, path, lineno)
        if question.id in seen:
            raise _line_error(path, lineno, f"id {question.id!r} is already used on line "
                              f"{seen[question.id]}", "Give every question its own id.")
        seen[question.id] = lineno
        questions.append(question)
    if not questions:
        raise UsageError(f"questions file {path} holds no questions. Add lines like {EXAMPLE_LINE}")
    return questions
