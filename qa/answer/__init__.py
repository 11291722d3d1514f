"""The answer stage: passages in, an Answer quoting the sentences that answer (or "not found") out.

    params.py      AnswerParams (weights, margins, the rules switched on) and RULES, the rule registry
    facts.py       IndexFacts: what the stage knows of an index, computed once per index
    candidates.py  candidate sentences, scored and matched against the question (type, year, speaker)
    scoring.py     the weighted sum that ranks them (pure)
    exclusions.py  the ordered table of rules that keep a sentence from answering
    select.py      the quotes chosen, and the abstention decision with its reason
    reader.py      Reader.answer(question, vectors, passages) -> Answer: the one entry point
"""

from qa.answer.facts import IndexFacts
from qa.answer.params import ABSTAIN_MESSAGE, REQUIRED_KINDS, RULES, AnswerParams, Rule
from qa.answer.reader import Reader

__all__ = ["ABSTAIN_MESSAGE", "REQUIRED_KINDS", "RULES", "AnswerParams", "IndexFacts", "Reader", "Rule"]
