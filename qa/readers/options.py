"""corpus/collection.yaml: how the web chat names the collection, and how the readers read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import QAError
from qa.readers.base import Skipped, YAMLProblem, _short, load_yaml

COLLECTION_FILE = "collection.yaml"
# Article fields an export's columns can be mapped to (fields: in collection.yaml).
FIELD_NAMES = ("id", "title", "text", "date", "url", "source", "author", "date_approximate", "date_note")
DEFAULT_MAX_CHARS = 500_000  # ~80,000 words, ten times a long feature: the rest of a bigger file is cut
DEFAULT_MAX_FILE_MB = 50  # one file read whole (a page, a .json export); .jsonl and .csv are streamed
CHAT_KEYS = ("title", "examples")  # read by `qa serve`; the other settings are the readers'


@dataclass(frozen=True)
class CollectionOptions:
    """How the readers read a collection (all optional in collection.yaml).

    Usage example:
        options = CollectionOptions(max_chars=200_000, fields=(("text", ("story",)),))
        options.keys("text")  # ("story",)
    """

    max_chars: int = DEFAULT_MAX_CHARS
    max_file_mb: int = DEFAULT_MAX_FILE_MB
    fields: tuple[tuple[str, tuple[str, ...]], ...] = ()  # article field -> the export's keys, tried in order
    records: str | None = None  # a .json export: the dotted path to its list of records, e.g. "response.results"
    drop: tuple[str, ...] = ()  # XPath expressions of page furniture to remove before extraction

    @property
    def max_file_bytes(self) -> int:
        return self.max_file_mb * 1_000_000

    def keys(self, name: str) -> tuple[str, ...]:
        return dict(self.fields).get(name, ())


@dataclass(frozen=True)
class Collection:
    title: str | None = None
    examples: tuple[str, ...] = ()
    options: CollectionOptions = field(default_factory=CollectionOptions)
    # (setting, message): what is wrong, what was used instead, the fix; setting "" = the whole file
    problems: tuple[tuple[str, str], ...] = ()


MAX_COLLECTION_BYTES = 1_000_000  # settings, a title and example questions: far less than this


def _yaml(path: Path):
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_COLLECTION_BYTES + 1)
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror})"
    if len(raw) > MAX_COLLECTION_BYTES:
        return None, f"is over {MAX_COLLECTION_BYTES // 1_000_000} MB, too large to be settings: shorten it"
    try:
        return load_yaml(raw.decode("utf-8")), None
    except UnicodeDecodeError:
        return None, "is not UTF-8: save it as UTF-8"
    except YAMLProblem as exc:
        return None, exc.reason.removesuffix(" (put a value holding ':' in quotes)")


def read_collection(corpus_dir: Path) -> Collection:
    """collection.yaml of a corpus folder; a missing file is an empty collection.

    Never raises: each bad setting is left at its default and described in ``problems``.
    """
    path = Path(corpus_dir) / COLLECTION_FILE
    if not path.is_file():
        return Collection()
    data, error = _yaml(path)
    if error:
        return Collection(problems=(("", f"{error}; all its settings are ignored"),))
    if data is None:
        return Collection()
    if not isinstance(data, dict):
        return Collection(problems=(("", "must hold 'key: value' lines (title:, examples:, fields:, max_chars:); "
                                         "all its settings are ignored"),))
    problems: list[tuple[str, str]] = []
    title = data.get("title")
    if title is not None and (not isinstance(title, (str, int, float)) or isinstance(title, bool)):
        problems.append(("title", f"title must be one line of text, not {type(title).__name__}: write title: \"…\""))
        title = None
    examples = data.get("examples")
    if examples is None:
        examples = []
    elif isinstance(examples, str):
        problems.append(("examples", "examples must be a list of questions, one per line starting with '- ', "
                                     "not one string"))
        examples = []
    elif not isinstance(examples, list) or not all(isinstance(q, str) and q.strip() for q in examples):
        problems.append(("examples", "examples must be a list of questions (text), one per line starting with '- '"))
        examples = []
    max_chars = _whole(data, "max_chars", DEFAULT_MAX_CHARS, 1_000, problems)
    max_file_mb = _whole(data, "max_file_mb", DEFAULT_MAX_FILE_MB, 1, problems)
    fields = _fields(data.get("fields"), problems)
    records = data.get("records")
    if records is not None and not (isinstance(records, str) and records.strip()):
        problems.append(("records", "records must be a dotted path such as response.results; it is ignored"))
        records = None
    drop = _xpaths(data.get("drop"), problems)
    known = {"title", "examples", "max_chars", "max_file_mb", "fields", "records", "drop"}
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        listed = ", ".join(_name(k) for k in unknown[:5]) + (f" and {len(unknown) - 5:,} more" if len(unknown) > 5 else "")
        problems.append(("unknown", f"unknown setting {listed} is ignored: the settings are "
                                    f"{', '.join(sorted(known))}"))
    return Collection(
        title=str(title).strip() or None if title is not None else None,
        examples=tuple(q.strip() for q in examples),
        options=CollectionOptions(max_chars=max_chars, max_file_mb=max_file_mb, fields=fields,
                                  records=records.strip() if records else None, drop=drop),
        problems=tuple(problems),
    )


def _name(key: object) -> str:
    """A setting's name in a message, at most 40 characters."""
    text = " ".join(str(key).split())
    return text if len(text) <= 40 else text[:39] + "…"


def _whole(data: dict, key: str, default: int, least: int, problems: list[tuple[str, str]]) -> int:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        problems.append((key, f"{key} {_short(value)} is not a whole number of at least {least:,}: using {default:,}; "
                              f"write e.g. {key}: {default}"))
        return default
    return value


def _fields(value: object, problems: list[tuple[str, str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        problems.append(("fields", "fields must map article fields to an export's column names, e.g. "
                                   "'fields: {text: story}'; it is ignored"))
        return ()
    out = []
    unknown = [name for name in value if name not in FIELD_NAMES]
    if unknown:
        listed = ", ".join(f"fields.{_name(n)}" for n in unknown[:5]) + (
            f" and {len(unknown) - 5:,} more" if len(unknown) > 5 else "")
        what = "is not an article field" if len(unknown) == 1 else "are not article fields"
        problems.append(("fields", f"{listed} {what} ({', '.join(FIELD_NAMES)}): ignored"))
    for name, keys in value.items():
        if name not in FIELD_NAMES:
            continue
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k.strip() for k in keys):
            problems.append(("fields", f"fields.{name} must be a column name or a list of them: it is ignored"))
            continue
        out.append((name, tuple(k.strip() for k in keys)))
    return tuple(out)


def _xpaths(value: object, problems: list[tuple[str, str]]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(("drop", "drop must be a list of XPath expressions, e.g. "
                                 "drop: ['//div[contains(@class, \"press-contact\")]']; it is ignored"))
        return ()
    from lxml import etree

    out = []
    for xpath in value:
        try:
            etree.XPath(xpath)
        except etree.XPathSyntaxError as exc:
            problems.append(("drop", f"drop {_short(xpath)} is not an XPath expression ({exc}): it is ignored"))
            continue
        out.append(xpath.strip())
    return tuple(out)


def collection_problems(corpus_dir: Path) -> tuple[CollectionOptions, list[Skipped]]:
    """The readers' options, and each bad setting as a Skipped line for the index summary."""
    collection = read_collection(corpus_dir)
    return collection.options, [Skipped(COLLECTION_FILE, message) for key, message in collection.problems
                                if key not in CHAT_KEYS]


def chat_settings(corpus_dir: Path) -> Collection:
    """title and examples for the web chat.

    Raises:
        QAError: the title or the examples are malformed (e.g. ``examples: "one string"``).
    """
    collection = read_collection(corpus_dir)
    for key, message in collection.problems:
        if key in CHAT_KEYS or key == "":
            raise QAError(f"{Path(corpus_dir) / COLLECTION_FILE}: {message}.")
    return collection
