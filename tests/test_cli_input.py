"""What a careless user or a hostile article can hand the CLI: each gets one clear line, a non-zero exit
when it is the user's mistake, never a traceback, and nothing is lost (issue 14, items 7, 9, 10, 12, 13)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.cli import main

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ("The council was rated \x1b[31mgood\x1b[0m by inspectors in 2019.\x07 "
           "A second bell rang \x9b2J in the hall. Staff morale was described as high.")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def qa(*args: str | bytes, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUTF8="0", LC_ALL="C")
    return subprocess.run([sys.executable, "-m", "qa", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, timeout=600)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A corpus whose one article holds terminal escapes and a bell, indexed once."""
    corpus = tmp_path_factory.mktemp("hostile-corpus")
    (corpus / "rating.md").write_text(f'---\ntitle: "Council rated"\ndate: "2019-05"\n---\n'
                                      f"{HOSTILE}\n", "utf-8")
    index = tmp_path_factory.mktemp("hostile-index")
    assert main(["index", "--corpus", str(corpus), "--index", str(index)]) == 0
    return corpus, index


# ---------------------------------------------------------------- item 7: control characters on output


@pytest.mark.model
def test_an_articles_control_characters_are_printed_as_escapes_but_stored_exactly(hostile, capsys):
    corpus, index = hostile
    code, out, _ = run(capsys, "show", "rating", "--corpus", str(corpus), "--index", str(index))
    assert code == 0
    assert not any(c in out for c in "\x1b\x07\x9b") and "\\x1b[31mgood" in out and "\\x07" in out
    code, out, _ = run(capsys, "show", "rating", "--json", "--corpus", str(corpus), "--index", str(index))
    assert code == 0 and not any(c in out for c in "\x1b\x07\x9b")
    assert json.loads(out)["text"] == HOSTILE + "\n"  # the JSON value is the exact stored text
    code, out, _ = run(capsys, "ask", "How was the council rated in 2019?", "--corpus", str(corpus),
                       "--index", str(index))
    assert code == 0 and "\x1b" not in out and "\x07" not in out and "\\x1b[31m" in out
    code, out, _ = run(capsys, "ask", "How was the council rated in 2019?", "--json", "--corpus", str(corpus),
                       "--index", str(index))
    answer = json.loads(out)
    assert code == 0 and not any(c in out for c in "\x1b\x07\x9b")
    cited = answer["citations"][0]
    assert HOSTILE[cited["start"]:cited["end"]] == cited["quote"] and "\x1b[31m" in cited["quote"]


# ---------------------------------------------------------------- item 9: text that is not UTF-8


@pytest.mark.model
def test_a_question_that_is_not_utf8_is_answered_and_the_batch_goes_on(hostile):
    corpus, index = hostile
    done = qa("ask", "--json", "--corpus", str(corpus), "--index", str(index),
              stdin=b"caf\xe9 rating\xff?\nHow was the council rated?\n")
    assert done.returncode == 0, done.stderr.decode()
    assert b"Traceback" not in done.stderr
    lines = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert len(lines) == 2 and "\ufffd" in lines[0]["question"] and lines[1]["citations"]


@pytest.mark.model
def test_a_lone_surrogate_in_a_question_or_its_history_is_replaced(engine):
    answer = engine.ask("Who inspected the council \ud800?", [{"role": "user", "content": "Ofsted \udce9 report?"},
                                                              {"role": "assistant", "content": "It \udfff was."}])
    assert "\ufffd" in answer.question and "\ud800" not in answer.query
    assert main(["ask", "--corpus", str(engine.settings.corpus_dir), "--index", str(engine.settings.index_dir),
                 "Who led the \udce9 inspection?"]) == 0


# ---------------------------------------------------------------- item 10: output paths of qa eval


def test_eval_checks_its_output_paths_before_running(tmp_path, capsys):
    untouched = tmp_path / "index-never-built"
    for flag, target, says in (("--json", tmp_path / "missing" / "out.json", "does not exist"),
                               ("--report", tmp_path / "missing" / "r.md", "does not exist"),
                               ("--report", tmp_path, "is a folder"),
                               ("--json", tmp_path, "is a folder")):
        code, _, err = run(capsys, "eval", flag, str(target), "--index", str(untouched))
        assert code == 2 and says in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
        assert not untouched.exists()  # nothing ran: no index was built
    assert not (tmp_path / "missing").exists()  # no folder is created either


# ---------------------------------------------------------------- item 12: a file where a folder belongs


def test_a_file_given_as_the_index_or_corpus_folder_is_named_as_such(tmp_path, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("hello", "utf-8")
    for argv in (["index", "--index", str(a_file)], ["index", "--corpus", str(a_file)],
                 ["ask", "Who?", "--index", str(a_file)], ["show", "x", "--corpus", str(a_file)]):
        code, _, err = run(capsys, *argv)
        assert code == 2 and "is a file, not a folder" in err and str(a_file) in err, argv
    assert a_file.read_text("utf-8") == "hello"


# ---------------------------------------------------------------- item 13: malformed questions files


def test_deeply_nested_json_in_a_questions_file_is_named_not_a_recursion_error(tmp_path, capsys):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "question": "Q?"}\n' + "[" * 100_000 + "]" * 100_000 + "\n", "utf-8")
    code, _, err = run(capsys, "eval", str(path), "--index", str(tmp_path / "i"))
    assert code == 2 and "line 1" in err  # the first bad record is named
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n", "utf-8")
    code, _, err = run(capsys, "eval", str(path), "--index", str(tmp_path / "i"))
    assert code == 2 and "line 1" in err and "nested too deeply" in err and "Recursion" not in err


@pytest.mark.parametrize("paragraph, says", [
    ({"context": "Some text.", "qas": [{"id": "x1", "answers": []}]}, "question 1 (id 'x1')"),
    ({"context": "Some text.", "qas": [{"id": "x2", "question": "Q?", "answers": ["Some"]}]}, '"answers" must be'),
    ({"context": "Some text.", "qas": {"id": "x3", "question": "Q?"}}, '"qas" must be a list'),
    ({"context": 42, "qas": []}, '"context" must be text'),
    ("not a paragraph", "paragraph 1: is str"),
])
def test_a_malformed_squad_file_names_its_first_bad_record(tmp_path, paragraph, says):
    from qa.errors import UsageError
    from qa.squad import load_squad

    path = tmp_path / "bad.json.gz"
    good = {"title": "Good", "paragraphs": [{"context": "Fine.", "qas": [{"id": "g", "question": "Q?",
                                                                          "answers": [{"text": "Fine",
                                                                                       "answer_start": 0}]}]}]}
    path.write_bytes(gzip.compress(json.dumps({"data": [good, {"title": "Bad", "paragraphs": [paragraph]}]}).encode()))
    with pytest.raises(UsageError) as err:
        load_squad(path)
    assert "article 2" in str(err.value) and says in str(err.value)
    nested = tmp_path / "nested.json"
    nested.write_text('{"data": ' + "[" * 100_000 + "]" * 100_000 + "}", "utf-8")
    with pytest.raises(UsageError, match="nested too deeply"):
        load_squad(nested)
