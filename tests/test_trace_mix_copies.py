"""`lucie-data trace` and the mix: an id of the mix (`<id>#k`, copy k of a repeated document in a `repeat_ids: suffix`
mix) is traced as document `<id>`, said to be copy k; a kept document's copies are named with the mix files holding
them. On a copy of the real build of tests/test_mix_build.py (built once per session) and its mix."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml

from lucie_data.cli import main
from lucie_data.mix.build import build_mix, load_mix_config

from .test_licence_stages import removed_frame
from .test_mix_build import kept, make_build


@pytest.fixture(scope="module")
def build_with_mix(tmp_path_factory) -> Path:
    built = make_build(tmp_path_factory.getbasetemp() / "mixbuild")
    b = tmp_path_factory.mktemp("tracemix") / "b"
    shutil.copytree(built, b, ignore=shutil.ignore_patterns("mix"))
    build_mix(b, load_mix_config(b))  # default output BUILD/mix, default repeat_ids: suffix
    return b


def _mix_rows(mix: Path) -> pl.DataFrame:
    """(file relative to the mix folder, id) of every row of the mix: an independent read."""
    files = sorted(mix.glob("data/*/*/*/*.parquet"))
    return pl.concat([pl.read_parquet(f, columns=["id"]).with_columns(pl.lit(f.relative_to(mix).as_posix()).alias("file"))
                      for f in files])


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("source, times", [("eltec_fr", 2), ("parallel_fr_en", 3)])
def test_trace_takes_copy_k_of_a_repeated_document(build_with_mix, capsys, source, times):
    b = build_with_mix
    rows = _mix_rows(b / "mix")
    doc_id = kept(b, source)["id"][0]
    for k in range(1, times + 1):
        mix_id = doc_id if k == 1 else f"{doc_id}#{k}"
        holder = rows.filter(pl.col("id") == mix_id)["file"].to_list()
        assert len(holder) == 1
        code, out, err = _run(capsys, "trace", str(b), f"{doc_id}#{k}", "--json")
        assert code == 0, err
        t = json.loads(out)
        assert t["id"] == doc_id and t["status"] == "kept" and t["source"] == source
        assert t["copy"] == {"requested": f"{doc_id}#{k}", "k": k, "files": holder}
        code, out, err = _run(capsys, "trace", str(b), f"{doc_id}#{k}")
        assert code == 0, err
        assert out.startswith(f"document  {doc_id}\ncopy      {doc_id}#{k} is copy {k} of this document in the mix: "
                              f"{holder[0]}\n")
    # a copy the mix does not have: a clear error saying how many it has
    code, out, err = _run(capsys, "trace", str(b), f"{doc_id}#{times + 1}")
    assert code == 2 and out == "" and "Traceback" not in err
    assert f"not in the mix at {b / 'mix'}" in err and f"is there {times} time(s)" in err


def test_trace_of_a_kept_document_names_the_mix_files_holding_its_copies(build_with_mix, capsys):
    b = build_with_mix
    rows = _mix_rows(b / "mix")
    doc_id = kept(b, "parallel_fr_en")["id"][0]
    want = sorted((r["id"], r["file"]) for r in rows.filter(
        (pl.col("id") == doc_id) | pl.col("id").str.starts_with(doc_id + "#")).iter_rows(named=True))
    assert len(want) == 3
    code, out, err = _run(capsys, "trace", str(b), doc_id, "--json")
    assert code == 0, err
    t = json.loads(out)
    assert t["mix"] == {"plan": True, "times": 3} and t["mix_folder"] == str(b / "mix")
    assert sorted((c["id"], c["file"]) for c in t["mix_copies"]) == want
    assert [c["copy"] for c in t["mix_copies"]] == [1, 2, 3]
    code, out, err = _run(capsys, "trace", str(b), doc_id)
    assert code == 0 and f"3 time(s) in the mix {b / 'mix'}" in out
    for _id, file in want:
        assert f"          {file}: copy" in out


def test_copy_k_of_a_removed_document_or_without_a_mix_is_a_clear_error(build_with_mix, tmp_path, capsys):
    b = build_with_mix
    gone = removed_frame(b)["id"][0]
    code, out, err = _run(capsys, "trace", str(b), f"{gone}#2")
    assert code == 2 and "Traceback" not in err
    assert f"it would be copy 2 of {gone}" in err and "was removed by the build" in err
    bare = tmp_path / "bare"
    shutil.copytree(b, bare, ignore=shutil.ignore_patterns("mix"))
    doc_id = kept(bare, "eltec_fr")["id"][0]
    code, out, err = _run(capsys, "trace", str(bare), f"{doc_id}#2")
    assert code == 2 and "Traceback" not in err and "the build has no mix" in err and "--mix" in err
    code, out, err = _run(capsys, "trace", str(bare), doc_id, "--json")
    assert code == 0 and "mix" not in json.loads(out)  # no mix: nothing claimed about it


def test_trace_finds_a_mix_written_elsewhere(build_with_mix, tmp_path, capsys):
    """`--mix FOLDER`, or the `mix: output:` of the build's pipeline when the mix is not at BUILD/mix."""
    b = build_with_mix
    bare = tmp_path / "bare"
    shutil.copytree(b, bare, ignore=shutil.ignore_patterns("mix"))
    shutil.copytree(b / "mix", tmp_path / "elsewhere")
    doc_id = kept(bare, "eltec_fr")["id"][0]
    code, out, err = _run(capsys, "trace", str(bare), f"{doc_id}#2", "--mix", str(tmp_path / "elsewhere"), "--json")
    assert code == 0, err
    t = json.loads(out)
    assert t["copy"]["k"] == 2 and t["mix_folder"] == str(tmp_path / "elsewhere") and t["mix"]["times"] == 2
    code, out, err = _run(capsys, "trace", str(bare), doc_id, "--mix", str(tmp_path / "nothing"))
    assert code == 2 and "not a mix folder" in err
    # the pipeline says where its mix goes
    m = json.loads((bare / "manifest.json").read_text(encoding="utf-8"))
    pipe = yaml.safe_load(Path(m["pipeline"]["file"]).read_text(encoding="utf-8"))
    pipe["mix"]["output"] = str(tmp_path / "elsewhere")
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(pipe), encoding="utf-8")
    m["pipeline"]["file"] = str(tmp_path / "p.yaml")
    (bare / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    code, out, err = _run(capsys, "trace", str(bare), f"{doc_id}#2", "--json")
    assert json.loads(out)["mix_folder"] == str(tmp_path / "elsewhere")
    # the manifest edited here is not the one the mix recorded: trace says the mix predates it (exit 1) ...
    assert code == 1 and "was made from an earlier state of the build" in json.loads(out)["mix_warning"]
    plan = json.loads((tmp_path / "elsewhere" / "mix_plan.json").read_text(encoding="utf-8"))
    plan["build"]["manifest_sha256"] = hashlib.sha256((bare / "manifest.json").read_bytes()).hexdigest()
    (tmp_path / "elsewhere" / "mix_plan.json").write_text(json.dumps(plan), encoding="utf-8")
    code, out, err = _run(capsys, "trace", str(bare), f"{doc_id}#2", "--json")  # ... and nothing once it matches
    assert code == 0, err
    assert json.loads(out)["mix_folder"] == str(tmp_path / "elsewhere")


def test_a_keep_mix_lists_and_loads_each_first_copy_before_its_repeats(build_with_mix, tmp_path, capsys):
    """Review (trainer): repeats were named `<first>-e<k>.parquet`, which sorts before `<first>.parquet` (`-` < `.`):
    `datasets` loaded epoch 2 first, mix_plan.json listed it first, and in a `repeat_ids: keep` mix `trace <id>#1`
    named the repeat's file. Repeats are `<first>_e<k>.parquet` now: file order is epoch order."""
    import datasets

    b = build_with_mix
    out = tmp_path / "keep"
    plan = build_mix(b, load_mix_config(b, output=out, repeat_ids="keep"))
    paths = [s["path"] for s in plan["shards"] if "/eltec_fr/" in s["path"]]
    firsts = [p for p in paths if "_e" not in Path(p).name]
    assert paths.index(firsts[0]) < paths.index(firsts[0].replace(".parquet", "_e2.parquet"))
    doc_id = kept(b, "eltec_fr")["id"][0]
    code, text, err = _run(capsys, "trace", str(b), doc_id, "--mix", str(out), "--json")
    assert code == 0, err
    files = [c["file"] for c in json.loads(text)["mix_copies"]]
    assert len(files) == 2 and files[1] == files[0].replace(".parquet", "_e2.parquet"), files
    ds = datasets.load_dataset(str(out), "eltec_fr", split="train", cache_dir=str(tmp_path / "hf"))
    ids = ds["id"]
    first_at = ids.index(doc_id)
    assert ids.index(doc_id, first_at + 1) > first_at  # its repeat comes after its first copy
    n_first = sum(pl.read_parquet(out / f).height for f in firsts if f.endswith("000.parquet"))
    assert set(ids[:n_first]) == set(pl.read_parquet(out / firsts[0])["id"])  # the first epoch's file comes first


def test_trace_warns_when_the_shard_holding_the_document_changed_since_the_build(build_with_mix, tmp_path, capsys):
    """Review (auditor): a row appended to a kept shard after the build, under a licence the policy denies, was traced
    as KEPT with a confident lineage, exit 0, while `mix build` and `report` refused the folder. trace compares the
    shards holding the document with manifest.json (sha256) and warns, exit 1."""
    import pyarrow.parquet as pq

    b = tmp_path / "b"
    shutil.copytree(build_with_mix, b, ignore=shutil.ignore_patterns("mix"))
    doc_id = kept(b, "eltec_fr")["id"][0]
    code, out, err = _run(capsys, "trace", str(b), doc_id)
    assert code == 0 and "WARNING" not in out, out + err
    shard = sorted((b / "sources/eltec_fr/data").glob("*/*.parquet"))[0]
    t = pq.read_table(shard)
    df = pl.from_arrow(t)
    extra = df.head(1).with_columns(pl.lit("CC-BY-NC-SA-4.0").alias("license"), pl.lit("eltec_fr/smuggled").alias("id"))
    pq.write_table(pl.concat([df, extra]).to_arrow().cast(t.schema), shard)
    for wanted in ("eltec_fr/smuggled", doc_id):
        code, out, err = _run(capsys, "trace", str(b), wanted)
        assert code == 1, out + err
        assert (f"WARNING   {shard.relative_to(b).as_posix()} is not the shard manifest.json recorded" in out
                and "changed since the build: this row may not be what the build wrote" in out), out


def test_documents_whose_ids_look_like_copies_are_not_counted_as_copies(tmp_path, capsys):
    """Auditor review: with documents `y`, `y#1`, `a`, `a#3` in a 2-epoch mix, `trace y` counted the document `y#1`
    as copy 1 of `y` (3 times in the mix), and `trace a` named `a#3` copy 3 of a 2-epoch mix. A copy is `<id>#k`
    with k >= 2 without a leading zero, and never an id that is a document of the build."""
    ids = ["y", "y#1", "a", "a#3", "b", "b#02"]
    lines = (Path(__file__).resolve().parents[1] / "data" / "demo" / "fr_eltec_novels.jsonl").read_text().splitlines()
    docs = [{"id": i, "text": json.loads(line)["text"]} for i, line in zip(ids, lines)]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (tmp_path / "s.yaml").write_text("name: s\ncategory: book\nlanguages: [fr]\nlicense: CC-BY-4.0\n"
                                     "input: {type: jsonl, paths: [a.jsonl]}\nstages: [{type: normalize}]\n")
    (tmp_path / "p.yaml").write_text("name: p\nsources: [s.yaml]\noutput_dir: build\n"
                                     "mix: {factors: {fr--book: 2}}\n")
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    assert main(["mix", "build", str(tmp_path / "build")]) == 0
    capsys.readouterr()
    for doc, others in (("y", ["s/y#1"]), ("a", ["s/a#3"]), ("b", ["s/b#02"])):
        code, out, err = _run(capsys, "trace", str(tmp_path / "build"), f"s/{doc}", "--json")
        assert code == 0, err
        t = json.loads(out)
        assert [(c["id"], c["copy"]) for c in t["mix_copies"]] == [(f"s/{doc}", 1), (f"s/{doc}#2", 2)], t["mix_copies"]
        assert t["mix"]["times"] == 2
        for other in others:  # the look-alike is a document of its own, with its own two copies
            code, out, err = _run(capsys, "trace", str(tmp_path / "build"), other, "--json")
            t = json.loads(out)
            assert code == 0 and t["id"] == other and [c["copy"] for c in t["mix_copies"]] == [1, 2], t


def test_a_removed_document_with_a_copys_id_hides_no_copy(tmp_path, capsys):
    """Code review: a removed input record `a#2` (too short) made trace drop copy 2 of the kept `a` (also `a#2` in
    the mix), and trace of `a#2` said the removed document was "in the mix, though removed"."""
    lines = (Path(__file__).resolve().parents[1] / "data" / "demo" / "fr_eltec_novels.jsonl").read_text().splitlines()
    docs = [{"id": "a", "text": json.loads(lines[0])["text"]}, {"id": "a#2", "text": "Court."},
            {"id": "b", "text": json.loads(lines[1])["text"]}]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (tmp_path / "s.yaml").write_text("name: s\ncategory: book\nlanguages: [fr]\nlicense: CC-BY-4.0\n"
                                     "input: {type: jsonl, paths: [a.jsonl]}\n"
                                     "stages: [{type: min_length, min_chars: 100}]\n")
    (tmp_path / "p.yaml").write_text("name: p\nsources: [s.yaml]\noutput_dir: build\nmix: {factors: {fr--book: 2}}\n")
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    assert main(["mix", "build", str(tmp_path / "build")]) == 0
    capsys.readouterr()
    code, out, err = _run(capsys, "trace", str(tmp_path / "build"), "s/a", "--json")
    assert code == 0 and [(c["id"], c["copy"]) for c in json.loads(out)["mix_copies"]] == [("s/a", 1), ("s/a#2", 2)]
    code, out, err = _run(capsys, "trace", str(tmp_path / "build"), "s/a#2", "--json")
    t = json.loads(out)
    assert code == 0 and t["status"] == "removed" and "mix_copies" not in t, t
