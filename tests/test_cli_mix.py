"""`lucie-data mix plan|build` and `lucie-data push`, run through the real CLI entry point."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lucie_data.cli import main
from tests.conftest import stand_in_hub
from tests.test_mix_build import make_build, shard_digest

TOKEN = "hf_CLItoken_s3cr3t_abcdef0123456789"
REPO = "OpenLLM-France/lucie-mix-cli"
LUCIE_SHARES = {"en": 33.189, "fr": 32.353, "code": 14.668, "de": 6.904, "es": 6.623, "it": 3.771, "parallel": 2.492}


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    return make_build(tmp_path_factory.getbasetemp() / "mixbuild")


@pytest.fixture(scope="session")
def mixed(built):
    assert main(["mix", "build", str(built)]) == 0
    return built / "mix"


def test_plan_reproduces_lucie(tmp_path, capsys):
    out = tmp_path / "plan.json"
    md = tmp_path / "plan.md"
    assert main(["mix", "plan", "--json", str(out), "--markdown", str(md)]) == 0
    plan = json.loads(out.read_text())
    assert plan["total_tokens_seen"] == 3_121_744_220_736
    assert {k: round(v["share"] * 100, 3) for k, v in plan["language_groups"].items()} == LUCIE_SHARES
    assert set(plan) >= {"total_tokens", "total_tokens_seen", "subsets", "languages"}
    assert set(plan["subsets"][0]) == {"subset", "language", "category", "tokens", "epochs", "tokens_seen", "share"}
    printed = capsys.readouterr().out
    assert "33.189" in printed and "32.353" in printed
    assert "| fr |" in md.read_text()
    # --lucie is the same thing, explicitly
    assert main(["mix", "plan", "--lucie", "--json", str(tmp_path / "b.json")]) == 0
    assert json.loads((tmp_path / "b.json").read_text()) == plan


def _plan_stats(tmp_path: Path, stats_csv: str, weights_yaml: str, *argv: str) -> tuple[Path, Path]:
    """`mix plan --stats S.csv --weights W.yaml --json P.json [argv]` on these texts; (stats file, plan file)."""
    stats, w, out = tmp_path / "s.csv", tmp_path / "w.yaml", tmp_path / "p.json"
    stats.write_text(stats_csv)
    w.write_text(weights_yaml)
    assert main(["mix", "plan", "--stats", str(stats), "--weights", str(w), "--json", str(out), *argv]) == 0
    return stats, out


def test_plan_from_stats_and_targets(tmp_path, capsys):
    stats, out = _plan_stats(tmp_path, "subset,language,category,tokens\nA,fr,web,600\nB,en,web,300\nC,code,programming,100\n",
                             "factors: {fr--web: 1, en--web: 2, code--programming: 1}\n")
    plan = json.loads(out.read_text())
    assert plan["total_tokens_seen"] == 1300 and plan["languages"]["en"]["tokens_seen"] == 600
    assert main(["mix", "plan", "--stats", str(stats), "--target", "fr=0.4", "--target", "en=0.4",
                 "--max-epochs", "3", "--json", str(out)]) == 0
    t = json.loads(out.read_text())["targets"]
    assert t["feasible"] and abs(t["languages"]["en"]["achieved"] - 0.4) < 1e-9
    # the README's form, several shares after one flag (trainer review: "unrecognized arguments")
    assert main(["mix", "plan", "--stats", str(stats), "--target", "fr=0.4", "en=0.4", "--max-epochs", "3",
                 "--json", str(out)]) == 0
    assert json.loads(out.read_text())["targets"] == t


@pytest.mark.parametrize("argv, match", [
    (["--stats", "{stats}"], "--stats needs --weights"),
    (["--stats", "{stats}", "--weights", "{bad}"], r"no factor for weight key\(s\) 'en--web'"),
    (["--stats", "{stats}", "--target", "fr:0.3"], "expected LANGUAGE=SHARE"),
    (["--lucie", "--stats", "{stats}"], "--lucie uses the shipped"),
    # newcomer review: the pipeline was ignored without a word, Lucie's published plan printed as if it were its own
    (["--pipeline", "{bad}"], r"--pipeline .*: its `mix:` weights apply to measured counts: add --build"),
    (["--lucie", "--pipeline", "{bad}"], "--lucie uses the shipped"),
    (["--build", "{nowhere}", "--weights", "{bad}"], "is not a build folder"),
])
def test_plan_errors_are_clear(argv, match, tmp_path, capsys):
    stats = tmp_path / "s.csv"
    stats.write_text("subset,language,category,tokens\nA,fr,web,600\nB,en,web,300\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("factors: {fr--web: 1}\n")
    argv = [a.format(stats=stats, bad=bad, nowhere=tmp_path / "nowhere") for a in argv]
    assert main(["mix", "plan", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert __import__("re").search(match, err), err


def test_plan_from_build_uses_measured_tokens(built, tmp_path):
    out = tmp_path / "p.json"
    assert main(["mix", "plan", "--build", str(built), "--json", str(out)]) == 0
    plan = json.loads(out.read_text())
    subsets = {s["subset"]: s for s in plan["subsets"]}
    assert subsets["pud_en--en"]["epochs"] == 1.5 and subsets["parallel_fr_en--fr-en"]["epochs"] == 3
    assert "ocr_private--fr" not in subsets  # not redistributable: not planned either
    assert set(plan["languages"]) == {"fr", "en", "de", "code", "fr-en"}


def test_mix_build_cli(mixed, built, capsys):
    plan = json.loads((mixed / "mix_plan.json").read_text())
    assert plan["license_check"]["passed"] and plan["seed"] == 0
    assert (mixed / "README.md").is_file()
    assert main(["mix", "build", str(built.parent / "no-such-build")]) == 2
    assert "no such build folder" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------- push


@pytest.fixture
def hub(monkeypatch, tmp_path):
    with stand_in_hub(monkeypatch, tmp_path, TOKEN) as stub:
        yield stub


def test_push_cli_uploads_the_mix_and_it_loads(hub, mixed, built, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert main(["push", str(built), "--repo-id", REPO, "--endpoint", hub.endpoint, "--max-files-per-commit", "5"]) == 0
    local = {p.relative_to(mixed).as_posix(): p.read_bytes() for p in mixed.rglob("*") if p.is_file()}
    remote = {p: b for p, b in hub.files(REPO).items() if p != ".gitattributes"}
    assert remote == local
    assert len(hub.commits(REPO)) - 1 == -(-len(local) // 5)  # several commits
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err
    # pushing again sends nothing
    assert main(["push", str(mixed), "--repo-id", REPO, "--endpoint", hub.endpoint]) == 0
    assert "nothing to upload" in capsys.readouterr().out

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(HF_ENDPOINT=hub.endpoint, HF_TOKEN=TOKEN, HF_HOME=str(tmp_path / "hf_home"),
               HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    code = f"import datasets\nprint(datasets.load_dataset({REPO!r}, 'fr,en', split='train').num_rows)\n"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    plan = json.loads((mixed / "mix_plan.json").read_text())
    assert int(proc.stdout.split()[-1]) == plan["subsets"]["parallel_fr_en--fr-en"]["docs_achieved"]


def test_push_cli_dry_run_and_refusals(hub, mixed, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert main(["push", str(mixed), "--repo-id", REPO, "--endpoint", hub.endpoint, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "[dry run]" in out and "mix_plan.json" in out and TOKEN not in out
    assert hub.requests == [] and not hub.repo_exists(REPO)

    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(mixed, bad)
    plan = json.loads((bad / "mix_plan.json").read_text())
    plan["license_check"]["passed"] = False
    plan["license_check"]["violations"] = [{"source": "ocr_private", "license": "CC0-1.0", "reason": "not_redistributable"}]
    (bad / "mix_plan.json").write_text(json.dumps(plan))
    assert main(["push", str(bad), "--repo-id", REPO, "--endpoint", hub.endpoint]) == 2
    err = capsys.readouterr().err
    assert "Refusing to push" in err and "ocr_private" in err and "Traceback" not in err
    assert not hub.repo_exists(REPO)

    assert main(["push", str(tmp_path), "--repo-id", REPO, "--endpoint", hub.endpoint]) == 2
    assert "no built mix" in capsys.readouterr().err


@pytest.fixture(scope="session")
def keep_mixed(built, tmp_path_factory):
    out = tmp_path_factory.mktemp("keep") / "mix"
    assert main(["mix", "build", str(built), "--repeat-ids", "keep", "--output", str(out)]) == 0
    return out


def test_push_accepts_a_keep_mode_mix_and_refuses_an_edited_repeat(hub, keep_mixed, monkeypatch, capsys, tmp_path):
    """Byte-identical repeat files (`_e2`, same sha256 as their first copy) upload like any other file."""
    import shutil

    plan = json.loads((keep_mixed / "mix_plan.json").read_text())
    assert plan["repeat_ids"] == "keep" and plan["license_check"]["passed"]
    repeats = [s for s in plan["shards"] if s["path"].endswith("_e2.parquet")]
    assert repeats and len({shard_digest(s) for s in plan["shards"]}) < len(plan["shards"])
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert main(["push", str(keep_mixed), "--repo-id", REPO, "--endpoint", hub.endpoint,
                 "--max-files-per-commit", "7"]) == 0
    local = {p.relative_to(keep_mixed).as_posix(): p.read_bytes() for p in keep_mixed.rglob("*") if p.is_file()}
    assert {p: b for p, b in hub.files(REPO).items() if p != ".gitattributes"} == local
    capsys.readouterr()

    bad = tmp_path / "bad"
    shutil.copytree(keep_mixed, bad)
    edited = bad / repeats[0]["path"]
    edited.write_bytes((bad / repeats[0]["path"].replace("_e2.parquet", ".parquet")).read_bytes()[:-1] + b"!")
    assert main(["push", str(bad), "--repo-id", REPO + "-bad", "--endpoint", hub.endpoint]) == 2
    err = capsys.readouterr().err
    assert "changed since the licence check" in err and repeats[0]["path"] in err and "Traceback" not in err
    assert not hub.repo_exists(REPO + "-bad")


@pytest.mark.parametrize("damage", ["edited", "digest dropped"])
def test_push_checks_a_spliced_repeat_by_its_fast_digest(mixed, tmp_path, capsys, damage):
    """A spliced repeat (bytes the mix made) is recorded by its xxh3_128, not hashed with SHA-256 at mix time; push
    still refuses it once edited, and refuses a plan entry that records no digest at all (before, such an entry was
    not compared)."""
    import shutil

    plan = json.loads((mixed / "mix_plan.json").read_text())
    spliced = [s for s in plan["shards"] if s["path"].endswith("_e2.parquet") and "xxh3_128" in s]
    assert spliced and all("sha256" not in s for s in spliced)
    assert all("sha256" in s for s in plan["shards"] if s["path"] == spliced[0]["path"].replace("_e2", ""))
    bad = tmp_path / "bad"
    shutil.copytree(mixed, bad)
    target = bad / spliced[0]["path"]
    if damage == "edited":  # a valid Parquet file of the same size: its first copy, whose ids lack the `#2`
        first = (bad / spliced[0]["path"].replace("_e2", "")).read_bytes()
        target.write_bytes(first[:target.stat().st_size].ljust(target.stat().st_size, b"\0"))
    else:
        edited = json.loads((bad / "mix_plan.json").read_text())
        for s in edited["shards"]:
            s.pop("xxh3_128", None) if s["path"] == spliced[0]["path"] else None
        (bad / "mix_plan.json").write_text(json.dumps(edited))
    capsys.readouterr()
    assert main(["push", str(bad), "--repo-id", REPO, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert f"changed since the licence check: {spliced[0]['path']}" in err and "Traceback" not in err


def test_plan_warns_about_a_misspelt_weight_key(tmp_path, capsys):
    """A factor key that matches no subset but is one edit from one that does is a typo: with default_factor its
    subset silently got the default. Unused keys far from every subset (Lucie's full table on a small build) are
    normal and stay quiet."""
    stats = tmp_path / "s.csv"
    stats.write_text("subset,language,category,tokens\nA,fr,web,600\nB,en,book,300\nC,code,programming,100\n")
    w = tmp_path / "w.yaml"
    w.write_text("factors: {fr--web: 1, en--bok: 3, code-programming: 2, it--wiki: 3, de--legi_written: 2}\n"
                 "languages: {fre: 2}\ndefault_factor: 1\n")
    assert main(["mix", "plan", "--stats", str(stats), "--weights", str(w)]) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        "warning: factor key 'code-programming' is not <language>--<category> and matches no subset; did you mean "
        "'code--programming'? ('code--programming' has no factor of its own: it got default_factor 1)",
        "warning: factor key 'en--bok' matches no subset; did you mean 'en--book'? ('en--book' has no factor of its "
        "own: it got default_factor 1)",
        "warning: language multiplier 'fre' matches no subset's language; did you mean 'fr'?",
    ], err
    # the shipped Lucie table on its own stats: every key used, nothing to say
    assert main(["mix", "plan", "--lucie"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_plan_from_stats_takes_the_pipelines_mix_block(tmp_path, capsys):
    """`mix plan --stats CSV --pipeline P`: the pipeline's `mix:` weights (a weights_file relative to it, or inline
    factors) are used when --weights is not given, as `mix plan --build` and `mix build` do."""
    stats = tmp_path / "s.csv"
    stats.write_text("subset,language,category,tokens\nA,fr,web,600\nB,en,web,300\n")
    (tmp_path / "w.yaml").write_text("factors: {fr--web: 1, en--web: 2}\n")
    pipe = tmp_path / "p.yaml"
    pipe.write_text("name: p\nsources: []\nmix: {weights_file: w.yaml}\n")
    out = tmp_path / "plan.json"
    assert main(["mix", "plan", "--stats", str(stats), "--pipeline", str(pipe), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["total_tokens_seen"] == 1200
    pipe.write_text("name: p\nsources: []\nmix: {factors: {fr--web: 3, en--web: 1}}\n")
    assert main(["mix", "plan", "--stats", str(stats), "--pipeline", str(pipe), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["total_tokens_seen"] == 2100
    pipe.write_text("name: p\nsources: []\n")
    assert main(["mix", "plan", "--stats", str(stats), "--pipeline", str(pipe)]) == 2
    assert "a --pipeline whose `mix:` block has factors" in capsys.readouterr().err


def test_plan_typo_hints_stay_quiet_on_a_full_table_and_show_in_the_missing_factor_error(tmp_path, capsys):
    """Lucie's own 38 keys on a build with a few of them: an unused key one edit from a used one that has its own
    factor (de--web next to es--web) is not a typo (second review: five false warnings). Without default_factor a
    missing key is an error, and a near unused key is named there."""
    from lucie_data.commands.mix import _assets

    stats = tmp_path / "s.csv"
    stats.write_text("subset,language,category,tokens\nA,es,web,600\nB,en,legi_written,300\nP,\"fr,en\",aligned,50\n"
                     "C,code:python,programming,100\n")
    assert main(["mix", "plan", "--stats", str(stats), "--weights", str(_assets() / "weights.yaml")]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err, captured.err
    assert "fr-en" in captured.out  # the CSV's `fr,en` and `code:python` weigh as fr-en--aligned and code--programming
    w = tmp_path / "w.yaml"
    w.write_text("factors: {es--web: 1, en-legi_written: 2, fr-en--aligned: 3, code--programming: 2}\n")
    assert main(["mix", "plan", "--stats", str(stats), "--weights", str(w)]) == 2
    err = capsys.readouterr().err
    assert "'en--legi_written' (used by: B; your 'en-legi_written' matches no subset: a typo of it?)" in err, err


def test_language_multipliers_of_absent_languages_are_not_typos(tmp_path, capsys):
    """`de` on a build without German is close to `code` by letters, not a typo of it (code review); a real typo of a
    present language (`fre` for `fr`) is still named."""
    stats = tmp_path / "s.csv"
    stats.write_text("subset,language,category,tokens\nA,fr,web,600\nB,es,web,300\nC,code,programming,100\n")
    w = tmp_path / "w.yaml"
    w.write_text("factors: {fr--web: 1, es--web: 1, code--programming: 2}\nlanguages: {de: 1.5, es: 1, it: 2}\n")
    assert main(["mix", "plan", "--stats", str(stats), "--weights", str(w)]) == 0
    assert "warning" not in capsys.readouterr().err
    w.write_text("factors: {fr--web: 1, es--web: 1, code--programming: 2}\nlanguages: {fre: 1.5}\n")
    assert main(["mix", "plan", "--stats", str(stats), "--weights", str(w)]) == 0
    assert "language multiplier 'fre' matches no subset's language; did you mean 'fr'?" in capsys.readouterr().err


def test_a_pair_weighted_in_the_other_order_is_named(tmp_path, capsys):
    """A factor key or language multiplier naming a source's pair in the other order (`en-fr` for a `fr,en` source)
    did nothing, and without a word when default_factor covered the subset (trainer review); the missing-factor
    error already said it."""
    _stats, out = _plan_stats(tmp_path, "subset,language,category,tokens\nA,fr,web,600\nP,\"fr,en\",aligned,50\n",
                              "factors: {fr--web: 1, en-fr--aligned: 3}\nlanguages: {\"en,fr\": 2}\ndefault_factor: 1\n")
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        "warning: factor key 'en-fr--aligned' matches no subset: 'fr-en--aligned' is the same pair in the other "
        "order, and a pair is weighted under the order its source declares; write 'fr-en--aligned'",
        "warning: language multiplier 'en-fr' matches no subset's language: 'fr-en' is the same pair in the other "
        "order, and a pair is weighted under the order its source declares; write 'fr-en'"]
    assert {s["subset"]: s["epochs"] for s in json.loads(out.read_text())["subsets"]}["P"] == 1  # as warned
