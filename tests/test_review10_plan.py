"""Review 10 of `mix plan` (a trainer's): the solver when targets sum to 1, capped epochs exactly at the cap, the
stats CSV's languages and categories read as a build files them, weights language keys a build would file under
another code, and table/CSV/target nits. Reproductions: /tmp/rv_tr/plan/ (solver.csv, regional.csv, langs.csv,
wd5.yaml, wl.yaml)."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from lucie_data.cli import main
from lucie_data.mix.plan import (
    MixPlanError,
    SubsetStats,
    load_stats_csv,
    load_weights_yaml,
    plan_mix,
    solve_factors,
)

ASSETS = files("lucie_data") / "assets" / "lucie"

# plan/solver.csv and plan/solver_w.yaml of the review
SOLVER_STATS = [
    SubsetStats("frweb", "fr", "web", 1000),
    SubsetStats("enweb", "en", "web", 1000),
    SubsetStats("code", "code", "programming", 1000),
    SubsetStats("deweb", "de", "web", 100),
]
SOLVER_W = {"factors": {"fr--web": 1, "en--web": 1, "code--programming": 1, "de--web": 1}}
TARGETS_SUM_1 = {"fr": 0.4, "en": 0.4, "code": 0.2}


def _csv(tmp_path: Path, body: str, name: str = "s.csv") -> Path:
    p = tmp_path / name
    p.write_text("subset,language,category,tokens\n" + body, encoding="utf-8")
    return p


# --------------------------------------------------------------------------- 1. solver: targets summing to 1


def test_targets_summing_to_1_pin_the_most_binding_languages_and_meet_the_others():
    """Review: 33.06/33.06/33.06 % for 40/40/20 % targets, every multiplier at the cap (code 13 points over); then
    (second review) keeping the targets' ratios let a capped language drag the others far below their targets.
    Now the iteration goes on as for targets summing to just under 1: fr and en at the cap, code exactly on target."""
    weights, plan = solve_factors(SOLVER_STATS, TARGETS_SUM_1, max_epochs=4, base_weights=SOLVER_W)
    t = plan.targets
    assert t["feasible"] is False
    by = {s.subset: s.epochs for s in plan.subsets}
    assert by == {"frweb": 4.0, "enweb": 4.0, "code": 2.025, "deweb": 1.0}
    got = {g: round(row["share"] * 100, 3) for g, row in plan.languages.items()}
    assert got == {"fr": 39.506, "en": 39.506, "code": 20.0, "de": 0.988}
    assert {g: row["multiplier"] for g, row in t["languages"].items()} == {"fr": 4.0, "en": 4.0, "code": 2.025}
    assert {g for g, row in t["languages"].items() if row["capped"]} == {"fr", "en"}
    # no jump at 1: targets summing to just under 1 give the same plan to within the difference
    _, near = solve_factors(SOLVER_STATS, {"fr": 0.4, "en": 0.4, "code": 0.2 - 1e-9}, max_epochs=4,
                            base_weights=SOLVER_W)
    assert {g: round(r["share"] * 100, 3) for g, r in near.languages.items()} == got
    # the report says why and how to fix it, in the plan's warnings (printed by the CLI, logged by mix build)
    assert "the targets sum to 1 but de (not in the targets" in t["reason"]
    assert "holds 0.988 % of tokens seen" in t["reason"] and "en, fr at max_epochs 4" in t["reason"]
    assert "code exactly on target" in t["reason"] and "--target de=0" in t["reason"]
    assert any(w.startswith("targets not met: the targets sum to 1 but de") for w in plan.warnings)
    assert "Reason: the targets sum to 1" in plan.to_markdown()
    # the returned weights give the same plan
    assert plan_mix(SOLVER_STATS, weights).to_dict() == {k: v for k, v in plan.to_dict().items() if k != "targets"}


def test_a_tiny_capped_target_language_does_not_drag_the_others_down():
    """Second review: fr 1,000 tokens, en 100,000, code 40,000 (not a target), fr=0.5 en=0.5: en got multiplier
    0.05 and 10 %, code 80 %; with en=0.4999999, en 50 %. Now fr is pinned at its cap and en gets its 50 %."""
    stats = [SubsetStats("fr", "fr", "web", 1000), SubsetStats("en", "en", "web", 100_000),
             SubsetStats("code", "code", "programming", 40_000)]
    _, plan = solve_factors(stats, {"fr": 0.5, "en": 0.5})
    shares = {g: r["share"] for g, r in plan.languages.items()}
    assert shares["en"] == pytest.approx(0.5) and plan.targets["languages"]["fr"]["capped"]
    assert {s.subset: s.epochs for s in plan.subsets}["fr"] == 5.0
    _, near = solve_factors(stats, {"fr": 0.5, "en": 0.4999999})
    assert near.languages["en"]["share"] == pytest.approx(0.4999999)
    assert near.languages["code"]["share"] == pytest.approx(shares["code"], abs=1e-6)


def test_targets_summing_to_1_by_float_rounding_are_read_as_summing_to_1():
    third = 0.3333333333333333  # three of them sum to 0.9999999999999999
    _, plan = solve_factors(SOLVER_STATS, {"fr": third, "en": third, "code": third}, max_epochs=4,
                            base_weights=SOLVER_W)
    assert "the targets sum to 1 but de" in plan.targets["reason"]
    assert {s.subset: s.epochs for s in plan.subsets} == {"frweb": 4.0, "enweb": 4.0, "code": 4.0, "deweb": 1.0}


def test_adding_the_other_language_at_0_makes_the_targets_feasible():
    _, plan = solve_factors(SOLVER_STATS, {**TARGETS_SUM_1, "de": 0}, max_epochs=4, base_weights=SOLVER_W)
    assert plan.targets["feasible"] is True
    assert "reason" not in plan.targets
    for g, share in TARGETS_SUM_1.items():
        assert plan.languages[g]["share"] == pytest.approx(share)


def test_a_cap_bound_target_says_why():
    stats = SOLVER_STATS[:2] + [SubsetStats("de2", "de", "web", 3000)]
    _, plan = solve_factors(stats, {"fr": 0.6, "en": 0.1}, max_epochs=2, base_weights=SOLVER_W | {"default_factor": 1})
    t = plan.targets
    assert t["feasible"] is False
    assert t["languages"]["en"]["achieved"] == pytest.approx(0.1)  # the uncapped target is still met
    assert t["reason"].startswith("fr reaches at most ")
    assert "with at most 2 epochs per subset" in t["reason"]
    assert t["reason"].endswith("raise max_epochs, or lower that target")


def test_feasible_targets_stay_exact():
    stats = load_stats_csv(Path(str(ASSETS / "stats.csv")))
    weights = load_weights_yaml(Path(str(ASSETS / "weights.yaml")))
    _, plan = solve_factors(stats, {"fr": 0.33, "en": 0.33, "code": 0.15}, max_epochs=5, base_weights=weights)
    assert plan.targets["feasible"] is True
    assert "reason" not in plan.targets
    for g, share in {"fr": 0.33, "en": 0.33, "code": 0.15}.items():
        assert plan.language_groups[g]["share"] == pytest.approx(share, abs=1e-12)


# --------------------------------------------------------------------------- 2. capped epochs exactly at the cap


@pytest.mark.parametrize(("factor", "cap"), [(1.5, 4), (3, 5), (1.5, 5), (2.5, 4), (0.7, 3.7), (3, 4.5)])
def test_capped_epochs_are_the_cap_exactly(factor, cap):
    """Review: 4.999999999999999 / 3.9999999999999996 epochs in JSON, mix_plan.json and logs, and `mix build`
    (floor of the epochs) made a "4 epochs" subset 3 whole epochs plus a 0.9999999999999996 draw."""
    stats = [SubsetStats("en", "en", "web", 29_495), SubsetStats("fr", "fr", "web", 10**6)]
    base = {"factors": {"en--web": factor, "fr--web": 1}}
    weights, plan = solve_factors(stats, {"en": 0.9}, max_epochs=cap, base_weights=base)
    en = next(s for s in plan.subsets if s.subset == "en")
    assert plan.targets["languages"]["en"]["capped"] is True
    assert en.epochs == float(cap)
    assert plan.targets["languages"]["en"]["max_epochs"] == float(cap)
    assert max(s.epochs for s in plan.subsets) <= cap
    # and so from the weights written out (`--weights-out`, then `mix plan --weights`)
    again = plan_mix(stats, load_weights_from_yaml(weights.to_yaml()))
    assert next(s for s in again.subsets if s.subset == "en").epochs == float(cap)


def load_weights_from_yaml(text: str):
    import yaml

    from lucie_data.mix.plan import parse_weights

    return parse_weights(yaml.safe_load(text))


def test_capped_tokens_seen_are_whole():
    stats = [SubsetStats("en", "en", "web", 29_495), SubsetStats("fr", "fr", "web", 10**6)]
    _, plan = solve_factors(stats, {"en": 0.9}, max_epochs=4, base_weights={"factors": {"en--web": 1.5, "fr--web": 1}})
    en = next(s for s in plan.subsets if s.subset == "en")
    assert en.tokens_seen == 4 * 29_495 and isinstance(en.tokens_seen, int)


def test_lucie_reproduction_is_unchanged():
    plan = plan_mix(Path(str(ASSETS / "stats.csv")), load_weights_yaml(Path(str(ASSETS / "weights.yaml"))))
    assert plan.total_tokens_seen == 3_121_744_220_736
    assert next(s for s in plan.subsets if s.subset == "en--technical").tokens_seen == 178_797_884_497.5


# --------------------------------------------------------------------------- 3-4. the stats CSV as a build files it


def test_stats_languages_are_read_as_a_build_files_them(tmp_path):
    """Review: `fr-FR` became a "pair" fr-fr (grouped as parallel), `fra` and `French` languages of their own."""
    p = _csv(tmp_path, "frweb,fr-FR,web,1000\nenweb,en,web,1000\nfrweb2,fra,web,500\nfr3,French,web,7\n"
                       "fr4,Français,web,1\npair,\"fr,EN\",aligned,4\nhy,en-fr,aligned,3\npy,code:Python,programming,2\n"
                       "u,und,web,1\n")
    stats = load_stats_csv(p)
    assert [s.language for s in stats] == ["fr", "en", "fr", "fr", "fr", "fr-en", "en-fr", "code", "und"]
    plan = plan_mix(stats, {"factors": {"fr--web": 2, "en--web": 1}, "default_factor": 1})
    assert {s.subset: s.epochs for s in plan.subsets}["frweb2"] == 2.0
    assert set(plan.language_groups) == {"fr", "en", "parallel", "code", "und"}
    assert plan.language_groups["parallel"]["tokens"] == 7
    assert not plan.warnings


@pytest.mark.parametrize(("value", "match"), [
    ("xx", (r"s\.csv row 3 \(b\): language 'xx': 'xx' is not an ISO 639 language code\. Write the language as a "
            r"build files it: an ISO 639 code \(fr\), a pair \(fr-en\), code, or und")),
    ("klingonese", r"row 3 \(b\): language 'klingonese'"),
    ("mul", r"row 3 \(b\): language 'mul' means multiple languages"),
])
def test_a_stats_language_a_build_would_not_know_is_an_error_naming_the_row(tmp_path, value, match):
    p = _csv(tmp_path, f"a,fr,web,10\nb,{value},web,5\n")
    with pytest.raises(MixPlanError, match=match):
        load_stats_csv(p)


def test_stats_categories_are_lower_cased(tmp_path):
    """Review: `WEB` never matched the factor key fr--web, silently (default_factor applied instead)."""
    p = _csv(tmp_path, "c,fr,WEB,3\nd, en ,Web ,4\n")
    stats = load_stats_csv(p)
    assert [s.category for s in stats] == ["web", "web"]
    plan = plan_mix(stats, {"factors": {"fr--web": 5, "en--web": 2}, "default_factor": 1})
    assert {s.subset: s.epochs for s in plan.subsets} == {"c": 5.0, "d": 2.0}


def test_dict_stats_are_normalised_too():
    stats = load_stats_csv([{"subset": "A", "language": "fr-FR", "category": "Web", "tokens": 1}])
    assert (stats[0].language, stats[0].category) == ("fr", "web")


def test_a_csv_row_with_more_values_than_the_header_is_an_error(tmp_path):
    p = _csv(tmp_path, "a,fr,web,10\nb,fr,en,aligned,10\n")
    with pytest.raises(MixPlanError, match=r"s\.csv row 3: 5 values for the header's 4 columns "
                                           r"\(subset,language,category,tokens\); extra: 10\. .*quote a value"):
        load_stats_csv(p)


# --------------------------------------------------------------------------- 5. weights language keys


@pytest.mark.parametrize(("key", "canon"), [("french", "fr"), ("Français", "fr"), ("en_US", "en"), ("fr-FR", "fr"),
                                            ("fre", "fr")])
def test_a_language_multiplier_a_build_files_under_another_code_names_it(key, canon):
    """Review: `french: 2`, `Français`, `en_US` were ignored without a word; `fr-FR: 2` pointed at 'fr-en'."""
    stats = [SubsetStats("A", "fr", "web", 10), SubsetStats("B", "en", "web", 10), SubsetStats("P", "fr-en", "aligned", 1)]
    plan = plan_mix(stats, {"factors": {"fr--web": 1, "en--web": 1, "fr-en--aligned": 1}, "languages": {key: 2}})
    assert plan.warnings == [f"language multiplier {key.lower()!r} matches no subset's language; did you mean {canon!r}?"]


def test_a_language_multiplier_next_to_its_code_does_nothing_and_says_so():
    stats = [SubsetStats("A", "fr", "web", 10)]
    plan = plan_mix(stats, {"factors": {"fr--web": 1}, "languages": {"fr": 3, "french": 2}})
    assert plan.warnings == [("language multiplier 'french' matches no subset's language; did you mean 'fr'? ('fr' "
                              "has a multiplier of its own, so 'french' does nothing)")]


def test_a_factor_key_a_build_files_under_another_code_names_it():
    stats = [SubsetStats("A", "fr", "web", 10), SubsetStats("B", "en", "web", 10)]
    plan = plan_mix(stats, {"factors": {"french--web": 3, "en--web": 1}, "default_factor": 1})
    assert plan.warnings == [("factor key 'french--web' matches no subset; did you mean 'fr--web'? (a build files the "
                              "language 'french' as 'fr'; 'fr--web' has no factor of its own: it got default_factor 1)")]
    with pytest.raises(MixPlanError, match=r"'fr--web' \(used by: A; your 'fr-fr--web' means it: a build files the "
                                           r"language 'fr-fr' as 'fr', write 'fr--web'\)"):
        plan_mix(stats, {"factors": {"fr-FR--web": 3, "en--web": 1}})


def test_the_cli_warns_about_a_regional_language_key(tmp_path, capsys):
    stats = _csv(tmp_path, "a,fr,web,10\nb,en,web,10\nc,\"fr,en\",aligned,1\n")
    w = tmp_path / "w.yaml"
    w.write_text("factors: {fr--web: 1, en--web: 1, fr-en--aligned: 1}\nlanguages: {fr-FR: 2}\n")
    assert main(["mix", "plan", "--stats", str(stats), "--weights", str(w)]) == 0
    err = capsys.readouterr().err
    assert "warning: language multiplier 'fr-fr' matches no subset's language; did you mean 'fr'?" in err
    assert "fr-en'?" not in err


# --------------------------------------------------------------------------- 6. nits


def test_markdown_shows_tokens_seen_as_whole_numbers():
    """Review: `178,797,884,497.5` in the plan's Markdown; JSON keeps the exact value."""
    plan = plan_mix(Path(str(ASSETS / "stats.csv")), load_weights_yaml(Path(str(ASSETS / "weights.yaml"))))
    md = plan.to_markdown()
    assert "| en--technical | en | technical | 71,519,153,799 | 2.5 | 178,797,884,498 | 5.727 |" in md
    assert "497.5" not in md
    assert "tokens seen: 3,121,744,220,736." in md
    assert plan.to_dict()["subsets"][[s.subset for s in plan.subsets].index("en--technical")]["tokens_seen"] == \
        178_797_884_497.5


@pytest.mark.parametrize("name", ["FR", " Fr ", "French", "fr-FR"])
def test_targets_are_read_case_insensitively_and_as_a_build_files_them(name):
    _, plan = solve_factors(SOLVER_STATS, {name: 0.4}, max_epochs=4, base_weights=SOLVER_W)
    assert set(plan.targets["languages"]) == {"fr"}
    assert plan.targets["feasible"] is True


def test_parallel_target_in_capitals():
    stats = SOLVER_STATS + [SubsetStats("P", "fr-en", "aligned", 100)]
    _, plan = solve_factors(stats, {"PARALLEL": 0.05}, max_epochs=4, base_weights=SOLVER_W | {"default_factor": 1})
    assert set(plan.targets["languages"]) == {"parallel"}


def test_one_target_given_twice_in_two_spellings_is_an_error():
    with pytest.raises(MixPlanError, match=r"targets 'fr' and 'FR' both mean the language 'fr': give it once"):
        solve_factors(SOLVER_STATS, {"fr": 0.4, "FR": 0.3}, max_epochs=4, base_weights=SOLVER_W)


def test_cli_target_in_capitals(tmp_path, capsys):
    stats = _csv(tmp_path, "frweb,fr,web,1000\nenweb,en,web,1000\n")
    w = tmp_path / "w.yaml"
    w.write_text("factors: {fr--web: 1, en--web: 1}\n")
    assert main(["mix", "plan", "--stats", str(stats), "--weights", str(w), "--target", "FR=0.4"]) == 0
    assert "feasible" in capsys.readouterr().out


def test_a_pair_given_as_a_target_is_told_to_use_parallel():
    """Second review: `--target fr,en=0.1` said only "match no subset"."""
    stats = [SubsetStats("fr", "fr", "web", 1000), SubsetStats("en", "en", "web", 1000),
             SubsetStats("p", "fr-en", "aligned", 100)]
    for key in ("fr,en", "fr-en"):
        with pytest.raises(MixPlanError, match=r"match no subset; known languages: en, fr, parallel; a language pair "
                                               r"\(fr,en\) is targeted as its group, `parallel`"):
            solve_factors(stats, {"fr": 0.4, key: 0.1})


def test_the_card_rounds_token_counts_as_the_plan_does(tmp_path):
    """Second review: the card showed 772,115.8 and 321,754.5 where `mix plan` shows 772,116."""
    from lucie_data.mix.card import _n

    assert _n(772_115.8) == "772,116" and _n(321_754.5) == "321,755" and _n(88_485.0) == "88,485" and _n(7) == "7"
