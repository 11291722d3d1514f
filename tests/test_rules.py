"""The answer stage's rules: named entries that can each be switched off, read in one module each (pure)."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from qa.answer import RULES, AnswerParams
from qa.answer.exclusions import EXCLUSIONS
from qa.errors import UsageError

QA = Path(__file__).resolve().parents[1] / "qa"


def test_an_unknown_rule_name_is_an_error_listing_the_valid_names():
    with pytest.raises(UsageError) as err:
        AnswerParams().without("year_scop")
    message = str(err.value)
    assert "'year_scop'" in message and all(rule.name in message for rule in RULES)
    with pytest.raises(UsageError):
        AnswerParams(rules=frozenset({"no_such_rule"}))
    with pytest.raises(UsageError):
        AnswerParams().on("no_such_rule")


def test_every_rule_can_be_switched_off_and_on_again_by_name():
    shipped = AnswerParams()
    for rule in RULES:
        off = shipped.without(rule.name)
        assert not off.on(rule.name) and off.rules == shipped.rules - {rule.name}
        assert off.with_rules(rule.name) == shipped


def test_the_parameters_hold_weights_margins_and_a_rule_set_not_a_switch_per_rule():
    kinds = {f.name: f.type for f in dataclasses.fields(AnswerParams)}
    assert "bool" not in kinds.values()
    assert kinds["rules"] == "frozenset[str]"


def _string_constants(path: Path) -> set[str]:
    return {node.value for node in ast.walk(ast.parse(path.read_text("utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_each_rule_name_is_read_in_exactly_one_module_the_one_its_entry_names():
    modules = {p: _string_constants(p) for p in QA.rglob("*.py") if p.name != "params.py"}
    for rule in RULES:
        readers = sorted(p.relative_to(QA).as_posix() for p, names in modules.items() if rule.name in names)
        assert readers == [f"answer/{rule.stage}.py"], f"{rule.name} is read in {readers}"


def test_the_exclusion_table_names_only_registered_rules_in_order():
    assert [e.name for e in EXCLUSIONS] == [r.name for r in RULES if r.stage == "exclusions"]
