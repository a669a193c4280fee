"""Review 41 of the reader (accounting and error messages): records lost to one bad value or byte, or called what they
are not.

* F1: a Parquet value Python cannot represent (a timestamp past year 9999) in a column the recipe does not read made
  its whole batch `read_corrupt_file`: only the columns the recipe uses are read now, and a row whose used value
  cannot be converted is removed alone as `read_unconvertible_value`.

Real records: slices of /work/shared/corpora (UD German-PUD, CC-BY-SA-3.0), written to ``tmp_path``.
"""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from .conftest import SHARED
from .test_inputs import make_build


def _records(name: str, n: int | None = None) -> list[dict]:
    lines = (SHARED / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in lines[:n] if x.strip()]


def _details(removed) -> dict[str, dict]:
    return {r["id"]: json.loads(r["metadata"]) for r in removed.iter_rows(named=True)}


PQ_RECIPE = """\
    name: ts
    category: web
    languages: [de]
    license: CC-BY-SA-3.0
    input:
      type: parquet
      paths: ["../*.parquet"]
    """


def _pud_with_far_timestamp(tmp_path) -> list[dict]:
    """The 397 real German-PUD documents with a ``crawl_time`` column, 0 but row 200's 10^12 s (year ~33658: a valid
    Parquet value Python's datetime cannot hold)."""
    recs = _records("de_ud_pud.jsonl")
    ts = [0] * len(recs)
    ts[200] = 10 ** 12
    pq.write_table(pa.table({"id": [r["id"] for r in recs], "text": [r["text"] for r in recs],
                             "crawl_time": pa.array(ts, pa.timestamp("s"))}), tmp_path / "pud_de.parquet")
    return recs


def test_parquet_value_in_a_column_not_read_loses_nothing(tmp_path):
    recs = _pud_with_far_timestamp(tmp_path)
    led, kept, removed = make_build(tmp_path, PQ_RECIPE)
    assert led["records_read"] == len(recs) == kept.height == 397
    assert removed.height == 0 and not led["quarantined_files"]
    # the field checks still name every column of the file, read or not
    assert led["read_checks"]["record_fields"] == ["crawl_time", "id", "text"]


def test_parquet_unconvertible_value_removes_its_row_alone(tmp_path):
    recs = _pud_with_far_timestamp(tmp_path)
    led, kept, removed = make_build(tmp_path, PQ_RECIPE + "  metadata_fields: [crawl_time]\n")
    assert kept.height == 396 and removed.height == 1
    bad = f"ts/{recs[200]['id']}"  # removed under its own id
    assert removed.row(0, named=True)["id"] == bad
    assert removed["removal_reason"].to_list() == ["read_unconvertible_value"]
    meta = _details(removed)[bad]
    assert meta["source_record"] == 200
    detail = meta["read_error_detail"]
    assert detail.startswith("row 200: column 'crawl_time'") and "OverflowError" in detail, detail
    assert "this row alone is removed" in detail
    assert not led["quarantined_files"]  # a file pyarrow reads is not corrupt
    assert led["read_removed"] == {"read_unconvertible_value": 1}
