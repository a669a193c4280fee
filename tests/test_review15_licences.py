"""Review 15 (licence adversary), end to end on real texts: what a mix is declared under, rights statements that
name non-commercial or no-derivatives terms, and Project Gutenberg's threshold for a book of unknown language."""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import yaml

from lucie_data.mix.build import build_mix, load_mix_config
from lucie_data.recipe import load_pipeline
from lucie_data.runner import build

from .conftest import SHARED, write


def _records(path: Path, n: int) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            out.append(json.loads(line))
            if len(out) == n:
                break
    return out


def _build(tmp_path: Path, recipe: dict, records: list[dict], policy: dict, mix: dict | None = None) -> Path:
    with open(tmp_path / "in.jsonl", "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    recipe = {**recipe, "input": {**recipe["input"], "paths": [str(tmp_path / "in.jsonl")]}}
    write(tmp_path / "src.yaml", yaml.safe_dump(recipe))
    write(tmp_path / "p.yaml", yaml.safe_dump({"name": "p", "sources": ["src.yaml"], "output_dir": "b",
                                                "executor": {"type": "local", "workers": 1, "tasks": 1},
                                                "license_policy": policy, **({"mix": mix} if mix else {})}))
    build(load_pipeline(tmp_path / "p.yaml"), tmp_path / "b")
    return tmp_path / "b"


def test_a_mix_is_never_declared_under_an_alternative_the_policy_denies(tmp_path):
    """Licence review: express's files under `MIT OR GPL-2.0-only` (jQuery's dual licence) with click's BSD-3-Clause
    files, under a permissive policy that denies GPL-2.0-only by name: the card declared `license: gpl-2.0` and told
    to distribute the mix under GPL-2.0-only, the report too, and `push` would have published it so."""
    recs = _records(SHARED / "code_permissive.jsonl", 10_000)
    click = [r for r in recs if r.get("license") == "BSD-3-Clause"][:6]
    other = [{**r, "license": "MIT OR GPL-2.0-only"} for r in recs if r.get("license") == "MIT"][:6]
    assert len(click) == 6 and len(other) == 6, {r.get("license") for r in recs}
    policy = {"allow_classes": ["public-domain", "permissive"],
              "deny": ["GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later"]}
    recipe = {"name": "code", "category": "programming", "languages": ["code"], "license": "MIT",
              "input": {"type": "jsonl", "language_field": "programming_language", "license_field": "license"}}
    out = _build(tmp_path, recipe, click + other, policy, {"factors": {"code--programming": 1}})
    plan = build_mix(out, load_mix_config(out))
    assert sorted(plan["licenses"]) == ["BSD-3-Clause", "MIT OR GPL-2.0-only"]
    card = (out / "mix" / "README.md").read_text(encoding="utf-8")
    front = yaml.safe_load(card.split("---")[1])
    assert front["license"] == "other", front
    said = card.replace("MIT OR GPL-2.0-only", "").replace("denied: GPL-2.0-only", "")  # (the policy, as stated)
    assert "GPL-2.0-only" not in said and "gpl-2.0" not in said, card
    from lucie_data.report.aggregate import build_report

    report = build_report(out)
    assert report["share_alike"]["mix_license"] == "other"
    assert not any("GPL-2.0-only" in o.replace("MIT OR GPL-2.0-only", "") for o in report["share_alike"]["obligations"])
    from lucie_data.cli import main

    # push's own check of the card agrees (it derives the licence the same way); --dry-run: nothing is sent
    assert main(["push", str(out / "mix"), "--repo-id", "org/code-mix", "--dry-run"]) == 0
    assert pl.read_parquet(sorted((out / "mix").glob("data/**/*.parquet"))).height == 12
