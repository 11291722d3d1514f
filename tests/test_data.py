"""qa.data: external evaluation data copied or downloaded, checked by sha256, read from one folder.
A fake folder and fake checksums stand in for the real data (no network: downloads are file:// URLs)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re

import pytest

from qa import data
from qa.data import DataCheckFailed, DataFile, DataMissing, DataSet, fetch, load, path


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


@pytest.fixture()
def fake(tmp_path):
    """A source folder (nested, as a shared folder is), a download folder and a table describing them."""
    plain = json.dumps({"data": [{"title": "A"}]}).encode()
    packed = gzip.compress(json.dumps({"data": [{"title": "B"}]}).encode())
    (tmp_path / "src" / "nested").mkdir(parents=True)
    (tmp_path / "src" / "nested" / "b.json.gz").write_bytes(packed)
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "a.json").write_bytes(plain)
    table = {
        "one": DataSet("One", (DataFile("a.json", sha(plain), (tmp_path / "web" / "a.json").as_uri()),), "test"),
        "two": DataSet("Two", (DataFile("b.json.gz", sha(packed)),
                               DataFile("b.json", sha(b"other"), (tmp_path / "web" / "missing.json").as_uri())), "test"),
    }
    return tmp_path, table


def test_missing_data_says_what_to_run(fake):
    root, table = fake
    with pytest.raises(DataMissing, match=r"run `python -m qa.data one` \(or `make data`\).*QA_DATA_DIR"):
        path("one", dest=root / "dest", datasets=table)


def test_copy_from_a_folder_checks_and_stores(fake):
    root, table = fake
    line = fetch("two", source=root / "src", dest=root / "dest", datasets=table)
    assert line.startswith("two: copied")
    assert path("two", dest=root / "dest", datasets=table) == root / "dest" / "two" / "b.json.gz"
    assert load("two", dest=root / "dest", datasets=table) == {"data": [{"title": "B"}]}
    assert fetch("two", source=root / "src", dest=root / "dest", datasets=table).startswith("two: already in")


def test_download_checks_and_stores(fake):
    root, table = fake
    assert fetch("one", dest=root / "dest", datasets=table).startswith("one: downloaded file://")
    assert load("one", dest=root / "dest", datasets=table) == {"data": [{"title": "A"}]}
    assert [p.name for p in (root / "dest" / "one").iterdir()] == ["a.json"]  # no partial file left


def test_a_wrong_checksum_stores_nothing(fake):
    root, table = fake
    (root / "web" / "a.json").write_bytes(b"tampered")
    with pytest.raises(DataCheckFailed, match="sha256"):
        fetch("one", dest=root / "dest", datasets=table)
    (root / "src" / "nested" / "b.json.gz").write_bytes(b"tampered")
    with pytest.raises(DataCheckFailed, match="sha256"):
        fetch("two", source=root / "src", dest=root / "dest", datasets=table)
    assert [p for p in (root / "dest").rglob("*") if p.is_file()] == []


def test_a_stored_file_changed_later_is_refused(fake):
    root, table = fake
    fetch("two", source=root / "src", dest=root / "dest", datasets=table)
    (root / "dest" / "two" / "b.json.gz").write_bytes(b"changed")
    with pytest.raises(DataCheckFailed, match="fetch it again"):
        path("two", dest=root / "dest", datasets=table)


def test_a_failed_download_is_one_line_with_the_fix(fake):
    root, table = fake
    (root / "web" / "a.json").unlink()
    with pytest.raises(data.QAError, match="could not download .* --from FOLDER") as caught:
        fetch("one", dest=root / "dest", datasets=table)
    assert "\n" not in str(caught.value)


def test_command_copies_from_qa_data_dir(fake, monkeypatch, capsys):
    root, table = fake
    monkeypatch.setattr(data, "DATASETS", table)
    monkeypatch.setenv("QA_DATA_DIR", str(root / "src"))
    assert data.main(["two", "--dest", str(root / "dest")]) == 0
    assert "two: copied" in capsys.readouterr().out
    assert data.main(["one", "--dest", str(root / "dest")]) == 2  # not in the folder: one line, no traceback
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds none of a.json" in err
    assert data.main(["nope", "--dest", str(root / "dest")]) == 2
    assert "known: one, two" in capsys.readouterr().err


def test_the_real_table_is_pinned():
    for name, ds in data.DATASETS.items():
        assert ds.files and ds.license
        assert any(f.url for f in ds.files), f"{name} has no download address"
        for f in ds.files:
            assert re.fullmatch(r"[0-9a-f]{64}", f.sha256)
            assert f.url is None or f.url.startswith("https://")
