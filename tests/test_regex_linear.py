"""Every regular expression in qa/ stays linear on hostile text (issue 23, item 10).

A pattern such as ``(.+?)(?:[ \\t]+#+)?[ \\t]*$`` backtracks quadratically: the heading
``"# a" + " " * 50_000 + "b"`` took `qa index` 24 s. Every pattern of qa/ is found here — each
``re.compile`` / ``re.match`` / ``re.sub`` … call with a literal pattern (read from the source), and
every compiled pattern a module holds (patterns built from pieces) — and run over text made of its own
characters, at two lengths eight times apart. The work of a linear pattern grows about eight times; a
quadratic one sixty-four times. The test compares the two runs of one pattern with each other (a ratio
of CPU times measured back to back, best of three), so the machine's speed and load cancel out.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import sre_constants as C
import sre_parse
import time
from pathlib import Path

import pytest

import qa

QA = Path(qa.__file__).resolve().parent
SHORT, LONG = 1_500, 12_000  # characters of the repeated part; LONG / SHORT = 8
LIMIT = 24  # growth allowed for 8 times the text (linear: ~8; quadratic: ~64)
CALLS = {"compile", "match", "search", "sub", "subn", "findall", "finditer", "split", "fullmatch"}
CATEGORY = {C.CATEGORY_DIGIT: "7", C.CATEGORY_NOT_DIGIT: "a", C.CATEGORY_SPACE: " ", C.CATEGORY_NOT_SPACE: "x",
            C.CATEGORY_WORD: "a", C.CATEGORY_NOT_WORD: "-", C.CATEGORY_LINEBREAK: "\n",
            C.CATEGORY_NOT_LINEBREAK: "x"}


def _literal_patterns() -> set[tuple[str | bytes, int]]:
    """(pattern, flags) of every re.<call>("literal", …) in qa/."""
    found = set()
    for path in QA.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CALLS
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re" and node.args):
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, (str, bytes)):
                flags = 0
                for kw in node.keywords:
                    if kw.arg == "flags":
                        flags = eval(compile(ast.Expression(kw.value), "flags", "eval"), {"re": re})
                if node.func.attr == "compile" and len(node.args) > 1:
                    flags = eval(compile(ast.Expression(node.args[1]), "flags", "eval"), {"re": re})
                found.add((first.value, flags))
    return found


def _module_patterns() -> set[tuple[str | bytes, int]]:
    """(pattern, flags) of every compiled pattern held by a qa module (in a global, a dict or a tuple)."""
    found = set()

    def add(value, depth=0):
        if isinstance(value, re.Pattern):
            found.add((value.pattern, value.flags & ~re.UNICODE))
        elif depth < 3 and isinstance(value, dict):
            for v in value.values():
                add(v, depth + 1)
        elif depth < 3 and isinstance(value, (tuple, list)):
            for v in value:
                add(v, depth + 1)

    for info in pkgutil.walk_packages([str(QA)], "qa."):
        if info.name.endswith("__main__"):
            continue
        try:
            module = importlib.import_module(info.name)
        except Exception:  # noqa: BLE001 - an optional extra that is not installed
            continue
        for value in vars(module).values():
            add(value)
    return found


def patterns() -> list[re.Pattern]:
    out = {}
    for source, flags in _literal_patterns() | _module_patterns():
        try:
            out[(source, flags)] = re.compile(source, flags)
        except re.error:
            continue
    return sorted(out.values(), key=lambda p: str(p.pattern))


def atoms(pattern: re.Pattern) -> list[str]:
    """Characters the pattern reads: its literals and one of each class, range and category."""
    chars: list[str] = []

    def walk(items):
        for op, av in items:
            if op is C.LITERAL:
                chars.append(chr(av))
            elif op is C.IN:
                for kind, value in av:
                    if kind is C.LITERAL:
                        chars.append(chr(value))
                    elif kind is C.RANGE:
                        chars.append(chr(value[0]))
                    elif kind is C.CATEGORY and value in CATEGORY:
                        chars.append(CATEGORY[value])
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
                walk(av[2])
            elif op is C.SUBPATTERN:
                walk(av[-1])
            elif op is C.BRANCH:
                for branch in av[1]:
                    walk(branch)
            elif op in (C.ASSERT, C.ASSERT_NOT):
                walk(av[1])
            elif op is C.ANY:
                chars.append("x")
            elif op is C.CATEGORY and av in CATEGORY:
                chars.append(CATEGORY[av])

    source = pattern.pattern if isinstance(pattern.pattern, str) else pattern.pattern.decode("latin-1")
    walk(sre_parse.parse(source, pattern.flags & ~re.UNICODE))
    chars = list(dict.fromkeys(chars + [" ", "a", "A", "1", "\n", ".", ","]))
    letters = [c for c in chars if c.isalpha()]  # words' letters behave alike: a few of them, both cases
    return [c for c in chars if not c.isalpha()] + letters[:3] + [c for c in letters if c.isupper()][:1]


def texts(pattern: re.Pattern, n: int) -> list[str]:
    """Hostile texts of about n characters: each atom repeated after each other atom (the start of a
    match), two atoms alternating, and a run of words; each ends in a character the pattern cannot use."""
    chars = atoms(pattern)
    out = [c * n + "\x00" for c in chars]
    out += [a + b * n + "\x00" for a in chars for b in chars if a != b]
    out += [(a + b) * (n // 2) + "\x00" for i, a in enumerate(chars) for b in chars[i + 1:]]
    out += ["# a" + " " * n + "b", "a " * (n // 2) + "!", "A" + "a" * n + "'"]
    return out


def cost(pattern: re.Pattern, text: str, repeat: int = 1) -> float:
    subject = text.encode("latin-1", "replace") if isinstance(pattern.pattern, bytes) else text
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        pattern.findall(subject)  # a match tried at every position: what search, sub and finditer do
        pattern.match(subject)
        best = min(best, time.process_time() - t0)
    return best


PATTERNS = patterns()


def test_every_pattern_of_qa_is_found():
    sources = {p.pattern for p in PATTERNS}
    from qa.readers import markdown

    assert markdown.ATX_RE.pattern in sources and len(PATTERNS) > 80  # the audit covers the whole package


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: str(p.pattern)[:40])
def test_no_pattern_backtracks_super_linearly(pattern):
    def growth(short: str, long: str, repeat: int) -> float:
        a, b = cost(pattern, short, repeat), cost(pattern, long, repeat)
        if b < 2e-3:  # 12,000 characters in under 2 ms: linear whatever the ratio of such small times
            return 0.0
        return b / max(a, 2e-4)

    worst = (0.0, "")
    for short, long in zip(texts(pattern, SHORT), texts(pattern, LONG)):
        ratio = growth(short, long, 1)
        if ratio > LIMIT:  # measured again, best of three, before it counts
            ratio = growth(short, long, 3)
        worst = max(worst, (ratio, repr(short[:12])))
    assert worst[0] <= LIMIT, f"{pattern.pattern!r}: 8x the text took {worst[0]:.0f}x the time on {worst[1]}…"
