"""The index on disk: generations of shared, immutable segments; build (incremental, atomic), load, staleness.

    manifest.py  what built an index and why it may be stale (pure)
    layout.py    CURRENT, generations, segments, the build lock, publishing
    segment.py   one segment's files: writer and reader
    backend.py   the storage seam: Store (what the engine, retriever and answer stage read), open_store
    store.py     a loaded generation seen as one collection (Index, the segmented Store), load_index
    build.py     plan, embed, write, publish (build_index)
    encoder.py   the ONNX query encoder, exported once and hard-linked into each generation
"""

from qa.index.build import BuildOptions, BuildReport, build_index, chunk_embedding_text
from qa.index.encoder import encoder_cache_dir
from qa.index.layout import BuildRunningError, SpaceError, current_dir, read_manifest
from qa.index.manifest import FORMAT, check_manifest, corpus_digest, describe_diff, diff_articles
from qa.index.segment import APPROX_ABOVE
from qa.index.store import Index, load_index

__all__ = ["APPROX_ABOVE", "FORMAT", "BuildOptions", "BuildReport", "BuildRunningError", "Index", "SpaceError", "build_index", "check_manifest",
           "chunk_embedding_text", "corpus_digest", "current_dir", "describe_diff", "diff_articles",
           "encoder_cache_dir", "load_index", "read_manifest"]
