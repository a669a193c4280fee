"""Rule 3 for the commands that read a finished build or mix folder: damage one file of a real build (a copy per
test) and every command that reads it fails with a clear message (the file, what is wrong, the fix), exit 2, no
traceback. Table-driven: (damage, command, pattern the message must match)."""
import json
import re
import shutil
from pathlib import Path

import pytest

from lucie_data.cli import main
from lucie_data.licenses import LicensePolicy
from lucie_data.mix.build import build_mix, load_mix_config, verify_mix
from lucie_data.mix.plan import MixPlanError

from .test_mix_build import make_build

SHARD = "sources/eltec_fr/data/fr/00000-0000.parquet"
REMOVED = "sources/pud_en/removed/min_length/00000.parquet"
KEPT_ID, REMOVED_ID = "eltec_fr/eltec-fra-FRA00101-ch001", "pud_en/en-pud-n01007"
REBUILD = r"delete the folder \S+/sources/eltec_fr, then rerun `lucie-data build` for it: `lucie-data build \S+mixtest\.yaml --output \S+ --only eltec_fr`"


@pytest.fixture(scope="session")
def built_and_mixed(tmp_path_factory) -> Path:
    """A real build (the one of test_mix_build, shared per session) with its mix in BUILD/mix."""
    b = make_build(tmp_path_factory.getbasetemp() / "mixbuild")
    out = tmp_path_factory.mktemp("damaged") / "b"
    shutil.copytree(b, out)
    build_mix(out, load_mix_config(out))
    return out


def _cut(rel: str):
    def damage(b: Path) -> None:
        data = (b / rel).read_bytes()
        (b / rel).write_bytes(data[: len(data) // 2])
    return damage


def _put(rel: str, content: bytes):
    return lambda b: (b / rel).write_bytes(content)


def _edit(rel: str, fn):
    def damage(b: Path) -> None:
        data = json.loads((b / rel).read_text(encoding="utf-8"))
        fn(data)
        (b / rel).write_text(json.dumps(data), encoding="utf-8")
    return damage


def _mix_shard(b: Path) -> Path:
    return min((b / "mix" / "data" / "natural" / "fr" / "eltec_fr").glob("*.parquet"))


def _cut_mix_shard(b: Path) -> None:
    p = _mix_shard(b)
    p.write_bytes(p.read_bytes()[:100])


def _no_file(b: Path) -> None:
    (b / SHARD).unlink()


PLAN = ["mix", "plan", "--build", "{b}"]
MIX = ["mix", "build", "{b}", "--output", "{m}"]
REPORT = ["report", "{b}"]
TRACE = ["trace", "{b}", KEPT_ID]
TRACE_REMOVED = ["trace", "{b}", REMOVED_ID]
DAMAGED_SHARD = r"eltec_fr/data/fr/00000-0000\.parquet is damaged: not a readable Parquet file \(.+\); rebuild source eltec_fr: " + REBUILD
MANIFEST = r"manifest\.json{}: not the manifest lucie-data build writes; rerun `lucie-data build` with the same pipeline"

CASES = [
    # a kept shard cut short (the manifest's size check sees it changed, so it is read: and does not read)
    ("shard cut short", _cut(SHARD), PLAN, DAMAGED_SHARD),
    ("shard cut short", _cut(SHARD), MIX, DAMAGED_SHARD),
    ("shard cut short", _cut(SHARD), REPORT, DAMAGED_SHARD),
    ("shard cut short", _cut(SHARD), TRACE, r"eltec_fr/data/fr/00000-0000\.parquet is damaged: .+ --only eltec_fr`"),
    ("shard garbage", _put(SHARD, b"garbage" * 40), MIX, DAMAGED_SHARD),
    ("shard empty", _put(SHARD, b""), REPORT, DAMAGED_SHARD),
    # a kept shard deleted: its documents would silently be missing from the mix (rule 1)
    ("shard deleted", _no_file, PLAN, r"source eltec_fr: \S+ holds 0 shard\(s\), its ledger\.json counts 1 \(missing: "
                                      r"\S+/00000-0000\.parquet\): their documents would be left out of the mix; .*" + REBUILD),
    ("shard deleted", _no_file, MIX, r"its ledger\.json counts 1 .*left out of the mix"),
    # ...and the report and trace, which would otherwise count or search without it
    ("shard deleted", _no_file, REPORT, r"the build is damaged: \S+/" + SHARD.replace(".", r"\.") + r" is missing: manifest\.json "
                                        r"lists it as a kept shard of \d+ document\(s\); .*" + REBUILD),
    ("shard deleted", _no_file, TRACE, r"document 'eltec_fr/\S+' is not in the shards left of build \S+, which is damaged: "
                                       r"\S+/00000-0000\.parquet is missing: .*" + REBUILD),
    ("removed shard deleted", lambda b: (b / REMOVED).unlink(), REPORT,
     r"min_length/00000\.parquet is missing: manifest\.json lists it as a removed shard .*--only pud_en`"),
    ("removed shard deleted", lambda b: (b / REMOVED).unlink(), TRACE_REMOVED,
     r"which is damaged: \S+min_length/00000\.parquet is missing: .*--only pud_en`"),
    # a removed shard: the report and trace read it
    ("removed shard cut short", _cut(REMOVED), REPORT, r"min_length/00000\.parquet is damaged: .*rebuild source pud_en"),
    ("removed shard cut short", _cut(REMOVED), TRACE_REMOVED, r"min_length/00000\.parquet is damaged: .*--only pud_en`"),
    # manifest.json
    ("manifest cut short", _cut("manifest.json"), REPORT, r"manifest\.json is not valid JSON \(.+, line \d+ column \d+\)"),
    ("manifest cut short", _cut("manifest.json"), TRACE, r"manifest\.json is not valid JSON"),
    ("manifest a list", _put("manifest.json", b"[1, 2]"), PLAN, MANIFEST.format(r": the top level: expected an object, got a JSON array")),
    ("manifest a list", _put("manifest.json", b"[1, 2]"), MIX, MANIFEST.format(r": the top level: expected an object, got a JSON array")),
    ("manifest a list", _put("manifest.json", b"[1, 2]"), REPORT, MANIFEST.format(r": the top level: expected an object, got a JSON array")),
    ("manifest not UTF-8", _put("manifest.json", b'{"seed": "\xff"}'), MIX, r"manifest\.json is not UTF-8 text \(byte 10\)"),
    ("manifest not UTF-8", _put("manifest.json", b'{"seed": "\xff"}'), TRACE, r"manifest\.json is not UTF-8 text"),
    ("manifest pipeline a string", _edit("manifest.json", lambda m: m.update(pipeline="demo")), PLAN,
     MANIFEST.format(r": pipeline: expected an object, got a JSON string")),
    ("manifest pipeline a string", _edit("manifest.json", lambda m: m.update(pipeline="demo")), REPORT,
     MANIFEST.format(r": pipeline: expected an object, got a JSON string")),
    ("manifest source without name", _edit("manifest.json", lambda m: m["sources"][0].pop("name")), TRACE,
     MANIFEST.format(r": sources\[0\]\.name: missing")),
    ("manifest shard rows a string", _edit("manifest.json", lambda m: m["shards"][0].update(rows="2")), REPORT,
     MANIFEST.format(r": shards\[0\]\.rows: expected an integer, got a JSON string")),
    ("manifest models a string", _edit("manifest.json", lambda m: m.update(models="x")), REPORT,
     MANIFEST.format(r": models: expected an array, got a JSON string")),
    # recipe.resolved.json and ledger.json of a source
    ("recipe provenance a string", _edit("sources/eltec_fr/recipe.resolved.json",
                                         lambda r: r["recipe"].update(provenance="x")), MIX,
     r"recipe\.resolved\.json: recipe\.provenance: expected an object, got a JSON string: not a resolved recipe; "
     r"rebuild source eltec_fr: " + REBUILD),
    ("recipe provenance a string", _edit("sources/eltec_fr/recipe.resolved.json",
                                         lambda r: r["recipe"].update(provenance="x")), REPORT, r"recipe\.provenance: expected an object"),
    ("recipe name a number", _edit("sources/eltec_fr/recipe.resolved.json", lambda r: r["recipe"].update(name=5)), MIX,
     r"recipe\.resolved\.json: recipe\.name: expected a string, got a JSON integer"),
    ("recipe cut short", _cut("sources/eltec_fr/recipe.resolved.json"), TRACE,
     r"recipe\.resolved\.json is not valid JSON \(.+\), expected a resolved recipe; rebuild source eltec_fr"),
    ("recipe not UTF-8", _put("sources/eltec_fr/recipe.resolved.json", b"\xff{"), REPORT, r"recipe\.resolved\.json is not UTF-8 text"),
    ("ledger cut short", _cut("sources/eltec_fr/ledger.json"), REPORT, r"ledger\.json is not valid JSON \(.+\), expected a lucie-data ledger"),
    ("ledger stages a string", _edit("sources/eltec_fr/ledger.json", lambda led: led.update(stages="x")), REPORT,
     r"ledger\.json: stages: expected an array, got a JSON string: not a lucie-data ledger; rebuild source eltec_fr"),
    ("ledger stage's created parts a string", _edit("sources/eltec_fr/ledger.json",
                                                    lambda led: led["stages"][1].update(docs_created="two")), REPORT,
     r"ledger\.json: stages\[1\]\.docs_created: expected an integer, got a JSON string"),
    ("ledger a folder", lambda b: ((b / "sources/eltec_fr/ledger.json").unlink(), (b / "sources/eltec_fr/ledger.json").mkdir()),
     REPORT, r"ledger\.json is a folder, expected a lucie-data ledger"),
    ("manifest emptied", _put("manifest.json", b"{}"), PLAN, r"manifest\.json lists none of the sources under"),
    # a damaged mix shard: trace counts the document's copies in the mix
    ("mix shard cut short", _cut_mix_shard, TRACE, r"mix/data/natural/fr/eltec_fr/\S+\.parquet is damaged: not a readable "
     r"Parquet file \(.+\); rebuild the mix: `lucie-data mix build \S+ --output \S+/mix`"),
]


@pytest.mark.parametrize("name, damage, command, match", CASES, ids=[f"{c[0]}-{c[2][0]}{'-' + c[2][1] if c[2][0] == 'mix' else ''}"
                                                                     for c in CASES])
def test_a_damaged_build_is_named_with_the_fix(built_and_mixed, tmp_path, capsys, name, damage, command, match):
    b = tmp_path / "b"
    shutil.copytree(built_and_mixed, b)
    damage(b)
    capsys.readouterr()
    code = main([a.format(b=b, m=tmp_path / "m") for a in command])
    out = capsys.readouterr()
    printed = out.out + out.err
    assert "Traceback" not in printed
    assert code == 2, printed[-2000:]
    assert out.err.startswith("error: ")
    assert re.search(match, out.err), out.err
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("damage, match", [
    (_cut_mix_shard, r"mix/data/natural/fr/eltec_fr/\S+\.parquet is damaged: not a readable Parquet file"),
    (_put("manifest.json", b"[]"), r"manifest\.json: the top level: expected an object"),
])
def test_verify_mix_names_a_damaged_file(built_and_mixed, tmp_path, damage, match):
    """verify_mix (which reads every shard, trusting nothing) raises a MixPlanError naming the file, not pyarrow's."""
    b = tmp_path / "b"
    shutil.copytree(built_and_mixed, b)
    damage(b)
    with pytest.raises(MixPlanError, match=match):
        verify_mix(b / "mix", b, LicensePolicy())


def test_a_damaged_mix_is_refused_by_push(built_and_mixed, tmp_path, capsys):
    """push --dry-run checks every file against mix_plan.json first (exit 1: push's refusals, as before)."""
    b = tmp_path / "b"
    shutil.copytree(built_and_mixed, b)
    _cut_mix_shard(b)
    capsys.readouterr()
    assert main(["push", str(b), "--repo-id", "org/name", "--dry-run"]) == 2
    out = capsys.readouterr()
    assert "changed since the licence check: data/natural/fr/eltec_fr/" in out.err and "Traceback" not in out.err


def test_the_suggested_fix_repairs_the_build(built_and_mixed, tmp_path, capsys):
    """The command the message gives (delete the source folder, build it alone) brings the shard back."""
    import shlex

    b = tmp_path / "b"
    shutil.copytree(built_and_mixed, b)
    good = (b / SHARD).read_bytes()
    _cut(SHARD)(b)
    capsys.readouterr()
    assert main(["mix", "plan", "--build", str(b)]) == 2
    err = capsys.readouterr().err
    folder = re.search(r"delete the folder (\S+),", err).group(1)
    command = re.search(r"`(lucie-data build [^`]+)`", err).group(1)
    shutil.rmtree(folder)
    assert main(shlex.split(command)[1:]) == 0
    assert (b / SHARD).read_bytes() == good
    assert main(["mix", "plan", "--build", str(b)]) == 0
