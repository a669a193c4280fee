"""Review 49: exception handling and fallbacks (language values in code recipes, redpajama signals, the report's
recorded policy, permission errors, the sha256 cache)."""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from .conftest import SHARED, write
from .test_inputs import make_build


# --- 5. a code recipe's language value that is no plausible name is unknown for that record ---------------------

BAD_CODE_NAMES = ["\ud800", "py\u0000thon", "x" * 300, "py\nthon", "py/thon", "..", "c\\d"]


def test_code_language_values_that_are_no_name_are_unknown():
    from lucie_data.languages import language_problem, normalize_language

    for good, canon in [("Python", "code:python"), ("C++", "code:c++"), ("C#", "code:c#"),
                        ("Objective-C", "code:objective-c"), ("objective c", "code:objective c"),
                        ("Ren'Py", "code:ren'py"), ("Graphviz (DOT)", "code:graphviz (dot)"), ("F*", "code:f*"),
                        ("Visual Basic 6.0", "code:visual basic 6.0"), ("易语言", "code:易语言"), ("x" * 64, "code:" + "x" * 64)]:
        assert normalize_language(good, is_code=True) == canon
        assert normalize_language("code:" + good) == canon
    for bad in BAD_CODE_NAMES + ["x" * 65, "é" * 33, "  "]:
        assert normalize_language(bad, is_code=True) is None, bad
        assert normalize_language("code:" + bad) in (None, "code"), bad  # `code:  ` is `code`
    # in a recipe, the same value is an error naming what a name may hold
    problem = language_problem("code:py/thon")
    assert problem and "not `code` or `code:<language>`" in problem and "64 bytes" in problem


def test_code_recipe_with_unusable_language_values_builds(tmp_path):
    recs = [json.loads(line) for line in open(SHARED / "code_permissive.jsonl", encoding="utf-8")][:len(BAD_CODE_NAMES) + 2]
    for rec, bad in zip(recs[2:], BAD_CODE_NAMES):
        rec["programming_language"] = bad
    write(tmp_path / "code.jsonl", "".join(json.dumps(r) + "\n" for r in recs))  # (ensure_ascii: \ud800 escaped)
    led, kept, removed = make_build(tmp_path, """\
        name: code
        category: programming
        languages: [code]
        license: MIT
        input: {type: jsonl, paths: [../code.jsonl], language_field: programming_language, license_field: license}
        stages:
          - type: exact_dedup
        """, tasks=1)
    assert led["records_read"] == len(recs) and kept.height == len(recs)  # no record lost, the source built
    assert sorted(p.name for p in (tmp_path / "out" / "sources" / "code" / "data").iterdir()) == ["code-python", "und"]
    unknown = kept.filter(pl.col("language").is_null())
    assert unknown.height == len(BAD_CODE_NAMES)
    assert led["read_checks"]["language_unmapped"]["records"] == len(BAD_CODE_NAMES)
    warning = next(w for w in led["warnings"] if "names no language" in w)
    assert "programming language's name" in warning and "64 bytes" in warning
    # the record's own value stays in its metadata (`language_raw`, made encodable)
    raws = {json.loads(m)["language_raw"] for m in unknown["metadata"]}
    assert "py\nthon" in raws and "x" * 300 in raws and any(set(r) == {"\ufffd"} for r in raws)
