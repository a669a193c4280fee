"""The card's Attribution list states the licences a source's rows in the mix carry, not the recipe's default
licence alone (web_cc and code_permissive of the demo carry one licence per document). On the real mix of
tests/test_mix_build.py (built once per session)."""
import copy
import re
from pathlib import Path

import polars as pl

from lucie_data.licenses import needs_attribution
from lucie_data.mix.card import render_card




def _rows_licences(folder: Path) -> dict[str, dict[str, int]]:
    """{source: {licence: rows}} of the mix's written shards (an independent count)."""
    df = pl.read_parquet(sorted(folder.glob("data/*/*/*/*.parquet")), columns=["source", "license"])
    out: dict[str, dict[str, int]] = {}
    for r in df.group_by("source", "license").len().iter_rows(named=True):
        out.setdefault(r["source"], {})[r["license"]] = int(r["len"])
    return out


def _attribution(card: str) -> dict[str, str]:
    """{source: what the card's Attribution list says in brackets after it}."""
    part = card.split("### Attribution", 1)[1].split("\n## ", 1)[0]
    return {m.group(1): m.group(2) for m in re.finditer(r"^- \*\*(\S+)\*\* \((.*?)\): ", part, re.M)}


def test_the_card_never_claims_one_licence_for_a_source_with_several(demo_mix):
    """On the mix as `mix build` writes it: every licence the card names for a source is one its rows carry,
    and a source whose rows carry several is not given one."""
    folder, _plan = demo_mix
    truth = _rows_licences(folder)
    assert len(truth["web_cc"]) > 1 and len(truth["code_permissive"]) > 1  # what makes this test meaningful
    said = _attribution((folder / "README.md").read_text(encoding="utf-8"))
    assert set(said) == set(truth)
    for source, text in said.items():
        if text.startswith("licence per row"):  # a plan without per-source counts: no claim made
            continue
        if text.startswith("per-document licences: "):
            listed = text[len("per-document licences: "):].rsplit("; ", 1)[0].split(", ")
            named = [re.sub(r" \(\d[\d,]* rows?\)$", "", x) for x in listed]
        else:
            named = [text.split(", ")[0]]
        assert set(named) == set(truth[source]), (source, text, truth[source])


def test_the_card_lists_each_sources_row_licences_when_the_plan_has_them(demo_mix):
    """``mix_plan["sources"][name]["licenses"]`` (rows per licence on the written shards) is what the card says."""
    folder, plan = demo_mix
    truth = _rows_licences(folder)
    plan = copy.deepcopy(plan)
    for name, meta in plan["sources"].items():
        meta["licenses"] = dict(sorted(truth.get(name, {}).items()))
    said = _attribution(render_card(plan))
    web = said["web_cc"]
    assert web.startswith("per-document licences: ") and "CC-BY-4.0, requires" not in web
    for lic, n in truth["web_cc"].items():
        assert f"{lic} ({n:,} row{'s' if n != 1 else ''})" in web
    assert web.endswith("; requires attribution")
    assert said["eltec_fr"] == "CC-BY-4.0, requires attribution"
    assert said["code_permissive"].startswith("per-document licences: ") and "MIT OR Apache-2.0 (" in said["code_permissive"]
    from lucie_data.mix.card import source_licences

    for name in truth:
        assert source_licences(plan, name) == truth[name]
    # a source whose rows mix licences that need credit and licences that do not says which need it
    plan["sources"]["web_cc"]["licenses"] = {"CC0-1.0": 2, "CC-BY-4.0": 3}
    assert _attribution(render_card(plan))["web_cc"] == (
        "per-document licences: CC-BY-4.0 (3 rows), CC0-1.0 (2 rows); attribution required for rows under CC-BY-4.0")
    assert needs_attribution("CC-BY-4.0") and not needs_attribution("CC0-1.0")


def test_a_plan_with_one_licence_in_the_whole_mix_names_it_for_every_source(demo_mix):
    _folder, plan = demo_mix
    plan = copy.deepcopy(plan)
    plan["licenses"] = {"CC-BY-SA-4.0": plan["totals"]["docs"]}
    for meta in plan["sources"].values():
        meta.pop("licenses", None)
    said = _attribution(render_card(plan))
    assert said and all(v == "CC-BY-SA-4.0, requires attribution" for v in said.values())


def test_the_licence_check_line_states_the_whole_policy(demo_mix):
    """Licences allowed by name (a LicenseRef of class unknown, as the lucie pipeline allows seven) and denied ones
    are in the card's licence-check line: the classes alone contradicted rows the check had passed (second review)."""
    _folder, plan = demo_mix
    plan = copy.deepcopy(plan)
    plan["license_check"]["policy"].update(allow=["LicenseRef-Europarl-open"], deny=["CC-BY-NC-SA-4.0"])
    line = next(x for x in render_card(plan).splitlines() if x.startswith("Licence check:"))
    assert "allowed classes: public-domain, permissive, share-alike" in line
    assert "also allowed: LicenseRef-Europarl-open" in line and "denied: CC-BY-NC-SA-4.0" in line


def test_a_sources_provenance_notes_reach_the_card(demo_mix):
    """A recipe's `provenance.notes` (the Lucie recipes say there that the released dataset is licensed as a whole
    CC-BY-NC-SA-4.0, which a per-document check cannot see; third review) is in the card's attribution line."""
    _folder, plan = demo_mix
    plan = copy.deepcopy(plan)
    name = next(iter(sorted({s["source"] for s in plan["shards"]})))
    plan["sources"][name].setdefault("provenance", {})["notes"] = "licensed as a whole CC-BY-NC-SA-4.0"
    line = next(x for x in render_card(plan).splitlines() if x.startswith(f"- **{name}**"))
    assert "Note: licensed as a whole CC-BY-NC-SA-4.0." in line
