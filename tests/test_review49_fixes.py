"""Review 49: exception handling and fallbacks (language values in code recipes, redpajama signals, the report's
recorded policy, permission errors, the sha256 cache)."""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from .conftest import SHARED, write
from .test_inputs import make_build


# --- 5. a code recipe's language value that is no plausible name is unknown for that record ---------------------

BAD_CODE_NAMES = ["\ud800", "py\u0000thon", "x" * 300, "py\nthon", "py/thon", "..", "c\\d",
                  "f*"]  # (rv50: a glob in the card's configs: `code-f*` loaded fortran too)


def test_code_language_values_that_are_no_name_are_unknown():
    from lucie_data.languages import language_problem, normalize_language

    for good, canon in [("Python", "code:python"), ("C++", "code:c++"), ("C#", "code:c#"),
                        ("Objective-C", "code:objective-c"), ("objective c", "code:objective c"),
                        ("Ren'Py", "code:ren'py"), ("Graphviz (DOT)", "code:graphviz (dot)"),
                        ("Visual Basic 6.0", "code:visual basic 6.0"), ("易语言", "code:易语言"), ("x" * 64, "code:" + "x" * 64)]:
        assert normalize_language(good, is_code=True) == canon
        assert normalize_language("code:" + good) == canon
    for bad in BAD_CODE_NAMES + ["x" * 65, "é" * 33, "  "]:
        assert normalize_language(bad, is_code=True) is None, bad
        assert normalize_language("code:" + bad) in (None, "code"), bad  # `code:  ` is `code`
    # in a recipe, the same value is an error naming what a name may hold
    problem = language_problem("code:py/thon")
    assert problem and "not `code` or `code:<language>`" in problem and "64 bytes" in problem


CODE = """\
name: code
category: programming
languages: [code]
license: MIT
input: {type: jsonl, paths: [../code.jsonl], language_field: programming_language, license_field: license}
stages:
  - type: exact_dedup
"""


def test_code_recipe_with_unusable_language_values_builds(tmp_path):
    recs = [json.loads(line) for line in open(SHARED / "code_permissive.jsonl", encoding="utf-8")][:len(BAD_CODE_NAMES) + 2]
    for rec, bad in zip(recs[2:], BAD_CODE_NAMES):
        rec["programming_language"] = bad
    write(tmp_path / "code.jsonl", "".join(json.dumps(r) + "\n" for r in recs))  # (ensure_ascii: \ud800 escaped)
    led, kept, removed = make_build(tmp_path, CODE, tasks=1)
    assert led["records_read"] == len(recs) and kept.height == len(recs)  # no record lost, the source built
    assert sorted(p.name for p in (tmp_path / "out" / "sources" / "code" / "data").iterdir()) == ["code-python", "und"]
    unknown = kept.filter(pl.col("language").is_null())
    assert unknown.height == len(BAD_CODE_NAMES)
    assert led["read_checks"]["language_unmapped"]["records"] == len(BAD_CODE_NAMES)
    warning = next(w for w in led["warnings"] if "names no language" in w)
    assert "programming language's name" in warning and "64 bytes" in warning
    # the record's own value stays in its metadata (`language_raw`, made encodable)
    raws = {json.loads(m)["language_raw"] for m in unknown["metadata"]}
    assert "py\nthon" in raws and "x" * 300 in raws and any(set(r) == {"\ufffd"} for r in raws)


# --- 6. redpajama_rules: a signal that is there but is no number removes its document, named ------------------

def _sig(v):
    return [[0, 100, v]]


RP_OK = {"ccnet_perplexity": _sig(300.0), "ccnet_language_score": _sig(0.9), "ccnet_nlines": _sig(10),
         "rps_doc_num_sentences": _sig(8), "rps_doc_word_count": _sig(400), "rps_doc_mean_word_length": _sig(4.8),
         "rps_lines_start_with_bulletpoint": [[0, 9, 0]] * 10, "rps_doc_frac_no_alph_words": _sig(0.1),
         "is_duplicate": False}
RP_INVALID = [("ccnet_perplexity", _sig("n/a")), ("rps_doc_word_count", [[0, 100]]),
              ("ccnet_nlines", _sig("ten")), ("rps_lines_start_with_bulletpoint", [[0, 9, "yes"]] * 10),
              ("rps_doc_frac_no_alph_words", {"value": 0.1}), ("is_duplicate", "false")]


def test_redpajama_invalid_signal_is_a_removal_reason():
    from datatrove.data import Document

    from lucie_data.steps.quality.redpajama import RedPajamaRulesFilter

    f = RedPajamaRulesFilter()
    for key, bad in RP_INVALID:
        doc = Document(text="x", id="1", metadata={"quality_signals": json.dumps(dict(RP_OK, **{key: bad}))})
        assert f.filter(doc) == (False, "redpajama_invalid_signal"), key
        assert doc.metadata["redpajama_invalid_signal"].startswith(f"{key}: "), doc.metadata
    # absent, null and NaN values skip their rule, as before
    for key, none in [("ccnet_perplexity", _sig(None)), ("ccnet_perplexity", _sig(float("nan"))),
                      ("ccnet_nlines", []), ("is_duplicate", None), ("is_duplicate", 0)]:
        assert f.filter(Document(text="x", id="1", metadata={"quality_signals": dict(RP_OK, **{key: none})})) is True
    assert f.filter(Document(text="x", id="1", metadata={"quality_signals": dict(RP_OK, is_duplicate=1)})) == \
        (False, "redpajama_is_duplicate")


def test_redpajama_invalid_signal_in_a_build(tmp_path):
    recs = [json.loads(line) for line in open(SHARED / "fr_eltec_novels.jsonl", encoding="utf-8")][:len(RP_INVALID) + 3]
    for i, rec in enumerate(recs):
        rec["quality_signals"] = json.dumps(dict(RP_OK, **dict(RP_INVALID[i:i + 1])))
    write(tmp_path / "rp.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    led, kept, removed = make_build(tmp_path, """\
        name: rp
        category: web
        languages: [fr]
        license: CC-BY-4.0
        input: {type: jsonl, paths: [../rp.jsonl], metadata_fields: [quality_signals]}
        stages:
          - type: redpajama_rules
        """, tasks=1)
    assert kept.height == 3 and removed.height == len(RP_INVALID)
    assert set(removed["removal_reason"]) == {"redpajama_invalid_signal"}
    named = sorted(json.loads(m)["redpajama_invalid_signal"] for m in removed["metadata"])
    assert "ccnet_perplexity: 'n/a' is not a number" in named and "is_duplicate: 'false' is not true, false, 0 or 1" in named
    stage = next(s for s in led["stages"] if s["stage"] == "redpajama_rules")
    assert stage["removed"]["redpajama_invalid_signal"]["docs"] == len(RP_INVALID)


# --- a small real build shared by the tests below (each test works on its own copy) -----------------------------

PIPELINE = """\
name: rv49
sources: [sources/*.yaml]
output_dir: out
executor: {tasks: 1, workers: 1}
license_policy: {allow_classes: [public-domain, permissive, share-alike], unknown: deny}
mix: {factors: {fr--web: 1, code--programming: 2}, seed: 0}
"""
GSD = """\
name: gsd
category: web
languages: [fr]
license: CC-BY-SA-4.0
input: {type: jsonl, paths: [../gsd.jsonl]}
stages:
  - type: exact_dedup
"""


def _head(name: str, n: int) -> str:
    with open(SHARED / name, encoding="utf-8") as f:
        return "".join(next(f) for _ in range(n))


@pytest.fixture(scope="module")
def rv49_build(tmp_path_factory) -> Path:
    from lucie_data.cli import main

    base = tmp_path_factory.mktemp("rv49")
    write(base / "gsd.jsonl", _head("fr_ud_gsd.jsonl", 20))
    write(base / "code.jsonl", _head("code_permissive.jsonl", 6))
    write(base / "sources" / "gsd.yaml", GSD)
    write(base / "sources" / "code.yaml", CODE)
    write(base / "p.yaml", PIPELINE)
    assert main(["build", str(base / "p.yaml")]) == 0
    return base


@pytest.fixture
def build_copy(rv49_build, tmp_path) -> Path:
    """A private copy of the project (inputs, recipes, pipeline, build folder `out`)."""
    import shutil

    shutil.copytree(rv49_build, tmp_path / "proj", symlinks=True)
    return tmp_path / "proj"


# --- 7. the report fails its reconciliation on a recorded policy it cannot read ----------------------------------

def test_report_fails_on_a_recorded_policy_it_cannot_read(build_copy, capsys):
    from lucie_data.cli import main

    out = build_copy / "out"
    assert main(["report", str(out), "--output", str(build_copy / "rep0")]) == 0
    mpath = out / "manifest.json"
    m = json.loads(mpath.read_text())
    m["license_policy"] = {"allow_classes": ["everything"]}
    for entry in m["sources"]:
        entry["license_policy"] = {"allow_classes": ["everything"]}
    mpath.write_text(json.dumps(m))
    capsys.readouterr()
    assert main(["report", str(out), "--output", str(build_copy / "rep")]) == 1
    err = capsys.readouterr().err
    assert "manifest.json `license_policy`" in err and "`sources[0].license_policy`" in err
    assert "cannot be read" in err and "everything" in err
    assert "delete the folder" not in err  # a rerun writes manifest.json again: nothing to delete
    rep = json.loads((build_copy / "rep" / "provenance.json").read_text())
    failed = {c["check"] for c in rep["reconciliation"]["checks"] if not c["ok"]}
    assert failed == {"manifest.json `license_policy`: the pipeline's recorded licence policy can be read",
                      "code: kept documents are under licences its recorded policy allows",
                      "gsd: kept documents are under licences its recorded policy allows"}
    # one source's entry alone
    m = json.loads(mpath.read_text())
    good = {"allow_classes": ["public-domain", "permissive", "share-alike"], "unknown": "deny"}
    m["license_policy"] = good
    m["sources"][0]["license_policy"] = good
    m["sources"][1]["license_policy"] = {"allow_classes": ["permissive"], "unknown": "sometimes"}
    mpath.write_text(json.dumps(m))
    assert main(["report", str(out), "--output", str(build_copy / "rep2")]) == 1
    err = capsys.readouterr().err
    assert "`sources[1].license_policy`, cannot be read: unknown: Input should be 'deny' or 'allow'" in err


# --- 9. a .cache/sha256.json that is JSON but no object of digests is an empty cache ------------------------------

def test_a_hash_cache_that_is_no_object_is_an_empty_cache(build_copy, capsys):
    from lucie_data.cli import main
    from lucie_data.manifest import sha256_file

    out = build_copy / "out"
    assert main(["build", str(build_copy / "p.yaml")]) == 0  # (the copy's inputs have other paths: built again)
    cache = out / ".cache" / "sha256.json"
    before = json.loads(cache.read_text())
    assert before and isinstance(before, dict)

    def inputs() -> dict:
        return {e["path"]: e["sha256"] for s in json.loads((out / "manifest.json").read_text())["sources"]
                for e in s["inputs"]}
    expect = inputs()
    assert expect and all(v == sha256_file(Path(p)) for p, v in expect.items())
    for bad in ("[]", '"x"', "3", json.dumps({k: 5 for k in before}), json.dumps({k: ["a"] for k in before})):
        cache.write_text(bad)
        capsys.readouterr()
        assert main(["build", str(build_copy / "p.yaml")]) == 0, bad
        assert capsys.readouterr().out.count("up to date") == 2  # a rerun: every source skipped, then the manifest
        assert inputs() == expect, bad
        current = {k: v for k, v in before.items() if k.split("|")[0] in expect}  # (not the original's paths)
        assert len(current) == len(expect) and json.loads(cache.read_text()) == current  # written again


# --- 8. permission problems are named, exit 2, and never called damage ---------------------------------------------
# Tests run as root, whom chmod does not stop: the calls that meet a permission are made to fail as the kernel makes
# them fail for another user (checked as `nobody` on a real build: os.open/open/stat/scandir raise PermissionError
# with errno 13; pyarrow raises PermissionError(13, "Failed to open local file …"); polars raises PermissionError
# without errno, "Permission denied (os error 13): <path>", when the scan is collected).

class _Denied:
    """Make reads of ``read`` files, listings of (and lookups in) ``unlisted`` folders and new entries in
    ``unwritable`` folders fail with PermissionError, as they would for a user without those permissions."""

    def __init__(self, monkeypatch, read=(), unlisted=(), unwritable=()):
        import builtins
        import errno
        import io
        import os

        import polars as pl
        import pyarrow.parquet as pq

        norm = lambda p: os.path.abspath(os.fspath(p))  # noqa: E731
        self.read, self.unlisted, self.unwritable = ({norm(p) for p in x} for x in (read, unlisted, unwritable))
        real = {"open": builtins.open, "os_open": os.open, "stat": os.stat, "scandir": os.scandir, "mkdir": os.mkdir,
                "pf": pq.ParquetFile, "scan": pl.scan_parquet}

        def denied(path, create=False) -> bool:
            if isinstance(path, int) or path is None:
                return False
            p = norm(path)
            parent = os.path.dirname(p)
            return (p in self.read or parent in self.unlisted
                    or (create and parent in self.unwritable and not os.path.lexists(p)))

        def refuse(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))

        def fake_open(file, mode="r", *a, **k):
            if denied(file, create=any(c in mode for c in "wax")):
                refuse(file)
            return real["open"](file, mode, *a, **k)

        def fake_os_open(path, flags, *a, **k):
            if denied(path, create=bool(flags & os.O_CREAT)):
                refuse(path)
            return real["os_open"](path, flags, *a, **k)

        def fake_stat(path, *a, **k):
            if not isinstance(path, int) and os.path.dirname(norm(path)) in self.unlisted:
                refuse(path)
            return real["stat"](path, *a, **k)

        def fake_scandir(path="."):
            if not isinstance(path, int) and (norm(path) in self.unlisted or denied(path)):
                refuse(path)
            return real["scandir"](path)

        def fake_mkdir(path, *a, **k):
            if denied(path, create=True):
                refuse(path)
            return real["mkdir"](path, *a, **k)

        def fake_pf(source, *a, **k):
            if isinstance(source, (str, os.PathLike)) and denied(source):
                raise PermissionError(errno.EACCES, f"Failed to open local file '{source}'. Detail: [errno 13] "
                                      "Permission denied")
            return real["pf"](source, *a, **k)

        class _Unreadable:  # a polars LazyFrame over a file it may not open: fails when collected
            def __init__(self, path):
                self.path = path

            def __getattr__(self, name):
                if name == "collect":
                    def collect(*a, **k):
                        raise PermissionError(f"Permission denied (os error 13): {self.path}")
                    return collect
                return lambda *a, **k: self

        def fake_scan(source, *a, **k):
            paths = source if isinstance(source, (list, tuple)) else [source]
            bad = [p for p in paths if isinstance(p, (str, os.PathLike)) and denied(p)]
            return _Unreadable(bad[0]) if bad else real["scan"](source, *a, **k)

        for mod, name, fake in ((builtins, "open", fake_open), (io, "open", fake_open), (os, "open", fake_os_open),
                                (os, "stat", fake_stat), (os, "scandir", fake_scandir), (os, "mkdir", fake_mkdir),
                                (pq, "ParquetFile", fake_pf), (pl, "scan_parquet", fake_scan)):
            monkeypatch.setattr(mod, name, fake)


def _run(capsys, *argv) -> tuple[int, str]:
    from lucie_data.cli import main

    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def _permission_said(text: str, path, action: str = "read") -> None:
    assert f"{path} cannot be {action} (Permission denied): check its permissions" in text, text
    assert "is damaged" not in text and "delete" not in text and "is missing" not in text, text
    assert "Traceback" not in text


def test_damaged_shard_message_tells_permissions_from_damage(tmp_path):
    import errno

    import pyarrow as pa

    from lucie_data.buildfiles import damaged_shard_message

    shard = tmp_path / "b" / "sources" / "s" / "data" / "fr" / "00000-0000.parquet"
    for err in (PermissionError(errno.EACCES, "Failed to open local file. Detail: [errno 13] Permission denied"),
                PermissionError(f"Permission denied (os error 13): {shard}"), OSError(errno.EPERM, "x")):
        msg = damaged_shard_message(shard, err)
        assert msg.startswith(f"{shard} cannot be read (") and "check its permissions" in msg, msg
        assert "is damaged" not in msg and "delete" not in msg
    msg = damaged_shard_message(shard, pa.ArrowInvalid("Parquet magic bytes not found in footer"))
    assert "is damaged" in msg and "delete the folder" in msg  # damage still gets the rebuild


def test_unreadable_ledger(build_copy, monkeypatch, capsys):
    out = build_copy / "out"
    ledger = out / "sources" / "gsd" / "ledger.json"
    _Denied(monkeypatch, read=[ledger])
    code, text = _run(capsys, "mix", "build", out, "--output", build_copy / "mix")
    assert code == 2
    _permission_said(text, ledger)
    code, text = _run(capsys, "report", out, "--output", build_copy / "rep")
    assert code == 2
    _permission_said(text, ledger)


def test_unreadable_kept_shard(build_copy, monkeypatch, capsys):
    out = build_copy / "out"
    shard = sorted((out / "sources" / "gsd" / "data").glob("*/*.parquet"))[0]
    (build_copy / "mix").mkdir()  # (not written)
    _Denied(monkeypatch, read=[shard])
    code, text = _run(capsys, "mix", "build", out, "--output", build_copy / "mix" / "m")
    assert code == 2
    _permission_said(text, shard)
    assert not list((build_copy / "mix").iterdir())
    code, text = _run(capsys, "report", out, "--output", build_copy / "rep")
    assert code == 2
    _permission_said(text, shard)
    code, text = _run(capsys, "trace", out, "gsd/fr-gsd-00001")
    assert code == 2
    _permission_said(text, shard)


def test_unlistable_data_folder(build_copy, monkeypatch, capsys):
    out = build_copy / "out"
    folder = out / "sources" / "gsd" / "data" / "fr"
    shard = sorted(folder.glob("*.parquet"))[0]
    _Denied(monkeypatch, unlisted=[folder])
    code, text = _run(capsys, "mix", "build", out, "--output", build_copy / "mix")
    assert code == 2
    _permission_said(text, folder, "listed")
    code, text = _run(capsys, "report", out, "--output", build_copy / "rep")
    assert code == 2
    _permission_said(text, shard)  # (the first shard it looks for)
    code, text = _run(capsys, "trace", out, "gsd/fr-gsd-00001")
    assert code == 2
    _permission_said(text, shard)


def test_unwritable_mix_output(build_copy, monkeypatch, capsys):
    out = build_copy / "out"
    ro = build_copy / "ro"
    ro.mkdir()
    _Denied(monkeypatch, unwritable=[ro, out])
    for target in (ro / "deeper" / "mix", ro / "mix"):
        code, text = _run(capsys, "mix", "build", out, "--output", target)
        assert code == 2, text
        assert f"cannot write the mix into {target}: {ro} cannot be written (Permission denied): check its " \
               "permissions" in text, text
        assert "give another --output" in text and "Traceback" not in text
    code, text = _run(capsys, "mix", "build", out)  # the default BUILD/mix, in a build folder the user may not write
    assert code == 2 and f"cannot write the mix into {out / 'mix'}: {out} cannot be written" in text, text
    assert not list(ro.iterdir()) and not (out / "mix").exists()
