"""The mix's fixed per-run costs (issue 6): each faster path gives exactly what the slower one gave.

The small-file readers against buffered ``open``, and the planner's integer sums against exact fractions.
"""
from __future__ import annotations

import json
import os
import random
from fractions import Fraction

import pytest

from lucie_data.mix.build import _ManifestFile
from lucie_data.mix.plan import SubsetStats, Weights, plan_mix
from lucie_data.mix.stats import _read_bytes

# --------------------------------------------------------------------------------------------- small files


def test_read_bytes_is_open_read(tmp_path):
    small = tmp_path / "ledger.json"
    small.write_text('{"balanced": true, "é": 1}', encoding="utf-8")
    big = tmp_path / "big.json"
    big.write_bytes(("x" * 1000 + "\n").encode() * 300)  # > one 64 KiB read
    for p in (small, big):
        assert _read_bytes(os.fspath(p)) == p.read_bytes()
    (tmp_path / "folder").mkdir()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for missing in ("nope.json", "folder", "dangling", "ledger.json/x"):  # where Path.is_file() is false
        assert _read_bytes(os.fspath(tmp_path / missing)) is None, missing
    assert _read_bytes(os.fspath(tmp_path / "empty")) is None
    (tmp_path / "empty").write_bytes(b"")
    assert _read_bytes(os.fspath(tmp_path / "empty")) == b""


def test_manifest_file_read(tmp_path):
    m = tmp_path / "manifest.json"
    raw = json.dumps({"shards": [{"path": f"sources/s/data/fr/{i:05d}.parquet"} for i in range(40_000)]}).encode()
    assert len(raw) > 1 << 20  # more than one read
    m.write_bytes(raw)
    got = _ManifestFile.read(m)
    assert got.raw == raw and got.mtime_ns == m.stat().st_mtime_ns
    assert got.data == json.loads(raw) and got.sha256 == __import__("hashlib").sha256(raw).hexdigest()
    (tmp_path / "folder").mkdir()
    assert _ManifestFile.read(tmp_path / "folder") is None
    assert _ManifestFile.read(tmp_path / "missing.json") is None
    assert _ManifestFile.read(m / "x") is None


# --------------------------------------------------------------------------------------------- planner sums


def _exact_plan(stats: list[SubsetStats], factors: dict[str, Fraction]):
    """Lucie's rule with Fractions throughout: (tokens seen, share) per subset, per language."""
    seen = [factors[s.key] * s.tokens for s in stats]
    total = sum(seen, Fraction(0))
    per_lang: dict[str, Fraction] = {}
    for s, ts in zip(stats, seen):
        per_lang[s.language] = per_lang.get(s.language, Fraction(0)) + ts
    return total, [(ts, float(ts / total)) for ts in seen], {g: (v, float(v / total)) for g, v in per_lang.items()}


@pytest.mark.parametrize("seed", range(6))
def test_plan_shares_are_the_exact_ratios(seed):
    """Whole epochs sum in ints, fractional ones in Fractions: the shares are the correctly rounded ratios."""
    rng = random.Random(seed)
    langs = ["fr", "en", "de", "fr-en", "code"]
    stats = [SubsetStats(f"s{i}--{lang}", lang, rng.choice(["web", "book"]), rng.randrange(0, 10 ** rng.randrange(1, 19)))
             for i, lang in enumerate(rng.choice(langs) for _ in range(rng.randrange(1, 30)))]
    stats[0] = SubsetStats(stats[0].subset, stats[0].language, stats[0].category, stats[0].tokens + 1)
    choices = [1, 2, 3] if seed % 2 == 0 else [1, 2, 1.5, 0.3]  # even seeds: ints only (the integer path)
    factors = {k: rng.choice(choices) for k in {s.key for s in stats}}
    plan = plan_mix(stats, Weights(factors=factors))
    exact = {k: Fraction(repr(float(v))) for k, v in factors.items()}
    total, per_subset, per_lang = _exact_plan(stats, exact)
    assert plan.total_tokens_seen == (int(total) if total.denominator == 1 else float(total))
    for sp, (ts, share) in zip(plan.subsets, per_subset):
        assert sp.share == share
        assert sp.tokens_seen == (int(ts) if ts.denominator == 1 else float(ts))
    assert list(plan.languages) == sorted(per_lang, key=lambda g: (-per_lang[g][0], g))
    for g, row in plan.languages.items():
        assert row["share"] == per_lang[g][1]
        assert row["tokens_seen"] == (int(per_lang[g][0]) if per_lang[g][0].denominator == 1 else float(per_lang[g][0]))
