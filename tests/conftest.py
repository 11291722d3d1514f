"""Shared fixtures: the real corpus indexed once per session with the real model."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

# CI runs the property tests on a fixed sequence of examples, so a run is repeatable; developers'
# runs keep exploring new ones.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    _hypothesis_settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def corpus_copy(tmp_path_factory) -> Path:
    """A private copy of corpus/ (tests may not touch the real one)."""
    target = tmp_path_factory.mktemp("corpus")
    for p in CORPUS.glob("*.md"):
        shutil.copy2(p, target / p.name)
    return target


@pytest.fixture(scope="session")
def settings(corpus_copy, tmp_path_factory):
    from qa.config import Settings

    return Settings(corpus_dir=corpus_copy, index_dir=tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="session")
def engine(settings):
    from qa.pipeline import Engine

    return Engine.open(settings)


@pytest.fixture(scope="session")
def articles():
    from qa.corpus import load_articles

    return {a.id: a for a in load_articles(CORPUS)}


# Debian's Chromium driven by Playwright; never a downloaded browser. Flags keep it off the network.
CHROMIUM = Path(os.environ.get("QA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (Playwright's sync API holds an event loop open while it
    runs, which other modules' asyncio.run() calls must not meet); skips (fails under QA_REQUIRE_BROWSER=1) without it."""
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM}: install it with `sudo apt-get install chromium`"
        if os.environ.get("QA_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


# ------------------------------------------------------------------ a served collection with hostile content

CONTROL_ARTICLE = """---
title: "Scanned minutes with stray control bytes"
date: "2020-05"
source: null
url: null
---
The scanned minutes of the May meeting were kept as they came.

The clerk's note reads \x1b[31mURGENT\x1b[0m beside the item, a bell\x07 was recorded and a nul\x00 byte sits in the last line.
"""


@pytest.fixture(scope="session")
def hostile_corpus(tmp_path_factory) -> Path:
    """corpus/ (its articles and test questions) plus an article whose text holds terminal and HTML
    control characters (ESC sequences, BEL, NUL)."""
    target = tmp_path_factory.mktemp("hostile-corpus")
    for p in [*CORPUS.glob("*.md"), CORPUS / "questions.jsonl"]:
        shutil.copy2(p, target / p.name)
    (target / "scanned-minutes.md").write_text(CONTROL_ARTICLE, "utf-8")
    return target


@pytest.fixture(scope="session")
def hostile_index(hostile_corpus, tmp_path_factory) -> Path:
    from qa.config import Settings
    from qa.pipeline import refresh_index

    index = tmp_path_factory.mktemp("hostile-index")
    refresh_index(Settings(corpus_dir=hostile_corpus, index_dir=index))
    return index


@pytest.fixture(scope="session")
def web_server(hostile_corpus, hostile_index, tmp_path_factory):
    """`python -m qa serve` on 127.0.0.1 over hostile_corpus (tests/webserver.py's Server)."""
    from webserver import qa_server

    with qa_server(hostile_corpus, hostile_index, tmp_path_factory.mktemp("web-server") / "tmp") as server:
        yield server
