"""The one module that knows the stage order: corpus -> index -> retrieve -> answer."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from qa.answer import AnswerParams, Candidate, build_answer, score_candidate
from qa.config import Settings
from qa.errors import IndexCorruptError, IndexMissingError, StaleIndexError, UsageError
from qa.index import BuildReport, Index, build_index, check_manifest, load_index, read_manifest
from qa.embedding import RecentVectors
from qa.question import (OCCASION_FOLLOWUP_RE, REFERS_TO_ANSWER_RE, analyze, context_words, date_words, find_spans,
                         followup_parts, messages)
from qa.retrieve import METHODS, Retriever, Weights
from qa.text import clean_question, reported_years, salient_names, terms, years
from qa.quotes import speakers
from qa.types import Answer, Article, Chunk, Passage

MAX_QUESTION_CHARS = 2000  # the model reads 256 word pieces (~1,000 characters); the rest is noise
LATEST_BOOST = 0.12  # added to the newest article's passages for "current / latest" questions
QUOTED_PENALTY = 0.15  # for a sentence the previous answer already quoted, in a follow-up
YEAR_BOOST = 0.15  # added to passages of articles dated in the year a question names
RECENT_VECTORS = 512  # question vectors kept for follow-ups (~1 MB)


def refresh_index(settings: Settings, *, rebuild: bool = False, progress: bool = False,
                  log: Callable[[str], None] = lambda m: None) -> BuildReport:
    """Build or update the index of settings.corpus_dir (no model is loaded when nothing changed)."""
    from qa.corpus import load_articles

    return build_index(load_articles(settings.corpus_dir), settings, rebuild=rebuild, progress=progress, log=log)


class Engine:
    """Answers questions from one index. Thread-safe for concurrent ``ask`` calls.

    Usage example:
        engine = Engine.open(Settings())
        answer = engine.ask("When was the service last inspected?")
        print(answer.answer, answer.citations[0].title)
    """

    def __init__(self, index: Index, settings: Settings, answer_params: AnswerParams = AnswerParams(),
                 weights: Weights = Weights()):
        self.settings = settings
        self.answer_params = answer_params
        self.weights = weights
        self._lock = threading.Lock()
        self._state = State.of(index, weights)
        self._embedder = None
        self._recent = RecentVectors(RECENT_VECTORS)

    # One reference to everything derived from an index: a reload swaps it whole, and each question
    # reads it once, so no answer ever mixes two indexes.
    @property
    def index(self) -> Index:
        return self._state.index

    @property
    def articles(self) -> dict[str, Article]:
        return self._state.index.articles

    @property
    def retriever(self) -> Retriever:
        return self._state.retriever

    # ------------------------------------------------------------ construction
    @classmethod
    def load(cls, index_dir: Path, settings: Settings | None = None) -> "Engine":
        """Load an index as it is (no staleness check against a corpus)."""
        settings = settings or Settings(index_dir=Path(index_dir))
        return cls(load_index(Path(index_dir)), replace(settings, index_dir=Path(index_dir)))

    @classmethod
    def open(cls, settings: Settings, *, progress: bool = False,
             log: Callable[[str], None] = lambda m: None) -> "Engine":
        """Build or refresh the index when it is missing or stale, then load it."""
        refresh_index(settings, progress=progress, log=log)
        return cls(load_index(settings.index_dir), settings)

    @classmethod
    def build(cls, articles: list[Article], settings: Settings, *, progress: bool = False) -> "Engine":
        """Index exactly ``articles`` into settings.index_dir, then load."""
        build_index(articles, settings, progress=progress)
        return cls(load_index(settings.index_dir), settings)

    def reload(self) -> list[str]:
        """Load the index again if a newer build is on disk. Returns what changed ([] = nothing)."""
        try:
            manifest = read_manifest(self.settings.index_dir)
        except (IndexMissingError, IndexCorruptError) as exc:
            return [f"kept the index in memory: {exc}"]
        if manifest.get("created") == self.index.manifest.get("created") and manifest == self.index.manifest:
            return []
        old = self.index.manifest.get("corpus", {}).get("articles", {})
        try:
            new_index = load_index(self.settings.index_dir)
        except (IndexMissingError, IndexCorruptError) as exc:
            return [f"kept the index in memory: {exc}"]
        state = State.of(new_index, self.weights)
        with self._lock:
            self._state = state
            self._embedder = None
            self._recent = RecentVectors(RECENT_VECTORS)
        from qa.index import describe_diff, diff_articles

        return [describe_diff(*diff_articles(old, new_index.manifest["corpus"]["articles"])) or "index rebuilt"]

    def stale_reasons(self) -> list[str]:
        """Why the loaded index no longer matches the corpus folder ([] = up to date)."""
        from qa.corpus import corpus_hashes

        return check_manifest(self.index.manifest, self.settings, corpus_hashes(self.settings.corpus_dir),
                              check_chunking=False)

    # ------------------------------------------------------------ embedding
    @property
    def embedder(self):
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    if self.settings.encoder == "onnx" and self.index.encoder_dir is not None:
                        from qa.embedding import onnx_embedder

                        encoder_dir = self.index.encoder_dir
                        if self.settings.query_encoder == "int8" and self.index.query_encoder_dir is not None:
                            encoder_dir = self.index.query_encoder_dir  # questions only; articles are fp32
                        self._embedder = onnx_embedder(encoder_dir, threads=self.settings.query_threads)
                    else:
                        from qa.embedding import SentenceTransformerEmbedder

                        self._embedder = SentenceTransformerEmbedder(self.settings.model_path)
        return self._embedder

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """One encoder run for all of them (a follow-up whose history this engine has not embedded)."""
        return self.embedder.embed(texts)

    def query_vectors(self, parts: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(the vector to search with, the question's own vector) for ``followup_parts(...)``.

        The question itself is always embedded. A follow-up searches with the normalised sum of its
        parts' vectors; an earlier part's vector comes from the recent-vectors cache when this engine
        embedded that text lately (the chat's previous question), else from the same encoder run.
        """
        own, earlier = parts[0], list(dict.fromkeys(parts[1:]))
        cached = {t: v for t in earlier if (v := self._recent.get(t)) is not None}
        todo = [own] + [t for t in earlier if t not in cached]
        vectors = self.embed_queries(todo)
        for t, v in zip(todo, vectors):
            self._recent.put(t, v)
        if not earlier:
            return vectors[0], vectors[0]
        found = dict(zip(todo, vectors)) | cached
        total = vectors[0] + sum(found[t] for t in earlier)
        return (total / max(float(np.linalg.norm(total)), 1e-12)).astype(np.float32), vectors[0]

    def warm_up(self) -> None:
        self.embed_query("warm up")

    # ------------------------------------------------------------ asking
    def ask(self, question: str, history: Iterable = (), *, method: str = "hybrid",
            top_k: int | None = None) -> Answer:
        """Answer one question, quoting the articles; history is the earlier turns (stateless).

        Raises:
            UsageError: the question is empty or not text.
        """
        if not isinstance(question, str):
            raise UsageError("the question must be text.")
        if method not in METHODS:
            raise UsageError(f"method {method!r} is unknown; choose one of {', '.join(METHODS)}.")
        text = clean_question(question)
        if not text:
            raise UsageError("the question is empty: type a question, e.g. “Who carried out the inspection?”")
        notices: list[str] = []
        text = self._truncate(text, notices)
        top_k = top_k or self.settings.top_k
        st = self._state  # one consistent snapshot, even if reload() swaps it meanwhile
        index, retriever, articles = st.index, st.retriever, st.index.articles
        parts = followup_parts(text, history)
        query, is_followup = " ".join(parts), len(parts) > 1
        info = analyze(text)
        own = set(terms(text))
        vector, own_vector = self.query_vectors(parts)
        # A follow-up's own words (when it has some: not "and in 2018?") weigh more in choosing the sentence.
        occasion_only = is_followup and bool(OCCASION_FOLLOWUP_RE.search(text))
        focus_text = (is_followup and method == "hybrid" and not REFERS_TO_ANSWER_RE.search(text)
                      and not occasion_only and len(own) >= 2)
        boost = self._date_boost(st, info) if method == "hybrid" else {}
        passages = retriever.search(vector, query, top_k=max(top_k, self.answer_params.passages_considered),
                                    method=method, date_boost=boost)
        shown = passages[:top_k]
        if method != "hybrid":
            return self._baseline_answer(st, query, vector, passages[:3], shown, text, tuple(notices))
        if is_followup and REFERS_TO_ANSWER_RE.search(text):
            candidates = (self._attribution(st, history, info, passages)
                          or self._candidates(st, query, vector, passages, info))
        elif is_followup:
            # The follow-up's own words (when it has some: not "and in 2018?") weigh more in choosing
            # the sentence; the earlier turn mainly helped find the passages. What the previous answer
            # already quoted is less likely to be news.
            focus = (own, own_vector) if focus_text else None
            quoted = {s.id for s in _quoted_sentences(index, history)}
            occasion = text if occasion_only else ""  # its words say which article, not which sentence
            candidates = [replace(c, score=c.score - QUOTED_PENALTY) if c.sentence.id in quoted else c
                          for c in self._candidates(st, query, vector, passages, info, focus, occasion)]
        else:
            candidates = self._candidates(st, query, vector, passages, info)
        unknown = self._unknown_names(st, text) if not is_followup else ()
        return build_answer(text, query, candidates, shown, info, articles, self.answer_params,
                            notices=tuple(notices), unknown_names=unknown)

    def _truncate(self, text: str, notices: list[str]) -> str:
        """Cut a question to what the model reads (its max_length in word pieces), with a notice."""
        cut = text[:MAX_QUESTION_CHARS]
        truncate = getattr(self.embedder, "truncate", None)
        if truncate is not None and len(cut) > 200:
            cut = truncate(cut).rstrip() or cut[:200]
        if len(cut) < len(text):
            notices.append(f"The question was cut to its first {len(cut)} characters: "
                           "the model reads no more than that.")
        return cut

    def _date_boost(self, st: "State", info) -> dict[str, float]:
        boost: dict[str, float] = {}
        if info.latest and not info.years:
            boost = {a: LATEST_BOOST * r for a, r in st.recency.items()}
        for y in info.years:
            for a, year in st.article_years.items():
                if year == y:
                    boost[a] = boost.get(a, 0.0) + YEAR_BOOST
        return boost

    def _candidates(self, st: "State", query, vector, passages, info, focus=None, occasion_text: str = ""
                    ) -> list[Candidate]:
        """Score the sentences of the top passages. ``focus`` = (terms, vector) of a follow-up's own
        words: they count fully, the earlier question's words and vector half."""
        index = st.index
        q_terms = set(terms(query))
        weight = {t: st.retriever.term_weight(t) for t in q_terms}
        if focus is not None:
            weight = {t: w if t in focus[0] else 0.5 * w for t, w in weight.items()}
        total = sum(weight.values()) or 1.0
        # The question's dates ("in December 2023") say when, which the year rules handle; as words they
        # would favour any sentence naming the date over the one that answers. They count less in choosing
        # the sentence, fully in its evidence (the abstention threshold was calibrated on that).
        dated = set(terms(" ".join(date_words(query))))
        # Likewise the words of a clause that only says which occasion is meant ("… when it was rated
        # good"), unless the rest of the question says them too.
        clauses = context_words(query) + ([occasion_text] if occasion_text else [])
        rest = query
        for c in clauses:
            rest = rest.replace(c, " ")
        occasion = set(terms(" ".join(clauses))) - set(terms(rest)) - dated
        params = self.answer_params
        choice_weight = {t: w * (params.date_term_weight if t in dated else
                                 params.context_term_weight if t in occasion else 1.0)
                         for t, w in weight.items()}
        choice_total = sum(choice_weight.values()) or 1.0
        # "What did Jane Smith say about X?": her name is a condition (speaker_required), not support for X.
        unsupported = info.speaker_terms & q_terms if not params.speaker_name_evidence else frozenset()
        evidence_weight = {t: 0.0 if t in unsupported else w for t, w in weight.items()}
        evidence_total = sum(evidence_weight.values()) or 1.0
        novelty = self.answer_params.w_novel != 0
        mentions = st.article_reports if params.since_is_reference else st.article_mentions
        top = passages[0].score if passages else 0.0
        seen: set[str] = set()
        rows, pairs = [], []
        for p in passages[: self.answer_params.passages_considered]:
            for s in index.sentences_by_article.get(p.chunk.article_id, []):
                if s.start >= p.chunk.start and s.end <= p.chunk.end and s.id not in seen:
                    seen.add(s.id)  # the first (best) passage holding it wins
                    rows.append(index.sentence_row[s.id])
                    pairs.append((s, p))
        if not rows:
            return []
        dense = index.sentence_vectors[rows] @ vector
        # A follow-up's evidence is the better of its match with the whole turn (its words and the earlier
        # question's: "what did that money pay for?" means little alone) and the mix that chose it.
        whole = dense.tolist() if focus is not None else [None] * len(rows)
        if focus is not None:
            dense = 0.5 * dense + 0.5 * (index.sentence_vectors[rows] @ focus[1])
        out = []
        sentence_terms = st.sentence_terms
        speaker = re.compile(rf"\b{re.escape(info.speaker)}\b") if info.speaker else None
        for (s, p), d, row, w in zip(pairs, dense.tolist(), rows, whole):
            own = sentence_terms[row] & q_terms
            lex = sum(choice_weight[t] for t in own) / choice_total
            before = sentence_terms[row - 1] & q_terms if s.ordinal > 0 else frozenset()
            window = sum(choice_weight[t] for t in own | before) / choice_total
            novel = (len(sentence_terms[row] - q_terms) / len(sentence_terms[row])
                     if novelty and sentence_terms[row] else 0.0)
            # The evidence counts the date words fully; without any, it is the same share.
            evidence = (sum(evidence_weight[t] for t in own) / evidence_total
                        if dated or occasion or unsupported else None)
            c = score_candidate(s, p, top, d, lex, info, self.answer_params,
                                st.article_years.get(s.article_id), window, novel, evidence_lexical=evidence,
                                article_mentions=mentions.get(s.article_id, frozenset()),
                                evidence_dense=None if w is None else max(w, d), sentence_terms=sentence_terms[row])
            if s.id in st.speaker_of:
                c = replace(c, speaker_id=st.speaker_of[s.id])
            if speaker is not None and not _attributed(index, st, s, speaker):
                c = replace(c, attributed=False)
            out.append(c)
        if info.kind == "person":
            out += self._speakers(st, out, info, seen)
        return out

    def _speakers(self, st: "State", candidates: list[Candidate], info, seen: set[str]) -> list[Candidate]:
        """The sentences introducing the quotations that candidates are part of, when not candidates
        already: "who said…?" is answered by "Cllr Smith said:" several paragraphs up. They score lowest,
        so they are only quoted beside the sentence they introduce."""
        index, out = st.index, []
        floor = min((c.score for c in candidates), default=0.0) - 1.0
        for sid in dict.fromkeys(c.speaker_id for c in candidates if c.speaker_id and c.speaker_id not in seen):
            s = index.sentences[index.sentence_row[sid]]
            chunk = next(ch for ch in st.chunks_by_article[s.article_id] if ch.start <= s.start < ch.end)
            passage = Passage(chunk=chunk, rank=0, score=0.0, dense=0.0, lexical=0.0)
            out.append(Candidate(s, passage, 0.0, 0.0, bool(find_spans(s.text, info.kind)), False, floor))
            seen.add(sid)
        return out

    def _attribution(self, st: "State", history, info, passages) -> list[Candidate]:
        """"Who said that?": the previous answer's sentence, or the nearest sentence before it in its
        article that holds the asked-for span (the speaker of a quote is often named just before it)."""
        index = st.index
        quoted = _quoted_sentences(index, history)
        if not quoted:
            return []
        first = quoted[0]
        siblings = index.sentences_by_article[first.article_id]
        speaker = st.speaker_of.get(first.id)
        nearby = siblings[max(0, first.ordinal - 3): first.ordinal + 1]
        if speaker is not None:  # inside a quotation over several paragraphs: who introduced it
            nearby = [index.sentences[index.sentence_row[speaker]], first]
        for s in reversed(nearby):
            if not info.kind or find_spans(s.text, info.kind):
                passage = next((p for p in passages if p.chunk.article_id == s.article_id), passages[0])
                return [Candidate(s, passage, 1.0, 1.0, bool(info.kind), False, 10.0)]
        return []

    def _unknown_names(self, st: "State", question: str) -> tuple[str, ...]:
        """Names and numbers in the question that appear nowhere in the collection."""
        years = set(st.article_years.values())
        out = []
        for name in salient_names(question):
            if name in years:
                continue
            stemmed = terms(name)
            if stemmed and all(t in st.vocabulary for t in stemmed):
                continue
            if name.lower() in st.raw_words:
                continue
            out.append(name)
        return tuple(out)

    def _baseline_answer(self, st: "State", query, vector, top3, shown, question, notices) -> Answer:
        """The plain baseline: the best-cosine sentence of the top three passages; never abstains."""
        from qa.question import QuestionInfo

        info = QuestionInfo(kind=None, latest=False, years=())
        params = replace(self.answer_params, w_lexical=0.0, w_window=0.0, w_passage=0.0, w_kind=0.0,
                         w_year=0.0, threshold=-1.0, dated_margin=-1.0, second_margin=-1.0,
                         passages_considered=3, require_kind=False)
        cands = self._candidates(st, query, vector, top3, info)
        return build_answer(question, query, cands, shown, info, st.index.articles, params, notices=notices)


def _group(chunks: list[Chunk]) -> dict[str, list[Chunk]]:
    out: dict[str, list[Chunk]] = {}
    for c in chunks:
        out.setdefault(c.article_id, []).append(c)
    return out


def _speaker_ids(index: Index) -> dict[str, str]:
    """Sentence id -> the id of the sentence introducing the quotation it is in (qa.quotes.speakers)."""
    out: dict[str, str] = {}
    for a in index.articles.values():
        sentences = index.sentences_by_article.get(a.id, [])
        by_ordinal = {s.ordinal: s.id for s in sentences}
        out.update({by_ordinal[o]: by_ordinal[i] for o, i in speakers(a.text, sentences).items()})
    return out


def _attributed(index: Index, st: "State", s, surname: re.Pattern) -> bool:
    """Whether ``surname`` is found in sentence ``s``, the two before it ("He said…") or the sentence
    introducing its quotation."""
    siblings = index.sentences_by_article[s.article_id]
    near = siblings[max(0, s.ordinal - 2): s.ordinal + 1]
    if s.id in st.speaker_of:
        near = near + [index.sentences[index.sentence_row[st.speaker_of[s.id]]]]
    return any(surname.search(t.text) for t in near)


def _quoted_sentences(index: Index, history) -> list:
    """The sentences the previous answer quoted, in the order it quoted them (history is plain text)."""
    previous = next((t for r, t in reversed(messages(history)) if r == "assistant"), "")
    previous = " ".join(previous.split())
    if not previous:
        return []
    found = [(previous.find(" ".join(s.text.split())), s) for s in index.sentences if len(s.text) > 20]
    return [s for pos, s in sorted((f for f in found if f[0] >= 0), key=lambda f: f[0])]


@dataclass(frozen=True)
class State:
    """Everything derived from one loaded index."""

    index: Index
    retriever: Retriever
    vocabulary: frozenset[str]
    raw_words: frozenset[str]
    article_years: dict[str, str]
    article_mentions: dict[str, frozenset[str]]  # the years each article's text names
    article_reports: dict[str, frozenset[str]]  # the same, less those it only counts from ("since 2016")
    recency: dict[str, float]
    sentence_terms: list[frozenset[str]]  # row-aligned with index.sentences
    speaker_of: dict[str, str]  # sentence id -> the id of the sentence introducing its quotation
    chunks_by_article: dict[str, list[Chunk]]

    @classmethod
    def of(cls, index: Index, weights: Weights) -> "State":
        retriever = Retriever(index, weights)
        articles = index.articles.values()
        dated = sorted({a.date for a in articles if a.date})
        return cls(
            index=index,
            retriever=retriever,
            vocabulary=frozenset(retriever.vocabulary),
            raw_words=frozenset(w.lower() for a in articles for w in (a.text + " " + a.title).split()),
            article_years={a.id: a.date[:4] for a in articles if a.date},
            article_mentions={a.id: frozenset(years(a.title + " " + a.text)) for a in articles},
            article_reports={a.id: frozenset(reported_years(a.title + " " + a.text)) for a in articles},
            recency={a.id: (dated.index(a.date) / (len(dated) - 1) if len(dated) > 1 else 1.0)
                     for a in articles if a.date},
            # Stemming is the slow part of scoring sentences: once per sentence, not per question.
            sentence_terms=[frozenset(terms(s.text)) for s in index.sentences],
            chunks_by_article=_group(index.chunks),
            speaker_of=_speaker_ids(index),
        )
