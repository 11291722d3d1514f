"""Real collection sizes (issue 16): S1, S2, N10k, N100k as corpus folders, measured as a user runs them.

    python benchmarks/scale_real.py                                                 # everything
    ... benchmarks/scale_real.py --sizes S1,N10k --only build,cli                   # some parts, some sizes
    ... benchmarks/scale_real.py --only report                                      # re-render the .md
    ... benchmarks/scale_real.py --quick                                            # ~5-minute smoke run

Parts (``--only``, in this order): data, embed, throughput, build, cli, serve, warm, reload, hnsw, quality,
report. Each part stores its figures in benchmarks/.cache/scale/results/<part>-<size>.json (with the time and
the load average); ``report`` renders benchmarks/scale_real.md from whatever is stored, so parts can be
rerun alone. --quick uses benchmarks/.cache/scale-quick/ (S1 and N1k, few repetitions) and never writes the
committed .md (it writes benchmarks/.cache/scale-quick/scale_real.md).

The script lowers its own priority to niceness 10 for the long parts (data, embed, throughput, build, hnsw,
quality) and returns to the caller's for the short latency parts (cli, serve, warm, reload).

Collections (corpus folders of .md files with YAML front matter, one article per file):
    S1     the 2,067 SQuAD v1.1 dev paragraphs, one article each (id <title-slug>-p<n>, undated)
    S2     S1 + the 98 COVID-QA papers (title = first line of the paper, date = its date line when ISO)
    N10k   10,000 synthetic news articles made of S2's real sentences recombined (RECIPE below)
    N100k  100,000 of them (its first 10,000 are N10k's)

Embeddings are computed once and reused across sizes: CachedEmbedder keys each text by its sha256 in
benchmarks/.cache/embeddings.sqlite and embeds only misses with the real ONNX encoder. For N100k only, a
chunk's vector is a stand-in (the normalised mean of its sentences' real vectors), not the model's.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import ask_http, external, external_json, free_port, kill_tree, percentile as pct, tree_memory  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for _k, _v in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
               "TOKENIZERS_PARALLELISM": "false"}.items():
    os.environ.setdefault(_k, _v)

EMBED_DB = HERE / ".cache" / "embeddings.sqlite"
BEFORE_COMMIT = "d112dd1"
SIZES = ("S1", "S2", "N10k", "N100k")
PARTS = ("data", "embed", "throughput", "build", "cli", "serve", "warm", "reload", "hnsw", "quality", "report")
SYNTHETIC = {"N1k": 1_000, "N10k": 10_000, "N100k": 100_000}
STAND_IN = {"N100k", "N1k"}  # chunk vectors = normalised mean of their sentences' vectors (N1k: quick runs only)
PUBLISHERS = ("The Harbour Gazette", "Northgate Courier", "Valley Evening Post", "The Riverside Record",
              "Eastfield Chronicle", "Lakeshore Herald", "The Market Town Times", "Westmoor Observer",
              "City Bulletin", "The Coastal Mail", "Highland Echo", "Southbank Journal", "The County Express",
              "Millbrook Standard", "Redhill Advertiser", "The Daily Meridian", "Oakley Sentinel",
              "Greenvale News", "Port Carrow Tribune", "The Weekly Ledger")
RECIPE = ("a deterministic generator (random.Random(article number)) over a pool of S2's real sentences "
          "(qa.chunking.split_sentences on every S1 paragraph and COVID-QA paper; kept: 40-400 characters, at "
          "least 6 words, a lower-case letter, no URL). Each article: a title that is a pool sentence of 30-110 "
          "characters; 15-45 body sentences in 3-10 paragraphs, each paragraph a run of consecutive pool "
          "sentences from a random place (so a paragraph reads locally coherent); a date uniform over "
          "2010-01-01..2025-12-31; one of 20 invented publishers. N100k's first 10,000 articles are N10k's.")
FOLLOWUPS = ("Who said that?", "When was that?", "And why?", "Where was that?", "What happened then?",
             "And how many?", "Who reported that?", "What about later?")
GOALS_10K = {  # issue 16, at 10k articles on this machine
    "one_shot_s": 2.0, "serve_ready_s": 10.0, "followup_p95_ms": 20.0, "plain_p95_ms": 15.0, "serve_rss_mb": 800.0,
    "update_s": 5.0, "nochange_s": 1.0, "build_peak_mb": 4096.0, "reload_wait_ms": 100.0}
GOALS_100K = {"serve_rss_mb": 6144.0}


# ---------------------------------------------------------------- small helpers


class Paths:
    def __init__(self, quick: bool):
        self.quick = quick
        self.root = HERE / ".cache" / ("scale-quick" if quick else "scale")
        self.corpora = self.root / "corpora"
        self.indexes = self.root / "indexes"
        self.results = self.root / "results"
        self.logs = self.root / "logs"
        self.md = self.root / "scale_real.md" if quick else HERE / "scale_real.md"
        for p in (self.corpora, self.indexes, self.results, self.logs):
            p.mkdir(parents=True, exist_ok=True)

    def corpus(self, size: str) -> Path:
        return self.corpora / size

    def index(self, size: str) -> Path:
        return self.indexes / size


QA_ROOT = REPO  # where `qa` is imported from (a worker evaluating the code before the index change sets it)


def use_qa() -> None:
    if sys.path[:1] != [str(QA_ROOT)]:
        sys.path.insert(0, str(QA_ROOT))


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def stamp() -> dict:
    return {"at": dt.datetime.now().isoformat(timespec="seconds"), "load": load_avg()}


NICE_LONG = 10  # long parts (embed, throughput's neighbours, build, hnsw, quality) run at this niceness
LATENCY_PARTS = ("throughput", "cli", "serve", "warm", "reload")  # short, latency-measuring parts: the caller's niceness


@contextlib.contextmanager
def niced(on: bool):
    """Lower this process's priority (and its children's) for a long part, then restore it (as root, possible)."""
    before = os.getpriority(os.PRIO_PROCESS, 0)
    if on and before < NICE_LONG:
        os.setpriority(os.PRIO_PROCESS, 0, NICE_LONG)
    try:
        yield os.getpriority(os.PRIO_PROCESS, 0)
    finally:
        with contextlib.suppress(PermissionError):
            os.setpriority(os.PRIO_PROCESS, 0, before)


def log(msg: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S} load {os.getloadavg()[0]:.1f}] {msg}", file=sys.stderr, flush=True)


def summary_ms(seconds) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50": pct(ms, 50), "p95": pct(ms, 95), "p99": pct(ms, 99), "max": max(ms) if ms else None,
            "mean": statistics.fmean(ms) if ms else None}


def save(paths: Paths, part: str, size: str | None, data: dict) -> Path:
    path = paths.results / (f"{part}-{size}.json" if size else f"{part}.json")
    path.write_text(json.dumps(data, indent=1, default=str), "utf-8")
    return path


def load_result(paths: Paths, part: str, size: str | None = None) -> dict | None:
    path = paths.results / (f"{part}-{size}.json" if size else f"{part}.json")
    return json.loads(path.read_text("utf-8")) if path.is_file() else None


def child_env(**extra: str) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "TOKENIZERS_PARALLELISM": "false", **extra}
    env.pop("PYTHONPATH", None)
    return env


def folder_bytes(path: Path) -> int:
    total = 0
    for p in Path(path).rglob("*"):
        with contextlib.suppress(OSError):
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
    return total


def index_disk(index_dir: Path) -> dict:
    """Bytes of the current generation's segments and of its encoder (hard links counted once each)."""
    use_qa()
    from qa.index import current_dir, read_manifest

    manifest = read_manifest(index_dir)
    segs = sum(folder_bytes(index_dir / "segments" / s["name"]) for s in manifest["segments"])
    gen = current_dir(index_dir)
    encoder = folder_bytes(gen / "encoder") if (gen / "encoder").is_dir() else 0
    listed = []
    for seg in manifest["segments"]:
        info = json.loads((index_dir / "segments" / seg["name"] / "segment.json").read_text())
        listed.append({"articles": info["articles"], "chunks": info["chunks"], "deleted": len(seg.get("deleted", [])),
                       "approx": info.get("approx")})
    return {"segments_bytes": segs, "encoder_bytes": encoder, "segments": len(manifest["segments"]),
            "segment_list": listed, "whole_folder_bytes": folder_bytes(index_dir)}


class RssPoller:
    """Peak RSS (sum over a process and its children) by polling with psutil every ``every`` seconds."""

    def __init__(self, pid: int, every: float = 0.05):
        import psutil

        self.proc = psutil.Process(pid)
        self.every = every
        self.peak = 0
        self.samples = 0
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._halt.is_set():
            try:
                procs = [self.proc] + self.proc.children(recursive=True)
                rss = 0
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        rss += p.memory_info().rss
                self.peak = max(self.peak, rss)
                self.samples += 1
            except psutil.Error:
                break
            self._halt.wait(self.every)

    def __enter__(self) -> "RssPoller":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._halt.set()
        self._thread.join()


def run_measured(cmd: list[str], *, cwd: Path = REPO, env=None, timeout: float = 7200, stdout=None,
                 stderr=None, check: bool = True) -> dict:
    """Run a child process: wall seconds, peak RSS (psutil polling of it and its children, and the kernel's
    ru_maxrss of the largest waited-for child), its output."""
    import resource

    out = stdout if stdout is not None else subprocess.PIPE
    err = stderr if stderr is not None else subprocess.PIPE
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env or child_env(), stdout=out, stderr=err, text=True)
    with RssPoller(proc.pid) as poll:
        try:
            o, e = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            o, e = proc.communicate()
            raise SystemExit(f"timed out: {' '.join(cmd)}")
    wall = time.perf_counter() - start
    # ru_maxrss of RUSAGE_CHILDREN is the largest of all children waited for so far (a running maximum), so it
    # is only a check: the polled peak is the figure reported.
    kernel = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if check and proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{(e or '')[-4000:]}")
    return {"wall_s": wall, "peak_rss_mb": poll.peak / 2**20, "children_maxrss_mb_so_far": kernel,
            "returncode": proc.returncode, "stdout": o or "", "stderr": e or ""}


# ---------------------------------------------------------------- collections


def yaml_str(value) -> str:
    return "null" if value is None else json.dumps(value, ensure_ascii=False)  # JSON strings are YAML scalars


def write_article(folder: Path, article_id: str, title: str, date: str | None, source: str, body: str) -> None:
    if "\n" in title:
        raise ValueError(f"{article_id}: a title must be one line")
    text = f"---\ntitle: {yaml_str(title)}\ndate: {yaml_str(date)}\nsource: {yaml_str(source)}\n---\n{body}"
    (folder / f"{article_id}.md").write_text(text, "utf-8")


def squad_paragraphs() -> list[dict]:
    """[{id, title, text, qids}] for every SQuAD v1.1 dev paragraph, in file order."""
    doc = external_json("squad-v1.1")
    use_qa()
    from qa.squad import slugify

    out = []
    for entry in doc["data"]:
        slug, title = slugify(entry["title"]), entry["title"].replace("_", " ")
        for n, p in enumerate(entry["paragraphs"], 1):
            out.append({"id": f"{slug}-p{n}", "title": title, "text": p["context"],
                        "qids": [q["id"] for q in p["qas"]]})
    return out


def covid_papers() -> list[dict]:
    doc = external_json("covid-qa")
    out = []
    for entry in doc["data"]:
        p = entry["paragraphs"][0]
        text = p["context"]
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        date = next((ln for ln in lines[1:6] if re.fullmatch(r"\d{4}-\d{2}-\d{2}", ln)), None)
        with contextlib.suppress(ValueError):
            if date:
                dt.date.fromisoformat(date)
        out.append({"id": f"covid-{p['document_id']}", "title": lines[0][:200], "date": date, "text": text})
    return out


def sentence_pool() -> tuple[list[str], list[str]]:
    """(body sentences, title sentences) of S2, filtered as RECIPE says, in corpus order."""
    use_qa()
    from qa.chunking import split_sentences

    texts = [p["text"] for p in squad_paragraphs()] + [p["text"] for p in covid_papers()]
    pool = []
    for text in texts:
        for a, b in split_sentences(text):
            s = text[a:b]
            if 40 <= len(s) <= 400 and len(s.split()) >= 6 and re.search("[a-z]", s) and "http" not in s:
                pool.append(s)
    titles = [s for s in pool if 30 <= len(s) <= 110]
    return pool, titles


def synthetic_article(n: int, pool: list[str], titles: list[str]) -> dict:
    rng = random.Random(n)
    count = rng.randint(15, 45)
    paragraphs = rng.randint(3, min(10, count))
    cuts = sorted(rng.sample(range(1, count), paragraphs - 1))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, count])]
    body = []
    for size in sizes:
        start = rng.randrange(0, len(pool) - size)
        body.append(" ".join(pool[start:start + size]))
    day = dt.date(2010, 1, 1) + dt.timedelta(days=rng.randrange((dt.date(2025, 12, 31) - dt.date(2010, 1, 1)).days + 1))
    return {"id": f"news-{n:06d}", "title": rng.choice(titles), "date": day.isoformat(),
            "source": PUBLISHERS[rng.randrange(len(PUBLISHERS))], "text": "\n\n".join(body)}


def make_collections(paths: Paths, sizes: list[str]) -> dict:
    """Write the corpus folders (skipped when a folder already holds the right number of files)."""
    out = {}
    for size in sizes:
        folder = paths.corpus(size)
        expected = {"S1": 2067, "S2": 2067 + 98}.get(size) or SYNTHETIC[size]
        if folder.is_dir() and sum(1 for _ in folder.glob("*.md")) == expected:
            out[size] = {"articles": expected, "reused": True}
            continue
        log(f"data: writing {size} into {folder}")
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        t0 = time.perf_counter()
        if size in ("S1", "S2"):
            for p in squad_paragraphs():
                write_article(folder, p["id"], p["title"], None, "SQuAD v1.1 dev (Wikipedia)", p["text"])
            if size == "S2":
                for p in covid_papers():
                    write_article(folder, p["id"], p["title"], p["date"], "COVID-QA (PubMed Central)", p["text"])
        else:
            pool, titles = sentence_pool()
            for n in range(SYNTHETIC[size]):
                a = synthetic_article(n, pool, titles)
                write_article(folder, a["id"], a["title"], a["date"], a["source"], a["text"])
        files = sorted(folder.glob("*.md"))
        out[size] = {"articles": len(files), "bytes": sum(f.stat().st_size for f in files),
                     "seconds": time.perf_counter() - t0}
    return out


# ---------------------------------------------------------------- embeddings, computed once


class CachedEmbedder:
    """The real encoder behind a cache: sha256(text) -> float32 vector in SQLite; misses embedded by the model.

    With ``stand_in``, a text holding a line break (a chunk: the title, a newline, the chunk) is not embedded:
    its vector is the normalised mean of its sentences' vectors (qa.chunking.split_sentences; each sentence
    from the cache, or the model for the few that are new).
    """

    DIM = 384

    def __init__(self, db_path: Path = EMBED_DB, *, stand_in: bool = False, threads: int = 2, readonly=False):
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.db_path, timeout=600, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS vec (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")
        self.db.commit()
        self.stand_in = stand_in
        self.threads = threads
        self.readonly = readonly
        self._model = None
        self._lock = threading.Lock()
        self.stats = {"calls": 0, "texts": 0, "hits": 0, "model_sentences": 0, "model_chunks": 0,
                      "model_s": 0.0, "stand_ins": 0, "stand_in_s": 0.0, "seconds": 0.0}

    @property
    def model(self):
        if self._model is None:
            use_qa()
            from qa.config import Settings
            from qa.embedding import onnx_embedder
            from qa.index import encoder_cache_dir

            self._model = onnx_embedder(encoder_cache_dir(Settings()), threads=self.threads)
        return self._model

    @staticmethod
    def key(text: str) -> bytes:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()

    def lookup(self, keys: list[bytes]) -> dict[bytes, bytes]:
        found = {}
        for i in range(0, len(keys), 900):
            part = keys[i:i + 900]
            marks = ",".join("?" * len(part))
            found.update(self.db.execute(f"SELECT k, v FROM vec WHERE k IN ({marks})", part).fetchall())
        return found

    def _model_embed(self, texts: list[str], batch_size: int):
        import numpy as np

        if not texts:
            return np.zeros((0, self.DIM), np.float32)
        t = time.perf_counter()
        vectors = self.model.embed(texts, batch_size=batch_size)
        self.stats["model_s"] += time.perf_counter() - t
        for text in texts:
            self.stats["model_chunks" if "\n" in text else "model_sentences"] += 1
        if not self.readonly:
            self.db.executemany("INSERT OR IGNORE INTO vec VALUES (?, ?)",
                                [(self.key(x), v.astype(np.float32).tobytes()) for x, v in zip(texts, vectors)])
            self.db.commit()
        return vectors

    @staticmethod
    def _pieces(text: str, starts: dict[str, list[str]]) -> list[str]:
        """A chunk text's title and sentences: the body is walked sentence by sentence, each found among the
        call's own sentence texts by its opening characters; what matches none is split by split_sentences."""
        title, body = text.split("\n", 1)
        out, pos = [title], 0
        while pos < len(body):
            while pos < len(body) and body[pos].isspace():
                pos += 1
            if pos >= len(body):
                break
            found = next((x for x in starts.get(body[pos:pos + 24], ()) if body.startswith(x, pos)), None)
            if found is None:
                from qa.chunking import split_sentences

                rest = body[pos:]
                out += [rest[a:b] for a, b in split_sentences(rest)]
                break
            out.append(found)
            pos += len(found)
        return out

    def embed(self, texts, *, batch_size: int = 8, progress: bool = False):
        import numpy as np

        with self._lock:
            t0 = time.perf_counter()
            texts = list(texts)
            self.stats["calls"] += 1
            self.stats["texts"] += len(texts)
            out = np.empty((len(texts), self.DIM), dtype=np.float32)
            keys = [self.key(x) for x in texts]
            found = self.lookup(list(set(keys)))
            todo, standin = {}, []
            for i, (x, k) in enumerate(zip(texts, keys)):
                v = found.get(k)
                if v is not None:
                    out[i] = np.frombuffer(v, dtype=np.float32)
                    self.stats["hits"] += 1
                elif self.stand_in and "\n" in x:
                    standin.append(i)
                else:
                    todo.setdefault(x, []).append(i)
            if todo:
                vectors = self._model_embed(list(todo), batch_size)
                for x, v in zip(todo, vectors):
                    out[todo[x]] = v
            if standin:
                t = time.perf_counter()
                own = {x: i for i, x in enumerate(texts) if "\n" not in x}  # this call's sentences (the build
                starts: dict[str, list[str]] = {}  # sends an article's chunks and sentences in one call)
                for x in sorted(own, key=len, reverse=True):
                    starts.setdefault(x[:24], []).append(x)
                pieces = {i: self._pieces(texts[i], starts) for i in standin}
                need = sorted({p for ps in pieces.values() for p in ps if p not in own})
                pk = {p: self.key(p) for p in need}
                have = self.lookup(list(set(pk.values())))
                missing = [p for p in need if pk[p] not in have]
                self.stats["stand_in_s"] += time.perf_counter() - t
                vecs = {p: np.frombuffer(have[pk[p]], dtype=np.float32) for p in need if pk[p] in have}
                vecs.update(zip(missing, self._model_embed(missing, batch_size)))
                t = time.perf_counter()
                for i in standin:
                    mean = np.mean([out[own[p]] if p in own else vecs[p] for p in pieces[i]], axis=0)
                    out[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
                self.stats["stand_ins"] += len(standin)
                self.stats["stand_in_s"] += time.perf_counter() - t
            self.stats["seconds"] += time.perf_counter() - t0
            return out


def article_texts(article, settings) -> tuple[list[str], list[str]]:
    """(chunk texts, sentence texts) exactly as the index build embeds them."""
    from qa.chunking import article_sentences, chunk_article, get_encoding
    from qa.index import chunk_embedding_text

    ss = article_sentences(article)
    cs = chunk_article(article, ss, encoding=get_encoding(settings.encoding), max_tokens=settings.max_tokens,
                       overlap=settings.overlap)
    return [chunk_embedding_text(article, c) for c in cs], [s.text for s in ss]


def read_article(path: Path):
    """The one article of a Markdown file of a generated collection, read as `qa index` reads it."""
    use_qa()
    from qa.readers import read_file
    from qa.readers.base import SourceFile

    st = path.stat()
    articles, _ = read_file(SourceFile(path.resolve(), path.name, st.st_size, st.st_mtime_ns))
    return articles[0]


def read_corpus(folder: Path):
    use_qa()
    from qa.corpus import load_articles

    return load_articles(folder)


def prewarm(paths: Paths, size: str) -> dict:
    """Embed (into the cache) every text a build of ``size`` embeds, except N100k-style chunk stand-ins."""
    use_qa()
    from qa.config import Settings

    settings = Settings()
    emb = CachedEmbedder(stand_in=size in STAND_IN)
    t0 = time.perf_counter()
    batch: list[str] = []
    counts = {"articles": 0, "chunks": 0, "sentences": 0}
    last = time.monotonic()
    articles = read_corpus(paths.corpus(size))
    for a in articles:
        chunks, sentences = article_texts(a, settings)
        counts["articles"] += 1
        counts["chunks"] += len(chunks)
        counts["sentences"] += len(sentences)
        batch += chunks + sentences
        if len(batch) >= 2048:
            emb.embed(batch)
            batch = []
            if time.monotonic() - last > 60:
                last = time.monotonic()
                log(f"embed {size}: {counts['articles']:,}/{len(articles):,} articles; {emb.stats}")
    if batch:
        emb.embed(batch)
    return {**stamp(), **counts, "seconds": time.perf_counter() - t0, "embedder": emb.stats}


# ---------------------------------------------------------------- questions


def squad_questions(sample: int | None, seed: int):
    """SQuAD v1.1 dev questions (load_squad's own sampling: random.Random(seed).sample), each re-pointed at
    its paragraph's article (S1's ids) with its gold spans shifted into the paragraph."""
    use_qa()
    from qa.squad import PARAGRAPH_SEPARATOR, load_squad

    _, questions = load_squad(external("squad-v1.1"), sample=sample, seed=seed)
    doc = external_json("squad-v1.1")
    from qa.squad import slugify

    where = {}  # question id -> (paragraph id, start of the paragraph in the joined article)
    for entry in doc["data"]:
        slug, offset = slugify(entry["title"]), 0
        for n, p in enumerate(entry["paragraphs"], 1):
            for q in p["qas"]:
                where[q["id"]] = (f"{slug}-p{n}", offset, offset + len(p["context"]))
            offset += len(p["context"]) + len(PARAGRAPH_SEPARATOR)
    out = []
    for q in questions:
        pid, lo, hi = where[q.id]
        gold = tuple(replace(g, article_id=pid, start=g.start - lo, end=g.end - lo) for g in q.gold
                     if lo <= g.start < hi)
        out.append(replace(q, articles=(pid,) if q.articles else (), gold=gold))
    return out


def synthetic_questions(folder: Path, n: int, seed: int) -> list[str]:
    """Questions made from the collection's own sentences: a sentence of 8-40 words with one number or
    capitalised word (not the first) replaced by 'what', ending in '?'."""
    use_qa()
    from qa.chunking import split_sentences

    rng = random.Random(seed)
    files = sorted(folder.glob("*.md"))
    out = []
    while len(out) < n:
        path = files[rng.randrange(len(files))]
        a = read_article(path)
        spans = split_sentences(a.text)
        rng.shuffle(spans)
        for s, e in spans:
            words = a.text[s:e].split()
            if not 8 <= len(words) <= 40:
                continue
            slots = [i for i, w in enumerate(words[1:], 1) if re.fullmatch(r"[A-Z][a-z]{2,}|\d[\d,.]*", w)]
            if not slots:
                continue
            i = rng.choice(slots)
            words[i] = "what"
            out.append(re.sub(r"[.!;:,]+$", "", " ".join(words)) + "?")
            break
    return out


def plain_questions(paths: Paths, size: str, n: int, seed: int = 1) -> list[str]:
    if size in ("S1", "S2"):
        return [q.question for q in squad_questions(n, seed)]
    return synthetic_questions(paths.corpus(size), n, seed)


ONE_SHOT = {"S1": "When did the 1973 oil crisis begin?", "S2": "When did the 1973 oil crisis begin?"}


def one_shot_question(paths: Paths, size: str) -> str:
    return ONE_SHOT.get(size) or synthetic_questions(paths.corpus(size), 1, 7)[0]


# ---------------------------------------------------------------- throughput of the real encoder


def part_throughput(paths: Paths, quick: bool) -> dict:
    """Texts per second of the real ONNX encoder (threads=2, batch_size as Settings), on a sample of N10k's
    (or, quick, S1's) sentences and chunks, each kind embedded alone."""
    use_qa()
    from qa.config import Settings
    from qa.embedding import onnx_embedder
    from qa.index import encoder_cache_dir

    settings = Settings()
    size = "S1" if quick or not paths.corpus("N10k").is_dir() else "N10k"
    rng = random.Random(0)
    files = sorted(paths.corpus(size).glob("*.md"))

    chunks, sentences = [], []
    for path in rng.sample(files, min(len(files), 80 if quick else 400)):
        c, s = article_texts(read_article(path), settings)
        chunks += c
        sentences += s
    n_s, n_c = (300, 60) if quick else (1500, 300)
    sentences, chunks = rng.sample(sentences, min(n_s, len(sentences))), rng.sample(chunks, min(n_c, len(chunks)))
    model = onnx_embedder(encoder_cache_dir(settings), threads=2)
    model.warm_up()
    model.embed(sentences[:16], batch_size=settings.batch_size)
    out = {**stamp(), "sample_of": size, "batch_size": settings.batch_size, "threads": 2}
    for nice in (NICE_LONG, 0):  # as the niced builds here run, and as a user's `qa index` would
        with niced(False):
            os.setpriority(os.PRIO_PROCESS, 0, nice)
            for kind, texts in (("sentences", sentences), ("chunks", chunks)):
                before = load_avg()
                t = time.perf_counter()
                model.embed(texts, batch_size=settings.batch_size)
                sec = time.perf_counter() - t
                out.setdefault(kind if nice else f"{kind}_nice0", {}).update({
                    "texts": len(texts), "seconds": sec, "per_s": len(texts) / sec, "load_before": before,
                    "load_after": load_avg(), "mean_chars": statistics.fmean(len(x) for x in texts), "niceness": nice})
    return out


# ---------------------------------------------------------------- full build (a child process)


def worker_build(size: str, corpus: Path, index: Path, out: Path) -> None:
    """In the child: the real encoder loaded first (so peak RSS includes it, as in `qa index`), then
    refresh_index over the corpus folder with the caching embedder."""
    import resource

    use_qa()
    from qa.config import Settings
    from qa.index import BuildOptions
    from qa.pipeline import refresh_index

    shutil.rmtree(index, ignore_errors=True)
    emb = CachedEmbedder(stand_in=size in STAND_IN)
    t = time.perf_counter()
    emb.model.warm_up()
    emb.model.embed(["word " * 190] * 16, batch_size=8)  # the encoder's arenas, as a build's first batch has
    encoder_s = time.perf_counter() - t
    settings = Settings(corpus_dir=corpus, index_dir=index)
    t = time.perf_counter()
    report = refresh_index(settings, BuildOptions(embedder_factory=lambda _dir: emb, log=lambda m: log(f"build: {m}")))
    build_s = time.perf_counter() - t
    out.write_text(json.dumps({
        "build_s": build_s, "encoder_load_s": encoder_s, "articles": report.articles, "chunks": report.chunks,
        "sentences": report.sentences, "segments": report.segments, "summary": report.summary(),
        "embedder": emb.stats, "maxrss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def part_build(paths: Paths, size: str) -> dict:
    out = paths.logs / f"build-{size}.json"
    with open(paths.logs / f"build-{size}.log", "w") as err:
        before = stamp()
        run = run_measured([sys.executable, str(Path(__file__).resolve()), "_build", size, str(paths.corpus(size)),
                            str(paths.index(size)), str(out)], stderr=err, timeout=6 * 3600)
    child = json.loads(out.read_text())
    return {"start": before, "end": stamp(), "wall_s": run["wall_s"], "peak_rss_mb": run["peak_rss_mb"],
            **child, "disk": index_disk(paths.index(size))}


# ---------------------------------------------------------------- the CLI as a user runs it


def qa_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "qa", *args]


def profile_top(prof: Path, n: int = 22) -> list[str]:
    """The costliest calls of a cProfile run by cumulative time, import machinery left out."""
    import pstats

    st = pstats.Stats(str(prof)).stats
    rows = []
    for (file, line, func), (cc, nc, tt, ct, _) in st.items():
        if "<frozen" in file or func in ("<module>", "exec", "__import__", "_handle_fromlist") or file == "~" and \
                func.startswith("<built-in method builtins.exec"):
            continue
        short = re.sub(r"^.*/site-packages/", "", file).replace(str(REPO) + "/", "")
        rows.append((ct, tt, nc, f"{short}:{line}({func})"))
    rows.sort(reverse=True)
    return [f"{ct:7.3f} s cum {tt:7.3f} s own {nc:>8} calls  {name}" for ct, tt, nc, name in rows[:n]]


def edit_one(corpus: Path) -> tuple[Path, bytes]:
    files = sorted(corpus.glob("*.md"))
    victim = files[len(files) // 2]
    original = victim.read_bytes()
    note = f"\n\nThe scale benchmark added this sentence (edit {time.time_ns()}) to change one article.\n"
    victim.write_bytes(original + note.encode())
    return victim, original


def part_cli(paths: Paths, size: str, reps: int) -> dict:
    corpus, index = str(paths.corpus(size)), str(paths.index(size))
    where = ["--corpus", corpus, "--index", index]
    res = {"start": stamp()}
    runs = []
    for _ in range(reps):
        r = run_measured(qa_cmd("index", *where))
        runs.append({"wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"], "load": load_avg(),
                     "out": r["stdout"].strip()[-300:]})
    res["nochange"] = {"runs": runs, "median_s": statistics.median(r["wall_s"] for r in runs)}
    question = one_shot_question(paths, size)
    runs = []
    for _ in range(reps):
        r = run_measured(qa_cmd("ask", question, *where))
        runs.append({"wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"], "load": load_avg(),
                     "answer": r["stdout"].strip()[:200]})
    res["one_shot"] = {"question": question, "runs": runs, "median_s": statistics.median(r["wall_s"] for r in runs)}
    prof = paths.logs / f"ask-{size}.prof"
    run_measured([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "qa", "ask", question, *where])
    res["one_shot"]["profile"] = profile_top(prof)
    prof = paths.logs / f"nochange-{size}.prof"
    run_measured([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "qa", "index", *where])
    res["nochange"]["profile"] = profile_top(prof)
    victim, original = edit_one(paths.corpus(size))
    try:
        r = run_measured(qa_cmd("index", *where))
        res["update"] = {"file": victim.name, "wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"],
                         "load": load_avg(), "out": r["stdout"].strip()[-400:]}
    finally:
        victim.write_bytes(original)
    r = run_measured(qa_cmd("index", *where))
    res["revert"] = {"wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"], "load": load_avg(),
                     "out": r["stdout"].strip()[-400:]}
    res["disk_after"] = index_disk(paths.index(size))
    res["end"] = stamp()
    return res


# ---------------------------------------------------------------- qa serve


def worker_serve_split(corpus: Path, index: Path, out: Path) -> None:
    """In a child: what `qa serve` does before it listens (qa.web.server.serve), step by step, build_app profiled."""
    import cProfile

    use_qa()
    t0 = time.perf_counter()
    import gradio  # noqa: F401

    t1 = time.perf_counter()
    from qa.web.server import build_app
    from qa.config import Settings
    from qa.pipeline import Engine

    t2 = time.perf_counter()
    engine = Engine.open(Settings(corpus_dir=corpus, index_dir=index))
    t3 = time.perf_counter()
    engine.warm_up()
    t4 = time.perf_counter()
    prof = cProfile.Profile()
    prof.enable()
    build_app(engine)
    prof.disable()
    t5 = time.perf_counter()
    path = out.with_suffix(".prof")
    prof.dump_stats(str(path))
    out.write_text(json.dumps({"import gradio": t1 - t0, "import qa.web.server, qa.pipeline": t2 - t1,
                               "Engine.open (staleness check + load_index + Engine)": t3 - t2,
                               "encoder warm_up": t4 - t3, "build_app (the Gradio page)": t5 - t4,
                               "build_app_profile": profile_top(path, 15)}))


def part_serve(paths: Paths, size: str, n_questions: int) -> dict:
    import httpx

    port = free_port()
    res = {"start": stamp()}
    out_path, err_path = paths.logs / f"serve-{size}.out", paths.logs / f"serve-{size}.err"
    questions = plain_questions(paths, size, n_questions // 2, seed=3)
    with open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(qa_cmd("serve", "--port", str(port), "--corpus", str(paths.corpus(size)), "--index",
                                       str(paths.index(size))), cwd=REPO, env=child_env(), stdout=out, stderr=err)
    try:
        ready = None
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            while time.perf_counter() - start < 1800:
                if proc.poll() is not None:
                    raise SystemExit(f"qa serve exited:\n{err_path.read_text(errors='replace')[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    page = client.get("/")
                    if page.status_code == 200:
                        ready = time.perf_counter() - start
                        break
                time.sleep(0.05)
            if ready is None:
                raise SystemExit("qa serve did not answer GET / within 30 minutes")
            res["ready_s"] = ready
            res["ready_load"] = load_avg()
            res["page_bytes"] = len(page.content)
            with contextlib.suppress(httpx.HTTPError):
                res["config_bytes"] = len(client.get("/config").content)
            res["memory_ready"] = tree_memory(proc.pid)
            plain, follow = [], []
            for i, q in enumerate(questions):
                sec, answer = ask_http(client, q, [])
                plain.append(sec)
                history = [{"role": "user", "content": q},
                           {"role": "assistant", "content": answer.get("answer") or answer.get("message", "")}]
                sec, _ = ask_http(client, FOLLOWUPS[i % len(FOLLOWUPS)], history)
                follow.append(sec)
            res["http_plain"], res["http_followup"] = summary_ms(plain), summary_ms(follow)
            res["questions"] = len(plain) + len(follow)
            res["memory_after"] = tree_memory(proc.pid)
            api = client.post("/api/ask", json={"question": questions[0], "history": []})
            res["api_ask_status"] = api.status_code  # README documents /gradio_api/call/ask; is there /api/ask?
    finally:
        kill_tree(proc)
    out = paths.logs / f"serve-split-{size}.json"
    run_measured([sys.executable, str(Path(__file__).resolve()), "_servesplit", str(paths.corpus(size)),
                  str(paths.index(size)), str(out)])
    res["startup_split"] = json.loads(out.read_text())
    res["end"] = stamp()
    return res


# ---------------------------------------------------------------- warm engine.ask, in process


def open_engine(index_dir: Path, corpus_dir: Path):
    use_qa()
    from qa.config import Settings
    from qa.index import load_index
    from qa.pipeline import Engine

    settings = Settings(corpus_dir=corpus_dir, index_dir=index_dir)
    t = time.perf_counter()
    index = load_index(index_dir)
    t1 = time.perf_counter()
    engine = Engine(index, settings)
    t2 = time.perf_counter()
    engine.warm_up()
    return engine, {"load_index_s": t1 - t, "engine_s": t2 - t1, "encoder_s": time.perf_counter() - t2}


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def history_of(question: str, answer) -> list[dict]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer or answer.message}]


def part_warm(paths: Paths, size: str, n: int) -> dict:
    sys.path.insert(0, str(HERE))
    from latency import PARTS as STAGES, PartTimer

    engine, opened = open_engine(paths.index(size), paths.corpus(size))
    questions = plain_questions(paths, size, n + 20, seed=1)
    warmup, questions = questions[:20], questions[20:]
    for q in warmup:
        a = engine.ask(q)
        engine.ask(FOLLOWUPS[0], history_of(q, a))
    res = {"start": stamp(), "opened": opened, "chunks": engine.index.n_chunks, "sentences": engine.index.n_sentences,
           "articles": len(engine.articles), "rss_after_open_mb": rss_mb()}
    timer = PartTimer(engine)

    def timed(text, hist, parts, totals):
        timer.current = {}
        t = time.perf_counter()
        a = engine.ask(text, hist)
        total = time.perf_counter() - t
        totals.append(total)
        for p in STAGES:
            parts[p].append(timer.current.get(p, 0.0))
        parts["other"].append(total - sum(timer.current.get(p, 0.0) for p in STAGES))
        return a

    # As in a chat: each question, then a follow-up to its answer. Two passes over the same questions:
    # the first reads each candidate's rows from the mapped files for the first time (from disk unless
    # the page cache has them), the second finds them cached, as a server that has run a while does.
    try:
        for run in ("first", "again"):
            got = {k: ([], {p: [] for p in (*STAGES, "other")}) for k in ("plain", "followup")}
            abstained = 0
            for i, q in enumerate(questions):
                a = timed(q, [], got["plain"][1], got["plain"][0])
                abstained += a.abstained
                timed(FOLLOWUPS[i % len(FOLLOWUPS)], history_of(q, a), got["followup"][1], got["followup"][0])
            key = "" if run == "again" else "first_"
            res[f"{key}plain_abstained"] = abstained
            for kind, (totals, parts) in got.items():
                res[key + kind] = {"total": summary_ms(totals), "parts": {p: summary_ms(v) for p, v in parts.items()},
                                   "load": load_avg()}
    finally:
        timer.restore()
    res["rss_mb"] = rss_mb()
    res["end"] = stamp()
    return res


# ---------------------------------------------------------------- reload while asking


class Asker(threading.Thread):
    """Keeps asking plain questions (through ``ask``), recording each one's start and end."""

    def __init__(self, ask, questions):
        super().__init__(daemon=True)
        self.ask, self.questions = ask, questions
        self.times: list[tuple[float, float]] = []
        self.errors: list[str] = []
        self._halt = threading.Event()

    def run(self) -> None:
        i = 0
        while not self._halt.is_set():
            t = time.perf_counter()
            try:
                self.ask(self.questions[i % len(self.questions)])
            except Exception as exc:  # noqa: BLE001 - a failure during the swap is a finding
                self.errors.append(repr(exc))
            self.times.append((t, time.perf_counter()))
            i += 1

    def stop(self) -> None:
        self._halt.set()
        self.join()


class MemPoller(threading.Thread):
    def __init__(self, every: float = 0.01):
        super().__init__(daemon=True)
        import psutil

        self.proc, self.every = psutil.Process(), every
        self.samples: list[tuple[float, float]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append((time.perf_counter(), self.proc.memory_info().rss / 2**20))
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _window(times, lo: float, hi: float) -> list[float]:
    """Durations (s) of the questions that overlapped [lo, hi]."""
    return [b - a for a, b in times if b >= lo and a <= hi]


def reload_once(engine, ask, questions, do_reload, steady_s: float) -> dict:
    asker, mem = Asker(ask, questions), MemPoller()
    mem.start()
    asker.start()
    time.sleep(steady_s)
    t0 = time.perf_counter()
    do_reload()
    t1 = time.perf_counter()
    time.sleep(steady_s)
    asker.stop()
    mem.stop()
    steady = [b - a for a, b in asker.times if b < t0]
    during = _window(asker.times, t0, t1)
    steady_rss = statistics.median(r for t, r in mem.samples if t < t0)
    peak = max(r for t, r in mem.samples if t >= t0)
    return {"reload_s": t1 - t0, "steady": summary_ms(steady), "during": summary_ms(during),
            "longest_wait_ms": max(during) * 1000 if during else 0.0, "asked_during": len(during),
            "steady_rss_mb": steady_rss, "peak_rss_mb": peak, "peak_ratio": peak / steady_rss,
            "after_rss_mb": mem.samples[-1][1], "errors": asker.errors[:5]}


def part_reload(paths: Paths, size: str, steady_s: float) -> dict:
    """engine.reload() after a one-article `qa index`, while another thread asks; then the same as `qa serve`
    does it: questions through the server's pool (qa.web.gate.EngineGate, 2 workers, two asking threads)
    while its ReloadWatcher swaps the new generation in on its own thread."""
    use_qa()
    from qa.web.gate import EngineGate, ReloadWatcher

    corpus, index = paths.corpus(size), paths.index(size)
    engine, _ = open_engine(index, corpus)
    questions = plain_questions(paths, size, 60, seed=5)
    for q in questions[:10]:
        engine.ask(q)
    res = {"start": stamp()}
    where = ["--corpus", str(corpus), "--index", str(index)]
    victim, original = edit_one(corpus)
    try:
        res["update"] = {k: v for k, v in run_measured(qa_cmd("index", *where)).items() if k != "stderr"}
        res["direct"] = reload_once(engine, engine.ask, questions, lambda: res.setdefault("reasons", engine.reload()),
                                    steady_s)
    finally:
        victim.write_bytes(original)
    run_measured(qa_cmd("index", *where))  # the edit reverted: another generation to swap in
    gate, watcher = EngineGate(engine, concurrency=2), ReloadWatcher(engine, interval=3600.0)
    other = Asker(lambda q: gate.ask(q, []), questions[30:])
    other.start()
    try:
        res["gate"] = reload_once(engine, lambda q: gate.ask(q, []), questions, watcher.check, steady_s)
    finally:
        other.stop()
        gate.close()
    g = res["gate"]
    g["longest_wait_ms"] = max(g["longest_wait_ms"], max((b - a) * 1000 for a, b in other.times) if other.times else 0)
    g["other_thread"] = summary_ms([b - a for a, b in other.times])
    res["end"] = stamp()
    return res


# ---------------------------------------------------------------- exact versus HNSW on real vectors


def query_vectors(n: int):
    """``n`` real question embeddings (SQuAD v1.1 dev questions, sample seed 2) from the real encoder."""
    use_qa()
    from qa.config import Settings
    from qa.embedding import onnx_embedder
    from qa.index import encoder_cache_dir

    model = onnx_embedder(encoder_cache_dir(Settings()), threads=2)
    return model.embed([q.question for q in squad_questions(n, 2)])


def live_vectors(index_dir: Path):
    import numpy as np

    use_qa()
    from qa.index import load_index

    index = load_index(index_dir, resident=False)
    rows = np.flatnonzero(index.live_chunks)
    return index, np.ascontiguousarray(index.chunk_vectors_at(rows)), rows


def exact_top(x, q, k: int = 10):
    import numpy as np

    s = x @ q
    top = np.argpartition(-s, k - 1)[:k]
    return top[np.argsort(-s[top])]


def recall_at(found, truth) -> float:
    return sum(len(set(map(int, a)) & set(map(int, b))) for a, b in zip(found, truth)) / (len(truth) * len(truth[0]))


def hnsw_point(x, queries, label: str) -> dict:
    import faiss
    import numpy as np

    use_qa()
    from qa.index.segment import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M

    n = len(x)
    log(f"hnsw: {label}, {n:,} rows")
    truth = [exact_top(x, q) for q in queries]
    times = []
    for q in queries:
        t = time.perf_counter()
        exact_top(x, q)
        times.append(time.perf_counter() - t)
    res = {"rows": n, "label": label, "start": stamp(), "exact": summary_ms(times)}
    t = time.perf_counter()
    index = faiss.IndexHNSWFlat(x.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    for s in range(0, n, 50_000):
        index.add(x[s:s + 50_000])
    res["hnsw_build_s"] = time.perf_counter() - t
    res["hnsw_build_load"] = load_avg()
    res["ef"] = {}
    for ef in (64, HNSW_EF_SEARCH, 256):
        index.hnsw.efSearch = ef
        found, times = [], []
        for q in queries:
            t = time.perf_counter()
            _, ids = index.search(q[None, :].astype(np.float32), 10)
            times.append(time.perf_counter() - t)
            found.append(ids[0])
        res["ef"][str(ef)] = {"recall@10": recall_at(found, truth), "latency": summary_ms(times)}
    res["end"] = stamp()
    return res


def engine_dense(index, x, rows, queries) -> dict:
    """The loaded index's own dense_top (its segments' HNSW graphs or exact search) against exact search."""
    import numpy as np

    found, times = [], []
    for q in queries:
        t = time.perf_counter()
        top = index.dense_top(q, 10)
        times.append(time.perf_counter() - t)
        found.append(sorted(top, key=lambda r: -top[r]))
    truth = [rows[exact_top(x, q)] for q in queries]
    res = {"segments": [(s.info.chunks, s.hnsw is not None) for s in index.segments],
           "recall@10": recall_at([np.array(f) for f in found], truth), "latency": summary_ms(times)}
    # An exactly searched segment with deleted articles: dense_top gathers the live rows' vectors first
    # (seg.chunk_vectors[rows] @ q, a copy of every live row); the alternative scores every row and masks.
    for seg, off in zip(index.segments, index.chunk_offsets):
        mask = index.live_chunks[off:off + seg.info.chunks]
        if seg.hnsw is not None or mask.all() or seg.info.chunks < 1000:
            continue
        live = np.flatnonzero(mask)
        gather, masked = [], []
        for q in queries:
            t = time.perf_counter()
            sc = seg.chunk_vectors.all()[live] @ q
            np.argpartition(-sc, 9)[:10]
            gather.append(time.perf_counter() - t)
            t = time.perf_counter()
            sc = np.where(mask, seg.chunk_vectors.all() @ q, -np.inf)
            np.argpartition(-sc, 9)[:10]
            masked.append(time.perf_counter() - t)
        res.setdefault("deleted_rows_exact", []).append({"chunks": seg.info.chunks, "live": len(live),
                                                         "gather_then_score": summary_ms(gather),
                                                         "score_all_then_mask": summary_ms(masked)})
    return res


def part_hnsw(paths: Paths, sizes: list[str], quick: bool) -> dict:
    queries = query_vectors(40 if quick else 200)
    res = {"start": stamp(), "queries": len(queries), "points": [], "engine": {}}
    plan = {"S1": [], "S2": [], "N1k": [5_000], "N10k": [20_000, 50_000, None], "N100k": [100_000]}  # N100k whole: its own segments' graphs, below
    for size in sizes:
        if size not in plan or not (paths.index(size) / "CURRENT").exists():
            continue
        index, x, rows = live_vectors(paths.index(size))
        res["engine"][size] = engine_dense(index, x, rows, queries)
        for n in plan[size]:
            if n is None or n <= len(x):
                res["points"].append({"source": size, "stand_in": size in STAND_IN,
                                      **hnsw_point(x[:n] if n else x, queries, size)})
        del index, x
    res["end"] = stamp()
    return res


# ---------------------------------------------------------------- quality: before/after, across the switch


def worker_quality(root: str, corpora: str, index_dir: str, n: int, out: str, exact_too: bool) -> None:
    global QA_ROOT
    QA_ROOT = Path(root)
    use_qa()
    import qa

    if not Path(qa.__file__).resolve().is_relative_to(Path(root).resolve()):
        raise SystemExit(f"qa imported from {qa.__file__}, not {root}")
    from qa.config import Settings
    from qa.corpus import load_articles
    from qa.evaluate import evaluate
    from qa.index import BuildOptions, build_index
    from qa.pipeline import Engine

    folders = [Path(c) for c in corpora.split(",")]
    articles = [a for f in folders for a in load_articles(f)]
    settings = Settings(corpus_dir=folders[0], index_dir=Path(index_dir))
    shutil.rmtree(index_dir, ignore_errors=True)
    emb = CachedEmbedder()
    t = time.perf_counter()
    build_index(articles, settings, BuildOptions(embedder_factory=lambda _dir: emb))
    build_s = time.perf_counter() - t
    engine = Engine.load(Path(index_dir), settings)
    questions = squad_questions(n, 0)

    def run() -> dict:  # reads ``engine`` when called (the exact variant replaces it)
        t = time.perf_counter()
        r = evaluate(engine, questions, methods=("hybrid",), progress=False)
        m = r["methods"]["hybrid"]
        other = sum(1 for f in r["failures"] if f["reason"] == "no citation on a gold article")
        return {"recall@1": m["recall@1"], "answer@1": m["answer@1"], "recall@5": m.get("recall@5"),
                "answer_phrase_any_article": m["answer@1"] + other / max(m["answerable"], 1),
                "false_abstention_rate": m.get("false_abstention_rate"), "seconds": time.perf_counter() - t,
                "failed": sorted(f["id"] for f in r["failures"])}

    res = {"qa_file": qa.__file__, "articles": len(articles), "questions": len(questions), "build_s": build_s,
           "embedder": emb.stats, "start": stamp()}
    index = getattr(engine, "index", None)
    if index is not None and hasattr(index, "segments"):
        res["segments"] = [(s.info.chunks, s.hnsw is not None) for s in index.segments]
    res["as_built"] = run()
    if exact_too and index is not None and hasattr(index, "segments"):
        from qa.index import load_index

        engine = Engine(load_index(Path(index_dir), approximate=False), settings)  # dense search exact everywhere
        res["exact"] = run()
    res["end"] = stamp()
    shutil.rmtree(index_dir, ignore_errors=True)
    Path(out).write_text(json.dumps(res))


def run_quality_worker(paths: Paths, label: str, root: Path, corpora: list[Path], n: int, exact_too: bool) -> dict:
    out = paths.logs / f"quality-{label}.json"
    with open(paths.logs / f"quality-{label}.log", "w") as err:
        run_measured([sys.executable, str(Path(__file__).resolve()), "_quality", str(root),
                      ",".join(map(str, corpora)), str(paths.indexes / f"quality-{label}"), str(n), str(out),
                      "1" if exact_too else "0"], cwd=root, stderr=err, timeout=4 * 3600)
    return json.loads(out.read_text())


def part_quality(paths: Paths, n: int, mixed_with: str | None) -> dict:
    res = {"start": stamp(), "n": n, "seed": 0}
    s1 = paths.corpus("S1")
    log("quality: current code on S1")
    res["current"] = run_quality_worker(paths, "S1-current", REPO, [s1], n, False)
    before = Path("/tmp/qa-before")
    if before.exists():
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(before)], check=False)
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(before), BEFORE_COMMIT], check=True,
                   capture_output=True)
    try:
        log(f"quality: code before the index change ({BEFORE_COMMIT}) on S1")
        res["before"] = run_quality_worker(paths, "S1-before", before, [s1], n, False)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(before)], check=False)
    res["before_commit"] = BEFORE_COMMIT
    if mixed_with and paths.corpus(mixed_with).is_dir() and not paths.quick:
        log(f"quality: current code on S1 + {mixed_with}, one build")
        res["mixed_with"] = mixed_with
        res["mixed"] = run_quality_worker(paths, f"S1-{mixed_with}", REPO, [s1, paths.corpus(mixed_with)], n, True)
    res["end"] = stamp()
    return res


# ---------------------------------------------------------------- main


def in_child(paths: Paths, part: str, size: str, arg) -> dict:
    out = paths.logs / f"{part}-{size}.json"
    with open(paths.logs / f"{part}-{size}.log", "w") as err:
        run_measured([sys.executable, str(Path(__file__).resolve()), "_part", part, "quick" if paths.quick else "full",
                      size, json.dumps(arg), str(out)], stderr=err, timeout=3 * 3600)
    return json.loads(out.read_text())


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_build"]:
        worker_build(argv[1], Path(argv[2]), Path(argv[3]), Path(argv[4]))
        return 0
    if argv[:1] == ["_part"]:  # a part run in a fresh process, so its RSS figures are its own
        paths, size, arg = Paths(argv[2] == "quick"), argv[3], json.loads(argv[4])
        fn = {"warm": part_warm, "reload": part_reload}[argv[1]]
        Path(argv[5]).write_text(json.dumps(fn(paths, size, arg), default=str))
        return 0
    if argv[:1] == ["_servesplit"]:
        worker_serve_split(Path(argv[1]), Path(argv[2]), Path(argv[3]))
        return 0
    if argv[:1] == ["_quality"]:
        worker_quality(argv[1], argv[2], argv[3], int(argv[4]), argv[5], argv[6] == "1")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help=f"comma-separated, of {', '.join(SIZES)} (default: all; --quick: S1,N1k)")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts, of {', '.join(PARTS)}")
    parser.add_argument("--quick", action="store_true", help="a ~5-minute smoke run (S1 and N1k, few repetitions)")
    args = parser.parse_args(argv)
    paths = Paths(args.quick)
    sizes = (args.sizes or ("S1,N1k" if args.quick else ",".join(SIZES))).split(",")
    parts = args.only.split(",")
    bad = [p for p in parts if p not in PARTS] + [s for s in sizes if s not in (*SIZES, "N1k")]
    if bad:
        parser.error(f"unknown part or size: {', '.join(bad)}")
    q = args.quick
    reps, serve_n, warm_n, steady, quality_n = (1, 10, 30, 1.0, 100) if q else (3, 100, 200, 3.0, 1000)
    def run_part(part: str, size: str | None, fn) -> None:
        with niced(part not in LATENCY_PARTS) as nice:
            log(f"{part} {size or ''} (niceness {nice})")
            data = fn()
        data["niceness"] = nice
        save(paths, part, size, data)

    if "data" in parts:
        old = load_result(paths, "data") or {"collections": {}}
        with niced(True):
            made = make_collections(paths, sizes)
        save(paths, "data", None, {**stamp(), "collections": old["collections"] | made, "recipe": RECIPE})
    if "embed" in parts:
        for size in sizes:
            run_part("embed", size, lambda: prewarm(paths, size))
    if "throughput" in parts:
        run_part("throughput", None, lambda: part_throughput(paths, q))
    for size in sizes:
        for part, fn in (("build", lambda: part_build(paths, size)), ("cli", lambda: part_cli(paths, size, reps)),
                         ("serve", lambda: part_serve(paths, size, serve_n)),
                         ("warm", lambda: in_child(paths, "warm", size, warm_n)),
                         ("reload", lambda: in_child(paths, "reload", size, steady))):
            if part in parts:
                run_part(part, size, fn)
    if "hnsw" in parts:
        run_part("hnsw", None, lambda: part_hnsw(paths, sizes, q))
    if "quality" in parts:
        run_part("quality", None, lambda: part_quality(paths, quality_n, "N1k" if q else "N10k"))
    if "report" in parts:
        paths.md.write_text(render(paths, sizes if q else list(SIZES)), "utf-8")
        log(f"wrote {paths.md}")
    return 0


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


def table(header, rows) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


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


if __name__ == "__main__":
    sys.exit(main())
