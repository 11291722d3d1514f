"""The query encoder travels with the index: the ONNX export is made once per model and hard-linked in."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path

from qa.config import Settings, setting
from qa.index.layout import out_of_space


def place_encoder(settings: Settings, target: Path, old: Path | None, old_info: dict | None, log,
                   variant: str = "fp32") -> dict:
    """Hard-link the previous generation's ONNX export when it is for this model, else the cached one.

    Exports (which import torch) happen once per model and variant, into the cache folder
    ($QA_CACHE_DIR, default ~/.cache/qa), keyed by the hash of the model's weights.
    """
    from qa.onnx_export import EXPORT_VERSION, export_onnx, sha256_file

    sources = []
    if old is not None and old_info and old_info.get("sha256"):
        sources.append((old, old_info))
    cache = encoder_cache_dir(settings, variant)
    if (cache / "encoder.json").is_file():
        with contextlib.suppress(OSError, ValueError):
            sources.append((cache, json.loads((cache / "encoder.json").read_text("utf-8"))))
    for source, info in sources:
        if info.get("export_version") != EXPORT_VERSION or info.get("variant") != variant:
            continue  # an older export recipe: export again rather than keep the slower graph
        try:
            _link_tree(source, target)
            if sha256_file(target / "model.onnx") == info.get("sha256"):
                return info
            log(f"the ONNX export in {source} does not match its recorded hash; exporting again")
        except OSError as exc:
            shutil.rmtree(target, ignore_errors=True)
            if out_of_space(exc):
                raise  # a full disk is no reason to export the model again
            continue
        shutil.rmtree(target, ignore_errors=True)
    log(f"exporting the model to ONNX {variant} (once per model; cached in {cache})")
    info = export_onnx(settings.model_path, cache, variant=variant)
    _link_tree(cache, target)
    return info


def encoder_cache_dir(settings: Settings, variant: str = "fp32") -> Path:
    root = setting("QA_CACHE_DIR")
    model_dir = Path(settings.model_path)
    weights = sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin"))
    h = hashlib.sha256(str(model_dir.resolve()).encode())
    for w in weights:
        st = w.stat()
        h.update(f"{w.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    from qa.onnx_export import EXPORT_VERSION

    return root / "onnx" / f"{model_dir.name}-{variant}-v{EXPORT_VERSION}-{h.hexdigest()[:16]}"


def _link_tree(source: Path, target: Path) -> None:
    """Hard links where the file system allows (no copy of 90 MB), copies otherwise."""
    target.mkdir(parents=True, exist_ok=False)
    for p in source.iterdir():
        if p.is_file():
            try:
                os.link(p, target / p.name)
            except OSError:
                shutil.copy2(p, target / p.name)
