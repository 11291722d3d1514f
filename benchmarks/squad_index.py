"""Build (once) and load an index of a SQuAD-format file's articles, for tuning and benchmarks.

    python benchmarks/squad_index.py data/external/squad-v1.1/squad-v1.1-dev.json.gz   (fetched by `python -m qa.data`)
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from qa.config import Settings, setting  # noqa: E402
from qa.errors import QAError  # noqa: E402
from qa.index import BuildOptions, build_index  # noqa: E402
from qa.pipeline import Engine  # noqa: E402
from qa.squad import load_squad  # noqa: E402

CACHE = setting("QA_BENCH_CACHE") or Path(__file__).parent / ".cache"


def squad_engine(path: str | Path, settings: Settings | None = None):
    """(engine, questions) for a SQuAD file; the index is cached under benchmarks/.cache."""
    path = Path(path)
    articles, questions = load_squad(path)
    name = path.name.split(".json")[0]
    settings = replace(settings or Settings(), index_dir=CACHE / f"index-{name}")
    build_index(articles, settings, BuildOptions(progress=sys.stderr.isatty()))
    return Engine.load(settings.index_dir, settings), questions


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__.strip())
    try:
        engine, questions = squad_engine(sys.argv[1])
    except QAError as exc:
        sys.exit(f"error: {exc}")
    print(engine.index.manifest["counts"], len(questions), "questions")
