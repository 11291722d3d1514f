"""Command line: qa index / ask / show / eval / serve. Thin over qa.pipeline."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from qa.config import METHODS, SHIPPED_METHOD, Settings
from qa.errors import QAError, UsageError
from qa.text import json_safe, printable

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


def _filter_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("filter (answer only from some articles)")
    g.add_argument("--since", metavar="DATE", help="articles dated from DATE on (YYYY, YYYY-MM or YYYY-MM-DD)")
    g.add_argument("--until", metavar="DATE", help="articles dated up to DATE, inclusive")
    g.add_argument("--undated", action="store_true", help="with --since/--until: keep undated articles too")
    g.add_argument("--source", action="append", metavar="PUBLISHER", help="only this publisher; repeat for more")
    g.add_argument("--article", action="append", metavar="ID", help="only this article; repeat for more")
    g.add_argument("--title", metavar="TEXT", help="only articles whose title contains TEXT")


def _filter(args):
    """The Filter the command line asks for, or None."""
    from qa.filters import Filter

    return Filter.of({"since": args.since, "until": args.until, "sources": args.source or (),
                      "articles": args.article or (), "title": args.title, "undated": args.undated})


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
    p.add_argument("--backend", choices=("segments", "milvus"),
                   help="where the index lives: segments in the index folder, or Milvus collections "
                        "(default: as the index already is, else segments; docs/MILVUS.md)")
    p.add_argument("--milvus-uri", metavar="URI",
                   help="with --backend milvus: the Milvus server, e.g. http://host:19530 (default: "
                        "$QA_MILVUS_URI, else a Milvus Lite file inside the index folder)")
    p.add_argument("--strict", action="store_true",
                   help="when any file or record cannot be read, change nothing and exit with code 3 "
                        "(default: skip it, index the rest, exit 0)")
    p.add_argument("--workers", type=int, default=0, metavar="N",
                   help="embed on a local Dask cluster of N worker processes (needs qa[dask]; "
                        "docs/SCALING.md)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                   help="embed on the Dask cluster of this scheduler (default: $QA_SCHEDULER; needs qa[dask])")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu",
                   help="embed articles on the CPU (ONNX, default), a CUDA GPU (the reference encoder, "
                        "checked against ONNX), or the GPU when one is visible (auto)")

    p = sub.add_parser("ask", help="answer questions with quotes and citations",
                       description="Answer a question, or one question per line of standard input.")
    p.add_argument("question", nargs="?", help="the question; omit it to read questions from standard input")
    _common(p)
    p.add_argument("-k", "--top-k", type=int, default=5, help="passages to show (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="one JSON object per question, one per line")
    p.add_argument("--method", choices=METHODS, default=SHIPPED_METHOD,
                   help="retrieval method (default: %(default)s; the others are baselines)")
    _filter_flags(p)

    p = sub.add_parser("show", help="print an article (to check citation offsets)")
    p.add_argument("article_id")
    _common(p)
    p.add_argument("--json", action="store_true", help="print a JSON object")

    p = sub.add_parser("eval", help="measure retrieval and answers on test questions",
                       description="Evaluate BM25, dense and the shipped hybrid system on test questions "
                       "(default: corpus/questions.jsonl) or on an external SQuAD-format file.")
    p.add_argument("questions", nargs="?", type=Path, help="questions file (JSON lines; see docs/how-it-works.md)")
    _common(p)
    p.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    p.add_argument("--report", type=Path, metavar="FILE.md", help="write a Markdown report and a Recall@k plot")
    p.add_argument("--external", type=Path, metavar="PATH", help="a SQuAD-format .json or .json.gz file")
    p.add_argument("--sample", type=int, default=None, metavar="N", help="external: ask N sampled questions")
    p.add_argument("--seed", type=int, default=0, help="external: sampling seed (default: %(default)s)")

    p = sub.add_parser("serve", help="start the web chat (builds or refreshes the index first)")
    _common(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default: %(default)s, this machine only; 0.0.0.0 opens the collection "
                   "to anyone who can reach the port)")
    p.add_argument("--port", type=_port, default=7860, help="port, 1 to 65535 (default: %(default)s)")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="also answer requests for this host name (e.g. a name people use to reach this machine); "
                   "repeat for more. Requests naming another host are refused (DNS rebinding)")
    p.add_argument("--evaluation", action=argparse.BooleanOptionalAction, default=None,
                   help="the Evaluation tab and its uploads (default: on when --host is this machine only, "
                   "off otherwise)")
    p.add_argument("--title", help="the collection's name in the header (default: from corpus/collection.yaml)")
    p.add_argument("--example", action="append", metavar="QUESTION",
                   help="an example question button; repeat for more (default: from corpus/collection.yaml)")
    return parser


def _check_folders(args) -> None:
    """--corpus and --index name folders; a file there is a mistake worth one clear line."""
    from qa.index.layout import check_index_folder

    if getattr(args, "command", None) in ("index", "ask", "eval", "serve") and args.index is not None:
        check_index_folder(args.index)  # these may build it: nothing is written beside other files
    for flag, path in (("--corpus", args.corpus), ("--index", args.index)):
        if path is not None and path.exists() and not path.is_dir():
            raise UsageError(f"{flag} {path} is a file, not a folder: pass a folder"
                             + (" (it is created if missing)." if flag == "--index" else " of articles."))


def _settings(args, **extra) -> Settings:
    _check_folders(args)
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
    print(printable(f"qa: error: {msg}"), file=sys.stderr)


def _json_line(obj) -> str:
    """One JSON object on one line, with no character a terminal would act on (same value)."""
    return json_safe(json.dumps(obj, ensure_ascii=False))


MAX_LISTED = 50  # skipped files listed one per line; the rest are counted


def _report_read(read) -> None:
    """Each skipped file (or record) and each notice, one line on stderr."""
    skipped = [f"{rel}: {reason}" for rel, reason in read.get("skipped", [])]
    for line in skipped[:MAX_LISTED]:
        print(printable(f"skipped {line}"), file=sys.stderr)
    if len(skipped) > MAX_LISTED:
        print(f"skipped {len(skipped) - MAX_LISTED:,} more (the first {MAX_LISTED} are listed)", file=sys.stderr)
    notices = read.get("notices", [])
    for n in notices[:MAX_LISTED]:
        print(printable(f"note: {n}"), file=sys.stderr)
    if len(notices) > MAX_LISTED:
        print(f"note: {len(notices) - MAX_LISTED:,} more notes", file=sys.stderr)


def _build_flags(args) -> dict:
    """--workers, --scheduler (or $QA_SCHEDULER) and --device, checked before anything is read."""
    from qa.config import setting
    from qa.embedding import resolve_device

    scheduler = args.scheduler or setting("QA_SCHEDULER")
    if args.workers < 0 or args.workers > 1024:
        raise UsageError(f"--workers must be from 1 to 1024 (or 0: no cluster); it is {args.workers}.")
    if args.workers and scheduler:
        raise UsageError("--workers starts a local cluster and --scheduler (or QA_SCHEDULER) names another: "
                         "give one of them.")
    if (args.workers or scheduler) and args.device != "cpu":
        raise UsageError("--device cuda/auto embeds in this process: use it without --workers or --scheduler.")
    resolve_device(args.device)
    return {"workers": args.workers, "scheduler": scheduler, "device": args.device}


def cmd_index(args) -> int:
    import logging

    from qa.index import BuildOptions, read_manifest
    from qa.pipeline import refresh_index
    from qa.readers import NothingReadableError, SkippedFilesError, summary_line

    settings = _settings(args)
    if args.backend or args.milvus_uri:
        if args.milvus_uri and args.backend == "segments":
            raise UsageError("--milvus-uri is for --backend milvus: drop one of them.")
        settings = replace(settings, backend=args.backend or "milvus", milvus_uri=args.milvus_uri)
    if args.max_tokens is None or args.overlap is None:
        # Unset chunk flags keep what the index was built with.
        try:
            chunking = read_manifest(settings.index_dir, full=False).get("chunking", {})
            settings = replace(settings,
                               max_tokens=args.max_tokens or chunking.get("max_tokens", settings.max_tokens),
                               overlap=args.overlap if args.overlap is not None else chunking.get("overlap", settings.overlap))
        except QAError:
            pass
    corpus_log = logging.getLogger("qa.corpus")
    level = corpus_log.level
    corpus_log.setLevel(logging.ERROR)  # its one-line warning repeats what is listed here
    try:
        options = BuildOptions(progress=sys.stderr.isatty(), log=lambda m: print(m, file=sys.stderr),
                               **_build_flags(args))
        report = refresh_index(settings, options, rebuild=args.rebuild, strict=args.strict)
    except (NothingReadableError, SkippedFilesError) as exc:
        _report_read({"skipped": [[s.rel, s.reason] for s in exc.read.skipped], "notices": exc.read.notices})
        raise
    finally:
        corpus_log.setLevel(level)
    read = report.corpus or {}
    _report_read(read)
    print(report.summary())
    print(summary_line(read.get("articles", report.articles), read.get("files", 0),
                       [rel for rel, _ in read.get("skipped", [])], verb="indexed"))
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
    if answer.filter:
        lines.append(f"({answer.filter['summary']})")
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
    return printable("\n".join(lines))


def cmd_ask(args) -> int:
    if args.question is not None and not args.question.strip():
        raise UsageError("the question is empty: pass a question in quotes, or none to read standard input.")
    flt = _filter(args)  # a bad date is reported before the index is opened
    engine = open_engine(args, top_k=args.top_k)
    questions = [args.question] if args.question is not None else None
    status = 0

    def answer(q: str) -> None:
        nonlocal status
        try:
            a = engine.ask(q, method=args.method, top_k=args.top_k, filter=flt)
        except UsageError as exc:
            status = 2
            _err(str(exc))
            if args.json and questions is None:  # keep one output line per input line
                print(_json_line({"question": q, "error": str(exc)}), flush=True)
            return
        if args.json:
            print(_json_line(a.to_dict()), flush=True)
        else:
            print(format_answer(a) + "\n", flush=True)

    if questions is not None:
        answer(questions[0])
        return status
    # Bytes that are not UTF-8 become U+FFFD (and the question is still answered), never a traceback.
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(encoding="utf-8", errors="replace")
    for line in sys.stdin:
        if line.strip():  # blank lines are skipped, not errors
            answer(line.rstrip("\r\n"))
    return 0


def cmd_show(args) -> int:
    from qa.index import read_manifest
    from qa.index.store import find_article

    settings = _settings(args)
    try:  # the index's copy, read from its segment alone
        article = find_article(settings.index_dir, args.article_id)
        known = sorted(read_manifest(settings.index_dir)["corpus"]["articles"])
    except QAError:
        from qa.corpus import load_articles

        articles = {a.id: a for a in load_articles(settings.corpus_dir)}
        article, known = articles.get(args.article_id), sorted(articles)
    if article is None:
        raise UsageError(f"no article {args.article_id!r}; known ids: {', '.join(known[:10])}"
                         + (f" (and {len(known) - 10:,} more)" if len(known) > 10 else ""))
    if args.json:
        print(_json_line(article.to_dict()))
    else:
        date = (article.date or "undated") + (" (approximate)" if article.date_approximate else "")
        print(printable(f"{article.title}\n{date}{' — ' + article.source if article.source else ''}"
                        f"{chr(10) + article.url if article.url else ''}\n\n{article.text}"))
    return 0


def _check_output(flag: str, path: Path | None) -> None:
    """An output file named on the command line must be writable before minutes of evaluation run."""
    if path is None:
        return
    try:
        _check_writable(flag, path)
    except OSError as exc:  # a name too long to stat
        raise UsageError(f"{flag} {str(path)[:80]}{'…' * (len(str(path)) > 80)} cannot be written ({exc.strerror}): choose another path.") from None


def _check_writable(flag: str, path: Path) -> None:
    if path.is_dir():
        raise UsageError(f"{flag} {path} is a folder: name a file in it, e.g. {path / 'results'}"
                         f"{'.md' if flag == '--report' else '.json'}.")
    if not path.parent.is_dir():
        raise UsageError(f"{flag} {path}: folder {path.parent} does not exist: create it, or write the file "
                         "somewhere that exists.")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{flag} {path} cannot be written (permission denied): choose another path.")
    # what os.access cannot tell (a root user in /proc, a name too long): try it, leaving nothing
    if path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
    else:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        os.unlink(path)


def cmd_eval(args) -> int:
    from qa import evaluate

    _check_output("--json", args.json)
    _check_output("--report", args.report)
    if args.report is not None:
        _check_output("--report", args.report.with_suffix(".png"))  # its plot is written beside it
    if args.external:
        settings = _settings(args)
        result = evaluate.run_external(args.external, settings, sample=args.sample, seed=args.seed)
    else:
        path = args.questions or args.corpus / "questions.jsonl"
        from qa.testset import load_questions

        questions = load_questions(path)
        engine = open_engine(args, top_k=10)
        result = evaluate.evaluate(engine, questions, progress=sys.stderr.isatty())
    print(printable(evaluate.format_summary(result)))
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
    from qa.web.server import Site, serve

    settings = serving_settings(args)
    info = collection_info(settings.corpus_dir)
    examples = args.example or [str(q) for q in info.get("examples") or []] or None
    serve(settings, Site(args.host, args.port, tuple(args.allowed_host), args.evaluation), examples=examples,
          title=args.title or info.get("title"))
    return 0


COMMANDS = {"index": cmd_index, "ask": cmd_ask, "show": cmd_show, "eval": cmd_eval, "serve": cmd_serve}


def _port(value: str) -> int:
    """A TCP port for argparse: 1 to 65535 (uvicorn would bind 70000 as 70000 % 65536)."""
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) < 65536:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port: use a whole number from 1 to 65535")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    # A terminal that cannot show a character (LC_ALL=C) gets its escape, not a UnicodeEncodeError;
    # for --json output the escape ("\ufffd") is the same JSON value.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
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
