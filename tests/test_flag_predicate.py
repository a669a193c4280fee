"""One definition of a flagged document (licenses.flag_reason), and the mix's two scans and the report's expression
agree with it (read-through: the predicate was written four times, in polars, pyarrow and Python, each reading
the metadata keys its own way; a `license_warning: null` next to an allowed verdict was flagged by one of them)."""
import json

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lucie_data.licenses import flag_reason, flagged_expr
from lucie_data.mix.build import _flag_reasons, _flagged_per_file

CASES = [  # (metadata, reason)
    ({}, None),
    ({"license_rule_verdict": "allowed"}, None),
    ({"license_rule_verdict": "license_gutenberg_author_too_recent"}, "license_gutenberg_author_too_recent"),
    ({"license_warning": "no_derivatives_modified"}, "no_derivatives_modified"),
    ({"license_warning": "no_derivatives_modified", "license_rule_verdict": "allowed"}, "no_derivatives_modified"),
    ({"license_warning": None, "license_rule_verdict": "allowed"}, None),
    ({"license_warning": "", "license_rule_verdict": None}, None),
    ({"note": 'the text "license_warning": quoted'}, None),
]


@pytest.mark.parametrize("meta,reason", CASES)
def test_flag_reason(meta, reason):
    assert flag_reason(meta) == reason


def test_the_mix_scans_and_the_report_agree_with_flag_reason(tmp_path):
    metas = [json.dumps(m, separators=(",", ":")) for m, _ in CASES]
    want = [r for _, r in CASES]
    assert _flag_reasons(pa.array(metas)) == want
    f = tmp_path / "s.parquet"
    pq.write_table(pa.table({"source": ["s"] * len(CASES), "license": [f"L{i}" for i in range(len(CASES))],
                             "metadata": metas}), f)
    got = _flagged_per_file([f]).get(str(f), [])
    assert got == sorted([["s", f"L{i}", r] for i, r in enumerate(want) if r is not None])
    df = pl.DataFrame({"metadata": metas}).with_columns(
        pl.col("metadata").str.json_path_match("$.license_warning").alias("license_warning"),
        pl.col("metadata").str.json_path_match("$.license_rule_verdict").alias("license_rule_verdict"))
    assert df.select(flagged_expr()).to_series().to_list() == [r is not None for r in want]
