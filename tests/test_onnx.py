"""ONNX export and the torch-free embedder against sentence-transformers itself."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.config import bundled_model_path
from qa.errors import IndexCorruptError, IndexMissingError, QAError
from qa.onnx_embedder import OnnxEmbedder
from qa.onnx_export import export_onnx, sha256_file

pytestmark = pytest.mark.model

REPO = Path(__file__).parents[1]
CORPUS = REPO / "corpus"
# 275 XQuAD-en sentences (CC BY-SA 4.0): how they were drawn is in tests/data/README.md
XQUAD_SENTENCES = REPO / "tests" / "data" / "xquad_sentences.txt"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _split(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"\. |\n", text) if len(s.strip()) > 3]


def _article_body(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    fences = [i for i, line in enumerate(lines) if line.strip() == "---"]
    return "\n".join(lines[fences[1] + 1 :])


@pytest.fixture(scope="session", autouse=True)
def _offline():
    for key, value in OFFLINE.items():
        os.environ.setdefault(key, value)


@pytest.fixture(scope="session")
def sentences() -> list[str]:
    found = [s for p in sorted(CORPUS.glob("*.md")) for s in _split(_article_body(p))]
    found += XQUAD_SENTENCES.read_text(encoding="utf-8").splitlines()
    assert len(found) == 400
    return found


@pytest.fixture(scope="session")
def st_model():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(bundled_model_path(), device="cpu")


@pytest.fixture(scope="session")
def st_vectors(st_model, sentences) -> np.ndarray:
    return st_model.encode(sentences, normalize_embeddings=True, batch_size=32)


@pytest.fixture(scope="session")
def fp32_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("onnx") / "fp32"
    export_onnx(bundled_model_path(), out, "fp32")
    return out


@pytest.fixture(scope="session")
def fp32(fp32_dir) -> OnnxEmbedder:
    return OnnxEmbedder(fp32_dir)


@pytest.fixture(scope="session")
def fp32_vectors(fp32, sentences) -> np.ndarray:
    return fp32.embed(sentences)


@pytest.fixture
def long_text() -> str:
    text = " ".join(_split(_article_body(sorted(CORPUS.glob("*.md"))[0])))
    while len(text) < 4000:
        text += " " + text
    return text


def test_export_writes_encoder_json(fp32_dir):
    info = json.loads((fp32_dir / "encoder.json").read_text())
    assert info["variant"] == "fp32"
    assert info["max_length"] == 256
    assert info["pooling"] == "mean" and info["normalize"] is True
    assert info["dim"] == 384
    assert info["sha256"] == sha256_file(fp32_dir / "model.onnx")
    assert info["opset"] >= 14 and info["onnxruntime"]
    assert info["source_model"]
    assert (fp32_dir / "tokenizer.json").read_bytes() == (
        Path(bundled_model_path()) / "tokenizer.json"
    ).read_bytes()
    assert not list(fp32_dir.parent.glob(".fp32.*")), "temporary export folder left behind"


def test_fp32_matches_sentence_transformers(sentences, fp32_vectors, st_vectors):
    assert fp32_vectors.shape == (len(sentences), 384) and fp32_vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(fp32_vectors, axis=1), 1.0, atol=1e-5)
    cosine = (fp32_vectors * st_vectors).sum(axis=1)
    print(f"fp32 vs sentence-transformers cosine over {len(cosine)}: "
          f"mean {cosine.mean():.8f} min {cosine.min():.8f}")
    assert cosine.min() >= 0.999, f"min {cosine.min():.6f} mean {cosine.mean():.6f}"


def test_long_text_truncated_like_sentence_transformers(fp32, st_model, long_text):
    assert fp32.count_tokens(long_text) > 256
    ours = fp32.embed([long_text])[0]
    theirs = st_model.encode([long_text], normalize_embeddings=True)[0]
    assert float(ours @ theirs) >= 0.999

    prefix = fp32.truncate(long_text)
    assert long_text.startswith(prefix) and len(prefix) < len(long_text)
    assert fp32.count_tokens(prefix) <= 256
    assert fp32.count_tokens(prefix) >= 250, "prefix should be the longest that fits"
    assert float(fp32.embed([prefix])[0] @ ours) >= 0.9999


def test_truncate_and_count_tokens(fp32):
    assert fp32.count_tokens("hello world") == 4  # [CLS] hello world [SEP]
    assert fp32.count_tokens("") == 2
    assert fp32.truncate("hello world") == "hello world"
    assert fp32.truncate("hello wonderful world", max_tokens=4) == "hello wonderful"
    assert fp32.truncate("hello world", max_tokens=2) == ""
    assert fp32.truncate("hello world", max_tokens=10_000) == "hello world"


def test_empty_list(fp32):
    out = fp32.embed([])
    assert out.shape == (0, 384) and out.dtype == np.float32


def test_order_preserved_under_length_sorting(fp32, sentences):
    texts = random.Random(7).sample(sentences, 40) + ["", "x", "hello " * 300]
    random.Random(8).shuffle(texts)
    batched = fp32.embed(texts, batch_size=8)
    one_by_one = np.vstack([fp32.embed([t]) for t in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_rejects_a_single_string(fp32):
    with pytest.raises(TypeError):
        fp32.embed("hello")


def test_progress_bar(fp32, capsys):
    assert fp32.embed(["a", "b"], progress=True).shape == (2, 384)


def test_threads_do_not_change_results(fp32_dir, fp32, sentences):
    two = OnnxEmbedder(fp32_dir, threads=2)
    np.testing.assert_allclose(two.embed(sentences[:20]), fp32.embed(sentences[:20]), atol=1e-5)


def test_embedder_does_not_import_torch(fp32_dir):
    code = (
        "import qa.onnx_embedder, sys; "
        f"e = qa.onnx_embedder.OnnxEmbedder({str(fp32_dir)!r}); e.embed(['hi']); "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, "
        "sorted(m for m in sys.modules if 'torch' in m or 'transformers' in m)"
    )
    env = {**os.environ, **OFFLINE, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_int8_close_to_fp32(tmp_path_factory, sentences, fp32_vectors):
    out = tmp_path_factory.mktemp("onnx") / "int8"
    info = export_onnx(bundled_model_path(), out, "int8")
    assert info["variant"] == "int8"
    assert (out / "model.onnx").stat().st_size < 40_000_000  # fp32 is ~90 MB
    int8 = OnnxEmbedder(out).embed(sentences)
    cosine = (int8 * fp32_vectors).sum(axis=1)
    print(f"int8 vs fp32 cosine over {len(cosine)}: mean {cosine.mean():.4f} min {cosine.min():.4f}")
    assert cosine.mean() >= 0.98, f"mean {cosine.mean():.4f} min {cosine.min():.4f}"


def test_tampered_model_is_refused(fp32_dir, tmp_path):
    copy = tmp_path / "enc"
    shutil.copytree(fp32_dir, copy)
    with open(copy / "model.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(IndexCorruptError, match=r"model\.onnx.*qa index --rebuild"):
        OnnxEmbedder(copy).embed(["hi"])


def test_missing_encoder_folder(tmp_path):
    embedder = OnnxEmbedder(tmp_path / "nowhere")  # construction loads nothing
    with pytest.raises(IndexMissingError, match="qa index --rebuild"):
        embedder.embed(["hi"])


def test_export_rejects_unusable_models(tmp_path):
    with pytest.raises(QAError, match="not a local folder"):
        export_onnx(str(tmp_path / "missing"), tmp_path / "out")
    with pytest.raises(QAError, match="not a sentence-transformers model"):
        export_onnx(str(tmp_path), tmp_path / "out")
    with pytest.raises(QAError, match="variant"):
        export_onnx(bundled_model_path(), tmp_path / "out", "fp16")

    cls_model = tmp_path / "cls"
    shutil.copytree(bundled_model_path(), cls_model, ignore=shutil.ignore_patterns("*.safetensors"))
    config = cls_model / "1_Pooling" / "config.json"
    pooling = json.loads(config.read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    config.write_text(json.dumps(pooling))
    with pytest.raises(QAError, match="cls_token pooling"):
        export_onnx(str(cls_model), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_failed_export_keeps_previous_one(tmp_path, monkeypatch):
    import qa.onnx_export

    out = tmp_path / "enc"
    out.mkdir()
    (out / "encoder.json").write_text("{}")

    def crash(model_path, onnx_path, dim):
        onnx_path.write_bytes(b"half an export")
        raise RuntimeError("killed mid-export")

    monkeypatch.setattr(qa.onnx_export, "_export_fp32", crash)
    with pytest.raises(RuntimeError):
        export_onnx(bundled_model_path(), out, "fp32")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc"]
    assert (out / "encoder.json").read_text() == "{}"


def test_export_replaces_previous_folder_whole(tmp_path):
    from qa.onnx_export import _swap_in

    target, new = tmp_path / "enc", tmp_path / ".enc.tmp-1"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    new.mkdir()
    (new / "encoder.json").write_text("{}")
    _swap_in(new, target)
    assert sorted(p.name for p in target.iterdir()) == ["encoder.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc"]
