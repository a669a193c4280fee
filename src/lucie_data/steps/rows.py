"""The Parquet schemas of kept and removed documents (a public contract: see README "Build folder")."""
from __future__ import annotations

import json
import math

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
# `gate`: how the source's last licence gate will treat the document (steps.dedup.GateRank), for the dedup plan
WORK_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("metadata", pa.string()), ("sig", pa.string()),
                         ("gate", pa.int8()), ("in_file", pa.string()), ("in_record", pa.int64())])


def _s(v) -> str | None:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):  # a NaN title is no title, not "nan"
        return None
    return v if isinstance(v, str) else str(v)


def _finite(obj):
    """``obj`` with every NaN/Infinity float replaced by None (only called when there is one)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def dumps(obj) -> str:
    """Deterministic, standard JSON (sorted keys, UTF-8 kept) so reruns give identical bytes.

    A NaN or ±Infinity (a record's ``Infinity``, ``NaN`` inside a JSON-string field such as Lucie's ``author``,
    pandas' missing value) is written as ``null``: Python would write the bare token ``NaN``, which is not JSON,
    so polars ``str.json_decode``, ``JSON.parse`` and most readers would reject the whole column. null is what
    NaN means in those sources (a missing value); the record's own value stays in the input, which
    ``source_file``/``source_record`` point at. The common case pays nothing: the fallback runs only on failure."""
    try:
        return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
                          allow_nan=False)
    except ValueError:
        return json.dumps(_finite(obj), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
                          allow_nan=False)


def doc_to_row(doc: Document, token_counter=None) -> dict:
    meta = doc.metadata
    row = {"id": doc.id, "text": doc.text}
    for k in TOP_LEVEL:
        row[k] = _s(meta.get(k))
    if row["language"] == "und":  # no language: null, as the reader writes it (README; rv52: language_id wrote "und")
        row["language"] = None
    rest = {k: v for k, v in meta.items() if k not in TOP_LEVEL and not k.startswith("_")}
    row["metadata"] = dumps(rest)
    row["n_tokens"] = token_counter.count(doc.text) if token_counter is not None else None
    return row
