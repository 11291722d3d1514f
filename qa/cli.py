"""Command line: qa index / ask / show / eval / serve. Thin over qa.pipeline."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from qa.config import Settings
from qa.errors import QAError, UsageError

EPILOG = """examples:
  qa index                          build or update index/ from corpus/
  qa ask "When was the last inspection?"
  echo "Who led the inspection?" | qa ask --json
  qa show ARTICLE_ID --json
  qa eval corpus/questions.jsonl --report report.md
  qa serve --port 7860
"""


class Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line naming the problem (no usage dump)."""

    def error(self, message: str):
        self.exit(2, f"qa: error: {message} (see `{self.prog} --help`)\n")


def _common(p: argparse.ArgumentParser, *, chunking: bool = False) -> None:
    p.add_argument("--corpus", type=Path, default=Path("corpus"), metavar="DIR",
                   help="folder of articles (default: %(default)s)")
    p.add_argument("--index", type=Path, default=None, metavar="DIR",
                   help="index folder (default: $QA_INDEX_DIR or index)")
    if chunking:
        p.add_argument("--max-tokens", type=int, default=None, metavar="N",
                       help="token budget per chunk (default: 200)")
        p.add_argument("--overlap", type=int, default=None, metavar="N",
                       help="tokens of trailing sentences repeated in the next chunk (default: 50)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="qa", description="Extractive question answering over a folder of news articles: "
                    "every answer is quoted from the articles with exact character offsets.",
                    epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = sub.add_parser("index", help="build or update the index (only changed articles are embedded)",
                       description="Build or update the index. Only articles whose content changed are "
                       "embedded again; with nothing changed it finishes at once without loading the model.")
    _common(p, chunking=True)
    p.add_argument("--rebuild", action="store_true", help="ignore the existing index and embed everything")
    p.add_argument("--strict", action="store_true",
                   help="when any file or record cannot be read, change nothing and exit with code 3 "
                        "(default: skip it, index the rest, exit 0)")

    p = sub.add_parser("ask", help="answer questions with quotes and citations",
                       description="Answer a question, or one question per line of standard input.")
    p.add_argument("question", nargs="?", help="the question; omit it to read questions from standard input")
    _common(p)
    p.add_argument("-k", "--top-k", type=int, default=5, help="passages to show (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="one JSON object per question, one per line")
    p.add_argument("--method", choices=("hybrid", "bm25", "dense"), default="hybrid",
                   help="retrieval method (default: %(default)s; the others are baselines)")

    p = sub.add_parser("show", help="print an article (to check citation offsets)")
    p.add_argument("article_id")
    _common(p)
    p.add_argument("--json", action="store_true", help="print a JSON object")

    p = sub.add_parser("eval", help="measure retrieval and answers on test questions",
                       description="Evaluate BM25, dense and the shipped hybrid system on test questions "
                       "(default: corpus/questions.jsonl) or on an external SQuAD-format file.")
    p.add_argument("questions", nargs="?", type=Path, help="questions file (JSON lines; see README)")
    _common(p)
    p.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    p.add_argument("--report", type=Path, metavar="FILE.md", help="write a Markdown report and a Recall@k plot")
    p.add_argument("--external", type=Path, metavar="PATH", help="a SQuAD-format .json or .json.gz file")
    p.add_argument("--sample", type=int, default=None, metavar="N", help="external: ask N sampled questions")
    p.add_argument("--seed", type=int, default=0, help="external: sampling seed (default: %(default)s)")

    p = sub.add_parser("serve", help="start the web chat (builds or refreshes the index first)")
    _common(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s, this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default: %(default)s)")
    p.add_argument("--title", help="the collection's name in the header (default: from corpus/collection.yaml)")
    p.add_argument("--example", action="append", metavar="QUESTION",
                   help="an example question button; repeat for more (default: from corpus/collection.yaml)")
    return parser


def _settings(args, **extra) -> Settings:
    kwargs = {"corpus_dir": args.corpus}
    if args.index is not None:
        kwargs["index_dir"] = args.index
    for name in ("max_tokens", "overlap", "top_k"):
        value = getattr(args, name, None)
        if value is not None:
            kwargs[name] = value
    kwargs.update(extra)
    return Settings(**kwargs)


def _err(msg: str) -> None:
    print(f"qa: error: {msg}", file=sys.stderr)


MAX_LISTED = 50  # skipped files listed one per line; the rest are counted


def _report_read(read) -> None:
    """Each skipped file (or record) and each notice, one line on stderr."""
    for s in read.skipped[:MAX_LISTED]:
        print(f"skipped {s}", file=sys.stderr)
    if len(read.skipped) > MAX_LISTED:
        print(f"skipped {len(read.skipped) - MAX_LISTED:,} more (the first {MAX_LISTED} are listed)", file=sys.stderr)
    for n in read.notices[:MAX_LISTED]:
        print(f"note: {n}", file=sys.stderr)
    if len(read.notices) > MAX_LISTED:
        print(f"note: {len(read.notices) - MAX_LISTED:,} more notes", file=sys.stderr)


def cmd_index(args) -> int:
    import logging

    from qa.index import read_manifest
    from qa.pipeline import refresh_index
    from qa.readers import NothingReadableError, SkippedFilesError, read_corpus

    settings = _settings(args)
    started = time.perf_counter()
    try:
        read = read_corpus(settings.corpus_dir, strict=args.strict)
    except (NothingReadableError, SkippedFilesError) as exc:
        _report_read(exc.read)
        raise
    _report_read(read)
    if not sys.stderr.isatty():  # a terminal gets progress bars; a log gets this line before a long build
        print(f"{read.summary(limit=0)} in {time.perf_counter() - started:.1f} s; updating the index in "
              f"{settings.index_dir}", file=sys.stderr)
    if args.max_tokens is None or args.overlap is None:
        # Unset chunk flags keep what the index was built with.
        try:
            chunking = read_manifest(settings.index_dir).get("chunking", {})
            settings = replace(settings,
                               max_tokens=args.max_tokens or chunking.get("max_tokens", settings.max_tokens),
                               overlap=args.overlap if args.overlap is not None else chunking.get("overlap", settings.overlap))
        except QAError:
            pass
    corpus_log = logging.getLogger("qa.corpus")
    level = corpus_log.level
    corpus_log.setLevel(logging.ERROR)  # its one-line warning repeats what was just listed
    try:
        report = refresh_index(settings, rebuild=args.rebuild, progress=sys.stderr.isatty(),
                               log=lambda m: print(m, file=sys.stderr))
    finally:
        corpus_log.setLevel(level)
    print(report.summary())
    print(read.summary(verb="indexed"))
    return 0


def serving_settings(args, **extra) -> Settings:
    """Settings for commands that answer: chunking follows the existing index (set by `qa index`)."""
    from qa.index import read_manifest

    settings = _settings(args, **extra)
    try:
        chunking = read_manifest(settings.index_dir).get("chunking", {})
        settings = replace(settings, max_tokens=chunking.get("max_tokens", settings.max_tokens),
                           overlap=chunking.get("overlap", settings.overlap))
    except QAError:
        pass
    return settings


def open_engine(args, **extra):
    """Load the index, building or refreshing it first when missing or stale."""
    from qa.pipeline import Engine

    return Engine.open(serving_settings(args, **extra), log=lambda m: print(m, file=sys.stderr))


def format_answer(answer) -> str:
    lines = [f"Q: {answer.question}"]
    if answer.abstained:
        lines.append(answer.message)
        lines += [f"  ({n})" for n in answer.notices]
        lines.append("Closest passages (not an answer):")
    else:
        if answer.dated:
            lines.append("The sources differ over time; quotes are shown newest first.")
        for c in answer.citations:
            short = f"  → {c.short_answer.kind}: {c.short_answer.text}" if c.short_answer else ""
            lines.append(f"“{c.quote}” [{c.number}]{short}")
        lines += [f"  ({n})" for n in answer.notices]
        lines.append("")
        for c in answer.citations:
            date = (c.date or "undated") + (" approx." if c.date_approximate and c.date else "")
            lines.append(f"[{c.number}] {c.title} — {date}{' — ' + c.source if c.source else ''} "
                         f"({c.article_id} [{c.start}:{c.end}])")
        lines.append("Passages:")
    for p in answer.passages:
        text = " ".join(p.chunk.text.split())
        lines.append(f"  {p.rank}. {p.score:.3f} (dense {p.dense:.2f}, sentence {p.sentence:.2f}, "
                     f"lexical {p.lexical:.2f}, date {p.date:.2f}) "
                     f"{p.chunk.id}: {text[:160]}{'…' if len(text) > 160 else ''}")
    return "\n".join(lines)


def cmd_ask(args) -> int:
    if args.question is not None and not args.question.strip():
        raise UsageError("the question is empty: pass a question in quotes, or none to read standard input.")
    engine = open_engine(args, top_k=args.top_k)
    questions = [args.question] if args.question is not None else None
    status = 0

    def answer(q: str) -> None:
        nonlocal status
        try:
            a = engine.ask(q, method=args.method, top_k=args.top_k)
        except UsageError as exc:
            status = 2
            _err(str(exc))
            if args.json and questions is None:  # keep one output line per input line
                print(json.dumps({"question": q, "error": str(exc)}, ensure_ascii=False), flush=True)
            return
        if args.json:
            print(json.dumps(a.to_dict(), ensure_ascii=False), flush=True)
        else:
            print(format_answer(a) + "\n", flush=True)

    if questions is not None:
        answer(questions[0])
        return status
    for line in sys.stdin:
        if line.strip():  # blank lines are skipped, not errors
            answer(line.rstrip("\n"))
    return 0


def cmd_show(args) -> int:
    from qa.index import load_index

    settings = _settings(args)
    try:
        articles = load_index(settings.index_dir).articles
    except QAError:
        from qa.corpus import load_articles

        articles = {a.id: a for a in load_articles(settings.corpus_dir)}
    article = articles.get(args.article_id)
    if article is None:
        known = ", ".join(sorted(articles)[:10])
        raise UsageError(f"no article {args.article_id!r}; known ids: {known}")
    if args.json:
        print(json.dumps(article.to_dict(), ensure_ascii=False))
    else:
        date = (article.date or "undated") + (" (approximate)" if article.date_approximate else "")
        print(f"{article.title}\n{date}{' — ' + article.source if article.source else ''}"
              f"{chr(10) + article.url if article.url else ''}\n\n{article.text}")
    return 0


def cmd_eval(args) -> int:
    from qa import evaluate

    if args.external:
        settings = _settings(args)
        result = evaluate.run_external(args.external, settings, sample=args.sample, seed=args.seed)
    else:
        path = args.questions or args.corpus / "questions.jsonl"
        questions = evaluate.load_questions(path)
        engine = open_engine(args, top_k=10)
        result = evaluate.evaluate(engine, questions, progress=sys.stderr.isatty())
    print(evaluate.format_summary(result) if hasattr(evaluate, "format_summary") else json.dumps(
        {m: v for m, v in result["methods"].items()}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), "utf-8")
    if args.report:
        evaluate.write_report(result, args.report, args.report.with_suffix(".png"))
    return 0


def collection_info(corpus_dir: Path) -> dict:
    """The optional corpus/collection.yaml: {"title": str | None, "examples": [str, ...]}.

    Raises:
        QAError: the file is not valid YAML, or its title or examples are malformed
            (``examples: "one string"`` is refused, not shown as one button per character).
    """
    from qa.readers.options import chat_settings

    collection = chat_settings(Path(corpus_dir))
    return {"title": collection.title, "examples": list(collection.examples)}


def cmd_serve(args) -> int:
    from qa.app import serve

    settings = serving_settings(args)
    info = collection_info(settings.corpus_dir)
    examples = args.example or [str(q) for q in info.get("examples") or []] or None
    serve(settings, host=args.host, port=args.port, examples=examples, title=args.title or info.get("title"))
    return 0


COMMANDS = {"index": cmd_index, "ask": cmd_ask, "show": cmd_show, "eval": cmd_eval, "serve": cmd_serve}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except QAError as exc:
        _err(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted; the previous index is untouched.")
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
