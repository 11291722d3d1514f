"""External evaluation data (SQuAD v1.1/v2.0 dev, XQuAD-en, COVID-QA): fetched once, checked, read from one folder.

``python -m qa.data`` (or ``make data``) downloads each data set from its official address, checks its
sha256 and stores it under ``data/external/<name>/`` (gitignored). Without internet, ``--from FOLDER`` or
``$QA_DATA_DIR`` names a folder holding the same files (searched recursively): they are copied after the
same check. Benchmarks read the data only through ``path(name)`` / ``load(name)``; when a data set is
missing the error says which command to run. Nothing here is on the question path.

Usage example:
    from qa import data
    squad = data.load("squad-v1.1")        # the parsed JSON
    print(data.path("xquad-en"))           # data/external/xquad-en/xquad.en.json
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QAError, UsageError

DEST = Path(__file__).resolve().parents[1] / "data" / "external"
TIMEOUT_S = 60
_SQUAD = "https://rajpurkar.github.io/SQuAD-explorer/dataset"


@dataclass(frozen=True)
class DataFile:
    """One accepted form of a data set: its file name, sha256, and where to download it (None: copy only)."""

    name: str
    sha256: str
    url: str | None = None


@dataclass(frozen=True)
class DataSet:
    """A data set; ``files`` in order of preference (the first present is the one read)."""

    title: str
    files: tuple[DataFile, ...]
    license: str


# The copies the figures in benchmarks/ were measured on come first. For SQuAD these are a rebuild from the
# official explorer pages (answer_start recomputed as the answer's first occurrence, gzipped); a machine with
# internet downloads the official JSON instead (same articles, questions and answer texts; score by text).
# sha256 of the official SQuAD JSON files as published with them (also in TensorFlow Datasets' checksums).
DATASETS: dict[str, DataSet] = {
    "squad-v1.1": DataSet("SQuAD v1.1 dev", (
        DataFile("squad-v1.1-dev.json.gz", "8623b99fb789d0c1af3928f6bbb813b25b409c5f80c32570d2f80b3ab243b979"),
        DataFile("dev-v1.1.json", "95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9",
                 f"{_SQUAD}/dev-v1.1.json"),
    ), "CC BY-SA 4.0, Rajpurkar et al. 2016"),
    "squad-v2.0": DataSet("SQuAD v2.0 dev", (
        DataFile("squad-v2.0-dev.json.gz", "8ed6e7434bf3174ca0fac52168378e233c7ca3e81fba18b78f436a939165c930"),
        DataFile("dev-v2.0.json", "80a5225e94905956a6446d296ca1093975c4d3b3260f1d6c8f68bc2ab77182d8",
                 f"{_SQUAD}/dev-v2.0.json"),
    ), "CC BY-SA 4.0, Rajpurkar et al. 2018"),
    "xquad-en": DataSet("XQuAD (English)", (
        DataFile("xquad.en.json", "e4c57d1c9143aaa1c5d265ba5987a65f4e69528d2a98f29d6e75019b10344f29",
                 "https://raw.githubusercontent.com/google-deepmind/xquad/"
                 "7d30520c717524000f0d9d2f9c10a069acd9d285/xquad.en.json"),
    ), "CC BY-SA 4.0, Artetxe, Ruder & Yogatama 2019"),
    "covid-qa": DataSet("COVID-QA (pre-release of 2020-04-23)", (
        DataFile("200423_covidQA.json", "ab310b4e39f726e087c8fa3d1787c73771dacddc584977204ebe3cc889ee1264",
                 "https://raw.githubusercontent.com/deepset-ai/COVID-QA/"
                 "fb2eb5e249618457e5359806601086c635c8eb8f/data/question-answering/200423_covidQA.json"),
    ), "Apache 2.0 (deepset-ai/COVID-QA); the papers are CORD-19 articles under their own licenses"),
}


class DataMissing(UsageError):
    """A data set a benchmark needs is not in the data folder."""


class DataCheckFailed(QAError):
    """A file's sha256 is not the one expected."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _lookup(name: str, datasets: dict[str, DataSet]) -> DataSet:
    if name not in datasets:
        raise UsageError(f"no data set {name!r}; known: {', '.join(datasets)}.")
    return datasets[name]


def path(name: str, *, dest: Path = DEST, datasets: dict[str, DataSet] = DATASETS) -> Path:
    """The stored file of data set ``name`` (the first of its accepted forms present), its sha256 checked.

    Raises:
        DataMissing: nothing stored; the message says what to run.
        DataCheckFailed: the stored file was changed or damaged.
    """
    data = _lookup(name, datasets)
    for file in data.files:
        stored = Path(dest) / name / file.name
        if stored.is_file():
            _check(stored, file)
            return stored
    raise DataMissing(f"{data.title} ({name}) is not in {dest}: run `python -m qa.data {name}` (or `make data`); "
                      f"on a machine without internet add `--from FOLDER` (or set QA_DATA_DIR) naming a folder "
                      f"that holds {' or '.join(f.name for f in data.files)}.")


def load(name: str, *, dest: Path = DEST, datasets: dict[str, DataSet] = DATASETS):
    """The parsed JSON of data set ``name`` (gzipped or not)."""
    stored = path(name, dest=dest, datasets=datasets)
    raw = stored.read_bytes()
    return json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)


def _check(candidate: Path, file: DataFile) -> None:
    actual = sha256_of(candidate)
    if actual != file.sha256:
        raise DataCheckFailed(f"{candidate} has sha256 {actual}, not {file.sha256}: it is another version or "
                              f"damaged; delete it and fetch it again (`python -m qa.data`).")


def fetch(name: str, *, source: Path | None = None, dest: Path = DEST,
          datasets: dict[str, DataSet] = DATASETS) -> str:
    """Store data set ``name`` under ``dest/name/``: already there, copied from ``source`` (searched
    recursively for one of its file names), or downloaded. Every file is checked before it is stored.

    Returns:
        one line saying what was done.

    Raises:
        DataMissing: ``source`` holds none of its files.
        DataCheckFailed: a file found or downloaded has another sha256 (nothing is stored).
        QAError: the download failed.
    """
    data = _lookup(name, datasets)
    try:
        return f"{name}: already in {path(name, dest=dest, datasets=datasets)}"
    except DataMissing:
        pass
    folder = Path(dest) / name
    if source is not None:
        for file in data.files:
            found = sorted(Path(source).rglob(file.name))
            if found:
                _check(found[0], file)
                _store(found[0], folder / file.name, copy=True)
                return f"{name}: copied {found[0]} (sha256 checked)"
        raise DataMissing(f"{source} holds none of {', '.join(f.name for f in data.files)} for {data.title}: "
                          f"name the folder that does, or leave out --from/QA_DATA_DIR to download.")
    file = next(f for f in data.files if f.url)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".part-", delete=False) as tmp:
        part = Path(tmp.name)
        try:
            with urllib.request.urlopen(file.url, timeout=TIMEOUT_S) as response:
                shutil.copyfileobj(response, tmp)
        except OSError as exc:
            part.unlink(missing_ok=True)
            raise QAError(f"could not download {file.url} ({exc}): without internet, run "
                          f"`python -m qa.data --from FOLDER` with a folder holding {file.name}.") from None
    try:
        _check(part, file)
    except DataCheckFailed:
        part.unlink(missing_ok=True)
        raise
    _store(part, folder / file.name, copy=False)
    return f"{name}: downloaded {file.url} (sha256 checked)"


def _store(source: Path, target: Path, *, copy: bool) -> None:
    """Put ``source`` at ``target`` whole or not at all (a temporary file, then a rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if copy:
        part = target.with_name(f".part-{target.name}")
        shutil.copyfile(source, part)
        source = part
    source.replace(target)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m qa.data", description=(
        "Fetch the external evaluation data the benchmarks read (SQuAD v1.1/v2.0 dev, XQuAD-en, COVID-QA) into "
        "data/external/, checking each file's sha256."))
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"data sets to fetch (default: all): {', '.join(DATASETS)}")
    parser.add_argument("--from", dest="source", type=Path, default=None,
                        help="copy from this folder instead of downloading (default: $QA_DATA_DIR when set)")
    parser.add_argument("--dest", type=Path, default=DEST, help="where to store them (default: data/external)")
    parser.add_argument("--list", action="store_true", help="list the data sets, their files and addresses")
    return parser


def main(argv: list[str] | None = None) -> int:
    from qa.config import setting

    args = build_parser().parse_args(argv)
    if args.list:
        for name, data in DATASETS.items():
            print(f"{name}: {data.title} ({data.license})")
            for f in data.files:
                print(f"  {f.name}  sha256 {f.sha256}  {f.url or '(copy only)'}")
        return 0
    try:
        source = args.source or setting("QA_DATA_DIR")
        if source is not None and not Path(source).is_dir():
            raise UsageError(f"{source} is not a folder: name the folder holding the data files.")
        for name in args.names or list(DATASETS):
            print(fetch(name, source=source, dest=args.dest, datasets=DATASETS), flush=True)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
