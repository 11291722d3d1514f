"""Choosing the sentences to quote when the question asks for a type (pure: no model, no index)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qa.answer import AnswerParams
from qa.answer.candidates import ArticleYears, Candidate, MatchRules, SentenceFacts, sentence_match
from qa.answer.select import abstention, select
from qa.question import QuestionInfo, analyze
from qa.spans import answer_spans, find_spans
from qa.text import terms
from qa.types import Article, Chunk, Passage, Sentence

TEXT = ("The council was inspected again. It was a long visit. The inspection ran from 3 to 14 March 2019. "
        "“We are proud of our staff,” the leader said. Cllr Jane Smith said so at the meeting.")
ARTICLE = Article(id="a", title="T", date="2019-04", source=None, url=None, text=TEXT, sha256="x")
ARTICLES = {"a": ARTICLE}
CHUNK = Chunk(id="a#0", article_id="a", ordinal=0, start=0, end=len(TEXT), text=TEXT)
PASSAGE = Passage(chunk=CHUNK, rank=1, score=1.0, dense=0.8, lexical=1.0)


def sentence(ordinal: int, text: str) -> Sentence:
    start = TEXT.index(text)
    return Sentence(id=f"a:{ordinal}", article_id="a", ordinal=ordinal, start=start, end=start + len(text), text=text)


S = [sentence(0, "The council was inspected again."), sentence(1, "It was a long visit."),
     sentence(2, "The inspection ran from 3 to 14 March 2019."),
     sentence(3, "“We are proud of our staff,” the leader said."),
     sentence(4, "Cllr Jane Smith said so at the meeting.")]


def choose(candidates, info, articles, params):
    """The quotes chosen (a list) and whether they are dated, as the answer stage picks them."""
    selection = select(candidates, info, articles, params)
    return list(selection.quotes), selection.dated


def why_not(candidates, info, params=AnswerParams()) -> str:
    """The reason the answer stage gives for not answering ("" when it answers)."""
    return abstention(select(candidates, info, ARTICLES, params), (), params)


def match(sentence: Sentence, info: QuestionInfo, params: AnswerParams, year=None, mentions=frozenset()):
    from qa.text import reported_years

    rules = MatchRules.of(params)
    view = SentenceFacts(sentence.text, frozenset(terms(sentence.text)), frozenset(reported_years(sentence.text)),
                         bool(answer_spans(sentence.text, info, rules.precise_kinds)))
    return sentence_match(view, info, ArticleYears(year, mentions, mentions), rules)


def cand(i: int, score: float, info: QuestionInfo) -> Candidate:
    kind_match = bool(info.kind) and bool(find_spans(S[i].text, info.kind))
    return Candidate(S[i], PASSAGE, dense=score, lexical=0.5, kind_match=kind_match, year_match=False, score=score)


def test_a_dated_sentence_close_to_the_best_replaces_it_for_a_when_question():
    info = analyze("When was the council inspected?")
    quotes, _ = choose([cand(0, 1.0, info), cand(2, 0.95, info)], info, ARTICLES, AnswerParams())
    assert [q.sentence.ordinal for q in quotes][0] == 2


def test_no_date_close_enough_means_not_found():
    info = analyze("When was the council inspected?")
    params = AnswerParams()
    far = 1.0 - params.kind_search_margin - 0.05
    quotes, _ = choose([cand(0, 1.0, info), cand(2, far, info)], info, ARTICLES, params)
    assert quotes == []
    assert "date" in why_not([cand(0, 1.0, info), cand(2, far, info)], info, params)


def test_the_speaker_named_in_the_next_sentence_is_quoted_with_the_quote():
    info = analyze("Who said they were proud of the staff?")
    assert info.kind == "person"
    quotes, _ = choose([cand(3, 1.0, info), cand(4, 0.5, info), cand(0, 0.6, info)], info, ARTICLES, AnswerParams())
    assert [q.sentence.ordinal for q in quotes] == [3, 4]  # reading order
    pair, _ = choose([cand(3, 1.0, info), cand(4, 0.5, info)], info, ARTICLES, AnswerParams())
    assert any("Jane Smith" in q.sentence.text for q in pair) and not why_not(pair, info)
    assert all(TEXT[q.sentence.start:q.sentence.end] == q.sentence.text for q in pair)


def test_without_a_typed_neighbour_a_person_question_keeps_the_best_sentence():
    info = analyze("Who said they were proud of the staff?")
    quotes, _ = choose([cand(3, 1.0, info), cand(0, 0.9, info)], info, ARTICLES, AnswerParams())
    assert [q.sentence.ordinal for q in quotes][0] == 3  # persons are not required: no abstention


def test_a_bare_year_is_not_a_count():

    assert find_spans("This was finalised in July 2024.", "number") == []
    assert find_spans("It created 12 posts in 2024.", "number") == [(11, 13)]
    assert find_spans("About 2,000 families", "number") == [(6, 11)]


def test_money_is_not_a_count_and_a_multiplier_stays_with_its_number():

    text = "It was awarded £2.2 million to hire 3 carers, 12 per cent more."
    assert [text[a:b] for a, b in find_spans(text, "number")] == ["3", "12 per cent"]
    assert [text[a:b] for a, b in find_spans(text, "amount")] == ["£2.2 million"]


def test_a_title_and_a_surname_name_a_person_but_a_sentence_opening_does_not():

    def persons(text: str) -> list[str]:
        return [text[a:b] for a, b in find_spans(text, "person")]

    assert persons("“We are sorry,” Cllr Ford said.") == ["Cllr Ford"]
    assert persons("In November Joy Hollister said so.") == ["Joy Hollister"]
    assert persons("The Havering Safeguarding Children Board met.") == []
    assert persons("Inspectors found:") == []


def test_a_question_naming_a_role_asks_for_a_person():
    assert analyze("Which cabinet member said the council was not complacent?").kind == "person"
    assert analyze("What official praised the plan?").kind == "person"
    assert analyze("What did the cabinet member say about the plan?").kind is None
    assert analyze("Which council was rated good?").kind is None


def test_a_sentence_ending_in_a_colon_is_quoted_with_the_one_it_introduces():
    text = "Inspectors found: Children wait too long for help. Staff morale is high."
    article = Article(id="b", title="T", date="2020", source=None, url=None, text=text, sha256="y")
    chunk = Chunk(id="b#0", article_id="b", ordinal=0, start=0, end=len(text), text=text)
    passage = Passage(chunk=chunk, rank=1, score=1.0, dense=0.8, lexical=1.0)
    parts = ["Inspectors found:", "Children wait too long for help.", "Staff morale is high."]
    sents = [Sentence(id=f"b:{i}", article_id="b", ordinal=i, start=text.index(p), end=text.index(p) + len(p), text=p)
             for i, p in enumerate(parts)]
    info = analyze("What did the inspectors find?")
    cands = [Candidate(s, passage, dense=d, lexical=0.5, kind_match=False, year_match=False, score=d)
             for s, d in zip(sents, (1.0, 0.6, 0.5))]
    quotes, _ = choose(cands, info, {"b": article}, AnswerParams())
    assert [q.sentence.ordinal for q in quotes] == [0, 1]


def test_a_quantity_in_words_answers_how_many():

    text = "The overwhelming majority of children are settled; a small number of children wait too long."
    assert [text[a:b] for a, b in find_spans(text, "number")] == ["overwhelming majority", "a small number of"]
    assert find_spans("Most children are settled.", "number") == []


def test_who_gave_that_figure_points_at_the_previous_answer():
    from qa.conversation import REFERS_TO_ANSWER_RE

    assert REFERS_TO_ANSWER_RE.search("Who gave that figure?")
    assert REFERS_TO_ANSWER_RE.search("Who said that?")
    assert not REFERS_TO_ANSWER_RE.search("Who gave the council its rating?")


def test_at_the_moment_asks_for_the_newest():
    assert analyze("What rating does the service hold at the moment?").latest
    assert not analyze("What rating did the service get?").latest


@pytest.mark.parametrize("question, ruled_out, switch, reason", [
    ("What did the leader say in 2016?", {"in_scope": False}, "year_scope", "2016"),  # another time
    ("What did Cllr Jane Smith say about the staff?", {"attributed": False}, "speaker_required", "Smith"),
])
def test_a_sentence_ruled_out_is_not_quoted_and_alone_means_not_found(question, ruled_out, switch, reason):
    info = analyze(question)
    kept = cand(4, 0.8, info)
    out = replace(cand(3, 1.0, info), **ruled_out)
    assert choose([out, kept], info, ARTICLES, AnswerParams())[0] == [kept]
    assert reason in why_not([out], info)
    assert choose([out], info, ARTICLES, AnswerParams().without(switch))[0] == [out]


def test_the_scope_of_a_year_is_the_articles_dated_in_it_or_the_next_year_or_naming_it_or_undated():
    info = analyze("What happened in 2016?")
    params = AnswerParams()

    def scoped(article_year, mentions=frozenset()):
        return match(S[0], info, params, article_year, mentions).in_scope

    assert scoped("2016") and scoped("2017") and scoped("2011", frozenset({"2016"}))
    assert not scoped("2011") and not scoped("2018")
    assert scoped(None)  # an undated article that never names the year may still be of it
    assert match(S[0], analyze("What happened?"), params, "2011").in_scope


def test_a_percentage_question_needs_a_percentage():

    info = analyze("What percentage of staff are agency workers?")
    assert info.kind == "percent"
    text = "About 45% of staff, 12 per cent more, and half of them left; 3 teams remain."
    assert [text[a:b] for a, b in find_spans(text, "percent")] == ["45%", "12 per cent", "half"]
    assert analyze("What salary do social workers earn?").kind == "amount"


def test_a_person_asked_for_by_role_is_required_but_an_agent_is_not():
    by_role = analyze("Which inspector led the visit?")
    assert by_role.kind == "person" and by_role.person_by_role
    assert analyze("Who was the chief executive in 2019?").person_by_role
    agent = analyze("Who said they were proud of the staff?")
    assert agent.kind == "person" and not agent.person_by_role
    # no sentence names a person: "which inspector" is not answered, "who said" keeps its best sentence
    assert choose([cand(0, 1.0, by_role), cand(1, 0.9, by_role)], by_role, ARTICLES, AnswerParams())[0] == []
    assert choose([cand(0, 1.0, agent), cand(1, 0.9, agent)], agent, ARTICLES, AnswerParams())[0]
    assert choose([cand(0, 1.0, by_role)], by_role, ARTICLES, AnswerParams().without("person_by_role"))[0]


def test_a_clause_naming_the_occasion_is_found_after_the_questions_opening():
    from qa.question import context_words

    assert context_words("What did Ofsted say about care leavers when the council was rated good?") == [
        "when the council was rated good"]
    assert context_words("Were referrals clear, according to the 2023 report?") == ["according to the 2023 report"]
    assert context_words("What rating did it get in its 2016 inspection?") == ["in its 2016 inspection"]
    assert context_words("When was the council rated good?") == []
    assert context_words("What did the report say?") == []


def test_a_month_and_year_is_not_read_as_a_day():

    text = "It was rated in December 2023, after inspections from December 11 to 22."
    assert [text[a:b] for a, b in find_spans(text, "date")] == ["December 2023", "December 11 to 22"]


def test_the_date_asked_for_must_be_precise_enough():

    on_what_date = analyze("On what date was the report published?")
    assert on_what_date.date_grain == "day"
    assert analyze("In which month did inspectors visit?").date_grain == "month"
    assert analyze("What year did it close?").date_grain == "year"
    assert analyze("When did it close?").date_grain is None
    assert answer_spans("It was published in December 2023.", on_what_date) == []
    text = "It was published on 4 January 2024."
    assert [text[a:b] for a, b in answer_spans(text, on_what_date)] == ["4 January 2024"]
    assert answer_spans("It was published in December 2023.", on_what_date, precise=False)


def test_when_will_is_answered_only_by_a_sentence_about_the_future():
    info = analyze("When will the council be inspected again?")
    assert info.future and not analyze("When was the council inspected?").future
    assert not analyze("What will oxygen speed up?").future  # timeless "will"
    past = cand(2, 1.0, info)  # "The inspection ran from 3 to 14 March 2019."
    assert choose([past], info, ARTICLES, AnswerParams())[0] == []
    assert "future" in why_not([past], info)
    assert choose([past], info, ARTICLES, AnswerParams().without("future_needs_future"))[0] == [past]


def test_a_number_of_years_does_not_count_inspectors():

    text = "One year on, 12 inspectors came for 3 weeks with two-year plans in December 2023."
    how_many = analyze("How many inspectors came?")
    assert [text[a:b] for a, b in answer_spans(text, how_many)] == ["12"]
    assert [text[a:b] for a, b in answer_spans(text, analyze("How many weeks did they stay?"))] == [
        "One", "12", "3", "two"]
    assert analyze("Who chaired the board?").person_by_role


def test_a_span_the_question_already_says_answers_nothing():

    info = analyze("How much of the £2.2 million went on foster carers?")
    assert answer_spans("It was awarded £2.2 million for foster carers.", info) == []
    text = "Of the £2.2 million, £400,000 went on foster carers."
    assert [text[a:b] for a, b in answer_spans(text, info)] == ["£400,000"]


def test_the_person_whose_words_are_asked_for():
    from qa.question import asked_speaker

    assert asked_speaker("What did Cllr Jane Smith say about the budget?") == "Cllr Jane Smith"
    info = analyze("What did Cllr Jane Smith say about the budget?")
    assert info.speaker == "Smith" and info.speaker_terms == {"cllr", "jane", "smith"}
    assert asked_speaker("How did Councillor Oscar Ford describe the progress?") == "Councillor Oscar Ford"
    assert asked_speaker("Were referrals clear, according to Mr Churchman?") == "Mr Churchman"
    assert asked_speaker("What did Robert Benham have to say about the rating?") == "Robert Benham"
    assert asked_speaker("What did the report say about referrals?") is None
    assert asked_speaker("What did Ofsted say?") is None  # one capitalised word: an organisation as often


def test_the_evidence_can_be_measured_apart_from_the_choice():
    """A follow-up is chosen with its own words weighing more, but judged with the whole turn: the score
    comes from the features alone, the evidence from the candidate's own cosine and term share."""
    from qa.answer.scoring import Features, scores

    params = AnswerParams()
    features = Features(dense=[0.3], lexical=[0.2], window=[0.2], passage=[1.0], kind_match=[False],
                        year_match=[False], novel=[0.0])
    plain = Candidate(S[0], PASSAGE, dense=0.3, lexical=0.2, kind_match=False, year_match=False,
                      score=scores(features, params)[0])
    judged = replace(plain, dense=0.6)
    assert judged.score == plain.score == pytest.approx(1.0 * 0.3 + 0.5 * 0.2 + 0.25 * 0.2 + 0.5 * 1.0)
    assert judged.evidence == pytest.approx(plain.evidence + 0.3)


def test_now_prefers_the_newest_article_within_the_latest_margin():
    old = Article(id="old", title="T", date="2018-01", source=None, url=None, text=TEXT, sha256="x")
    new = Article(id="new", title="T", date="2024-12", source=None, url=None, text=TEXT, sha256="y")
    articles = {"old": old, "new": new}
    info = analyze("How high are caseloads now?")

    def at(article_id, score):
        s = replace(S[0], id=f"{article_id}:0", article_id=article_id)
        return Candidate(s, PASSAGE, dense=score, lexical=0.5, kind_match=False, year_match=False, score=score)

    params = AnswerParams()
    near = at("new", 1.0 - params.latest_margin + 0.02)
    quotes, _ = choose([at("old", 1.0), near], info, articles, params)
    assert quotes[0].sentence.article_id == "new"
    far = at("new", 1.0 - params.latest_margin - 0.02)
    assert choose([at("old", 1.0), far], info, articles, params)[0][0].sentence.article_id == "old"


def test_a_decade_answers_what_year_and_twice_counts():

    text = "The system was created in the 1950s and has been rebuilt twice."
    assert [text[a:b] for a, b in answer_spans(text, analyze("In what year was the system created?"))] == ["1950s"]
    assert [text[a:b] for a, b in answer_spans(text, analyze("How many times was it rebuilt?"))] == ["twice"]


def test_who_was_the_asks_for_a_person_only_when_it_names_a_role():
    assert analyze("Who was the director of children's services?").person_by_role
    assert not analyze("Who was the world's second largest oil producer?").person_by_role


def test_a_role_asked_for_must_be_the_role_the_person_is_named_with():
    info = analyze("Who was the director of children's services in 2018?")
    assert info.role == "director"
    assert analyze("Which inspector wrote the report?").role == "inspector"
    assert analyze("Which councillor apologised?").role is None  # mostly a title, often "Cllr"
    assert analyze("Which official said that?").role is None  # too general to look for
    params = AnswerParams()
    director = Sentence(id="b:0", article_id="b", ordinal=0, start=0, end=48,
                        text="The director, Andrew Ireland, welcomed the report.")
    member = Sentence(id="b:1", article_id="b", ordinal=1, start=49, end=100,
                      text="Cabinet member Cllr Robert Benham welcomed it too.")
    assert match(director, info, params).kind_match
    assert not match(member, info, params).kind_match
    assert match(member, info, params.without("role_required")).kind_match


def test_a_year_only_counted_from_is_not_one_reported_on():
    from qa.text import reported_years

    assert reported_years("Services have improved since the previous inspection in 2016.") == []
    assert reported_years("In 2016 it grew. Since then, in 2018, it shrank.") == ["2016", "2018"]
    assert analyze("Who spoke when Ofsted said services had improved since 2016?").years == ()
    info = analyze("What rating did the 2016 inspection give?")
    since = Sentence(id="b:0", article_id="b", ordinal=0, start=0, end=60,
                     text="Services have improved since the previous inspection in 2016.")
    params = AnswerParams()
    # an article of 2018 that names 2016 only as "since 2016" is of another time
    assert not match(since, info, params, "2018").year_match
    assert match(since, info, params.without("since_is_reference"), "2018").year_match


def test_question_forms_that_ask_for_a_type():
    assert analyze("Who was Havering's director of children's services in 2018?").person_by_role
    assert analyze("Over what dates were the inspectors in the borough?").kind == "date"
    exact = analyze("Exactly how many children were left at risk?")
    text = "Weaknesses have led to a small number of children remaining at risk."
    assert exact.exact and answer_spans(text, exact) == []
    assert answer_spans(text, analyze("How many children were left at risk?"))  # a count in words answers


def test_a_period_asked_about_is_not_answered_by_a_sentence_naming_only_another():
    from qa.text import year_ranges

    assert year_ranges("in 2024-2025, the 2025-26 budget and 2018-23") == {(2024, 2025), (2025, 2026), (2018, 2023)}
    info = analyze("How much was the council's budget settlement for 2025-26?")
    assert info.periods == {(2025, 2026)}
    other = Sentence(id="b:0", article_id="b", ordinal=0, start=0, end=60,
                     text="Additional funds of £11m were allocated in 2024-2025.")
    same = Sentence(id="b:1", article_id="b", ordinal=1, start=61, end=120,
                    text="The settlement for 2025-26 was £2m.")
    plain = Sentence(id="b:2", article_id="b", ordinal=2, start=121, end=160, text="The settlement was £2m in 2025.")
    params = AnswerParams()
    assert not match(other, info, params, "2024").in_scope
    assert match(same, info, params, "2024").in_scope
    assert match(plain, info, params, "2024").in_scope
    assert match(other, info, params.without("period_scope"), "2024").in_scope
