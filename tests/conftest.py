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
SHARED = ROOT.parent / "shared"


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
