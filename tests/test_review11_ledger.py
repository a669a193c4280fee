"""Auditor review, fifth round: two input records with one id, the second removed by a dedup stage. The ledger
counted kept documents sharing an id only (0 here), so neither the build nor the report warned, though `trace` of
that id finds two documents. Text: /work/shared/corpora/fr_ud_pud.jsonl (UD French PUD, CC-BY-SA-4.0, see its
README)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from lucie_data.cli import main

CORPUS = Path("/work/shared/corpora/fr_ud_pud.jsonl")
if not CORPUS.exists():
    CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "fr_ud_pud.jsonl"


def _one_source(tmp_path: Path, recipe: str, policy: str = "") -> Path:
    """A pipeline of one recipe (s.yaml) building into tmp_path/build, 1 worker, 1 task; returns the pipeline file."""
    (tmp_path / "s.yaml").write_text(recipe, encoding="utf-8")
    pipe = tmp_path / "p.yaml"
    pipe.write_text("name: p\nsources: [s.yaml]\noutput_dir: build\nexecutor: {type: local, workers: 1, tasks: 1}\n"
                    + policy, encoding="utf-8")
    return pipe


def test_a_removed_document_with_the_id_of_another_is_counted_and_warned(tmp_path, capsys):
    recs = [json.loads(x) for x in CORPUS.read_text(encoding="utf-8").splitlines()[:4]]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    # b.jsonl repeats the first record (same id, same text) and adds a new one
    extra = dict(recs[1], id="other-1", text=recs[1]["text"] + " Fin.")
    (tmp_path / "b.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in (recs[0], extra)),
                                      encoding="utf-8")
    pipe = _one_source(tmp_path, "name: pud\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-SA-4.0\n"
                       "input: {type: jsonl, paths: [a.jsonl, b.jsonl]}\nstages:\n  - type: exact_dedup\n")
    capsys.readouterr()
    assert main(["build", str(pipe)]) == 0
    out = capsys.readouterr().out
    led = json.loads((tmp_path / "build/sources/pud/ledger.json").read_text())
    first = f"pud/{recs[0]['id']}"
    assert led["duplicate_ids"] == 0 and led["docs_kept"] == 5
    assert led["removed_sharing_ids"] == 1 and led["removed_sharing_ids_examples"] == [first]
    assert "1 removed document(s) have the id of another document" in " ".join(out.split()) and first in out
    assert main(["report", str(tmp_path / "build")]) == 0
    rep = json.loads((tmp_path / "build/reports/provenance.json").read_text())
    (w,) = [w for w in rep["warnings"] if w["kind"] == "duplicate_ids_removed"]
    assert w["source"] == "pud" and w["count"] == 1 and w["ids"] == [first]


def test_a_text_field_no_record_has_fails_the_source(tmp_path, capsys):
    """New-user review: `text_field: content` on records whose text is in `text` removed all 105 records at read and
    the build said the source finished (exit 0, 0 kept, one warning). Like a license_field no record has, it is a
    mapping error with one fix: the source fails and says it."""
    pipe = _one_source(tmp_path, "name: ocr\ncategory: newspaper\nlanguages: [fr]\nlicense: CC0-1.0\n"
                       f"input: {{type: jsonl, paths: [{CORPUS.parent / 'fr_ocr_newseye.jsonl'}], text_field: content}}\n")
    capsys.readouterr()
    assert main(["build", str(pipe)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "source 'ocr': `text_field: content` names a field that none of the 105 records has" in err, err
    assert "the records have: " in err and "text" in err and f"Fix `text_field` in {tmp_path / 's.yaml'}" in err


def test_a_licence_gate_that_removes_every_document_is_warned_about(tmp_path, capsys):
    """New-user review: a recipe licence the pipeline's policy does not allow (here a LicenseRef under `unknown:
    deny`) removed all 105 records at the implicit licence gate; exit 0 and no warning. Accounted for, and said."""
    pipe = _one_source(tmp_path, "name: ocr\ncategory: newspaper\nlanguages: [fr]\nlicense: LicenseRef-HIPE-terms\n"
                       f"input: {{type: jsonl, paths: [{CORPUS.parent / 'fr_ocr_newseye.jsonl'}]}}\n",
                       "license_policy: {allow_classes: [public-domain, permissive, share-alike], unknown: deny}\n")
    capsys.readouterr()
    assert main(["build", str(pipe)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    led = json.loads((tmp_path / "build/sources/ocr/ledger.json").read_text())
    assert led["docs_kept"] == 0 and led["balanced"]
    (w,) = [w for w in led["warnings"] if "removed every document" in w]
    assert w.startswith("stage license_policy removed every document (105: license_unknown × 105); their licences: "
                        "LicenseRef-HIPE-terms × 105. If they may be used, allow them in the pipeline's `license_policy`")
    assert "ocr: stage license_policy removed every document" in out


def test_kept_documents_of_unknown_language_are_counted_under_und(tmp_path):
    """New-user review: `kept_by_language` had the key "None" (a Python repr) where the data folder is `und`."""
    import polars as pl

    from lucie_data.ledger import kept_counts

    (tmp_path / "data" / "und").mkdir(parents=True)
    (tmp_path / "data" / "fr").mkdir(parents=True)
    pl.DataFrame({"id": ["s/a"], "text": ["Texte."], "language": [None]}, schema={"id": pl.Utf8, "text": pl.Utf8,
                 "language": pl.Utf8}).write_parquet(tmp_path / "data/und/0.parquet")
    pl.DataFrame({"id": ["s/b"], "text": ["Bonjour."], "language": ["fr"]}).write_parquet(tmp_path / "data/fr/0.parquet")
    assert kept_counts(tmp_path)["by_language"] == {"und": {"docs": 1, "chars": 6}, "fr": {"docs": 1, "chars": 8}}


def test_a_failing_source_does_not_stop_the_others(tmp_path, capsys):
    """New-user review: the first source that failed (here a text_field no record has) stopped the build: the
    sources after it never ran and no manifest.json was written. Now the others are built, the manifest lists the
    failed one with why (a mix refuses the build, the report says it), the build exits 1, and a rerun after the fix
    builds only that one."""
    pud = CORPUS.parent
    for name, path, field in (("a", "fr_ud_pud.jsonl", ""), ("b", "en_ud_pud.jsonl", ", text_field: content"),
                              ("c", "de_ud_pud.jsonl", "")):
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\ncategory: web\nlanguages: [{path[:2]}]\nlicense: CC-BY-SA-4.0\n"
            f"input: {{type: jsonl, paths: [{pud / path}]{field}}}\n", encoding="utf-8")
    pipe = tmp_path / "p.yaml"
    pipe.write_text("name: p\nsources: [a.yaml, b.yaml, c.yaml]\noutput_dir: build\n"
                    "executor: {type: local, workers: 1, tasks: 1}\nmix: {factors: {}, default_factor: 1}\n",
                    encoding="utf-8")
    capsys.readouterr()
    assert main(["build", str(pipe)]) == 1
    cap = capsys.readouterr()
    out, err = " ".join(cap.out.split()), " ".join(cap.err.split())
    assert "✗ b: FAILED: source 'b': `text_field: content` names a field" in out and "✓ c:" in out, out
    assert "1 source(s) failed, the others were built" in err and "[red]" not in out + err
    assert "done: 794 records read" in out  # the built sources' summary is said before the failure (code review)
    build = tmp_path / "build"
    assert (build / "sources/a/ledger.json").exists() and (build / "sources/c/ledger.json").exists()
    m = json.loads((build / "manifest.json").read_text())
    assert [s["name"] for s in m["sources"]] == ["a", "c"]
    assert [f["name"] for f in m["failed_sources"]] == ["b"] and "text_field: content" in m["failed_sources"][0]["error"]
    assert not any(s["path"].startswith("sources/b/") for s in m["shards"])
    assert main(["mix", "build", str(build)]) == 2
    assert "source(s) b failed in the last build" in " ".join(capsys.readouterr().err.split())
    assert main(["report", str(build)]) == 0
    rep = json.loads((build / "reports/provenance.json").read_text())
    assert [w["source"] for w in rep["warnings"] if w["kind"] == "failed_source"] == ["b"]
    assert not [w for w in rep["warnings"] if w["kind"] == "unfinished_source"]

    # trace of a document the failed run left in b's folder says the source failed, and exits 1 (engineer review:
    # "KEPT", exit 0)
    left = sorted((build / "sources/b").glob("data/**/*.parquet")) + sorted((build / "sources/b").glob("removed/*/*.parquet"))
    assert left  # (every record removed at read: its removed shards)
    import polars as pl

    doc = pl.read_parquet(left[0])["id"][0]
    capsys.readouterr()
    assert main(["trace", str(build), doc]) == 1
    said = " ".join(capsys.readouterr().out.split())
    assert "WARNING source b failed in the last build" in said and "not output of the build" in said, said
    # an --only build of another source keeps b failed, with its error, and says so (code review: b became "lost")
    capsys.readouterr()
    assert main(["build", str(pipe), "--only", "a"]) == 1  # the build folder is still not mixable
    out = " ".join(capsys.readouterr().out.split())
    assert "b: failed in an earlier build and not built since (source 'b': `text_field: content`" in out, out
    m = json.loads((build / "manifest.json").read_text())
    assert [f["name"] for f in m["failed_sources"]] == ["b"] and "lost_sources" not in m
    assert "text_field: content" in m["failed_sources"][0]["error"]
    assert main(["mix", "build", str(build)]) == 2

    (tmp_path / "b.yaml").write_text((tmp_path / "b.yaml").read_text().replace(", text_field: content", ""))
    capsys.readouterr()
    assert main(["build", str(pipe)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "✓ a: up to date" in out and "✓ c: up to date" in out and "✓ b:" in out
    m = json.loads((build / "manifest.json").read_text())
    assert [s["name"] for s in m["sources"]] == ["a", "b", "c"] and "failed_sources" not in m
    assert main(["mix", "build", str(build)]) == 0


@pytest.mark.parametrize("given, want", [("text", "each was read as one text document; did you mean `type: jsonl`?"),
                                         ("parquet", "but `input.type` is parquet; did you mean `type: jsonl`?")])
def test_input_files_named_as_another_type_are_warned_about(tmp_path, capsys, given, want):
    """New-user review: `type: text` on a .jsonl file made the whole file one document, `type: parquet` quarantined
    it; both ended with exit 0 and nothing said about the type."""
    pipe = _one_source(tmp_path, "name: s\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-SA-4.0\n"
                       f"input: {{type: {given}, paths: [{CORPUS}]}}\n")
    assert main(["build", str(pipe)]) == 0
    led = json.loads((tmp_path / "build/sources/s/ledger.json").read_text())
    (w,) = [w for w in led["warnings"] if "are named as" in w]
    assert w.startswith("1 of 1 input file(s) are named as jsonl (fr_ud_pud.jsonl)") and want in w
