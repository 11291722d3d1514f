"""An index generation on Milvus, read through the Store seam (qa.index.backend).

The generation's manifest (in the index folder, as for the segmented index) names its collections and
what a reader may see of them: articles with a row below ``next[0]`` and not in ``retired`` (an update
inserts new rows and retires the old ones; they are deleted by the build after next, so a server still
on the previous generation never sees a half-written update). Per question: a filtered dense search, a
filtered BM25 search (its hits carry their vectors), the BM25 of the dense-only hits, the candidates'
sentences, and the articles quoted (each cached, bounded).
"""

from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Sequence

import numpy as np

from qa.errors import IndexCorruptError, UsageError
from qa.filters import Filter, date_bounds
from qa.index.backend import Candidates, Scope
from qa.index.milvus_schema import EF_SEARCH, PIECES, BackendError, connect, describe, explain, resolve_uri, token
from qa.index.segment import QUOTE_KEY_WORDS, QUOTED_MIN_CHARS, quote_key
from qa.index.store import ARTICLE_CACHE, ROW_CACHE, ArticleEntry
from qa.text import terms
from qa.types import Article, Chunk, Sentence

CHUNK_FIELDS = ["article", "article_id", "ordinal", "start", "end", "first", "count", "tokens", "date"]
SENTENCE_FIELDS = ["article", "ordinal", "start", "end", "speaker", "terms", "vector"]
IN_LIST = 2000  # ids per `in [...]` expression
VOCAB_CACHE = 65_536  # vocabulary counts kept (a few MB)


def _pk(hit) -> int:
    """A search hit's primary key (named after the field, or "id" by older servers)."""
    return int(hit["row"] if "row" in hit else hit["id"])


def signed(key: int) -> int:
    """A uint64 hash as Milvus's INT64."""
    return key - 2**64 if key >= 2**63 else key


def date_number(date: str | None, end: bool) -> int:
    """An ISO date (YYYY, YYYY-MM or YYYY-MM-DD) as a sortable YYYYMMDD number: its first day, or with
    ``end`` its last (0: undated)."""
    if not date:
        return 0
    lo, hi = date_bounds(date)
    return int((hi if end else lo).replace("-", ""))


def quoted(value: str) -> str:
    """A string literal for a Milvus expression."""
    return json.dumps(value, ensure_ascii=False)


class _Articles(Mapping):
    """The live articles by id; an article's text is read from Milvus when asked for."""

    def __init__(self, store: "MilvusStore"):
        self._store = store

    def __getitem__(self, article_id: str) -> Article:
        info = self._store.article_info(article_id) if isinstance(article_id, str) else None
        if info is None:
            raise KeyError(article_id)
        return self._store.article_at(info["row"])

    def __iter__(self) -> Iterator[str]:
        return iter([e.id for e in self._store.entries()])

    def __len__(self) -> int:
        return int(self._store.manifest.get("counts", {}).get("articles", 0))

    def __contains__(self, article_id: object) -> bool:
        return isinstance(article_id, str) and self._store.article_info(article_id) is not None


class MilvusStore:
    """One generation of an index on Milvus (see the module docstring).

    Usage example:
        store = open_milvus(Path("index"), (generation, manifest))
        store.candidates(vector, terms("who rated the council"), 50, None, "hybrid")
    """

    def __init__(self, path: Path, manifest: dict, client, uri: str):
        self.path = path
        self.manifest = manifest
        self.client = client
        self.uri = uri
        info = manifest["backend"]
        self.names: dict[str, str] = info["collections"]
        self.next_rows = info["next"]
        self.retired: list[int] = list(info.get("retired", []))
        self.dim = int(manifest.get("model", {}).get("dim") or 0)
        self.encoder_dir = path / "encoder" if manifest.get("encoder") else None
        self.query_encoder_dir = path / "encoder-int8" if manifest.get("query_encoder") else None
        self.articles = _Articles(self)
        self.n_chunks = int(manifest.get("counts", {}).get("chunks", 0))
        self._lock = threading.Lock()
        self._chunk_meta: OrderedDict[int, dict] = OrderedDict()
        self._sentence_rows: OrderedDict[int, dict] = OrderedDict()
        self._article_rows: OrderedDict[int, Article] = OrderedDict()
        self._article_info: OrderedDict[str, dict] = OrderedDict()
        self._entries: tuple[ArticleEntry, ...] | None = None
        self._vocab_cache: OrderedDict[str, int] = OrderedDict()
        self.calls = 0  # round trips to Milvus (benchmarks/milvus.py counts them per question)
        self.sentence = functools.lru_cache(maxsize=ROW_CACHE)(self._sentence)

    # -------------------------------------------------------- plumbing
    def _run(self, doing: str, fn, *args, **kwargs):
        self.calls += 1
        try:
            return fn(*args, **kwargs)
        except UsageError:
            raise
        except Exception as exc:
            raise explain(exc, self.uri, doing) from None

    def visible(self, field: str = "article") -> str:
        """The expression keeping this generation's articles' rows."""
        expr = f"{field} < {int(self.next_rows[0])}"
        if self.retired:
            expr += f" and {field} not in {self.retired}"
        return expr

    def _query(self, kind: str, expr: str, fields: list[str], limit: int | None = None) -> list[dict]:
        kwargs = {"limit": limit} if limit else {}
        return list(self._run(f"reading {kind}", self.client.query, self.names[kind], filter=expr,
                              output_fields=fields, **kwargs))

    def _by_rows(self, kind: str, key: str, rows: list[int], fields: list[str]) -> list[dict]:
        out = []
        for i in range(0, len(rows), IN_LIST):
            part = rows[i:i + IN_LIST]
            out += self._query(kind, f"{key} in {part}", fields, limit=len(part) * (PIECES if kind == "articles"
                                                                                       else 1))
        return out

    def _remember(self, cache: OrderedDict, key, value, size: int) -> None:
        with self._lock:
            cache[key] = value
            cache.move_to_end(key)
            while len(cache) > size:
                cache.popitem(last=False)

    def full_manifest(self) -> dict:
        from qa.index.layout import with_catalog

        return with_catalog(self.path, self.manifest)

    # -------------------------------------------------------- articles
    def _load_articles(self, rows: list[int]) -> None:
        """Read the articles of ``rows`` not cached (one query for all of them)."""
        missing = [r for r in dict.fromkeys(rows) if r not in self._article_rows]
        if not missing:
            return
        pieces: dict[int, list[tuple[int, str]]] = {}
        metas: dict[int, dict] = {}
        for hit in self._by_rows("articles", "article", missing, ["article", "piece", "text", "meta"]):
            pieces.setdefault(hit["article"], []).append((hit["piece"], hit["text"]))
            if hit["piece"] == 0:
                metas[hit["article"]] = json.loads(hit["meta"])
        for row in missing:
            if row not in metas:
                raise IndexCorruptError(f"article row {row} is missing from {self.names['articles']}: "
                                        "run `qa index --rebuild`.")
            meta = metas[row]
            text = "".join(t for _, t in sorted(pieces[row]))
            article = Article(**meta["article"], text=text)
            self._remember(self._article_rows, row, article, ARTICLE_CACHE)
            self._remember(self._article_info, article.id, meta["info"] | {"row": row}, ARTICLE_CACHE * 8)

    def article_at(self, row: int) -> Article:
        found = self._article_rows.get(row)
        if found is None:
            self._load_articles([row])
            found = self._article_rows[row]
        return found

    def article_info(self, article_id: str) -> dict | None:
        """Where an article's rows are (row, first sentence and chunk rows, counts, the years it names)."""
        found = self._article_info.get(article_id)
        if found is not None:
            return found
        hits = self._query("articles", f"id == {quoted(article_id)} and piece == 0 and {self.visible()}",
                           ["article", "meta"], limit=1)
        if not hits:
            return None
        info = json.loads(hits[0]["meta"])["info"] | {"row": hits[0]["article"]}
        self._remember(self._article_info, article_id, info, ARTICLE_CACHE * 8)
        return info

    def _info(self, article_id: str) -> dict:
        info = self.article_info(article_id)
        if info is None:
            raise KeyError(article_id)
        return info

    def year_of(self, article_id: str) -> str | None:
        date = self.articles[article_id].date
        return date[:4] if date else None

    def years_named_of(self, article_id: str, reported: bool) -> frozenset[str]:
        return frozenset(self._info(article_id)["reports" if reported else "mentions"])

    def entries(self) -> tuple[ArticleEntry, ...]:
        """Every live article's listing entry, in row order (read once, without the texts)."""
        if self._entries is None:
            out = []
            it = self._run("listing articles", self.client.query_iterator, self.names["articles"],
                           batch_size=1000, filter=f"piece == 0 and {self.visible()}", output_fields=["article", "meta"])
            try:
                while batch := self._run("listing articles", it.next):
                    out += batch
            finally:
                it.close()
            entries = []
            for hit in sorted(out, key=lambda h: h["article"]):
                m = json.loads(hit["meta"])
                a, info = m["article"], m["info"]
                entries.append(ArticleEntry(a["id"], a["title"], a.get("date"), bool(a.get("date_approximate")),
                                            a.get("source"), a.get("url"), info["sentences"][1], info["chunks"][1]))
            self._entries = tuple(entries)
        return self._entries

    def publishers(self) -> list[str]:
        return sorted(s for s, n in self.manifest["backend"].get("sources", {}).items() if n > 0 and s)

    def dated(self) -> list[str]:
        return sorted(d for d, n in self.manifest["backend"].get("dates", {}).items() if n > 0 and d)

    def date_range(self) -> tuple[str, str] | None:
        dates = self.dated()
        return (dates[0], dates[-1]) if dates else None

    # -------------------------------------------------------- scope and candidates
    def scope(self, flt: Filter) -> Scope:
        """The filter as a Milvus expression on the chunks (and articles) collections.

        Raises:
            UsageError: a publisher or article id the collection does not have.
        """
        parts = []
        if flt.dated:
            lo = int(date_bounds(flt.since)[0].replace("-", "")) if flt.since else 0
            hi = int(date_bounds(flt.until)[1].replace("-", "")) if flt.until else 99999999
            expr = f"(date_start > 0 and date_end >= {lo} and date_start <= {hi})"
            parts.append(f"({expr} or date_start == 0)" if flt.undated else expr)
        if flt.sources:
            known = {s.lower(): s for s in sorted(self.publishers(), reverse=True)}
            missing = [s for s in flt.sources if s.lower() not in known]
            if missing:
                listed = ", ".join(sorted(known.values(), key=str.lower)[:20]) or \
                    "no publisher is recorded for any article"
                raise UsageError(f"no article is from {', '.join(map(repr, missing))}; the publishers are: {listed}.")
            parts.append(f"source in {json.dumps([s.lower() for s in flt.sources], ensure_ascii=False)}")
        if flt.articles:
            missing = [a for a in flt.articles if self.article_info(a) is None]
            if missing:
                raise UsageError(f"no article has the id {', '.join(map(repr, missing[:5]))}"
                                 f"{' (and more)' if len(missing) > 5 else ''}: `qa show ID` or the Articles list "
                                 "gives the ids.")
            parts.append("{id} in " + json.dumps(list(flt.articles), ensure_ascii=False).replace("{", "{{")
                         .replace("}", "}}"))
        if flt.title:
            needle = flt.title.casefold()
            for ch in ("\\", "%", "_"):
                needle = needle.replace(ch, "\\" + ch)
            parts.append("title like " + quoted("%" + needle + "%").replace("{", "{{").replace("}", "}}"))
        parts = [p if p.startswith("{id}") or p.startswith("title") else p.replace("{", "{{").replace("}", "}}")
                 for p in parts]
        template = " and ".join(parts) or "true"  # {id}: the article id's field, named per collection
        on_articles = f"piece == 0 and {self.visible()} and " + template.format(id="id")
        hits = self._query("articles", on_articles, ["count(*)"])
        kept = int(hits[0]["count(*)"]) if hits else 0
        return Scope(flt, template.format(id="article_id"), kept, len(self.articles))

    def _search(self, data, field: str, k: int, expr: str, fields: list[str]) -> list[dict]:
        params = {"params": {"ef": max(EF_SEARCH, k)}} if field == "vector" else {}
        found = self._run("searching chunks", self.client.search, self.names["chunks"], data=[data], anns_field=field,
                          limit=k, filter=expr, output_fields=fields, search_params=params)
        return list(found[0]) if found else []

    def candidates(self, vector: np.ndarray, query_terms: Sequence[str], k: int, scope: Scope | None,
                   method: str) -> Candidates:
        """The best ``k`` chunks by HNSW and by Milvus's BM25 inside the scope's expression (two searches,
        their hits carrying vector and stemmed text). Every candidate's cosine is computed here from its
        vector, and its BM25 from its terms with the collection's statistics, as the segmented index
        computes them (qa.lexical): Milvus's own BM25 only chooses the lexical candidates."""
        if scope is not None and scope.articles == 0 or not self.n_chunks:
            return Candidates([], {}, {})
        expr = self.visible() + ("" if scope is None or scope.selector == "true" else f" and ({scope.selector})")
        fields = CHUNK_FIELDS + ["vector", "text"]
        hits: dict[int, dict] = {}
        dense_rows: list[int] = []
        if method != "bm25":
            for hit in self._search(vector.astype(np.float32).tolist(), "vector", k, expr, fields):
                dense_rows.append(_pk(hit))
                hits[_pk(hit)] = hit["entity"]
        text = " ".join(query_terms)
        lexical_rows: list[int] = []
        if text:  # also for "dense": the best BM25 in scope is what normalises the candidates'
            for hit in self._search(text, "sparse", k, expr, fields):
                if hit["distance"]:
                    lexical_rows.append(_pk(hit))
                    hits.setdefault(_pk(hit), hit["entity"])
        for row, entity in hits.items():
            self._keep_chunk(row, entity)
        rows = {"bm25": lexical_rows, "dense": dense_rows}.get(method, list(dict.fromkeys(dense_rows + lexical_rows)))
        bm = self._bm25(query_terms, {r: hits[r]["text"] for r in hits})
        best = max(bm.values(), default=np.float32(0.0))
        lexical = {r: float(bm[r] / best) if best > 0 else 0.0 for r in rows}
        dense: dict[int, float] = {}
        if method != "bm25" and rows:
            matrix = np.array([hits[r]["vector"] for r in rows], dtype=np.float32)
            dense = dict(zip(rows, (matrix @ vector).tolist()))
            if method == "dense":
                dense = {r: dense[r] for r in dense_rows}
        return Candidates(rows, dense, lexical)

    def _bm25(self, query_terms: Sequence[str], texts: dict[int, str]) -> dict[int, np.float32]:
        """BM25 of each chunk (its stemmed terms) for the query, with the collection's statistics, in
        qa.lexical's arithmetic (float32 idf, float64 term part, float32 sums in query order)."""
        import math
        from collections import Counter

        from qa.lexical import B, K1

        n = max(self.n_chunks, 1)
        avg = float(self.manifest["backend"].get("lengths", 0)) / n or 1.0
        idf = {t: np.float32(math.log(1 + (n - df + 0.5) / (df + 0.5)))
               for t, df in self.doc_freqs(list(query_terms)).items() if df > 0}
        out = {}
        for row, text in texts.items():
            words = text.split()
            tf = Counter(words)
            norm = K1 * ((1 - B) + B * len(words) / avg)
            score = np.float32(0.0)
            for t in query_terms:
                f = tf.get(t, 0)
                if f and t in idf:
                    score = np.float32(score + np.float32(float(idf[t]) * (f / (norm + f))))
            out[row] = score
        return out

    # -------------------------------------------------------- chunks
    def _keep_chunk(self, row: int, fields: dict) -> None:
        self._remember(self._chunk_meta, row, {f: fields[f] for f in CHUNK_FIELDS}, ROW_CACHE * 4)

    def _chunk_metas(self, rows: Sequence[int]) -> list[dict]:
        missing = [r for r in dict.fromkeys(rows) if r not in self._chunk_meta]
        if missing:
            for hit in self._by_rows("chunks", "row", missing, ["row"] + CHUNK_FIELDS):
                self._keep_chunk(hit["row"], hit)
        return [self._chunk_meta[r] for r in rows]

    def chunk_dates(self, rows: Sequence[int]) -> list[str]:
        return [m["date"] for m in self._chunk_metas(rows)]

    def chunks(self, rows: Sequence[int]) -> list[Chunk]:
        metas = self._chunk_metas(rows)
        self._load_articles([m["article"] for m in metas])
        out = []
        for m in metas:
            a = self.article_at(m["article"])
            first_ordinal = m["first"] - self._info(a.id)["sentences"][0]
            out.append(Chunk(id=f"{a.id}#{m['ordinal']}", article_id=a.id, ordinal=m["ordinal"], start=m["start"],
                             end=m["end"], text=a.text[m["start"]:m["end"]],
                             sentences=tuple(range(first_ordinal, first_ordinal + m["count"])), tokens=m["tokens"]))
        return out

    def chunk_sentence_spans(self, rows: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        metas = self._chunk_metas(list(rows))
        return (np.array([m["first"] for m in metas], dtype=np.int64),
                np.array([m["count"] for m in metas], dtype=np.int64))

    def chunk_holding(self, article_id: str, offset: int) -> Chunk:
        info = self._info(article_id)
        first, count = info["chunks"]
        for c in self.chunks(list(range(first, first + count))):
            if c.start <= offset < c.end:
                return c
        raise LookupError(f"no chunk of {article_id} holds offset {offset}")

    # -------------------------------------------------------- sentences
    def _rows(self, rows: Sequence[int]) -> list[dict]:
        # the rows are answered from what was read, not from the bounded cache: a question may want more
        # rows than it keeps (long articles), and remembering the last ones would evict the first
        have = {r: hit for r in dict.fromkeys(rows) if (hit := self._sentence_rows.get(r)) is not None}
        missing = [r for r in dict.fromkeys(rows) if r not in have]
        if missing:
            for hit in self._by_rows("sentences", "row", missing, ["row"] + SENTENCE_FIELDS):
                have[hit["row"]] = hit
                self._remember(self._sentence_rows, hit["row"], hit, ROW_CACHE)
        found = [have.get(r) for r in rows]
        if any(f is None for f in found):
            raise IndexCorruptError(f"sentence rows are missing from {self.names['sentences']}: "
                                    "run `qa index --rebuild`.")
        return found

    def _sentence(self, row: int) -> Sentence:
        r = self._rows([row])[0]
        a = self.article_at(r["article"])
        return Sentence(id=f"{a.id}:{r['ordinal']}", article_id=a.id, ordinal=r["ordinal"], start=r["start"],
                        end=r["end"], text=a.text[r["start"]:r["end"]])

    def sentences(self, rows: Sequence[int]) -> list[Sentence]:
        rows = list(rows)
        self._load_articles([r["article"] for r in self._rows(rows)])
        return [self.sentence(r) for r in rows]

    def sentence_row(self, article_id: str, ordinal: int) -> int:
        return int(self._info(article_id)["sentences"][0]) + ordinal

    def sentence_rows_in(self, chunk: Chunk) -> list[int]:
        first = int(self._info(chunk.article_id)["sentences"][0])
        rows = [first + o for o in chunk.sentences]
        return [row for row, r in zip(rows, self._rows(rows)) if r["start"] >= chunk.start and r["end"] <= chunk.end]

    def sentence_vectors_at(self, rows) -> np.ndarray:
        rows = [int(r) for r in np.asarray(rows).tolist()]
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.array([r["vector"] for r in self._rows(rows)], dtype=np.float32)

    def sentence_terms(self, row: int) -> frozenset[str]:
        stored = self._rows([row])[0]["terms"]
        if stored == "\0":  # too long to store: computed as the build computes it
            return frozenset(terms(self.sentence(row).text))
        return frozenset(stored.split())

    def speaker_rows(self, rows: Sequence[int]) -> list[int | None]:
        return [r["speaker"] if r["speaker"] >= 0 else None for r in self._rows(list(rows))]

    def quoted_in(self, text: str) -> list[int]:
        """The sentence rows an earlier answer quotes, found by the hash of their first words (as the
        segmented index does, with the keys looked up in one query)."""
        text = " ".join(text.split())
        if not text:
            return []
        starts = [i for i in range(len(text)) if not text[i].isspace()
                  and (i == 0 or text[i - 1].isspace() or not text[i - 1].isalnum())]
        where: dict[int, list[int]] = {}
        for i in starts:
            words = text[i:i + 400].split(" ", QUOTE_KEY_WORDS)[:QUOTE_KEY_WORDS]
            for n in range(1, len(words) + 1):
                where.setdefault(signed(quote_key(words[:n])), []).append(i)
        keys = list(where)
        hits = []
        for j in range(0, len(keys), IN_LIST):
            hits += self._query("sentences", f"quote_key in {keys[j:j + IN_LIST]} and {self.visible()}",
                                ["row", "quote_key"])
        first: dict[int, int] = {}
        rows = sorted({h["row"] for h in hits})
        self.sentences(rows)
        for h in sorted(hits, key=lambda h: h["row"]):
            s = self.sentence(h["row"])
            words = " ".join(s.text.split())
            for at in where[h["quote_key"]]:
                if (len(s.text) > QUOTED_MIN_CHARS and text.startswith(words, at)
                        and (h["row"] not in first or at < first[h["row"]])):
                    first[h["row"]] = at
        return [row for row, _ in sorted(first.items(), key=lambda x: (x[1], x[0]))]

    # -------------------------------------------------------- terms and words
    def _vocab(self, keys: list[str]) -> dict[str, int]:
        """Counts of vocabulary keys (0: absent); kept per generation (a question's words recur)."""
        missing = [k for k in dict.fromkeys(keys) if k not in self._vocab_cache]
        if missing:
            hits = self._query("vocab", f"key in {json.dumps(missing, ensure_ascii=False)}", ["key", "count"],
                               limit=len(missing))
            found = {h["key"]: int(h["count"]) for h in hits}
            for k in missing:
                self._remember(self._vocab_cache, k, found.get(k, 0), VOCAB_CACHE)
        return {k: self._vocab_cache.get(k, 0) for k in keys}

    def doc_freqs(self, query_terms: Sequence[str]) -> dict[str, int]:
        unique = list(dict.fromkeys(query_terms))
        found = self._vocab(["t:" + t for t in unique])
        return {t: max(found.get("t:" + t, 0), 0) for t in unique}

    def idf(self, df: int) -> float:
        import math

        n = max(self.n_chunks, 1)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def knows_word(self, word: str) -> bool:
        return self._vocab(["w:" + word]).get("w:" + word, 0) > 0


def open_milvus(index_dir: Path, current: tuple[Path, dict], reuse=None) -> MilvusStore:
    """Open the generation ``current`` (its folder and manifest) on the Milvus its manifest names.

    Raises:
        BackendError: Milvus cannot be reached or a collection is missing.
    """
    gen, manifest = current
    info = manifest.get("backend") or {}
    if not isinstance(info.get("collections"), dict) or not isinstance(info.get("next"), list):
        raise IndexCorruptError(f"{gen / 'manifest.json'} names no Milvus collections: run `qa index --rebuild`.")
    uri = resolve_uri(index_dir, info.get("uri"))
    client = reuse.client if isinstance(reuse, MilvusStore) and reuse.uri == uri else connect(uri, token())
    store = MilvusStore(gen, manifest, client, uri)
    for kind, name in store.names.items():
        if not store._run("opening the index", client.has_collection, name):
            raise BackendError(f"collection {name} of this index is missing from {describe(uri)}: "
                               "run `qa index --rebuild` to write it again.")
        state = store._run("opening the index", client.get_load_state, name)
        if "Loaded" not in str(state.get("state") if isinstance(state, dict) else state):
            store._run("loading the index", client.load_collection, name)
    return store
