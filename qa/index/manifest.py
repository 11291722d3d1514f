"""The index manifest (pure): what built an index, and why it may no longer fit the corpus or settings."""

from __future__ import annotations

import hashlib

from qa.config import Settings

# 3: segments of memory-mappable arrays, BM25 term frequencies scored at query time, per-file stats
FORMAT = 3


def corpus_digest(hashes: dict[str, str]) -> str:
    return hashlib.sha256("".join([f"{i}\0{hashes[i]}\n" for i in sorted(hashes)]).encode()).hexdigest()


def diff_articles(old: dict[str, str], new: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """(changed, added, removed) article ids between two id -> sha256 maps."""
    differ = new.items() - old.items()  # set operations on the views: C loops, not Python ones (100k ids)
    changed = sorted(a for a, _ in differ if a in old)
    return changed, sorted(new.keys() - old.keys()), sorted(old.keys() - new.keys())


def describe_diff(changed: list[str], added: list[str], removed: list[str]) -> str:
    parts = [f"{len(xs)} article{'s' if len(xs) != 1 else ''} {verb}"
             for xs, verb in ((changed, "changed"), (added, "added"), (removed, "removed")) if xs]
    return ", ".join(parts)


def check_manifest(
    manifest: dict, settings: Settings, hashes: dict[str, str] | None, *, check_chunking: bool = True
) -> list[str]:
    """Readable reasons why an index does not fit the corpus and settings ([] = fresh).

    Args:
        manifest: the index's manifest.json.
        settings: what the user asked for.
        hashes: article id -> sha256 of the corpus now (None: don't compare the corpus).
        check_chunking: compare chunk parameters (only when the user set them).
    """
    reasons: list[str] = []
    if manifest.get("format") != FORMAT:
        reasons.append(f"format differs: index has {manifest.get('format')!r}, this qa reads {FORMAT}")
        return reasons
    model = manifest.get("model", {}).get("name")
    if model != settings.model_name:
        reasons.append(f"model differs: index has {model}, settings say {settings.model_name}")
    encoding = manifest.get("tokenizer", {}).get("encoding")
    if encoding != settings.encoding:
        reasons.append(f"tokenizer differs: index has {encoding}, settings say {settings.encoding}")
    chunking = manifest.get("chunking", {})
    if check_chunking and (chunking.get("max_tokens"), chunking.get("overlap")) != (settings.max_tokens, settings.overlap):
        reasons.append(
            f"chunking differs: index has max_tokens={chunking.get('max_tokens')} overlap={chunking.get('overlap')}, "
            f"settings say max_tokens={settings.max_tokens} overlap={settings.overlap}"
        )
    if settings.encoder == "onnx" and not manifest.get("encoder"):
        reasons.append("the index has no ONNX query encoder")
    if settings.encoder == "onnx" and settings.query_encoder == "int8" and not manifest.get("query_encoder"):
        reasons.append("the index has no int8 question encoder")
    if hashes is not None:
        diff = describe_diff(*diff_articles(manifest.get("corpus", {}).get("articles", {}), hashes))
        if diff:
            reasons.append(diff)
    return reasons
