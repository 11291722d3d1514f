"""Export a sentence-transformers model to ONNX (fp32 or int8) for the torch-free query encoder."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from qa.errors import QAError

VARIANTS = ("fp32", "int8")
# 2: eager attention exported and fused by onnxruntime.transformers (Attention, SkipLayerNorm,
# BiasGelu): ~13% faster per question here than version 1's unfused SDPA graph.
EXPORT_VERSION = 2
OPSET = 17
DEFAULT_MAX_LENGTH = 256
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "last_hidden_state"

# The only module stack OnnxEmbedder reproduces; anything else would embed differently.
_EXPECTED_MODULES = ("Transformer", "Pooling", "Normalize")
_OTHER_POOLINGS = (
    "pooling_mode_cls_token",
    "pooling_mode_max_tokens",
    "pooling_mode_mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens",
    "pooling_mode_lasttoken",
)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks.

    Args:
        path: File to hash.

    Returns:
        The lowercase hex digest.
    """
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QAError(f"{path} is missing: {what}") from None
    except (OSError, ValueError) as exc:
        raise QAError(f"{path} is not readable JSON ({exc}): {what}") from None


def inspect_model_folder(model_path: str) -> dict[str, Any]:
    """Check that a folder is a mean-pooled, normalised sentence-transformers model.

    Reads only the small config files, so it fails fast before torch is imported.

    Args:
        model_path: Local folder of a sentence-transformers model.

    Returns:
        {"max_length": int, "dim": int}: the tokenizer limit and the embedding size.

    Raises:
        QAError: The folder is missing, is not a sentence-transformers model, or its
            module stack is not Transformer → mean Pooling → Normalize.
    """
    root = Path(model_path)
    if not root.is_dir():
        raise QAError(
            f"model {model_path!r} is not a local folder; the ONNX export reads local weights "
            "only (no download). Pass the folder of a sentence-transformers model."
        )
    hint = "the folder is not a sentence-transformers model (expected modules.json, tokenizer.json)."
    modules = _read_json(root / "modules.json", hint)
    if not isinstance(modules, list):
        raise QAError(f"{root / 'modules.json'} is not a list of modules: {hint}")
    kinds = tuple(str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules)
    if kinds != _EXPECTED_MODULES:
        raise QAError(
            f"model {model_path} has modules {', '.join(kinds) or 'none'}; the ONNX encoder "
            f"supports only {' → '.join(_EXPECTED_MODULES)}. Use --encoder sentence-transformers."
        )
    if not (root / "tokenizer.json").is_file():
        raise QAError(f"{root / 'tokenizer.json'} is missing: {hint}")

    pooling_dir = root / (modules[1].get("path") or "1_Pooling")
    pooling = _read_json(pooling_dir / "config.json", "the pooling configuration is needed.")
    # Newer sentence-transformers write "pooling_mode"; older ones a flag per mode.
    mode = pooling.get("pooling_mode")
    if mode is None:
        others = [k for k in _OTHER_POOLINGS if pooling.get(k)]
        mode = "mean" if pooling.get("pooling_mode_mean_tokens") and not others else (
            "+".join(k.removeprefix("pooling_mode_") for k in others) or "none"
        )
    if mode != "mean":
        raise QAError(
            f"model {model_path} uses {mode} pooling; the ONNX encoder supports mean pooling "
            "only. Use --encoder sentence-transformers."
        )
    if pooling.get("include_prompt") is False:
        raise QAError(
            f"model {model_path} pools without its prompt tokens; the ONNX encoder does not "
            "support that. Use --encoder sentence-transformers."
        )

    max_length = DEFAULT_MAX_LENGTH
    st_config = root / "sentence_bert_config.json"
    if st_config.is_file():
        config = _read_json(st_config, "it holds the model's max_seq_length.")
        max_length = int(config.get("max_seq_length") or DEFAULT_MAX_LENGTH)
    dim = pooling.get("word_embedding_dimension") or pooling.get("embedding_dimension")
    if not dim:
        dim = _read_json(root / "config.json", hint).get("hidden_size")
    return {"max_length": max_length, "dim": int(dim)}


def _fuse(raw_path: Path, fused_path: Path, config: dict[str, Any]) -> dict[str, int]:
    """Fuse attention, layer norms and GELU into ONNX Runtime's contrib ops; {op: count}."""
    from onnxruntime.transformers import optimizer

    logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)
    model = optimizer.optimize_model(
        str(raw_path), model_type="bert", num_heads=int(config.get("num_attention_heads") or 0),
        hidden_size=int(config.get("hidden_size") or 0),
    )
    model.save_model_to_file(str(fused_path))
    return {op: n for op, n in model.get_fused_operator_statistics().items() if n}


def _export_fp32(model_path: str, onnx_path: Path, dim: int, *, fuse: bool = True) -> dict[str, int]:
    """Export, fuse and check against torch; returns the fused operators ({} if not fused).

    ``fuse=False`` keeps the plain graph, which onnxruntime's quantizer needs (it cannot
    infer types through the fused contrib ops).
    """
    import numpy as np
    import onnxruntime as ort
    import torch
    from sentence_transformers import SentenceTransformer

    try:
        # Eager attention exports as the plain MatMul/Softmax pattern that the fusion below
        # recognises; the SDPA default exports a graph it cannot fuse. Same arithmetic.
        st = SentenceTransformer(model_path, device="cpu", local_files_only=True,
                                 model_kwargs={"attn_implementation": "eager"})
    except Exception as exc:  # noqa: BLE001 - any load failure has the same fix
        raise QAError(f"could not load the model in {model_path}: {exc}") from exc
    transformer = st[0].auto_model.eval()
    raw_path = onnx_path.with_name("raw.onnx")

    class _LastHiddenState(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    wrapper = _LastHiddenState(transformer).eval()
    # Batch 2 with one padded row, so tracing cannot specialise on "no padding".
    input_ids = torch.tensor([[101, 7592, 2088, 2003, 1037, 3231, 102], [101, 7592, 102, 0, 0, 0, 0]])
    attention_mask = (input_ids != 0).long()
    token_type_ids = torch.zeros_like(input_ids)
    args = (input_ids, attention_mask, token_type_ids)
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of dynamo, which needs more deps here.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            args,
            str(raw_path),
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes={**{name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES},
                          OUTPUT_NAME: {0: "batch", 1: "sequence"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )

    # Check on another batch size and length than the trace's, so a baked-in shape fails
    # here rather than silently at query time.
    check_ids = torch.tensor([[101, 2054, 2003, 1996, 3463, 1997, 2023, 3231, 1029, 102],
                              [101, 2748, 102, 0, 0, 0, 0, 0, 0, 0],
                              [101, 1996, 2345, 3189, 2001, 2405, 2197, 3204, 102, 0]])
    check = (check_ids, (check_ids != 0).long(), torch.zeros_like(check_ids))
    with torch.no_grad():
        expected = wrapper(*check).numpy()
    mask = check[1].numpy()[:, :, None].astype(bool)

    def problem_with(path: Path) -> str | None:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {k: v.numpy() for k, v in zip(INPUT_NAMES, check)})[0]
        if got.shape != expected.shape or got.shape[-1] != dim:
            return f"output shape {got.shape}, expected {expected.shape[:2] + (dim,)}"
        # Padded positions are ignored by mean pooling, and fused attention leaves them
        # different: compare real tokens only.
        diff = float(np.abs(np.where(mask, got - expected, 0)).max())
        return None if diff <= 1e-4 else f"max difference {diff:.2g}"

    fused: dict[str, int] = {}
    if fuse:
        try:
            fused = _fuse(raw_path, onnx_path, st[0].auto_model.config.to_dict())
            if problem_with(onnx_path) is not None:
                fused = {}
        except Exception:  # noqa: BLE001 - fusion is an optimisation: fall back to the plain graph
            fused = {}
    if not fused:
        os.replace(raw_path, onnx_path)
    else:
        raw_path.unlink()
    problem = problem_with(onnx_path)
    if problem is None:
        return fused
    raise QAError(
        f"the ONNX export of {model_path} does not reproduce the torch model ({problem}); "
        "use --encoder sentence-transformers."
    )


def _quantize_int8(fp32_path: Path, int8_path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Its pre-processing pass (quant_pre_process) changed neither quality nor speed here,
    # so its advice to run it is noise.
    def not_preprocess_advice(record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()

    root = logging.getLogger()
    root.addFilter(not_preprocess_advice)
    try:
        # QUInt8 per-channel weights (the AVX2 recipe): default QInt8 weights lose too much
        # (cosine to fp32 ~0.96 mean, versus ~0.99 this way).
        quantize_dynamic(
            fp32_path, int8_path, weight_type=QuantType.QUInt8, per_channel=True,
            reduce_range=False,
        )
    finally:
        root.removeFilter(not_preprocess_advice)


def export_onnx(
    model_path: str, out_dir: Path, variant: str = "fp32", *, source_name: str | None = None
) -> dict[str, Any]:
    """Export a sentence-transformers model to an ONNX encoder folder.

    The folder gets ``model.onnx``, ``tokenizer.json`` (copied from the model) and
    ``encoder.json`` (the returned dict). It is built in a temporary sibling and swapped in
    whole, so a crash leaves either the previous export or none, never half of one; an
    existing ``out_dir`` is replaced.

    Args:
        model_path: Local folder of a sentence-transformers model (mean pooling + Normalize).
        out_dir: Folder to write; created or replaced.
        variant: "fp32", or "int8" for dynamic int8 quantization of the fp32 export.
        source_name: Name recorded as source_model; defaults to the folder's name.

    Returns:
        The encoder.json dict: variant, max_length, pooling, normalize, dim, source_model,
        sha256 (of model.onnx), opset, onnxruntime (version), export_seconds.

    Raises:
        QAError: Unknown variant, unusable model folder, or an export that does not match.
    """
    if variant not in VARIANTS:
        raise QAError(f"ONNX variant {variant!r} is unknown; choose one of {', '.join(VARIANTS)}.")
    started = time.perf_counter()
    facts = inspect_model_folder(model_path)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it 0700; the export should look like any folder
    try:
        onnx_path = tmp / "model.onnx"
        if variant == "fp32":
            fused = _export_fp32(model_path, onnx_path, facts["dim"])
        else:
            fp32_path = tmp / "model.fp32.onnx"
            fused = _export_fp32(model_path, fp32_path, facts["dim"], fuse=False)
            _quantize_int8(fp32_path, onnx_path)
            fp32_path.unlink()
        shutil.copyfile(Path(model_path) / "tokenizer.json", tmp / "tokenizer.json")

        import onnxruntime as ort

        info = {
            "variant": variant,
            "max_length": facts["max_length"],
            "pooling": "mean",
            "normalize": True,
            "dim": facts["dim"],
            "source_model": source_name or _model_name(model_path),
            "sha256": sha256_file(onnx_path),
            "opset": OPSET,
            "export_version": EXPORT_VERSION,
            "fused_ops": fused,
            "onnxruntime": ort.__version__,
            "export_seconds": round(time.perf_counter() - started, 1),
        }
        (tmp / "encoder.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        _swap_in(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return info


def _model_name(model_path: str) -> str:
    path = Path(model_path).resolve()
    # Packaged models often live in a folder called just "model": keep the package name too.
    return f"{path.parent.name}/{path.name}" if path.name == "model" else path.name


def _swap_in(new: Path, target: Path) -> None:
    # os.replace cannot overwrite a non-empty folder: move the old one aside first.
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
