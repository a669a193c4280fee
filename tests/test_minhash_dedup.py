"""`minhash_dedup`: near-duplicates within a source, across all its tasks, on real text (tests/data/problematic holds a
real ELTeC passage and a copy with typographic changes, see its README; the demo's ELTeC novels are distinct texts)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest

from lucie_data.cli import main

ROOT = Path(__file__).resolve().parents[1]
from .conftest import SHARED  # noqa: E402
PROB = ROOT / "tests" / "data" / "problematic" / "problematic_docs.jsonl"
ELTEC = ROOT / "data" / "demo" / "fr_eltec_novels.jsonl"


def _build(tmp_path: Path, name: str, paths: list[Path], tasks: int, workers: int = 1, stages=None) -> Path:
    stages = stages or [{"type": "minhash_dedup"}]
    (tmp_path / f"{name}.yaml").write_text(json.dumps({
        "name": name, "category": "book", "languages": ["fr"], "license": "CC-BY-4.0",
        "input": {"type": "jsonl", "paths": [str(p) for p in paths]}, "stages": stages}), encoding="utf-8")
    out = tmp_path / f"b_{name}_{tasks}_{workers}"
    (tmp_path / f"p_{name}.yaml").write_text(json.dumps({
        "name": "p", "sources": [f"{name}.yaml"], "output_dir": str(out),
        "executor": {"type": "local", "workers": workers, "tasks": tasks}}), encoding="utf-8")
    assert main(["build", str(tmp_path / f"p_{name}.yaml")]) == 0
    return out


def _frames(out: Path, name: str) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    kept = pl.read_parquet(sorted((out / "sources" / name / "data").glob("*/*.parquet")))
    rm = sorted((out / "sources" / name / "removed").glob("*/*.parquet"))
    removed = pl.read_parquet(rm) if rm else pl.DataFrame()
    return kept, removed, json.loads((out / "sources" / name / "ledger.json").read_text())


@pytest.mark.parametrize("tasks", [1, 3])
def test_a_near_duplicate_is_removed_and_distinct_texts_are_kept(tmp_path, tasks):
    recs = [json.loads(line) for line in PROB.read_text(encoding="utf-8").splitlines()]
    near = [r for r in recs if r["id"] in ("problem-025", "problem-026")]
    assert len(near) == 2 and near[0]["text"] != near[1]["text"]
    data = tmp_path / "d.jsonl"
    eltec = [json.loads(line) for line in ELTEC.read_text(encoding="utf-8").splitlines()][:40]
    data.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n"
                            for r in [near[0], *eltec, near[1]]), encoding="utf-8")
    out = _build(tmp_path, "s", [data], tasks)
    kept, removed, led = _frames(out, "s")
    assert led["balanced"] and led["records_read"] == 42 == kept.height + removed.height
    # the copy with other quotes and a few words changed is found, whatever task each landed in; nothing else
    assert removed["id"].to_list() == ["s/problem-026"]  # the later one in the file, whatever task each landed in
    assert removed["removal_reason"].to_list() == ["minhash_duplicate"]
    meta = json.loads(removed["metadata"][0])
    assert {meta["duplicate_of"], removed["id"][0]} == {"s/problem-025", "s/problem-026"}
    assert set(kept["id"]) == {f"s/{r['id']}" for r in eltec} | {meta["duplicate_of"]}
    stage = [s for s in led["stages"] if s["stage"] == "minhash_dedup"][0]
    assert stage["docs_in"] == 42 and stage["removed"] == {"minhash_duplicate": {"docs": 1, "chars": stage["chars_removed"]}}


def test_minhash_dedup_is_deterministic_whatever_the_workers(tmp_path):
    data = tmp_path / "d.jsonl"
    eltec = [json.loads(line) for line in ELTEC.read_text(encoding="utf-8").splitlines()][:30]
    rows = []
    for i, r in enumerate(eltec):  # every third novel also as an edited copy later in the file
        rows.append({"id": r["id"], "text": r["text"]})
    for i, r in enumerate(eltec[::3]):
        words = r["text"].split(" ")
        words[len(words) // 2] = "TOUTEFOIS"
        rows.append({"id": f"copy-{i}", "text": " ".join(words)})
    data.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in rows), encoding="utf-8")
    shas = []
    for workers in (1, 2):
        out = _build(tmp_path, "s", [data], tasks=3, workers=workers)
        kept, removed, _ = _frames(out, "s")
        assert sorted(removed["id"]) == sorted(f"s/copy-{i}" for i in range(len(eltec[::3])))
        shas.append(sorted(hashlib.sha256(p.read_bytes()).hexdigest()
                           for p in (out / "sources" / "s").glob("*/**/*.parquet")))
    assert shas[0] == shas[1]


@pytest.mark.parametrize("args, match", [
    ({"num_buckets": 0}, r"num_buckets: Input should be greater than or equal to 1"),
    ({"n_grams": "five"}, r"n_grams: Input should be a valid integer"),
    ({"bands": 3}, r"unknown key"),
    ({"num_buckets": 256, "hashes_per_bucket": 256}, r"num_buckets x hashes_per_bucket = 65536 hashes a document: at most 1024"),
])
def test_invalid_minhash_arguments(tmp_path, args, match):
    from lucie_data.recipe import load_source

    f = tmp_path / "r.yaml"
    f.write_text(json.dumps({"name": "s", "category": "book", "languages": ["fr"], "license": "CC-BY-4.0",
                             "input": {"type": "jsonl", "paths": [str(ELTEC)]},
                             "stages": [{"type": "minhash_dedup", **args}]}), encoding="utf-8")
    src, issues = load_source(f)
    assert src is None and any(__import__("re").search(match, f"{i.path}: {i.message}") for i in issues), issues


@pytest.mark.parametrize("stage", ["exact_dedup", "minhash_dedup"])
@pytest.mark.parametrize("tasks", [1, 2])
def test_dedup_keeps_the_copy_the_licence_gate_keeps(tmp_path, stage, tasks):
    """Auditor review: the first copy of a text was CC-BY-NC-4.0, the second CC-BY-4.0; the dedup kept the first and
    removed the second as its duplicate, then the licence gate at the end removed the NC one: no copy left, though
    one was allowed. A dedup now keeps, of each group, the first copy the source's last licence gate keeps."""
    recs = {r["id"]: r for r in map(json.loads, PROB.read_text(encoding="utf-8").splitlines())}
    first, second = recs["problem-025"]["text"], recs["problem-026"]["text"]
    if stage == "exact_dedup":
        second = first
    eltec = [json.loads(line) for line in ELTEC.read_text(encoding="utf-8").splitlines()][:6]
    rows = [{"id": "nc", "text": first, "license": "CC-BY-NC-4.0"}]
    rows += [{"id": r["id"], "text": r["text"], "license": "CC-BY-4.0"} for r in eltec]
    rows += [{"id": "by", "text": second, "license": "CC-BY-4.0"},
             {"id": "by-again", "text": second, "license": "CC-BY-4.0"}]  # a third copy: removed as the kept one's
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    name = "s"
    (tmp_path / f"{name}.yaml").write_text(json.dumps({
        "name": name, "category": "book", "languages": ["fr"], "license": "CC-BY-4.0",
        "input": {"type": "jsonl", "paths": [str(data)], "license_field": "license"},
        "stages": [{"type": stage}]}), encoding="utf-8")
    out = tmp_path / "b"
    (tmp_path / "p.yaml").write_text(json.dumps({  # the default policy: CC-BY-NC-4.0 is not allowed
        "name": "p", "sources": [f"{name}.yaml"], "output_dir": str(out), "license_policy": {},
        "executor": {"type": "local", "workers": 1, "tasks": tasks}}), encoding="utf-8")
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    kept, removed, led = _frames(out, name)
    allowed = [i for i in kept["id"].to_list() if i in ("s/by", "s/by-again")]  # the first in (task, position) order
    assert len(allowed) == 1 and "s/nc" not in kept["id"].to_list()
    dup = removed.filter(pl.col("removal_stage") == stage)
    assert sorted(dup["id"].to_list()) == sorted({"s/by", "s/by-again", "s/nc"} - set(allowed))
    assert {json.loads(m)["duplicate_of"] for m in dup["metadata"]} == set(allowed)
    assert removed.filter(pl.col("removal_stage") == "license_policy").height == 0
    assert led["balanced"] and kept.height == 7


def test_without_a_licence_gate_the_first_copy_is_kept(tmp_path):
    """No pipeline policy and no licence stage: no gate runs, so no licence is preferred (the first copy stays)."""
    recs = {r["id"]: r for r in map(json.loads, PROB.read_text(encoding="utf-8").splitlines())}
    text = recs["problem-025"]["text"]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"id": i, "text": text, "license": lic}) + "\n"
                            for i, lic in (("nc", "CC-BY-NC-4.0"), ("by", "CC-BY-4.0"))), encoding="utf-8")
    out = _build(tmp_path, "s", [data], 1, stages=[{"type": "exact_dedup"}])
    kept, removed, _led = _frames(out, "s")
    assert kept["id"].to_list() == ["s/nc"] and removed["id"].to_list() == ["s/by"]


def test_trace_says_when_the_copy_kept_by_the_dedup_was_removed_afterwards(tmp_path, capsys):
    """A later stage may still remove the copy a dedup kept (here a licence rule after the dedup gives it an NC
    licence, which the gate removes): trace of the duplicate said only "duplicate of s/a" (auditor review); it now
    says that copy was removed afterwards, and why."""
    text = json.loads(ELTEC.read_text(encoding="utf-8").splitlines()[0])["text"]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"id": i, "text": text, "later": lic}) + "\n"
                            for i, lic in (("a", "CC-BY-NC-4.0"), ("b", "CC-BY-4.0"))), encoding="utf-8")
    (tmp_path / "s.yaml").write_text(json.dumps({
        "name": "s", "category": "book", "languages": ["fr"], "license": "CC-BY-4.0",
        "input": {"type": "jsonl", "paths": [str(data)], "metadata_fields": ["later"]},
        "stages": [{"type": "exact_dedup"}, {"type": "license_rules", "license_field": "later"}]}), encoding="utf-8")
    (tmp_path / "p.yaml").write_text(json.dumps({"name": "p", "sources": ["s.yaml"], "output_dir": str(tmp_path / "b"),
                                                 "license_policy": {}}), encoding="utf-8")
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    capsys.readouterr()
    assert main(["trace", str(tmp_path / "b"), "s/b", "--json"]) == 0
    t = json.loads(capsys.readouterr().out)
    assert t["removed"][0]["duplicate_of"] == "s/a"
    assert t["removed"][0]["duplicate_of_status"] == {"status": "removed", "stage": "license_policy",
                                                      "reason": "license_not_allowed"}
    assert main(["trace", str(tmp_path / "b"), "s/b"]) == 0
    assert ("(duplicate of s/a, itself removed afterwards at stage license_policy: license_not_allowed; no copy of "
            "this text is kept)") in capsys.readouterr().out


def test_dedup_ranks_copies_by_every_gate_after_it(tmp_path):
    """Adversary review: with a recipe gate denying CC-BY-NC between the dedup and a last gate allowing it, the dedup
    ranked copies by the last gate only, kept the NC copies, and the first gate removed them: 12 documents, 0 kept."""
    recs = {r["id"]: r for r in map(json.loads, PROB.read_text(encoding="utf-8").splitlines())}
    text = recs["problem-025"]["text"]
    rows = [{"id": "nc", "text": text, "license": "CC-BY-NC-4.0"}, {"id": "by", "text": text, "license": "CC-BY-4.0"}]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    stages = [{"type": "exact_dedup"}, {"type": "license_gate", "name": "no_nc", "policy": {"deny": ["CC-BY-NC-4.0"]}},
              {"type": "normalize"},
              {"type": "license_gate", "name": "final", "policy": {
                  "allow_classes": ["public-domain", "permissive", "share-alike", "non-commercial"]}}]
    (tmp_path / "s.yaml").write_text(json.dumps({
        "name": "s", "category": "book", "languages": ["fr"], "license": "CC-BY-4.0",
        "input": {"type": "jsonl", "paths": [str(data)], "license_field": "license"}, "stages": stages}))
    (tmp_path / "p.yaml").write_text(json.dumps({"name": "p", "sources": ["s.yaml"], "output_dir": str(tmp_path / "b")}))
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    kept, removed, led = _frames(tmp_path / "b", "s")
    assert kept["id"].to_list() == ["s/by"] and led["balanced"]
    assert removed.select("id", "removal_stage").rows() == [("s/nc", "exact_dedup")]


@pytest.mark.parametrize("stage", ["exact_dedup", "minhash_dedup"])
def test_the_copy_kept_is_the_first_in_the_input_whatever_the_tasks(tmp_path, stage):
    """Which copy survived depended on `tasks` (dedup review): records are striped over tasks, and the plan kept the
    first in (task, position) order, so with tasks 3 the NFD copy on line 43 was kept and the original on line 3
    removed as its duplicate. Now the first in the input is kept, with any number of tasks."""
    import unicodedata

    eltec = [json.loads(line) for line in ELTEC.read_text(encoding="utf-8").splitlines()][:42]
    original = eltec[2]  # record 2 goes to task 2 of 3, the copy (record 42) to task 0
    nfd = {"id": "copy-nfd", "text": unicodedata.normalize("NFD", original["text"])}
    assert nfd["text"] != original["text"]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n"
                            for r in [*eltec, nfd]), encoding="utf-8")
    seen = set()
    for tasks in (1, 2, 3):
        kept, removed, led = _frames(_build(tmp_path, "s", [data], tasks, stages=[{"type": stage}]), "s")
        assert led["balanced"] and kept.height + removed.height == 43
        assert removed["id"].to_list() == ["s/copy-nfd"], (tasks, removed["id"].to_list())
        assert json.loads(removed["metadata"][0])["duplicate_of"] == f"s/{original['id']}"
        seen.add(tuple(sorted(kept["id"])))
    assert len(seen) == 1


def test_a_long_document_is_signed_in_blocks_with_datatroves_signature():
    """datatrove's get_signature holds (shingles x 112) uint64 arrays at once: ~2.7 KB per word, 2.3 GB for a
    7 M-character document (dedup review). Signed in blocks, the signature is the same."""
    import numpy as np
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.utils.text import ngrams, simplify_text

    from lucie_data.steps.dedup import SIGN_BLOCK, _signature

    config = MinhashConfig()
    signer = MinhashDedupSignature(output_folder=".unused-minhash", config=config)
    text = " ".join(json.loads(line)["text"] for line in ELTEC.read_text(encoding="utf-8").splitlines())
    words = simplify_text(text, config.norm_config).split()
    shingles = np.fromiter((signer._hash_func(" ".join(g)) for g in ngrams(words, 5)), dtype=np.uint64)
    assert shingles.size > 3 * SIGN_BLOCK
    assert _signature(signer, shingles, config.num_buckets) == signer.get_signature(shingles.reshape((-1, 1)))
    short = shingles[:SIGN_BLOCK + 1]
    assert _signature(signer, short, config.num_buckets) == signer.get_signature(short.reshape((-1, 1)))


def test_documents_too_short_to_sign_are_counted_in_the_ledger_and_report(tmp_path):
    """`no_signature` was only in datatrove's logs/seg*/stats.json (dedup review): the ledger and report said nothing of
    the documents minhash_dedup kept without comparing them."""
    eltec = [json.loads(line) for line in ELTEC.read_text(encoding="utf-8").splitlines()][:6]
    short = [{"id": f"short-{i}", "text": " ".join(r["text"].split()[:3])} for i, r in enumerate(eltec[:4])]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in eltec + short), encoding="utf-8")
    out = _build(tmp_path, "s", [data], tasks=2)
    _kept, _removed, led = _frames(out, "s")
    stage = [s for s in led["stages"] if s["stage"] == "minhash_dedup"][0]
    assert stage["docs_no_signature"] == 4 and stage["docs_kept"] == 10, stage
    assert main(["report", str(out)]) == 0
    assert "too short to compare, kept × 4" in (out / "reports" / "provenance.md").read_text(encoding="utf-8")
    rep = json.loads((out / "reports" / "provenance.json").read_text(encoding="utf-8"))
    assert json.dumps(rep).count('"docs_no_signature": 4') == 1


@pytest.mark.parametrize("category, whitespace, removed_ids", [
    ("programming", None, []),  # a code source compares code as written: indentation is syntax
    ("programming", "collapse", ["s/moved"]),
    ("book", None, ["s/moved"]),  # prose: whitespace runs compare as one space
    ("book", "keep", []),
])
def test_exact_dedup_keeps_code_whitespace(tmp_path, category, whitespace, removed_ids):
    """Two programs differing only in a line's indentation were one duplicate (dedup review: requests' adapters.py with
    `conn.key_file = None` moved out of its `if` block); datatrove and dolma hash code exactly."""
    code = ROOT / "data" / "demo" / "code_permissive.jsonl"
    rec = next(r for r in map(json.loads, code.open(encoding="utf-8")) if r["path"].endswith("adapters.py"))
    line = next(ln for ln in rec["text"].splitlines() if ln.strip() == "conn.key_file = None")
    moved = rec["text"].replace(line, line.strip().rjust(len(line.strip()) + 4), 1)
    assert moved != rec["text"] and " ".join(moved.split()) == " ".join(rec["text"].split())
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in [{"id": "orig", "text": rec["text"]},
                                                              {"id": "moved", "text": moved}]), encoding="utf-8")
    stage = {"type": "exact_dedup", **({"whitespace": whitespace} if whitespace else {})}
    (tmp_path / "s.yaml").write_text(json.dumps({
        "name": "s", "category": category, "languages": ["code" if category == "programming" else "en"],
        "license": "Apache-2.0", "input": {"type": "jsonl", "paths": [str(data)]}, "stages": [stage]}), encoding="utf-8")
    out = tmp_path / "b"
    assert main(["build", str(tmp_path / "s.yaml"), "--output", str(out)]) == 0
    _kept, removed, led = _frames(out, "s")
    assert (removed["id"].to_list() if removed.height else []) == removed_ids
    assert led["balanced"]


def test_exact_dedup_in_a_source_of_prose_and_code_judges_each_document_by_its_language(tmp_path):
    """In `languages: [en, code:python]` the whole source compared as code (rv52's fix left it): prose copies differing
    in line breaks were both kept. Each document now by its own language: the prose copy goes, the re-indented
    program stays."""
    code = ROOT / "data" / "demo" / "code_permissive.jsonl"
    rec = next(r for r in map(json.loads, code.open(encoding="utf-8")) if r["path"].endswith("adapters.py"))
    line = next(ln for ln in rec["text"].splitlines() if ln.strip() == "conn.key_file = None")
    moved = rec["text"].replace(line, line.strip().rjust(len(line.strip()) + 4), 1)
    prose = next(r["text"] for r in map(json.loads, (SHARED / "en_ud_ewt.jsonl").open(encoding="utf-8"))
                 if len(r["text"]) > 300 and ". " in r["text"])
    rewrapped = prose.replace(". ", ".\n", 2)
    assert rewrapped != prose and " ".join(rewrapped.split()) == " ".join(prose.split())
    rows = [{"id": "orig", "text": rec["text"], "lang": "python"}, {"id": "moved", "text": moved, "lang": "python"},
            {"id": "prose", "text": prose, "lang": "en"}, {"id": "rewrapped", "text": rewrapped, "lang": "en"}]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "s.yaml").write_text(json.dumps({
        "name": "s", "category": "technical", "languages": ["en", "code:python"], "license": "Apache-2.0",
        "input": {"type": "jsonl", "paths": [str(data)], "language_field": "lang"},
        "stages": [{"type": "exact_dedup"}]}), encoding="utf-8")
    out = tmp_path / "b"
    assert main(["build", str(tmp_path / "s.yaml"), "--output", str(out)]) == 0
    _kept, removed, led = _frames(out, "s")
    assert removed["id"].to_list() == ["s/rewrapped"] and led["balanced"]


def test_trace_of_a_duplicate_whose_kept_copy_was_split_names_its_parts(tmp_path, capsys):
    """exact_dedup before a language_id split: the copy of a bilingual document is removed as its duplicate, the
    original split into #fr and #en parts, which are kept; `trace` said "no copy of this text is kept"."""
    import shutil

    import yaml

    shutil.copytree(ROOT / "data" / "examples", tmp_path / "data" / "examples")
    recipe = yaml.safe_load((ROOT / "sources" / "examples" / "multilingual_pud.yaml").read_text(encoding="utf-8"))
    assert [s["type"] for s in recipe["stages"]][:2] == ["normalize", "language_id"]
    recipe["stages"].insert(1, {"type": "exact_dedup"})
    src = tmp_path / "data" / "examples" / "multilingual_pud.jsonl"
    rec = next(json.loads(line) for line in src.open(encoding="utf-8") if '"bilingual-w01062"' in line)
    with src.open("a", encoding="utf-8") as f:
        f.write(json.dumps({**rec, "id": "bilingual-w01062-copy"}, ensure_ascii=False) + "\n")
    (tmp_path / "sources" / "examples").mkdir(parents=True)  # where the recipe's relative input path holds
    (tmp_path / "sources" / "examples" / "m.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")
    out = tmp_path / "b"
    assert main(["build", str(tmp_path / "sources" / "examples" / "m.yaml"), "--output", str(out)]) == 0
    capsys.readouterr()
    assert main(["trace", str(out), "multilingual_pud/bilingual-w01062-copy"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert ("(duplicate of multilingual_pud/bilingual-w01062, itself split into language parts afterwards at stage "
            "language_id, kept as multilingual_pud/bilingual-w01062#en, multilingual_pud/bilingual-w01062#fr)") in said, said
    assert "no copy of this text is kept" not in said


def test_trace_follows_duplicate_of_to_the_copy_kept(tmp_path, capsys):
    """An exact copy's `duplicate_of` named a document minhash_dedup removed afterwards as a near-copy of a third,
    kept one: trace said "no copy of this text is kept" (dedup review)."""
    recs = {r["id"]: r for r in map(json.loads, PROB.read_text(encoding="utf-8").splitlines())}
    a, c = recs["problem-025"], recs["problem-026"]
    data = tmp_path / "d.jsonl"
    rows = [{"id": "a", "text": a["text"]}, {"id": "c", "text": c["text"]},
            {"id": "b", "text": "  " + c["text"].replace(" ", "  ")}]  # b: c again, spaced out
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = _build(tmp_path, "s", [data], tasks=1, stages=[{"type": "exact_dedup"}, {"type": "minhash_dedup"}])
    kept, removed, _led = _frames(out, "s")
    assert kept["id"].to_list() == ["s/a"] and sorted(removed["id"]) == ["s/b", "s/c"]
    capsys.readouterr()
    assert main(["trace", str(out), "s/b"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert ("(duplicate of s/c, itself removed afterwards at stage minhash_dedup: minhash_duplicate, as a duplicate of "
            "s/a, kept)") in said, said


def test_input_order_compares_numbers_in_file_names_as_numbers(tmp_path):
    """Code review: input files (and a streamed dataset's "part k/N") were ordered as strings, "p10" before "p2"."""
    eltec = [json.loads(line) for line in ELTEC.read_text(encoding="utf-8").splitlines()][:3]
    for name, rows in (("p2", [eltec[0], eltec[1]]), ("p10", [{"id": "copy", "text": eltec[1]["text"]}, eltec[2]])):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False)
                                                        + "\n" for r in rows), encoding="utf-8")
    out = _build(tmp_path, "s", [tmp_path / "p2.jsonl", tmp_path / "p10.jsonl"], tasks=1,
                 stages=[{"type": "exact_dedup"}])
    _kept, removed, _led = _frames(out, "s")
    assert removed["id"].to_list() == ["s/copy"]
