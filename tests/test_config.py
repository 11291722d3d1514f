"""The settings table (qa/config.py ENV): every QA_* variable is read there and only there, validated, and
a wrong value is one line naming the variable and the fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa.config import ENV, Settings, setting
from qa.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
BAD = {"QA_THREADS": ["0", "-1", "two", "1.5"], "QA_CONCURRENCY": ["0", "17", "²"], "QA_QUEUE": ["-1", "10001"],
       "QA_SESSIONS": ["9", "1e3"], "QA_RESIDENT_MB": ["-1", "lots", "nan", "inf"],
       "QA_ENCODER": ["onnxx"], "QA_QUERY_ENCODER": ["int4"]}


@pytest.mark.parametrize("name,value", [(n, v) for n, values in BAD.items() for v in values])
def test_a_wrong_value_is_one_line_naming_the_variable_and_the_fix(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(UsageError) as caught:
        setting(name)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(name) and repr(value) in message
    assert ENV[name].parse.describe() in message and "unset it" in message


def test_settings_reads_the_table(monkeypatch):
    monkeypatch.setenv("QA_THREADS", "0")
    with pytest.raises(UsageError, match="QA_THREADS"):
        Settings()
    monkeypatch.setenv("QA_THREADS", " 3 ")
    monkeypatch.setenv("QA_INDEX_DIR", "/tmp/some-index")
    monkeypatch.setenv("QA_QUERY_ENCODER", "int8")
    settings = Settings()
    assert (settings.query_threads, settings.index_dir, settings.query_encoder) == (3, Path("/tmp/some-index"), "int8")


def test_unset_or_blank_is_the_default(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    assert setting("QA_CONCURRENCY") == 2 and setting("QA_QUEUE") == 32 and setting("QA_RESIDENT_MB") == 256
    assert setting("QA_MODEL") is None and setting("QA_DATA_DIR") is None
    assert setting("QA_CACHE_DIR") == Path.home() / ".cache" / "qa"
    monkeypatch.setenv("QA_SESSIONS", "  ")
    assert setting("QA_SESSIONS") == 500
    for name, var in ENV.items():  # every default passes its own validator
        assert var.default is None or setting(name) is not None


def test_every_variable_is_documented_in_the_table():
    for name, var in ENV.items():
        assert re.fullmatch(r"QA_[A-Z_]+", name) and var.meaning.strip() and var.parse.describe()


def test_nothing_else_reads_qa_variables_from_the_environment():
    """qa/ and benchmarks/ read QA_* only through qa.config.setting (tests may read their own test-only ones)."""
    read = re.compile(r"""(environ(\.get)?\s*[\[(]|getenv\s*\()\s*["']QA_""")
    offenders = [f"{p.relative_to(ROOT)}:{i}" for folder in ("qa", "benchmarks", "scripts")
                 for p in sorted((ROOT / folder).rglob("*.py")) if p != ROOT / "qa" / "config.py"
                 for i, line in enumerate(p.read_text().splitlines(), 1) if read.search(line)]
    assert offenders == []
