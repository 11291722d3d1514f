"""The reference in docs/ cannot drift from the code (as datasette's test_docs.py): every CLI flag, every
route of the web app and every QA_* variable is documented, and the generated pages (docs/cli.md,
docs/settings.md: `python scripts/gen_docs.py`) are what the script writes today."""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT / "scripts"))
import gen_docs  # noqa: E402


def docs_text() -> str:
    return "\n".join(p.read_text("utf-8") for p in sorted(DOCS.rglob("*.md")))


@pytest.mark.parametrize("page", sorted(gen_docs.PAGES), ids=lambda p: p.name)
def test_generated_pages_are_up_to_date(page):
    assert page.read_text("utf-8") == gen_docs.render(page), f"{page.name} is out of date: run python scripts/gen_docs.py"


def _all_flags() -> list[tuple[str, str]]:
    from qa import data
    from qa.cli import build_parser

    found = []
    parsers = [("python -m qa.data", data.build_parser())]
    parsers += [(f"qa {name}", sub) for name, sub in gen_docs.subcommands(build_parser()).items()]
    for command, parser in parsers:
        for action in parser._actions:
            if not isinstance(action, argparse._HelpAction):
                found += [(command, flag) for flag in action.option_strings]
    return found


def test_every_cli_flag_is_documented():
    text = docs_text()
    flags = _all_flags()
    assert len(flags) > 20
    missing = [f"{command} {flag}" for command, flag in flags if not re.search(rf"`{re.escape(flag)}[` ]", text)]
    assert missing == [], f"undocumented flags (run python scripts/gen_docs.py): {missing}"


def _qa_names_in_code() -> set[str]:
    names = set()
    for folder in ("qa", "tests", "benchmarks", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                        and re.fullmatch(r"QA_[A-Z][A-Z0-9_]*", node.value):
                    names.add(node.value)
                elif isinstance(node, ast.keyword) and node.arg and node.arg.startswith("QA_"):
                    names.add(node.arg)  # bench_env(QA_CONCURRENCY=...)
    return names


def test_every_setting_is_documented():
    from qa.config import ENV

    settings = (DOCS / "settings.md").read_text("utf-8")
    names = set(ENV) | _qa_names_in_code()
    assert {"QA_THREADS", "QA_CHROMIUM"} <= names
    missing = sorted(n for n in names if f"`{n}`" not in settings)
    assert missing == [], f"QA_* variables missing from docs/settings.md (add them to qa/config.py ENV): {missing}"


def _route_paths(routes) -> set[str]:
    """Paths of the app's own routes ({name:path} written {name}), through included routers; not mounts."""
    from starlette.routing import Mount

    found = set()
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI >= 0.165 keeps included routers whole
        if included is not None:
            found |= _route_paths(included.routes)
        elif not isinstance(route, Mount) and getattr(route, "path", None):  # Gradio is mounted at "/"
            found.add(re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path))
    return found


@pytest.mark.model
def test_every_route_is_documented(engine):
    from qa.web.server import build_app

    app = build_app(engine, examples=[])
    paths = _route_paths(app.routes) | set(app.openapi()["paths"])
    assert {"/api/ask", "/api/openapi.json", "/articles/{article_id}"} <= paths
    api = (DOCS / "api.md").read_text("utf-8")
    missing = sorted(p for p in paths if f"`{p}`" not in api)
    assert missing == [], f"routes missing from docs/api.md: {missing}"


# The pages moved out of the README (and the generated ones): their links are checked here. The other
# docs pages belong to their own work and may link a page still being written.
OWN_PAGES = ("api.md", "articles.md", "cli.md", "data.md", "development.md", "figures.md", "how-it-works.md",
             "settings.md")


def test_readme_is_a_short_front_door_whose_links_work():
    readme = ROOT / "README.md"
    assert readme.stat().st_size <= 10 * 1024, "README.md is over 10 KB: move reference text to docs/"
    pages = [readme, ROOT / "benchmarks" / "README.md", *(DOCS / name for name in OWN_PAGES)]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text("utf-8")):
            if not re.match(r"[a-z]+:", target) and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert broken == [], f"links to files that do not exist: {broken}"
    linked = set(re.findall(r"\]\(docs/([^)#]+)", readme.read_text("utf-8")))
    unlinked = sorted(p.name for p in DOCS.glob("*.md") if p.name not in linked)
    assert unlinked == [], f"docs pages the README does not link: {unlinked}"


def test_every_benchmark_script_is_in_the_benchmarks_readme():
    listed = (ROOT / "benchmarks" / "README.md").read_text("utf-8")
    missing = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if f"`{p.name}`" not in listed)
    assert missing == [], f"benchmarks/README.md does not list (script, command, results file): {missing}"
