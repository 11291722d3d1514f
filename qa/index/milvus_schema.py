"""Milvus collections of one index generation, the connection, and Milvus's errors as one line each.

Imported only when an index says it lives on Milvus (or `qa index --backend milvus` builds one):
nothing here is on the question path of a segmented index.

Collections (``<prefix>_<generation>_<kind>``; aliases ``<prefix>_<kind>`` follow the current one):

    chunks     row, vector (HNSW, inner product), text (the client-stemmed terms of title + chunk,
               BM25 through Milvus's analyzer ``standard``), sparse (the BM25 function's output),
               article row and id, date (as written), date_start / date_end (YYYYMMDD as numbers, 0:
               undated: what filters compare), source and
               title (case-folded, for filters), ordinal, start, end, first sentence row, sentences, tokens
    sentences  row, vector (a FLAT index: read by row, never searched), article row, ordinal, start, end, speaker row (-1: none), quote_key, terms
    articles   key (row * PIECES + piece), article row, piece, id, text (pieces under the VARCHAR limit),
               meta (JSON, piece 0), the filter fields again, a 2-dimensional placeholder vector
    vocab      key ("t:" stemmed term -> chunks holding it, "w:" word -> articles holding it), count
"""

from __future__ import annotations

from pathlib import Path

from qa.index.backend import BackendError

KINDS = ("chunks", "sentences", "articles", "vocab")
PIECE_CHARS = 16_000  # a VARCHAR holds 65,535 bytes: 16,000 characters fit whatever their UTF-8 length
PIECES = 4096  # pieces an article may have (64 M characters)
MAX_TEXT = 65_535
HNSW = {"M": 32, "efConstruction": 200}  # as the segmented index's FAISS graph (M 32)
EF_SEARCH = 128
LITE_FILE = "milvus.db"


def describe(uri: str) -> str:
    return f"Milvus Lite database {uri}" if not uri.startswith(("http://", "https://", "tcp://", "unix:")) \
        else f"Milvus at {uri}"


def connect(uri: str, token: str | None = None):
    """A MilvusClient for ``uri`` (a Milvus Lite file, or http(s)://host:port with ``token``).

    Raises:
        BackendError: unreachable, refused credentials, or the Lite file is held by another process.
    """
    import logging
    import os

    # gRPC's C core prints keep-alive notices ("too_many_pings") to stderr: not the user's business
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise BackendError("this index lives on Milvus but pymilvus is not installed: "
                           "pip install 'qa[milvus]'.") from None
    for name in ("pymilvus", "milvus_lite"):  # their errors become one line (explain), not a logged traceback
        logging.getLogger(name).setLevel(logging.CRITICAL)
    where = describe(uri)
    try:
        if not where.startswith("Milvus at"):
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
            return MilvusClient(uri)
        return MilvusClient(uri, token=token or "", timeout=10)
    except Exception as exc:  # pymilvus raises MilvusException and others for one cause
        raise explain(exc, uri) from None


def explain(exc: BaseException, uri: str, doing: str = "") -> BackendError:
    """One line for a failure of Milvus: what, where, and the fix."""
    if isinstance(exc, BackendError):
        return exc
    text = " ".join(str(getattr(exc, "message", "") or exc).split())[:300]
    where = describe(uri)
    doing = f" while {doing}" if doing else ""
    lower = text.lower()
    if "open local milvus failed" in lower:
        return BackendError(f"{where} could not be opened{doing}: another process holds it (a running "
                            "`qa serve` or `qa index`?), or it is not a Milvus Lite file. Stop the other "
                            "process, or serve the index from a Milvus server (qa index --milvus-uri http://…).")
    if "is illegal" in lower or "illegal uri" in lower:
        return BackendError(f"the Milvus URI {uri} is not valid ({text}): give http(s)://host:port for a server "
                            "(qa index --milvus-uri, or QA_MILVUS_URI), or leave it out for Milvus Lite inside "
                            "the index folder.")
    if any(w in lower for w in ("auth", "credential", "token", "permission", "denied", "unauthenticated")):
        return BackendError(f"{where} refused the credentials{doing} ({text}): set QA_MILVUS_TOKEN to "
                            "user:password or an API key.")
    if any(w in lower for w in ("fail connecting", "unavailable", "connect", "timeout", "deadline", "closed")):
        return BackendError(f"{where} cannot be reached{doing} ({text}): start it or check the URI "
                            "(qa index --milvus-uri, or QA_MILVUS_URI), then try again.")
    if "not exist" in lower or "not found" in lower or "can't find" in lower:
        return BackendError(f"a collection of this index is missing from {where}{doing} ({text}): "
                            "run `qa index --rebuild` to write it again.")
    return BackendError(f"{where} failed{doing}: {text}. Check the server, then try again "
                        "(`qa index --rebuild` writes the collections anew).")


def token() -> str | None:
    from qa.config import setting

    return setting("QA_MILVUS_TOKEN")


def lite_uri(index_dir: Path) -> str:
    return str(Path(index_dir).resolve() / LITE_FILE)


def collection_names(prefix: str, generation: str) -> dict[str, str]:
    return {kind: f"{prefix}_{generation}_{kind}" for kind in KINDS}


def create_collections(client, names: dict[str, str], dim: int) -> None:
    """The four collections of a generation, with their indexes, loaded."""
    from pymilvus import DataType, Function, FunctionType

    def schema():
        return client.create_schema(auto_id=False, enable_dynamic_field=False)

    s = schema()
    s.add_field("row", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    s.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT, enable_analyzer=True,
                analyzer_params={"type": "standard"})
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    for name in ("article", "date_start", "date_end", "ordinal", "start", "end", "first", "count", "tokens"):
        s.add_field(name, DataType.INT64)
    s.add_field("date", DataType.VARCHAR, max_length=32)
    for name in ("article_id", "source", "title"):
        s.add_field(name, DataType.VARCHAR, max_length=MAX_TEXT)
    s.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                            output_field_names=["sparse"]))
    ip = client.prepare_index_params()
    ip.add_index("vector", index_type="HNSW", metric_type="IP", params=HNSW)
    ip.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    client.create_collection(names["chunks"], schema=s, index_params=ip)

    s = schema()
    s.add_field("row", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    for name in ("article", "ordinal", "start", "end", "speaker", "quote_key"):
        s.add_field(name, DataType.INT64)
    s.add_field("terms", DataType.VARCHAR, max_length=MAX_TEXT)
    ip = client.prepare_index_params()
    ip.add_index("vector", index_type="FLAT", metric_type="IP")  # never searched: read by row (no graph to keep)
    client.create_collection(names["sentences"], schema=s, index_params=ip)

    s = schema()
    s.add_field("key", DataType.INT64, is_primary=True)
    s.add_field("placeholder", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector in every collection
    for name in ("article", "piece", "date_start", "date_end"):
        s.add_field(name, DataType.INT64)
    for name in ("id", "text", "meta", "source", "title"):
        s.add_field(name, DataType.VARCHAR, max_length=MAX_TEXT)
    ip = client.prepare_index_params()
    ip.add_index("placeholder", index_type="FLAT", metric_type="L2")
    client.create_collection(names["articles"], schema=s, index_params=ip)

    s = schema()
    s.add_field("key", DataType.VARCHAR, is_primary=True, max_length=1024)
    s.add_field("placeholder", DataType.FLOAT_VECTOR, dim=2)
    s.add_field("count", DataType.INT64)
    ip = client.prepare_index_params()
    ip.add_index("placeholder", index_type="FLAT", metric_type="L2")
    client.create_collection(names["vocab"], schema=s, index_params=ip)


def env_uri() -> str | None:
    from qa.config import setting

    return setting("QA_MILVUS_URI")


def resolve_uri(index_dir: Path, recorded: str | None) -> str:
    """The URI an index's Milvus is reached at: the one its manifest records (a server), else the Lite
    file inside the index folder (wherever the folder was moved)."""
    if recorded:
        return recorded
    return lite_uri(index_dir)

