"""`license_policy: {unverified: deny}`: a document that only got the recipe's licence because its own was missing
(an html page without a sidecar row, a record with an empty license_field) is removed as `license_unverified`; the
report lists unverified documents kept under `unverified: allow`; a mix under `deny` refuses a build made under
`allow` (its shards cannot tell such documents apart)."""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from lucie_data.cli import main
from lucie_data.licenses import LicensePolicy
from lucie_data.mix.build import build_mix, load_mix_config
from lucie_data.mix.plan import MixPlanError

ROOT = Path(__file__).resolve().parents[1]


def _build(tmp_path: Path, unverified: str) -> Path:
    recs = [json.loads(line) for line in (ROOT / "data/demo/en_ud_pud.jsonl").read_text(encoding="utf-8").splitlines()[:10]]
    for i, r in enumerate(recs):
        r["rights"] = "CC-BY-SA-4.0" if i % 3 else ""  # every third record states no licence of its own
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    (tmp_path / "s.yaml").write_text("name: s\ncategory: newspaper\nlanguages: [en]\nlicense: CC-BY-4.0\n"
                                     "input: {type: jsonl, paths: [d.jsonl], license_field: rights}\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text(
        f"name: p\nsources: [s.yaml]\noutput_dir: b\nexecutor: {{type: local, workers: 1, tasks: 1}}\n"
        f"license_policy: {{allow_classes: [permissive, share-alike], unverified: {unverified}}}\n"
        "mix: {factors: {en--newspaper: 1}}\n", encoding="utf-8")
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    return tmp_path / "b"


def test_unverified_deny_removes_the_documents_without_their_own_licence(tmp_path):
    b = _build(tmp_path, "deny")
    kept = pl.read_parquet(sorted((b / "sources/s/data").glob("*/*.parquet")))
    removed = pl.read_parquet(sorted((b / "sources/s/removed").glob("*/*.parquet")))
    assert set(kept["license_evidence"]) == {"record:rights"} and kept.height == 6
    assert removed["removal_reason"].to_list() == ["license_unverified"] * 4
    assert set(removed["license_evidence"]) == {"recipe:no_license_field"} and set(removed["license"]) == {"CC-BY-4.0"}
    build_mix(b, load_mix_config(b, output=tmp_path / "m"))  # built under deny: mixed


def test_unverified_allow_keeps_them_reports_them_and_a_deny_mix_refuses(tmp_path, capsys):
    b = _build(tmp_path, "allow")
    kept = pl.read_parquet(sorted((b / "sources/s/data").glob("*/*.parquet")))
    assert dict(kept.group_by("license_evidence").len().iter_rows()) == {"record:rights": 6, "recipe:no_license_field": 4}
    assert main(["report", str(b)]) == 0
    rep = json.loads((b / "reports/provenance.json").read_text())
    (w,) = [w for w in rep["warnings"] if w["kind"] == "license_unchecked_kept"]
    assert w["count"] == 4 and "license_evidence recipe:no_license_field" in w["message"]
    cfg = load_mix_config(b, output=tmp_path / "m")
    cfg.policy = cfg.policy.model_copy(update={"unverified": "deny"})
    with pytest.raises(MixPlanError, match=r"says `unverified: deny`, but the build was made without it.*Rerun "
                                           r"`lucie-data build` with this policy"):
        build_mix(b, cfg)
    from lucie_data.mix.build import mix_refusals

    (said,) = mix_refusals(b, cfg)  # what `mix plan --build` notes (rv54: its plan said nothing of it)
    assert said.startswith("the licence policy (") and "says `unverified: deny`, but the build was made without" in said
    assert mix_refusals(b, load_mix_config(b, output=tmp_path / "m")) == []


def test_the_gate_decides_on_the_evidence():
    from datatrove.data import Document

    from lucie_data.steps.licence import LicenseGateFilter

    gate = LicenseGateFilter(policies=[LicensePolicy(unverified="deny").model_dump(mode="json")])
    for ev, expected in (("recipe", True), ("record:rights", True), ("recipe:no_sidecar_row", (False, "license_unverified")),
                         ("recipe:no_license_field", (False, "license_unverified"))):
        doc = Document(text="x", id="1", metadata={"license": "CC-BY-4.0", "license_evidence": ev})
        assert gate.filter(doc) == expected, ev
    allow = LicenseGateFilter(policies=[LicensePolicy().model_dump(mode="json")])
    assert allow.filter(Document(text="x", id="1", metadata={"license": "CC-BY-4.0",
                                                             "license_evidence": "recipe:no_sidecar_row"})) is True


def test_license_rules_finding_no_rights_data_is_unverified(tmp_path):
    """Auditor review: a license_rules stage reading `statement_field` kept the plain `recipe` evidence on documents
    with no statement, so `unverified: deny` kept them under the recipe's licence."""
    recs = [json.loads(line) for line in (ROOT / "data/demo/en_ud_pud.jsonl").read_text(encoding="utf-8").splitlines()[:6]]
    for i, r in enumerate(recs):
        r["rights_note"] = "Licensed under CC BY-SA 4.0." if i % 2 else ""
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        "name: s\ncategory: newspaper\nlanguages: [en]\nlicense: CC-BY-4.0\n"
        "input: {type: jsonl, paths: [d.jsonl], metadata_fields: [rights_note]}\n"
        "stages:\n  - {type: license_rules, name: rights, statement_field: rights_note}\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text(
        "name: p\nsources: [s.yaml]\noutput_dir: b\nexecutor: {type: local, workers: 1, tasks: 1}\n"
        "license_policy: {allow_classes: [permissive, share-alike], unverified: deny}\n", encoding="utf-8")
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    b = tmp_path / "b"
    kept = pl.read_parquet(sorted((b / "sources/s/data").glob("*/*.parquet")))
    removed = pl.read_parquet(sorted((b / "sources/s/removed").glob("*/*.parquet")))
    assert set(kept["license_evidence"]) == {"rule:rights"} and set(kept["license"]) == {"CC-BY-SA-4.0"}
    assert kept.height == 3 and removed.height == 3
    assert set(removed["license_evidence"]) == {"recipe:no_rights_data"}
    assert set(removed["removal_reason"]) == {"license_unverified"}
