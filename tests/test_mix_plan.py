"""Mix planning: reproduce Lucie's published phase-1 mix exactly, and check errors and the solver.

Reference figures: OpenLLM-France/Lucie-Training @c3b8b3a (`assets/training_weights.md`,
`assets/stats_tokens/*.json`, `assets/dataset_weights.yaml`), as compiled in
/work/shared/notes/lucie-dataset.md sections 1b and 2.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest

from lucie_data.mix.plan import (
    MixPlanError,
    SubsetStats,
    Weights,
    language_group,
    load_stats_csv,
    load_weights_yaml,
    plan_mix,
    solve_factors,
)

ASSETS = files("lucie_data") / "assets" / "lucie"
STATS = Path(str(ASSETS / "stats.csv"))
WEIGHTS = Path(str(ASSETS / "weights.yaml"))

LUCIE_TOTAL_TOKENS = 2_320_616_506_310
LUCIE_TOTAL_SEEN = 3_121_744_220_736
LUCIE_SHARES_PCT = {  # training_weights.md "Weights per language"; model card: 33.2 / 32.4 / 14.7 / ...
    "en": 33.189,
    "fr": 32.353,
    "code": 14.668,
    "de": 6.904,
    "es": 6.623,
    "it": 3.771,
    "parallel": 2.492,
}


@pytest.fixture(scope="module")
def lucie_stats() -> list[SubsetStats]:
    return load_stats_csv(STATS)


@pytest.fixture(scope="module")
def lucie_weights() -> Weights:
    return load_weights_yaml(WEIGHTS)


@pytest.fixture(scope="module")
def lucie_plan(lucie_stats, lucie_weights):
    return plan_mix(lucie_stats, lucie_weights)


# --------------------------------------------------------------------------- Lucie reproduction


def test_shipped_files_cover_every_key(lucie_stats, lucie_weights):
    keys = {s.key for s in lucie_stats}
    assert len(lucie_stats) == 38  # one row per language--category key of table 1b
    assert keys == set(lucie_weights.factors)
    assert sum(s.tokens for s in lucie_stats) == LUCIE_TOTAL_TOKENS
    assert lucie_weights.factors["code--programming"] == 2
    assert lucie_weights.factors["en--web"] == 1.5


def test_lucie_totals_are_exact(lucie_plan):
    assert lucie_plan.total_tokens == LUCIE_TOTAL_TOKENS
    assert lucie_plan.total_tokens_seen == LUCIE_TOTAL_SEEN
    assert isinstance(lucie_plan.total_tokens_seen, int)


def test_lucie_language_shares(lucie_plan):
    got = {g: round(row["share"] * 100, 3) for g, row in lucie_plan.language_groups.items()}
    assert got == LUCIE_SHARES_PCT
    # the raw language column keeps the pairs apart; they add up to the parallel row
    pairs = ["fr-en", "it-en", "es-en", "de-fr"]
    assert set(pairs) <= set(lucie_plan.languages)
    assert sum(lucie_plan.languages[p]["tokens_seen"] for p in pairs) == 77_784_222_171
    assert lucie_plan.languages["en"]["tokens_seen"] == 1_036_085_764_941
    assert lucie_plan.languages["fr"]["tokens_seen"] == 1_009_967_623_078


@pytest.mark.parametrize(
    ("key", "epochs", "seen"),
    [
        ("en--web", 1.5, 701_757_153_855),
        ("code--programming", 2.0, 457_909_522_654),
        ("fr-en--aligned", 3.0, 76_479_915_144),
        ("fr--web", 1.0, 741_022_389_745),
        ("en--forum", 2.5, 31_084_437_040),
    ],
)
def test_lucie_rows(lucie_plan, key, epochs, seen):
    row = next(s for s in lucie_plan.subsets if s.subset == key)
    assert row.epochs == epochs
    assert row.tokens_seen == seen
    assert isinstance(row.tokens_seen, int)


def test_half_tokens_stay_exact(lucie_plan):
    # 71,519,153,799 x 2.5 is not an integer: it is reported as is, not rounded (table 1b rounds to ...498)
    row = next(s for s in lucie_plan.subsets if s.subset == "en--technical")
    assert row.tokens_seen == 178_797_884_497.5


def test_language_group():
    assert language_group("fr-en") == "parallel"
    assert language_group("fr,en") == "parallel"
    assert language_group("de-fr") == "parallel"
    assert language_group("fr") == "fr"
    assert language_group("code") == "code"
    assert language_group("code:python") == "code"


# --------------------------------------------------------------------------- serialisation


def test_to_dict_keys(lucie_plan):
    d = lucie_plan.to_dict()
    assert set(d) == {"total_tokens", "total_tokens_seen", "subsets", "languages", "language_groups"}
    assert set(d["subsets"][0]) == {"subset", "language", "category", "tokens", "epochs", "tokens_seen", "share"}
    for table in (d["languages"], d["language_groups"]):
        for row in table.values():
            assert set(row) == {"tokens", "tokens_seen", "share"}
    assert json.loads(json.dumps(d)) == d


def test_to_markdown(lucie_plan):
    md = lucie_plan.to_markdown()
    assert "### Per language" in md
    assert "| en | 611,894,301,353 | 1,036,085,764,941 | 33.189 |" in md
    assert "| parallel | 25,928,074,057 | 77,784,222,171 | 2.492 |" in md
    # subsets sorted by tokens seen, descending
    lines = [ln for ln in md.splitlines() if ln.startswith("| fr--web") or ln.startswith("| en--web")]
    assert lines[0].startswith("| fr--web")


# --------------------------------------------------------------------------- errors

_STATS = [
    {"subset": "A", "language": "fr", "category": "web", "tokens": 100},
    {"subset": "B", "language": "en", "category": "web", "tokens": 50},
    {"subset": "C", "language": "en", "category": "web", "tokens": 10},
]


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        pytest.param({"factors": {"fr--web": 1}}, r"'en--web' \(used by: B, C\).*default_factor", id="missing-factor"),
        pytest.param({"factors": {"fr--web": 1, "en--web": -1}}, r"factors\.en--web.*greater than or equal to 0", id="negative"),
        pytest.param({"factors": {"fr--web": 1, "en--web": 1}, "factor": {}}, r"unknown top-level key 'factor'", id="unknown-key"),
        pytest.param({"languages": {"fr": 1}}, r"missing required key 'factors'", id="no-factors"),
        pytest.param({"factors": {"fr--web": True, "en--web": 1}}, r"not a boolean", id="boolean"),
        pytest.param({"factors": {"fr--web": 1, "en--web": 1}, "sources": {"Z": 2}}, r"subset\(s\) not in the stats: Z", id="unknown-source"),
        pytest.param({"factors": {"fr--web": 1, "en--web": 1}, "languages": {"code:python": 5}},
                     r"languages\.code:python: code subsets are weighted as `code`.*write `code`", id="code-language"),
        pytest.param({"factors": {"fr--web": 1, "en--web": 1, "code-rust--programming": 2}},
                     r"factors\.code-rust--programming: code subsets are weighted as `code`", id="code-factor"),
        pytest.param({"factors": {"fr--web": 1, "FR--web": 2, "en--web": 1}}, r"factors\.FR--web: 'FR--web' and 'fr--web' both mean 'fr--web'",
                     id="same-key-twice"),
        pytest.param({"factors": {"fr--web": 1, "fr--WEB": 2, "en--web": 1}}, r"'fr--WEB' and 'fr--web' both mean 'fr--web'",
                     id="same-key-twice-category-case"),
        pytest.param({"factors": {"fr--web": 1, "en--web": 1, "xx--web": 2}},
                     r"factors\.xx--web: language 'xx': 'xx' is not an ISO 639 language code, so no build files",
                     id="unknown-language-factor"),
        pytest.param({"factors": {"fr--web": 1, "en--web": 1}, "languages": {"mul": 2}},
                     r"languages\.mul: language 'mul' means multiple languages", id="unknown-language-multiplier"),
        pytest.param({"factors": {"fr--web": 1, "en--web": 1, "zz-en--aligned": 2}},
                     r"factors\.zz-en--aligned: language 'zz-en'", id="unknown-language-in-a-pair"),
        # rv47: every bad key of a mapping at once, not its first only
        pytest.param({"factors": {"fr--web": 1, "xx--web": 1, "mul--web": 2, "code:python--programming": 1, "en--web": 1}},
                     r"factors\.xx--web: .*\n  - factors\.mul--web: .*\n  - factors\.code:python--programming: code subsets",
                     id="every-bad-key"),
        # a bad key does not hide a bad value beside it, nor a boolean the rest (validation phases)
        pytest.param({"factors": {"fr--web": True, "xx--web": 1, "en--web": -1}},
                     r"factors\.fr--web: a factor must be a number, not a boolean\n  - factors\.xx--web: language 'xx'.*"
                     r"\n  - factors\.en--web: Input should be greater than or equal to 0",
                     id="bad-keys-and-values-at-once"),
    ],
)
def test_invalid_weights(weights, match):
    with pytest.raises(MixPlanError, match=match):
        plan_mix(_STATS, weights)


def test_targets_above_one():
    with pytest.raises(MixPlanError, match=r"sum to 1\.1 > 1"):
        solve_factors(_STATS, {"fr": 0.6, "en": 0.5})


def test_unknown_target_language():
    with pytest.raises(MixPlanError, match=r"match no subset.*known languages: en, fr"):
        solve_factors(_STATS, {"de": 0.5})


def test_invalid_weights_yaml_file(tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text("factors:\n  fr--web: 1\nweights: 2\n")
    with pytest.raises(MixPlanError, match=r"(?s)in .*w\.yaml.*unknown top-level key 'weights'"):
        load_weights_yaml(p)


def test_weights_file_errors_have_their_lines(tmp_path):
    """Every problem of a weights file at once, each with the line to fix, in file order (a pipeline's
    `weights_file:` nests them under its own line)."""
    p = tmp_path / "w.yaml"
    p.write_text("factors:\n  fr--web: true\n  xx--web: 1\n  EN--web: -1\nlanguages:\n  FR: abc\n")
    with pytest.raises(MixPlanError) as exc:
        load_weights_yaml(p)
    assert str(exc.value).splitlines()[1:] == [
        "  - line 2: factors.fr--web: a factor must be a number, not a boolean",
        "  - line 3: factors.xx--web: language 'xx': 'xx' is not an ISO 639 language code, so no build files a subset "
        "under it. Write the language as a build files it: an ISO 639 code (fr), a pair (fr-en), code, or und",
        "  - line 4: factors.EN--web: Input should be greater than or equal to 0 (got -1)",  # (as written: rv55)
        "  - line 6: languages.FR: Input should be a valid number, unable to parse string as a number (got 'abc')"]
    from lucie_data.cli import main

    pipe = tmp_path / "p.yaml"
    demo = Path(__file__).resolve().parents[1] / "sources" / "demo" / "eltec_fr.yaml"
    pipe.write_text(f"name: p\nsources: [{demo}]\nmix:\n  weights_file: w.yaml\n")
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        assert main(["validate", str(pipe)]) == 2
    assert f"p.yaml:4: mix.weights_file: invalid weights in {p}:\n      - line 2: factors.fr--web:" in out.getvalue()
    assert "\n      - line 6: languages.FR:" in out.getvalue()


def test_weights_keys_yaml_reads_as_other_types_are_named_as_written_at_their_lines(tmp_path):
    """rv56: `null: 1`, `true: 1`, `3: 2`, `2024-01-01: 2` were named `factors.None`, `factors.datetime.date(2024, 1,
    1)`, at the line of their mapping; in a weights file and in a pipeline's `mix:` block alike."""
    p = tmp_path / "w.yaml"
    p.write_text("factors:\n  fr--web: 1\n  ~: 1\n  2024-01-01: 2\nlanguages:\n  true: 2\nsources:\n  1.5: 2\n")
    with pytest.raises(MixPlanError) as exc:
        load_weights_yaml(p)
    fix = "if it is one, else remove it"
    assert str(exc.value).splitlines()[1:] == [
        f"  - line 3: factors: the key `~` is read by YAML as null, not as a name: quote it (`'~': …`) {fix}",
        f"  - line 4: factors: the key `2024-01-01` is read by YAML as a date, not as a name: quote it "
        f"(`'2024-01-01': …`) {fix}",
        f"  - line 6: languages: the key `true` is read by YAML as a boolean, not as a name: quote it (`'true': …`) {fix}",
        f"  - line 8: sources: the key `1.5` is read by YAML as a number, not as a name: quote it (`'1.5': …`) {fix}"]
    from lucie_data.recipe import validate_paths

    demo = Path(__file__).resolve().parents[1] / "sources" / "demo" / "eltec_fr.yaml"
    pipe = tmp_path / "p.yaml"
    pipe.write_text(f"name: p\nsources: [{demo}]\nmix:\n  factors:\n    fr--book: 1\n    null: 2\n"
                    f"  sources:\n    2024-01-01: 1\n  languages:\n    no: 2\n")
    issues = validate_paths([pipe])
    assert [(i.line, i.path, i.message) for i in issues] == [
        (6, "mix.factors.null", f"the key `null` is read by YAML as null, not as a name: quote it (`'null': …`) {fix}"),
        (8, "mix.sources.2024-01-01", "the key `2024-01-01` is read by YAML as a date, not as a name: quote it "
                                      f"(`'2024-01-01': …`) {fix}"),
        # (rv60: named `false`, with "quote it ('false': …)")
        (10, "mix.languages.no", "a key is read by YAML as the boolean false (`yes`, `no`, `on`, `off`, `true` and "
                                    "`false` are), not as a name: quote it if it is one (Norwegian: `'no'`), else remove it")]


def test_invalid_stats(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("subset,language,tokens\nA,fr,1\n")
    with pytest.raises(MixPlanError, match="lacks column.*category"):
        load_stats_csv(p)
    p.write_text("subset,language,category,tokens\nA,fr,web,1.5\n")
    with pytest.raises(MixPlanError, match=r"row 2 \(A\): tokens must be a non-negative integer"):
        load_stats_csv(p)


def test_multipliers_and_default_factor():
    w = {"factors": {"fr--web": 2}, "default_factor": 1, "languages": {"en": 0.5}, "sources": {"C": 3}}
    plan = plan_mix(_STATS, w)
    by = {s.subset: s for s in plan.subsets}
    assert (by["A"].epochs, by["B"].epochs, by["C"].epochs) == (2.0, 0.5, 1.5)
    assert plan.total_tokens_seen == 200 + 25 + 15
    assert plan.languages["fr"]["share"] == pytest.approx(200 / 240)


def test_languages_in_weight_keys_are_read_as_a_build_files_them():
    """Review: `languages: {"fr,en": 0.5}` (the recipe's spelling), `FR: 3` and a factor key `FR--web` matched no
    subset and did nothing, without a word."""
    stats = _STATS + [SubsetStats("P", "fr-en", "aligned", 40)]
    plan = plan_mix(stats, {"factors": {"FR--web": 2, "en--web": 1, "fr,en--aligned": 3},
                            "languages": {"fr,en": 0.5, "EN": 2}, "sources": {"P": 2}})
    by = {s.subset: s.epochs for s in plan.subsets}
    assert by == {"A": 2.0, "B": 2.0, "C": 2.0, "P": 3.0}  # P: 3 x 0.5 x 2
    assert not plan.warnings


# --------------------------------------------------------------------------- solver


def test_solver_hits_lucie_targets(lucie_stats, lucie_weights):
    targets = {"fr": 0.33, "en": 0.33, "code": 0.15}
    weights, plan = solve_factors(lucie_stats, targets, max_epochs=5, base_weights=lucie_weights)
    assert plan.targets["feasible"] is True
    for lang, t in targets.items():
        assert abs(plan.language_groups[lang]["share"] - t) < 1e-3
        assert abs(plan.targets["languages"][lang]["achieved"] - t) < 1e-3
        assert plan.targets["languages"][lang]["capped"] is False
    assert max(s.epochs for s in plan.subsets) <= 5
    # languages outside the targets keep their base epochs
    assert all(s.epochs == lucie_weights.factors[s.key] for s in plan.subsets if s.language in {"de", "es", "it"})
    # the returned weights reproduce the plan with the plain planner
    assert plan_mix(lucie_stats, weights).to_dict() == {k: v for k, v in plan.to_dict().items() if k != "targets"}
    assert set(plan.to_dict()) == {"total_tokens", "total_tokens_seen", "subsets", "languages", "language_groups", "targets"}
    assert "### Targets" in plan.to_markdown()


def test_solver_reports_infeasible_cap(lucie_stats, lucie_weights):
    # fr--wiki already has 3 epochs, so with a cap of 3 French cannot be upsampled to 50 %
    _, plan = solve_factors(lucie_stats, {"fr": 0.5, "en": 0.3}, max_epochs=3, base_weights=lucie_weights)
    t = plan.targets
    assert t["feasible"] is False
    assert t["languages"]["fr"]["capped"] is True
    assert t["languages"]["fr"]["achieved"] < 0.5
    assert t["languages"]["fr"]["max_epochs"] == 3.0
    assert abs(t["languages"]["en"]["achieved"] - 0.3) < 1e-9  # the uncapped target is still met
    assert max(s.epochs for s in plan.subsets) <= 3.0


def test_solver_default_base_and_parallel_group(lucie_stats):
    # base_weights=None: every factor is 1; "parallel" is a valid target through language_group
    weights, plan = solve_factors(lucie_stats, {"fr": 0.4, "parallel": 0.05}, max_epochs=6)
    assert plan.targets["feasible"] is True
    assert abs(plan.language_groups["parallel"]["share"] - 0.05) < 1e-9
    assert {"fr-en", "it-en", "es-en", "de-fr"} <= set(weights.languages)
    assert all(s.epochs == 1.0 for s in plan.subsets if s.language in {"en", "de", "code"})


def test_solver_only_target_languages():
    # no language outside the targets: shares are scale-free, nothing is subsampled
    _, plan = solve_factors(_STATS, {"fr": 0.5, "en": 0.5}, max_epochs=10)
    assert plan.targets["feasible"] is True
    assert plan.languages["fr"]["share"] == pytest.approx(0.5)
    assert min(s.epochs for s in plan.subsets) == 1.0


def test_a_pair_weighted_in_the_other_order_gets_a_hint():
    stats = _STATS + [SubsetStats("P", "fr-en", "aligned", 40)]
    with pytest.raises(MixPlanError, match=r"'fr-en--aligned' \(used by: P; your 'en-fr--aligned' is the same pair in the "
                                           r"other order"):
        plan_mix(stats, {"factors": {"fr--web": 1, "en--web": 1, "en,fr--aligned": 7}})


def test_an_unknown_sources_key_lists_the_subsets_and_the_near_one():
    with pytest.raises(MixPlanError, match=r"not in the stats: AA; .*keys are subset names, <source>--<language>: "
                                           r"A, B, C\); did you mean 'A' for 'AA'\? A source the mix leaves out"):
        plan_mix(_STATS, {"factors": {"fr--web": 1, "en--web": 1}, "sources": {"AA": 2}})


def test_a_recipes_own_keys_yaml_reads_as_other_types_are_named_as_written(tmp_path):
    """rv62: in a source recipe, `no:` was named `[0]` at line 1, `~:` `input.None`, a stage's `yes:` `stages[0][1]`
    (pydantic names a boolean key 0 or 1)."""
    from lucie_data.recipe import load_source

    (tmp_path / "x.jsonl").write_text('{"id": "1", "text": "Un texte."}\n', encoding="utf-8")
    f = tmp_path / "s.yaml"
    f.write_text("name: s\ncategory: web\nlanguages: [fr]\nlicense: CC0-1.0\nno: 1\n"
                 "input: {type: jsonl, paths: [x.jsonl], ~: 2}\nstages:\n  - {type: min_length, min_chars: 2, yes: 3}\n",
                 encoding="utf-8")
    _, issues = load_source(f)
    assert sorted((i.line, i.path) for i in issues) == [(5, "no"), (6, "input.~"), (8, "stages[0].yes")]
