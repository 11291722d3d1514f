"""Index build throughput against the raw ONNX encoder and raw sentence-transformers.

    .venv/bin/python benchmarks/build.py [--quick]

Builds corpus/ (the CLI `qa index --rebuild` in a subprocess, plus `build_index` in process
with a timing wrapper around the embedder) and the 48 XQuAD-en articles into temporary
folders, then embeds exactly the same texts with a fresh OnnxEmbedder (batch 16/32/64) and
with sentence-transformers `encode` (batch 32). Ratio = build embedding throughput / raw ONNX
throughput at the build's batch size (goal >= 0.9). Writes the section for results.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import (  # noqa: E402
    REPO, Meter, external, bench_env, load_average, qa_command, table, write_section,
)

BATCH_SIZES = (8, 16, 32, 64)  # 16/32/64 asked for; 8 because smaller batches won in trials


class TimingEmbedder:
    """Wraps the build's embedder: records the texts, and wall and CPU time spent in embed()."""

    def __init__(self, inner):
        self.inner = inner
        self.meters: list[Meter] = []
        self.texts: list[str] = []

    def embed(self, texts, *, batch_size: int = 32, progress: bool = False):
        with Meter() as m:
            out = self.inner.embed(texts, batch_size=batch_size, progress=False)
        self.meters.append(m)
        self.texts.extend(texts)
        return out

    def __getattr__(self, name):
        return getattr(self.inner, name)


def build_in_process(articles, index_dir: Path) -> dict:
    """One full rebuild with build_index; the embedding part timed by TimingEmbedder.

    The encoder session is loaded in the factory, before the build's embed() call, so that the
    embedding part and the raw encoder both run on a loaded session (the load counts in *whole*).
    """
    from qa.config import Settings
    from qa.embedding import onnx_embedder
    from qa.index import BuildOptions, build_index

    settings = Settings(index_dir=index_dir)
    threads = os.cpu_count() or 1  # what build_index itself uses
    holder: dict = {}

    def factory(encoder_dir):
        inner = onnx_embedder(encoder_dir, threads=threads)
        inner.warm_up()
        holder["e"] = TimingEmbedder(inner)
        return holder["e"]

    with Meter() as whole:
        report = build_index(articles, settings, BuildOptions(embedder_factory=factory), rebuild=True)
    e = holder["e"]
    embed = {"wall_s": sum(m.wall for m in e.meters), "cpu_s": sum(m.cpu for m in e.meters),
             "other_cores": sum(m.other_cores * m.wall for m in e.meters) / max(1e-9, sum(m.wall for m in e.meters))}
    return {"whole": whole.as_dict(), "embed": embed, "texts": e.texts, "chunks": report.chunks,
            "sentences": report.sentences, "articles": report.articles, "threads": threads,
            "batch_size": settings.batch_size, "encoder_dir": str(Path(report.path) / "encoder")}


def build_cli(corpus: Path, index_dir: Path) -> dict:
    """`qa index --rebuild` as a user runs it: a fresh process, imports included."""
    start = time.perf_counter()
    done = subprocess.run([*qa_command(), "index", "--rebuild", "--corpus", str(corpus), "--index", str(index_dir)],
                          env=bench_env(), cwd=REPO, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"qa index failed:\n{done.stderr}")
    return {"wall_s": seconds, "summary": done.stdout.strip().splitlines()[-1]}


def metered(fn) -> dict:
    with Meter() as m:
        fn()
    return m.as_dict()


def sweep_sample(texts: list[str], limit: int) -> list[str]:
    """Every k-th text, so a smaller sample keeps the build's mix of long chunks and short sentences."""
    step = max(1, -(-len(texts) // limit))
    return texts[::step]


def measure(label: str, articles, tmp: Path, st_model, cli_corpus: Path | None, sweep_limit: int) -> dict:
    """Raw ONNX, then the build, then raw ONNX again (the build is compared with the mean of the two)."""
    from qa.onnx_embedder import OnnxEmbedder
    from qa.config import Settings
    from qa.index import encoder_cache_dir

    load_start = load_average()
    cli = build_cli(cli_corpus, tmp / f"cli-{label}") if cli_corpus is not None else None
    # The texts are only known once a build has chunked them: a first build that is not timed
    # would cost as much as the timed one, so chunk here exactly as build_index does.
    texts = build_texts(articles)
    bs, threads = Settings().batch_size, os.cpu_count() or 1
    raw = OnnxEmbedder(encoder_cache_dir(Settings()), threads=threads)
    raw.warm_up()
    raw.embed(texts[:8], batch_size=8)
    before = metered(lambda: raw.embed(texts, batch_size=bs))
    build = build_in_process(articles, tmp / f"index-{label}")
    assert build["texts"] == texts, "the build embedded other texts than build_texts() predicted"
    after = metered(lambda: raw.embed(texts, batch_size=bs))
    sample = sweep_sample(texts, sweep_limit)
    sweep = {b: metered(lambda b=b: raw.embed(sample, batch_size=b)) for b in BATCH_SIZES}
    st = None
    if st_model is not None:
        st_sample = sample[: max(8, len(sample) // 2)]
        st_model.encode(st_sample[:8], batch_size=8, normalize_embeddings=True)
        st = metered(lambda: st_model.encode(st_sample, batch_size=bs, normalize_embeddings=True,
                                             convert_to_numpy=True))
        onnx_same = metered(lambda: raw.embed(st_sample, batch_size=bs))
        st = {"st": st, "onnx": onnx_same, "texts": len(st_sample)}
    return {
        "label": label, "articles": build["articles"], "chunks": build["chunks"], "sentences": build["sentences"],
        "texts": len(texts), "sample": len(sample), "threads": threads, "batch_size": bs,
        "build_whole": build["whole"], "build_embed": build["embed"], "raw_before": before, "raw_after": after,
        "cli": cli, "sweep": sweep, "st": st, "load_start": load_start, "load_end": load_average(),
    }


def build_texts(articles) -> list[str]:
    """What build_index embeds for a full rebuild, in its order: batch by batch of about
    EMBED_BATCH_TEXTS texts (qa.index.build's own batching), each batch's chunks (with their title
    line), then its sentences."""
    from qa.chunking import get_encoding
    from qa.config import Settings
    from qa.index import chunk_embedding_text
    from qa.index.build import _batches

    settings = Settings()
    texts: list[str] = []
    for batch in _batches(list(articles), settings, get_encoding(settings.encoding)):
        texts += [chunk_embedding_text(a, c) for a, _, cs in batch for c in cs]
        texts += [s.text for _, ss, _ in batch for s in ss]
    return texts


def _rate(n: int, m: dict) -> float:
    return n / m["wall_s"]


def ratios(r: dict) -> tuple[float, float]:
    """(wall, CPU) ratio of the build's embedding throughput to the raw encoder's (mean of before/after)."""
    raw_wall = (r["raw_before"]["wall_s"] + r["raw_after"]["wall_s"]) / 2
    raw_cpu = (r["raw_before"]["cpu_s"] + r["raw_after"]["cpu_s"]) / 2
    return raw_wall / r["build_embed"]["wall_s"], raw_cpu / r["build_embed"]["cpu_s"]


def render(results: list[dict], quick: bool, st_threads: int | None) -> str:
    bs = results[0]["batch_size"]
    rows = []
    for r in results:
        n = r["texts"]
        wall_ratio, cpu_ratio = ratios(r)
        raw_rates = f"{_rate(n, r['raw_before']):.1f} / {_rate(n, r['raw_after']):.1f}"
        others = (f"{r['raw_before']['other_cores']:.1f} / {r['build_embed']['other_cores']:.1f} / "
                  f"{r['raw_after']['other_cores']:.1f}")
        rows.append([
            r["label"], f"{r['articles']} / {r['chunks']} / {r['sentences']}",
            f"{r['build_whole']['wall_s']:.1f}",
            f"{r['chunks'] / r['build_whole']['wall_s']:.1f} / {r['sentences'] / r['build_whole']['wall_s']:.1f}",
            f"{r['build_embed']['wall_s']:.1f}", f"{_rate(n, r['build_embed']):.1f}", raw_rates,
            f"**{wall_ratio:.2f}**", f"**{cpu_ratio:.2f}**", others,
        ])
    out = [
        "## 1. Index build throughput",
        "",
        "Full rebuild (`build_index(..., rebuild=True)`, ONNX fp32 encoder, "
        f"{results[0]['threads']} intra-op threads = os.cpu_count(), batch {bs} = Settings.batch_size) "
        "versus the raw encoder (a fresh `OnnxEmbedder`, same threads and batch) on exactly the texts the "
        "build embeds (chunks with their title line, then sentences), run just before and just after "
        "the build. *embed* is the time inside the build's `embed()` call (a timing wrapper passed as "
        "`embedder_factory`, session loaded beforehand); *whole* also counts sentence splitting, "
        "chunking, linking and hashing the encoder, the ONNX session load, FAISS and the fsynced writes. "
        "*ratio (wall)* compares throughput; *ratio (CPU)* compares this process's CPU seconds, which the "
        "other processes on the machine disturb far less; *other cores* = cores kept busy by unrelated "
        "processes during each run (/proc/stat), out of "
        f"{os.cpu_count()}." + (" **Quick run: XQuAD cut to 12 articles.**" if quick else ""),
        "",
        table(["texts", "articles / chunks / sentences", "whole s", "build chunks/s / sentences/s (whole)",
               "embed s", "build embed texts/s", f"raw ONNX texts/s before / after",
               "ratio embed / raw (wall)", "ratio (CPU)", "other cores: raw / build / raw"], rows),
        "",
    ]
    cli = next((r["cli"] for r in results if r["cli"]), None)
    if cli:
        out += [f"`qa index --rebuild` of corpus/ as a fresh process (imports, model check and all): "
                f"{cli['wall_s']:.1f} s wall — \"{cli['summary']}\".", ""]
    wall_ok = min(ratios(r)[0] for r in results) >= 0.9
    cpu_ok = min(ratios(r)[1] for r in results) >= 0.9
    out += [
        f"Goal: build embedding throughput ≥ 0.9 × raw ONNX: **{'met' if wall_ok else 'not met'}** by wall time"
        + ("" if wall_ok == cpu_ok else f", **{'met' if cpu_ok else 'not met'}** by CPU time")
        + ". The build calls the same `OnnxEmbedder.embed` once on all its texts, so the embedding part "
        "can only differ from the raw encoder through the machine's load; *whole* − *embed* is fixed "
        "per-build work (" + ", ".join(f"{r['build_whole']['wall_s'] - r['build_embed']['wall_s']:.1f} s for "
                                       f"{r['label']}" for r in results) + ").",
        "",
    ]
    if st_threads:
        out += [
            f"sentence-transformers `encode` (torch, {st_threads} threads, batch {bs}, normalised) against the "
            "raw ONNX encoder on the same sample (every k-th text of the build, keeping its mix of ~250-token "
            "chunks and short sentences), one run each:",
            "",
            table(["texts", "sample", "ST texts/s", "ONNX texts/s", "ONNX / ST (wall)", "ONNX / ST (CPU)",
                   "other cores: ST / ONNX"],
                  [[r["label"], str(r["st"]["texts"]), f"{_rate(r['st']['texts'], r['st']['st']):.1f}",
                    f"{_rate(r['st']['texts'], r['st']['onnx']):.1f}",
                    f"{r['st']['st']['wall_s'] / r['st']['onnx']['wall_s']:.2f}",
                    f"{r['st']['st']['cpu_s'] / r['st']['onnx']['cpu_s']:.2f}",
                    f"{r['st']['st']['other_cores']:.1f} / {r['st']['onnx']['other_cores']:.1f}"]
                   for r in results if r["st"]]),
            "",
        ]
    bests, brows = [], []
    for r in results:
        rates = {b: r["sample"] / m["wall_s"] for b, m in r["sweep"].items()}
        cpu = {b: m["cpu_s"] / r["sample"] * 1000 for b, m in r["sweep"].items()}
        best = max(rates, key=rates.get)
        best_cpu = min(cpu, key=cpu.get)
        bests.append((r["label"], best, best_cpu))
        brows.append([f"{r['label']} ({r['sample']} texts)",
                      *(f"{rates[b]:.1f} ({cpu[b]:.0f} ms, {r['sweep'][b]['other_cores']:.1f})" for b in BATCH_SIZES),
                      f"{best} / {best_cpu}"])
    out += [
        "Raw ONNX encoder by batch size on a sample of the same texts: texts/s (CPU ms per text, other "
        "cores busy), one run each:",
        "",
        table(["texts", *(f"batch {b}" for b in BATCH_SIZES), "fastest (wall / CPU)"], brows),
        "",
    ]
    small = all(b < bs and c < bs for _, b, c in bests)
    out += [
        "Fastest batch size: " + ", ".join(f"{label}: {b} by wall time, {c} by CPU time" for label, b, c in bests)
        + (". Padding is not the cause (texts are sorted by length before batching); with ~250-token "
           "chunks the attention tensors (batch × 12 heads × 256² floats, 100 MB at batch 32) outgrow the "
           f"CPU caches, so smaller batches run faster: a smaller Settings.batch_size than {bs} would suit "
           "the build." if small else
           f"; the differences are within this machine's noise, so Settings.batch_size = {bs} can stay."),
        "",
        "Load average (1/5/15 min) during this section: "
        + "; ".join(f"{r['label']}: {r['load_start']} at start, {r['load_end']} at the end" for r in results) + ".",
    ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run each; XQuAD cut to 12 articles")
    parser.add_argument("--no-st", action="store_true", help="skip sentence-transformers (no torch import)")
    args = parser.parse_args(argv)

    from qa.corpus import load_articles
    from qa.squad import load_squad

    corpus_articles = load_articles(REPO / "corpus")
    xquad_articles, _ = load_squad(external("xquad-en"))
    if args.quick:
        xquad_articles = xquad_articles[:12]
    st_model, st_threads = None, None
    if not args.no_st:
        import torch
        from sentence_transformers import SentenceTransformer

        from qa.config import bundled_model_path

        st_model = SentenceTransformer(bundled_model_path(), device="cpu")
        st_threads = torch.get_num_threads()
    results = []
    with tempfile.TemporaryDirectory(prefix="qa-bench-build-") as tmp:
        for label, articles, cli_corpus in (("corpus/", corpus_articles, REPO / "corpus"),
                                            (f"XQuAD-en ({len(xquad_articles)} articles)", xquad_articles, None)):
            print(f"build: {label} ...", file=sys.stderr, flush=True)
            results.append(measure(label, articles, Path(tmp), st_model, cli_corpus,
                                   sweep_limit=150 if args.quick else 200))
    markdown = render(results, args.quick, st_threads)
    write_section("build", markdown, {"results": results, "quick": args.quick})
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
