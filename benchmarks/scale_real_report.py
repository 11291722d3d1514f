"""Renders benchmarks/scale_real.md from the stored results of every part."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import table  # noqa: E402
from scale_real_common import (  # noqa: E402
    FOLLOWUPS, GOALS_100K, GOALS_10K, LATENCY_PARTS, NICE_LONG, Paths, RECIPE, STAND_IN
)


# ---------------------------------------------------------------- the report


def _f(x, fmt: str = ".1f", unit: str = "") -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "–"
    return f"{x:{fmt}}{unit}"


def _load(d) -> str:
    if not d:
        return "–"
    load = d.get("load") if isinstance(d, dict) else d
    return "/".join(f"{x:.1f}" for x in load) if load else "–"


def _mb(b) -> str:
    if b is None:
        return "–"
    return f"{b / 2**20:,.1f} MB" if b < 10 * 2**20 else f"{b / 2**20:,.0f} MB"


def model_seconds(tp: dict | None, sentences: int, chunks: int) -> float | None:
    if not tp:
        return None
    return sentences / tp["sentences"]["per_s"] + chunks / tp["chunks"]["per_s"]


def goal(value, limit) -> str:
    if value is None:
        return "not measured"
    return "met" if value <= limit else "**not met**"


def render(paths: Paths, sizes: list[str]) -> str:
    R = {p.stem: json.loads(p.read_text()) for p in sorted(paths.results.glob("*.json"))}
    tp = R.get("throughput")
    sizes = [s for s in sizes if f"build-{s}" in R or f"cli-{s}" in R]
    cmd = "python benchmarks/scale_real.py" + (" --quick" if paths.quick else "")
    lines = [
        "# Real collection sizes (issue 16): S1, S2, N10k, N100k",
        "",
        f"Produced by `{cmd}` (parts can be rerun alone with `--only PART[,PART]` and "
        "`--sizes SIZE[,SIZE]`, then `--only report` re-renders this file from the stored figures in "
        f"`benchmarks/.cache/{paths.root.name}/results/`). Every figure below comes from those stored results; "
        "each part records when it ran and the load average (1/5/15 min) then.",
        "",
        "**Machine**: 2 cores, shared with other jobs at times: each part records the load average (1/5/15 min) "
        "when it started, shown beside its figures; a load above 2 inflates absolute times, and ratios within one "
        f"part are more trustworthy. The script runs its long parts (embed, throughput, build, hnsw, quality) "
        f"at niceness {NICE_LONG} and the short latency parts ({', '.join(LATENCY_PARTS)}) at normal priority.",
        "",
        "## Collections",
        "",
        "Each collection is a corpus folder of `.md` files with YAML front matter (`title`, `date`, `source`), "
        "one article per file, indexed, asked and served with the ordinary `qa index`, `qa ask`, `qa serve`.",
        "",
        "- **S1**: the 2,067 SQuAD v1.1 dev paragraphs, one article each (`<title-slug>-p<n>`, title = the "
        "Wikipedia title, undated).",
        "- **S2**: S1 + the 98 COVID-QA papers (title = the paper's first line, date = its date line).",
        f"- **N10k / N100k**: synthetic news-shaped articles, {RECIPE}",
        "",
        "**Embeddings were computed once and reused across sizes**: a caching embedder (sha256 of the text -> "
        "float32 vector in `benchmarks/.cache/embeddings.sqlite`) wraps the real ONNX encoder "
        "(`onnx_embedder(encoder_cache_dir(Settings()), threads=2)`) and is passed to `refresh_index` as "
        "`embedder_factory`; only texts never seen before are embedded by the model. S1, S2 and N10k carry real "
        "model vectors for every sentence and chunk. **N100k's chunk vectors are stand-ins** (the normalised "
        "mean of the chunk's sentences' real vectors); its sentence vectors are real. The full-model build time is "
        "therefore *estimated*: measured build time with the cache, minus the time spent inside the caching "
        "embedder, plus (texts / measured encoder throughput).",
        "",
    ]
    if tp:
        lines += [
            "## Encoder throughput (measured on a sample)",
            "",
            table(["texts", "niceness", "sample", "mean characters", "seconds", "texts/s", "load before → after"],
                  [[k.split("_")[0], tp[k]["niceness"], tp[k]["texts"], _f(tp[k]["mean_chars"], ".0f"),
                    _f(tp[k]["seconds"]), _f(tp[k]["per_s"]), f"{_load(tp[k]['load_before'])} → {_load(tp[k]['load_after'])}"]
                   for k in ("sentences", "chunks", "sentences_nice0", "chunks_nice0") if k in tp]),
            "",
            f"Sampled from {tp['sample_of']} (seed 0), each kind embedded alone by the real encoder, "
            f"{tp['threads']} threads, batch size {tp['batch_size']} (as `qa index`), at {tp['at']}. The builds "
            f"below ran at niceness {NICE_LONG}, so their model time is extrapolated with the niceness-{NICE_LONG} "
            "throughput.",
            "",
        ]
    rows = []

    def row(label, fn):
        cells = []
        for s in sizes:
            try:
                cells.append(fn(s))
            except (KeyError, TypeError, ValueError, ZeroDivisionError):
                cells.append("–")
        rows.append([label, *cells])

    B = lambda s: R[f"build-{s}"]  # noqa: E731
    C = lambda s: R[f"cli-{s}"]  # noqa: E731
    S = lambda s: R[f"serve-{s}"]  # noqa: E731
    W = lambda s: R[f"warm-{s}"]  # noqa: E731
    L = lambda s: R[f"reload-{s}"]  # noqa: E731
    row("articles / sentences / chunks", lambda s: f"{B(s)['articles']:,} / {B(s)['sentences']:,} / {B(s)['chunks']:,}")
    row("segments (HNSW in any?)", lambda s: f"{B(s)['disk']['segments']}"
        + (" (HNSW)" if B(s)["chunks"] > 20_000 else " (exact)"))
    row("chunk vectors", lambda s: "stand-in" if s in STAND_IN else "model")
    row("full build with the embedding cache: wall (child process) [load at start]",
        lambda s: f"{_f(B(s)['wall_s'])} s [{_load(B(s)['start'])}]")
    row("… of which inside the caching embedder (lookups, stand-ins, misses)",
        lambda s: f"{_f(B(s)['embedder']['seconds'])} s ({B(s)['embedder']['model_sentences'] + B(s)['embedder']['model_chunks']:,} texts missed)")
    row("model time for every text at the measured throughput (extrapolated)",
        lambda s: f"{_f(model_seconds(tp, B(s)['sentences'], B(s)['chunks']) / 60)} min")
    row("**full build with the model, estimated** (wall − embedder + model time)",
        lambda s: f"{_f((B(s)['wall_s'] - B(s)['embedder']['seconds'] + model_seconds(tp, B(s)['sentences'], B(s)['chunks'])) / 60)} min")
    row("full build peak RSS (child, real encoder loaded)", lambda s: f"{_f(B(s)['peak_rss_mb'], ',.0f')} MB")
    row("index on disk: segments (+ encoder, hard-linked)",
        lambda s: f"{_mb(B(s)['disk']['segments_bytes'])} (+{_mb(B(s)['disk']['encoder_bytes'])})")
    row("no-change `qa index`, whole process (median of 3)", lambda s: f"{_f(C(s)['nochange']['median_s'], '.2f')} s")
    row("one-article update `qa index`: time / peak RSS",
        lambda s: f"{_f(C(s)['update']['wall_s'], '.1f')} s / {_f(C(s)['update']['peak_rss_mb'], ',.0f')} MB")
    row("… the edit reverted (another one-article update)",
        lambda s: f"{_f(C(s)['revert']['wall_s'], '.1f')} s / {_f(C(s)['revert']['peak_rss_mb'], ',.0f')} MB")
    row("one-shot `qa ask \"…\"` (median of 3) / its peak RSS",
        lambda s: f"{_f(C(s)['one_shot']['median_s'], '.2f')} s / {_f(statistics.median(r['peak_rss_mb'] for r in C(s)['one_shot']['runs']), ',.0f')} MB")
    row("`qa serve` ready (`GET /` answers 200)", lambda s: f"{_f(S(s)['ready_s'])} s")
    row("… size of `GET /` / of `GET /config`", lambda s: f"{_mb(S(s)['page_bytes'])} / {_mb(S(s).get('config_bytes'))}")
    row("`qa serve` RSS when ready / after 100 HTTP questions", lambda s: f"{_f(S(s)['memory_ready']['rss_mb'], ',.0f')} / {_f(S(s)['memory_after']['rss_mb'], ',.0f')} MB")
    row("HTTP `/gradio_api/call/ask` p50 plain / follow-up", lambda s: f"{_f(S(s)['http_plain']['p50'], '.0f')} / {_f(S(s)['http_followup']['p50'], '.0f')} ms")
    row("… start-up split: Engine.open / encoder / build_app (page)", lambda s: " / ".join(
        _f(S(s)["startup_split"][k], ".1f", " s") for k in ("Engine.open (staleness check + load_index + Engine)",
                                                           "encoder warm_up", "build_app (the Gradio page)")))
    row("`POST /api/ask`", lambda s: f"HTTP {S(s)['api_ask_status']}")
    row("`engine.ask` first pass (rows read for the first time), plain / follow-up p95",
        lambda s: f"{_f(W(s)['first_plain']['total']['p95'])} / {_f(W(s)['first_followup']['total']['p95'])} ms")
    row("warm `engine.ask`, plain, p50 / p95 (200)", lambda s: f"{_f(W(s)['plain']['total']['p50'])} / {_f(W(s)['plain']['total']['p95'])} ms")
    row("warm `engine.ask`, follow-up, p50 / p95 (200)", lambda s: f"{_f(W(s)['followup']['total']['p50'])} / {_f(W(s)['followup']['total']['p95'])} ms")
    row("… load average during plain / follow-up", lambda s: f"{_load(W(s)['plain'])} / {_load(W(s)['followup'])}")
    row("`engine.reload()` after a one-article update: duration", lambda s: f"{_f(L(s)['direct']['reload_s'], '.2f')} s")
    row("… longest question wait during it (steady-state max)", lambda s: f"{_f(L(s)['direct']['longest_wait_ms'], '.0f')} ms ({_f(L(s)['direct']['steady']['max'], '.0f')} ms)")
    row("… peak RSS during it / steady state", lambda s: f"{_f(L(s)['direct']['peak_rss_mb'], ',.0f')} / {_f(L(s)['direct']['steady_rss_mb'], ',.0f')} MB (×{_f(L(s)['direct']['peak_ratio'], '.2f')})")
    row("reload as `qa serve` does it (pool of 2, ReloadWatcher): duration / longest wait", lambda s: f"{_f(L(s)['gate']['reload_s'], '.2f')} s / {_f(L(s)['gate']['longest_wait_ms'], ',.0f')} ms")
    lines += ["## Results per size", "", table(["", *sizes], rows), ""]
    lines += _notes_per_size(R, sizes)
    lines += _goals(R, tp)
    lines += _hnsw_section(R.get("hnsw"))
    lines += _quality_section(R.get("quality"))
    lines += _findings(R, sizes)
    return "\n".join(lines) + "\n"


def _notes_per_size(R, sizes) -> list[str]:
    out = ["How each row was measured:", "",
           "- *full build*: `refresh_index` over the corpus folder in a child process (from scratch), its RSS polled "
           "with psutil every 50 ms; the real ONNX encoder is loaded in that process first (and run on one batch) so "
           "the peak includes it, as in `qa index`. Each part's JSON records when it ran: N100k's build ran at "
           "commit fc65965, just before the per-file and per-article maps moved from the manifest into "
           "catalog.json (the segments are written the same way; the first `qa index` after it split its "
           "manifest), every other row with the code of this commit.",
           "- *no-change*, *update*, *one-shot*: the real CLI (`python -m qa …`), a fresh "
           "process each, wall time from the parent; the update appends one sentence to one file and embeds it "
           "with the real encoder; the revert restores the file (a second one-article update).",
           "- *serve*: `qa serve` started, `GET /` polled every 50 ms until 200; then 50 plain questions, each "
           "followed by a follow-up with it and its answer as history, over README's two-step HTTP call; RSS "
           "summed over the server and its children (psutil).",
           "- *warm*: in this process, `Engine(load_index(…))` after 20 warm-up questions; plain = a question "
           "alone (SQuAD's own for S1/S2; for the synthetic sets, a sentence of the collection with one name or "
           "number replaced by 'what'); follow-up = a short question (" + ", ".join(f"'{f}'" for f in FOLLOWUPS[:4])
           + ", …) asked right after it with the plain question and its answer as history, as in a chat. Two passes "
           "over the same 200 pairs: the *first pass* reads each candidate's vectors from the memory-mapped files for "
           "the first time (from disk unless the page cache holds them: this machine's page cache keeps only part of "
           "the larger indexes), the *warm* figures are the second pass, as on a server that has run a while.",
           "- *reload*: after a one-article `qa index`, one thread keeps asking plain questions while "
           "`engine.reload()` runs in another; RSS polled every 10 ms. Then as `qa serve` does it: two threads "
           "asking through the server's answer pool (`qa.web.gate.EngineGate`, 2 workers) while its "
           "`ReloadWatcher.check()` swaps the new generation in.",
           ""]
    return out


def _goals(R, tp) -> list[str]:
    out = []
    if "build-N10k" in R:
        b, c, s, w, l = (R.get(f"{p}-N10k") for p in ("build", "cli", "serve", "warm", "reload"))
        g = GOALS_10K
        rows = [
            ["one-shot `qa ask`", f"{_f(c and c['one_shot']['median_s'], '.2f')} s", f"≤ {g['one_shot_s']} s", goal(c and c["one_shot"]["median_s"], g["one_shot_s"])],
            ["`qa serve` ready", f"{_f(s and s['ready_s'])} s", f"≤ {g['serve_ready_s']} s", goal(s and s["ready_s"], g["serve_ready_s"])],
            ["follow-up p95", f"{_f(w and w['followup']['total']['p95'])} ms", f"≤ {g['followup_p95_ms']} ms", goal(w and w["followup"]["total"]["p95"], g["followup_p95_ms"])],
            ["plain p95", f"{_f(w and w['plain']['total']['p95'])} ms", f"≤ {g['plain_p95_ms']} ms", goal(w and w["plain"]["total"]["p95"], g["plain_p95_ms"])],
            ["`qa serve` RSS after 100 questions", f"{_f(s and s['memory_after']['rss_mb'], ',.0f')} MB", f"≤ {g['serve_rss_mb']:.0f} MB", goal(s and s["memory_after"]["rss_mb"], g["serve_rss_mb"])],
            ["one-article update", f"{_f(c and c['update']['wall_s'])} s", f"≤ {g['update_s']} s", goal(c and c["update"]["wall_s"], g["update_s"])],
            ["no-change `qa index`", f"{_f(c and c['nochange']['median_s'], '.2f')} s", f"≤ {g['nochange_s']} s", goal(c and c["nochange"]["median_s"], g["nochange_s"])],
            ["full-build peak RSS", f"{_f(b and b['peak_rss_mb'], ',.0f')} MB", "≤ 4,096 MB", goal(b and b["peak_rss_mb"], g["build_peak_mb"])],
            ["no question waiting > 100 ms during reload (`engine.reload`)", f"{_f(l and l['direct']['longest_wait_ms'], ',.0f')} ms", "≤ 100 ms", goal(l and l["direct"]["longest_wait_ms"], g["reload_wait_ms"])],
            ["… the same through `qa serve`'s reload path", f"{_f(l and l['gate']['longest_wait_ms'], ',.0f')} ms", "≤ 100 ms", goal(l and l["gate"]["longest_wait_ms"], g["reload_wait_ms"])],
            ["reload peak RSS ≤ 1.3× steady state (issue item 4)", f"×{_f(l and l['direct']['peak_ratio'], '.2f')}", "≤ 1.3", goal(l and l["direct"]["peak_ratio"], 1.3)],
        ]
        out += ["## Goals at 10k articles (N10k)", "", table(["goal", "measured", "limit", "status"], rows), ""]
    if "build-N100k" in R:
        b, s = R.get("build-N100k"), R.get("serve-N100k")
        est = None
        if b and tp:
            est = (b["wall_s"] - b["embedder"]["seconds"] + model_seconds(tp, b["sentences"], b["chunks"])) / 3600
        rows = [["a full build completes", f"completed in {_f(b and b['wall_s'] / 60)} min with cached sentence vectors "
                 f"and stand-in chunk vectors; with the model: {_f(est)} h (estimated)", "completes",
                 "met (measured build; model time extrapolated)" if b else "not measured"],
                ["full-build peak RSS", f"{_f(b and b['peak_rss_mb'], ',.0f')} MB", "(≤ 4,096 MB at 10k)", goal(b and b["peak_rss_mb"], 4096)],
                ["`qa serve` RSS after 100 questions", f"{_f(s and s['memory_after']['rss_mb'], ',.0f')} MB", "≤ 6,144 MB", goal(s and s["memory_after"]["rss_mb"], GOALS_100K["serve_rss_mb"])]]
        out += ["## Goals at 100k articles (N100k)", "", table(["goal", "measured", "limit", "status"], rows), ""]
    return out


def _hnsw_section(h) -> list[str]:
    if not h:
        return []
    rows = []
    for p in h["points"]:
        e = p["ef"]
        rows.append([f"{p['rows']:,} ({p['source']}{', stand-ins' if p['stand_in'] else ''})",
                     f"{_f(p['exact']['p50'], '.2f')} / {_f(p['exact']['p95'], '.2f')}",
                     f"{_f(p['hnsw_build_s'])} s",
                     *(f"{e[k]['recall@10']:.3f} ({_f(e[k]['latency']['p50'], '.2f')} / {_f(e[k]['latency']['p95'], '.2f')})" for k in ("64", "128", "256")),
                     _load(p["start"])])
    out = ["## Exact versus HNSW on real vectors", "",
           f"{h['queries']} real question embeddings (SQuAD v1.1 dev questions, seed 2, embedded by the real encoder) "
           "searched among the first N live chunk vectors of N10k (model vectors) and N100k (stand-ins); exact "
           "= `vectors @ q` then `argpartition`, as `Index.dense_top` does; HNSW = `IndexHNSWFlat` with the project's "
           "M 32, efConstruction 80, built on those N rows; recall@10 against exact; latency of one query, ms.",
           "",
           table(["rows", "exact p50 / p95 ms", "HNSW build", "efSearch 64: recall (p50/p95 ms)",
                  "efSearch 128 (shipped)", "efSearch 256", "load at start"], rows), ""]
    if h.get("engine"):
        rows = [[s, ", ".join(f"{n:,}{' HNSW' if a else ' exact'}" for n, a in e["segments"]), f"{e['recall@10']:.3f}",
                 f"{_f(e['latency']['p50'], '.2f')} / {_f(e['latency']['p95'], '.2f')}"] for s, e in h["engine"].items()]
        out += ["The loaded index's own `dense_top` (its segments as built, merged) against exact search over every "
                "live chunk:", "", table(["index", "segments (chunks)", "recall@10", "p50 / p95 ms"], rows), ""]
        rows = [[s, f"{d['chunks']:,} ({d['chunks'] - d['live']:,} deleted)",
                 f"{_f(d['gather_then_score']['p50'], '.2f')} / {_f(d['gather_then_score']['p95'], '.2f')}",
                 f"{_f(d['score_all_then_mask']['p50'], '.2f')} / {_f(d['score_all_then_mask']['p95'], '.2f')}"]
                for s, e in h["engine"].items() for d in e.get("deleted_rows_exact", [])]
        if rows:
            out += ["An exactly searched segment holding a deleted article (after any update): copying the live rows' "
                    "vectors before scoring them (`vectors[rows] @ q`, what `dense_top` did first) against scoring every "
                    "row and masking the deleted ones (what it does now when most rows are allowed; same top-k), ms "
                    "per query, p50 / p95:", "",
                    table(["index", "segment chunks", "gather then score", "score all, then mask (shipped)"], rows), ""]
    return out


def _quality_section(q) -> list[str]:
    if not q:
        return []
    cur, bef = q["current"]["as_built"], q["before"]["as_built"]
    rows = [["S1, current code (index format 3)", f"{cur['recall@1']:.3f}", f"{cur['answer@1']:.3f}", _load(q["current"]["start"])],
            [f"S1, code before the index change ({q['before_commit']})", f"{bef['recall@1']:.3f}", f"{bef['answer@1']:.3f}", _load(q["before"]["start"])],
            ["difference (current − before), points", f"{(cur['recall@1'] - bef['recall@1']) * 100:+.1f}",
             f"{(cur['answer@1'] - bef['answer@1']) * 100:+.1f}", ""]]
    flips = len(set(cur["failed"]) ^ set(bef["failed"]))
    out = ["## Quality: SQuAD v1.1 dev, 1,000 questions (seed 0)" if q["n"] == 1000 else f"## Quality ({q['n']} questions)", "",
           f"`random.Random(0).sample` of the {q['n']} questions (via `load_squad(sample=…, seed=0)`), each pointed at its "
           "paragraph's article; `qa.evaluate.evaluate(engine, questions, methods=('hybrid',))`: hit@1 = `recall@1`, "
           "answer@1. Both codes built S1 from the same corpus folder with the same cached vectors, in this run "
           f"(the before code in a temporary worktree of {q['before_commit']}, removed after).", "",
           table(["", "hit@1", "answer@1", "load at start"], rows), "",
           f"Goal: within 0.5 points — hit@1 {goal(abs(cur['recall@1'] - bef['recall@1']) * 100, 0.5)}, "
           f"answer@1 {goal(abs(cur['answer@1'] - bef['answer@1']) * 100, 0.5)}; {flips} of the {q['n']} questions "
           "changed between pass and fail.", ""]
    if q.get("mixed"):
        m = q["mixed"]
        a, e = m["as_built"], m.get("exact")
        rows = [["S1 alone (current code)", f"{cur['recall@1']:.3f}", f"{cur['answer@1']:.3f}", ""],
                [f"S1 + {q['mixed_with']} in one build ({', '.join(f'{n:,} chunks' + (' HNSW' if h else ' exact') for n, h in m.get('segments', []))})",
                 f"{a['recall@1']:.3f}", f"{a['answer@1']:.3f}",
                 f"{(a['recall@1'] - cur['recall@1']) * 100:+.1f} / {(a['answer@1'] - cur['answer@1']) * 100:+.1f}"]]
        if e:
            rows.append(["the same index, HNSW switched off (exact dense search)", f"{e['recall@1']:.3f}", f"{e['answer@1']:.3f}",
                         f"{(e['recall@1'] - cur['recall@1']) * 100:+.1f} / {(e['answer@1'] - cur['answer@1']) * 100:+.1f}"])
            rows.append(["HNSW − exact on the same index, points", f"{(a['recall@1'] - e['recall@1']) * 100:+.1f}",
                         f"{(a['answer@1'] - e['answer@1']) * 100:+.1f}", ""])
        out += [f"Across the approximate-index switch: the same questions asked of S1 + {q['mixed_with']} in ONE build "
                f"({m['articles']:,} articles; the synthetic articles are distractors made of S2's sentences, "
                "including S1's own).", "",
                table(["", "hit@1", "answer@1", "Δ vs S1 alone (hit@1 / answer@1, points)"], rows), "",
                "The synthetic articles quote S1's own paragraphs sentence for sentence, so a drop against S1 alone is "
                "mostly the gold sentence found (and cited) in a synthetic copy, which hit@1 and answer@1 count as a "
                "miss: answers holding the expected phrase whatever article they cite were "
                f"{cur['answer_phrase_any_article']:.3f} for S1 alone and {a['answer_phrase_any_article']:.3f} for the "
                f"combined build" + (f" ({e['answer_phrase_any_article']:.3f} with exact search)" if e else "")
                + ". The HNSW-versus-exact rows on the same index isolate what the approximate search itself costs.", ""]
    return out


def _findings(R, sizes) -> list[str]:
    """Where the time goes: cProfile of the CLI and the warm stages, per size."""
    out = []
    out += ["## Profiles", ""]
    for s in sizes:
        c = R.get(f"cli-{s}")
        if not c:
            continue
        out += [f"<details><summary>{s}: cProfile of one-shot `qa ask` and no-change `qa index` (cumulative, import "
                "machinery left out)</summary>", "", "```", *c["one_shot"].get("profile", []), "", *c["nochange"].get("profile", []),
                "```", "</details>", ""]
        w = R.get(f"warm-{s}")
        if w:
            out += [f"{s} warm `engine.ask` by stage (p50 / p95 ms; stages timed by benchmarks/latency.py's PartTimer): "
                    + "; ".join(f"{k}: " + ", ".join(f"{p} {_f(v['p50'])}/{_f(v['p95'])}" for p, v in w[k]["parts"].items())
                                for k in ("plain", "followup")), ""]
    return out
