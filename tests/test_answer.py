"""Answers from the real model over the five articles: quotes, citations, abstention, time, follow-ups."""

from __future__ import annotations

import io
import json

import pytest

from qa.cli import main
from qa.errors import UsageError

pytestmark = pytest.mark.model


def check_citations(answer, engine):
    for c in answer.citations:
        article = engine.articles[c.article_id]
        assert article.text[c.start:c.end] == c.quote
        assert c.date == article.date and c.title == article.title
        if c.short_answer:
            assert article.text[c.short_answer.start:c.short_answer.end] == c.short_answer.text
            assert c.start <= c.short_answer.start < c.short_answer.end <= c.end
    for p in answer.passages:
        assert engine.articles[p.chunk.article_id].text[p.chunk.start:p.chunk.end] == p.chunk.text


@pytest.mark.parametrize("question,phrase,kind", [
    ("Who was Havering Council's director of social care and learning?", "Joy Hollister", "person"),
    ("How much money did the Innovation Fund award the service?", "£2.2 million", "amount"),
    ("In how many of the four categories was the council judged inadequate?", "three out of four", "number"),
    ("When did the inspections behind the inadequate rating take place?", "December 11 to 22", "date"),
    ("What did staff say about the pilot of artificial intelligence tools?", "AI tools", None),
])
def test_answers_quote_the_article(engine, question, phrase, kind):
    a = engine.ask(question)
    assert not a.abstained, a.notices
    assert phrase in a.answer
    assert a.answer == " ".join(c.quote for c in a.citations)
    check_citations(a, engine)
    if kind:
        shorts = [c.short_answer for c in a.citations if c.short_answer]
        assert shorts and shorts[0].kind == kind and phrase in shorts[0].text


@pytest.mark.parametrize("question", [
    "What is a good recipe for banana bread?",
    "Who won the football match on Saturday?",
    "What will the weather be like tomorrow?",
    "What Ofsted rating did Barking and Dagenham council receive?",
    "What is the telephone number of the children's services department?",
    "What did Ofsted say about Havering in 2015?",
])
def test_unanswerable_questions_abstain_and_still_show_the_closest(engine, question):
    a = engine.ask(question)
    assert a.abstained and a.answer == "" and not a.citations
    assert a.message == "I couldn't find this in the articles."
    assert a.passages  # the closest passages, labelled "not an answer" by the CLI and the web app


def test_current_question_answers_from_the_newest_relevant_article(engine):
    a = engine.ask("What is the latest news on the improvement of Havering's children's services?")
    assert not a.abstained
    newest = max((x for x in engine.articles.values() if x.date), key=lambda x: x.date)
    assert a.citations[0].article_id == newest.id


def test_changing_rating_is_shown_newest_first_with_dates(engine):
    a = engine.ask("What rating did Ofsted give Havering's children's services?")
    assert not a.abstained and a.dated and len(a.citations) >= 2
    dates = [c.date for c in a.citations]
    assert dates == sorted(dates, reverse=True) and len(set(dates)) == len(dates)
    check_citations(a, engine)


def test_a_named_year_prefers_that_years_article(engine):
    a = engine.ask("What did the 2018 inspection say about care leavers?")
    assert not a.abstained
    assert a.citations[0].date.startswith("2018")


def test_follow_up_uses_the_history(engine):
    first = engine.ask("Who is the cabinet member for children and young people?")
    history = [{"role": "user", "content": first.question}, {"role": "assistant", "content": first.answer}]
    follow = engine.ask("What did he apologise for?", history)
    assert not follow.abstained
    assert "wait too long" in follow.answer or "long wait times" in follow.answer
    alone = engine.ask("What did he apologise for?")
    assert alone.query == "What did he apologise for?" and follow.query != alone.query


def test_a_follow_up_reuses_the_previous_questions_vector(engine):
    """In the chat the previous question was embedded moments ago: a follow-up embeds only itself,
    and searches with the same vector as when the previous question has to be embedded again."""
    import numpy as np

    from qa.pipeline import Engine

    first = "Who is the cabinet member for children and young people?"
    engine.ask(first)
    history = [{"role": "user", "content": first}]
    texts: list[list[str]] = []
    encoder = engine.embedder
    embed = encoder.embed
    encoder.embed = lambda batch, **kw: texts.append(list(batch)) or embed(batch, **kw)
    try:
        warm = engine.query_vectors(("What did he apologise for?", first))
        # a fresh engine has no recent vectors: both texts are embedded (by the same encoder)
        cold = Engine(engine.index, engine.settings, embedder=encoder).query_vectors(("What did he apologise for?", first))
        follow = engine.ask("What did he apologise for?", history)
    finally:
        del encoder.embed
    assert texts[0] == ["What did he apologise for?"]
    assert texts[1] == ["What did he apologise for?", first]
    assert texts[2] == ["What did he apologise for?"]
    assert np.allclose(warm.search, cold.search, atol=1e-5) and np.allclose(warm.own, cold.own, atol=1e-5)
    assert abs(float(np.linalg.norm(warm.search)) - 1.0) < 1e-5
    assert float(warm.search @ warm.own) < 0.999  # the earlier question moved the search vector
    assert not follow.abstained and follow.query == f"What did he apologise for? {first}"


def test_empty_and_whitespace_questions_are_refused(engine, capsys):
    for q in ("", "   \n\t "):
        with pytest.raises(UsageError, match="empty"):
            engine.ask(q)
    assert main(["ask", "--corpus", str(engine.settings.corpus_dir), "--index", str(engine.settings.index_dir), "  "]) == 2
    assert "empty" in capsys.readouterr().err


def test_very_long_question_is_cut_with_a_notice(engine):
    a = engine.ask("What did the inspectors find about social workers? " * 2000)
    assert len(a.question) <= 2000 and any("cut" in n for n in a.notices)
    check_citations(a, engine)


@pytest.mark.parametrize("question", [
    "<img src=x onerror=alert(1)> what rating?",
    "**bold** _rating_ [link](http://x)",
    "rating\x00\x07\x1b[31m?",
    "¿Qué calificación recibió el consejo?",
    "評価は何でしたか",
    "🙂🙂🙂",
])
def test_odd_questions_are_plain_text(engine, question):
    a = engine.ask(question)
    assert a.abstained or a.citations
    assert "\x00" not in a.question and "\x1b" not in a.question
    check_citations(a, engine)


def test_cli_json_one_object_per_question_with_exact_slices(engine, monkeypatch, capsys):
    s = engine.settings
    monkeypatch.setattr("sys.stdin", io.StringIO("Who wrote the report?\n\n  \nHow do I bake bread?\n"))
    assert main(["ask", "--corpus", str(s.corpus_dir), "--index", str(s.index_dir), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2  # blank lines skipped
    for line in lines:
        d = json.loads(line)
        assert {"question", "answer", "abstained", "citations", "passages"} <= set(d)
        for c in d["citations"]:
            assert {"article_id", "title", "date", "source", "url", "start", "end", "quote"} <= set(c)
            assert engine.articles[c["article_id"]].text[c["start"]:c["end"]] == c["quote"]
        for p in d["passages"]:
            assert {"rank", "article_id", "chunk_id", "score", "start", "end", "text"} <= set(p)
            assert engine.articles[p["article_id"]].text[p["start"]:p["end"]] == p["text"]
        assert (d["answer"] == "") == d["abstained"]
    assert json.loads(lines[1])["abstained"]


def test_show_prints_the_article(engine, capsys):
    s = engine.settings
    article = next(iter(engine.articles.values()))
    assert main(["show", article.id, "--json", "--corpus", str(s.corpus_dir), "--index", str(s.index_dir)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["text"] == article.text and d["id"] == article.id
    assert {"id", "title", "date", "source", "url", "text"} <= set(d)
    assert main(["show", "no-such-article", "--index", str(s.index_dir)]) == 2
    assert "no article" in capsys.readouterr().err


def test_serving_commands_refresh_a_stale_index(engine, settings, tmp_path, capsys):
    import shutil

    corpus = tmp_path / "c"
    shutil.copytree(settings.corpus_dir, corpus)
    index = tmp_path / "i"
    assert main(["index", "--corpus", str(corpus), "--index", str(index)]) == 0
    capsys.readouterr()
    (corpus / "extra.md").write_text(
        "---\ntitle: Extra\ndate: 2025-03-01\n---\nThe zebra crossing on the high street was repainted in March.\n",
        "utf-8")
    assert main(["ask", "--corpus", str(corpus), "--index", str(index), "--json",
                 "When was the zebra crossing repainted?"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert not d["abstained"] and d["citations"][0]["article_id"] == "extra"


def test_who_said_that_finds_the_speaker_of_the_previous_quote(engine):
    first = engine.ask("What did the councillor say the Good rating reinforces?")
    assert not first.abstained
    history = [{"role": "user", "content": first.question}, {"role": "assistant", "content": first.answer}]
    who = engine.ask("Who said that?", history)
    assert not who.abstained
    short = who.citations[0].short_answer
    assert short is not None and short.kind == "person"
    cited = who.citations[0]
    previous = first.citations[0]
    # the speaker's sentence is the quote itself or one shortly before it, in the same article
    assert cited.article_id == previous.article_id and cited.start <= previous.start


def test_a_year_in_a_follow_up_replaces_the_earlier_year(engine):
    first = engine.ask("What did Ofsted say about the multi-agency safeguarding hub in 2024?")
    history = [{"role": "user", "content": first.question}, {"role": "assistant", "content": first.answer}]
    follow = engine.ask("What about in 2018?", history)
    assert not follow.abstained and follow.citations[0].date.startswith("2018")
    assert "2024" not in follow.query


def engine_over(tmp_path, articles: dict[str, tuple[str, str, str]]):
    """An engine over a small corpus written for one test: {file name: (title, date, text)}."""
    from qa.config import Settings
    from qa.corpus import load_articles
    from qa.pipeline import Engine

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, (title, date, text) in articles.items():
        (corpus / f"{name}.md").write_text(f'---\ntitle: "{title}"\ndate: "{date}"\n---\n{text}\n', "utf-8")
    return Engine.build(load_articles(corpus), Settings(corpus_dir=corpus, index_dir=tmp_path / "index"))


def test_a_date_in_the_question_does_not_pick_a_sentence_that_only_names_the_date(tmp_path):
    """'… in December 2023?': the sentence that names December 2023 but answers nothing loses to the
    one that answers; the date still counts in its evidence (no extra abstention)."""
    engine = engine_over(tmp_path, {
        "update": ("Council update", "2024-12",
                   "The council has given an update since the inspectors' visit in December 2023. "
                   "Recruitment of permanent staff continues."),
        "report": ("Inspection report", "2024-01",
                   "Inspectors visited the borough for two weeks. The front door team is responsive and effective, "
                   "the report said. Caseloads remain high.")})
    answer = engine.ask("What did inspectors say about the front door team in December 2023?")
    assert not answer.abstained
    assert "responsive and effective" in answer.citations[0].quote


def test_a_clause_naming_the_occasion_does_not_pick_a_sentence_that_only_restates_it(tmp_path):
    """'… when the council was rated good?': the clause says which report is meant; the sentence that
    only repeats it loses to the one that answers."""
    from dataclasses import replace

    engine = engine_over(tmp_path, {
        "good": ("Council rated good", "2018-06",
                 "The council was rated good by Ofsted this week, the council said when the rating was published. "
                 "Care leavers get strong support from their personal advisers. Caseloads remain manageable."),
        "weak": ("Council rated weak", "2023-06",
                 "Inspectors found that planning for children is weak. Leaders have not acted quickly enough.")})
    question = "What did Ofsted say about care leavers when the council was rated good?"
    answer = engine.ask(question)
    assert not answer.abstained and "personal advisers" in answer.citations[0].quote
    old_weighting = engine.variant(params=replace(engine.answer_params, context_term_weight=1.0))
    assert "personal advisers" not in old_weighting.ask(question).citations[0].quote


def test_who_said_a_line_deep_in_a_long_quotation_finds_who_introduced_it(tmp_path):
    engine = engine_over(tmp_path, {"update": ("Council update", "2024-12", (
        "The council gave an update on its children's services.\n\n"
        "Councillor Jane Smith, the cabinet member for children, said:\n\n"
        "\"We have worked hard all year with our partners.\n\n"
        "\"Staff turnover has fallen and morale is better.\n\n"
        "\"Our new foster carer scheme has recruited twelve families.\n\n"
        "The next inspection is expected in the spring."))})
    answer = engine.ask("Who said the foster carer scheme recruited twelve families?")
    assert not answer.abstained and "Jane Smith" in answer.answer
    assert any("twelve families" in c.quote for c in answer.citations)
    follow = engine.ask("Who said that?", [
        {"role": "user", "content": "How many families did the foster carer scheme recruit?"},
        {"role": "assistant", "content": "\"Our new foster carer scheme has recruited twelve families."}])
    assert "Jane Smith" in follow.answer


def test_what_a_named_person_said_is_quoted_from_them_not_from_another_speaker(tmp_path):
    engine = engine_over(tmp_path, {"debate": ("Council debate", "2024-03", (
        "Councillors debated the foster care budget on Tuesday.\n\n"
        "Cllr John Brown, the cabinet member, said:\n\n"
        "\"Foster carers are the backbone of our children's services.\n\n"
        "\"We will protect the foster care budget.\n\n"
        "The opposition leader was less impressed. Cllr Jane Smith said the plans were vague and late."))})
    answer = engine.ask("What did Jane Smith say about the foster care budget?")
    assert not answer.abstained and "vague and late" in answer.citations[0].quote
    assert "protect the foster care budget" in engine.ask("What did John Brown say about the foster care budget?").answer


def test_a_named_persons_words_on_another_subject_do_not_answer(tmp_path):
    """'What did Jane Smith say about X?': her name is a condition, not evidence; her words on
    something else are no answer, however often the question names her."""

    engine = engine_over(tmp_path, {"debate": ("Council debate", "2024-03", (
        "Councillors debated the foster care budget on Tuesday.\n\n"
        "Cllr Jane Smith, the cabinet member, said: \"Foster carers are the backbone of our children's services.\"\n\n"
        "The meeting closed at nine."))})
    question = "What did Cllr Jane Smith say about the new bus lanes on the high street?"
    answer = engine.ask(question)
    assert answer.abstained
    assert "backbone" in engine.ask("What did Cllr Jane Smith say about foster carers?").answer
    assert answer.confidence > 0  # a quote of hers was found, and judged too weak
    with_name = engine.variant(params=engine.answer_params.without("speaker_name_not_evidence"))
    assert with_name.ask(question).confidence > answer.confidence  # her name would have counted as support
