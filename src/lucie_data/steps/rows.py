"""The Parquet schemas of kept and removed documents (a public contract: see README "Build folder")."""
from __future__ import annotations

import json

import pyarrow as pa
from datatrove.data import Document

# Columns promoted out of `metadata` into their own Parquet column.
TOP_LEVEL = ("source", "language", "license", "license_evidence", "url", "title", "date")

KEPT_SCHEMA = pa.schema(
    [("id", pa.string()), ("text", pa.string())]
    + [(k, pa.string()) for k in TOP_LEVEL]
    + [("metadata", pa.string()), ("n_tokens", pa.int64())]
)
REMOVED_SCHEMA = pa.schema(list(KEPT_SCHEMA) + [("removal_stage", pa.string()), ("removal_reason", pa.string())])
# Internal hand-off between segments of a source (before/after a dedup barrier): full metadata + a signature.
WORK_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("metadata", pa.string()), ("sig", pa.string())])


def _s(v) -> str | None:
    if v is None:
        return None
    return v if isinstance(v, str) else str(v)


def dumps(obj) -> str:
    """Deterministic JSON (sorted keys, UTF-8 kept) so reruns give identical bytes."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def doc_to_row(doc: Document, token_counter=None) -> dict:
    meta = doc.metadata
    row = {"id": doc.id, "text": doc.text}
    for k in TOP_LEVEL:
        row[k] = _s(meta.get(k))
    rest = {k: v for k, v in meta.items() if k not in TOP_LEVEL and not k.startswith("_")}
    row["metadata"] = dumps(rest)
    row["n_tokens"] = token_counter.count(doc.text) if token_counter is not None else None
    return row
