"""Regenerate the reference parts of docs/ from the code, so they cannot drift:

- docs/cli.md: every `qa` command and flag, read from the argparse parser (qa.cli.build_parser), and the
  flags of `python -m qa.data`;
- docs/settings.md: every QA_* variable, read from the settings table (qa.config.ENV).

Only the text between `<!-- generated: NAME -->` and `<!-- end generated: NAME -->` is replaced; the prose
around it is kept. tests/test_docs.py fails when a page differs from what this script writes.

    python scripts/gen_docs.py           # rewrite the pages
    python scripts/gen_docs.py --check   # exit 1 naming each page that is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _flags(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest.upper()}`" + (" (optional)" if action.nargs in ("?", "*") else "")
    takes_value = action.nargs != 0
    metavar = action.metavar or (action.dest.upper() if takes_value else "")
    if action.choices is not None and takes_value and not action.metavar:
        metavar = "{" + ",".join(map(str, action.choices)) + "}"
    return ", ".join(f"`{s}{' ' + metavar if takes_value and metavar else ''}`" for s in action.option_strings)


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    text = parser._get_formatter()._expand_help(action) if action.help else ""
    if action.nargs == "*" or isinstance(action, argparse._AppendAction):
        text += " (repeatable)" if "repeat" not in text else ""
    return _cell(text)


def parser_table(parser: argparse.ArgumentParser) -> list[str]:
    """One Markdown table row per argument of ``parser`` (help and version actions left out)."""
    rows = ["| argument | meaning |", "|---|---|"]
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
            continue
        rows.append(f"| {_flags(action)} | {_help(parser, action)} |")
    return rows


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_reference() -> str:
    from qa import data
    from qa.cli import build_parser

    parser = build_parser()
    helps = {a.dest: a.help for action in parser._actions if isinstance(action, argparse._SubParsersAction)
             for a in action._choices_actions}
    out = []
    for name, sub in subcommands(parser).items():
        out += [f"### `qa {name}`", "", _cell(sub.description or helps.get(name) or ""), ""]
        out += parser_table(sub) + [""]
    out += ["### `python -m qa.data`", "", _cell(data.build_parser().description), ""]
    out += parser_table(data.build_parser()) + [""]
    return "\n".join(out)


def settings_reference() -> str:
    from qa.config import ENV

    rows = ["| variable | default | accepts | meaning |", "|---|---|---|---|"]
    for var in ENV.values():
        rows.append(f"| `{var.name}` | {_cell(var.shown_default())} | {_cell(var.parse.describe())} | "
                    f"{_cell(var.meaning)} |")
    return "\n".join(rows) + "\n"


PAGES = {ROOT / "docs" / "cli.md": {"cli": cli_reference}, ROOT / "docs" / "settings.md": {"settings": settings_reference}}


def render(path: Path) -> str:
    """The page at ``path`` with each generated block rewritten."""
    text = path.read_text("utf-8")
    for name, make in PAGES[path].items():
        block = re.compile(rf"(<!-- generated: {name} -->\n).*?(<!-- end generated: {name} -->)", re.S)
        if not block.search(text):
            raise SystemExit(f"{path}: no <!-- generated: {name} --> ... <!-- end generated: {name} --> block")
        body = make()
        text = block.sub(lambda m: m.group(1) + body + m.group(2), text)
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Regenerate docs/cli.md and docs/settings.md from the code.")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 when a page is out of date")
    args = ap.parse_args(argv)
    stale = []
    for path in PAGES:
        new = render(path)
        if new != path.read_text("utf-8"):
            stale.append(path)
            if not args.check:
                path.write_text(new, "utf-8")
    for path in stale:
        print(f"{path.relative_to(ROOT)}: {'out of date: run python scripts/gen_docs.py' if args.check else 'rewritten'}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
