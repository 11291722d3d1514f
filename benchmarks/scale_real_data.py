"""The collections S1, S2, N10k, N100k as corpus folders, their embeddings (computed once) and their questions."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import random
import re
import shutil
import sqlite3
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import external, external_json  # noqa: E402
from scale_real_common import (  # noqa: E402
    EMBED_DB, PUBLISHERS, Paths, STAND_IN, SYNTHETIC, log, stamp, use_qa
)


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
