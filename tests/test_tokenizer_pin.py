"""A Hub tokenizer pinned to a revision (`tokenizer: ORG/NAME@REVISION`): the build counts with that revision's
tokenizer.json, not with whatever the repository's main holds now. No machine here reaches the Hub: the closest
honest stand-in is the local HTTP server answering the endpoints huggingface_hub calls (lucie_data.testing.hub_stub),
with a model repository whose tokenizer.json changed between two commits."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from huggingface_hub import HfApi
from huggingface_hub import constants as hf_constants

from lucie_data.recipe import resolve_tokenizer
from lucie_data.testing.hub_stub import HubStub
from lucie_data.tokens import split_hub_id

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "hf_TESTtoken_pin_0123456789abcdef"


def _tokenizer(path: Path, split_punctuation: bool) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace() if split_punctuation else pre_tokenizers.WhitespaceSplit()
    tok.save(str(path))
    return path


@pytest.mark.parametrize("value, hub", [("OpenLLM-France/Lucie-7B", ("OpenLLM-France/Lucie-7B", None)),
                                        ("OpenLLM-France/Lucie-7B@v1.0", ("OpenLLM-France/Lucie-7B", "v1.0")),
                                        ("org/tok@refs/pr/1", ("org/tok", "refs/pr/1"))])
def test_a_pinned_hub_id_is_a_valid_tokenizer(value, hub, tmp_path):
    assert resolve_tokenizer(value, tmp_path) == (value, None)
    assert split_hub_id(value) == hub


def test_a_build_counts_with_the_pinned_revision(tmp_path, monkeypatch):
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    with HubStub(tmp_path / "hub", token=TOKEN) as stub:
        api = HfApi(endpoint=stub.endpoint, token=TOKEN)
        api.create_repo("org/tok", repo_type="model")
        first = api.upload_file(path_or_fileobj=str(_tokenizer(tmp_path / "a.json", False)), path_in_repo="tokenizer.json",
                                repo_id="org/tok", repo_type="model").oid
        api.upload_file(path_or_fileobj=str(_tokenizer(tmp_path / "b.json", True)), path_in_repo="tokenizer.json",
                        repo_id="org/tok", repo_type="model")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
        env.update(HF_ENDPOINT=stub.endpoint, HF_TOKEN=TOKEN, HF_HOME=str(tmp_path / "hf_home"),
                   HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1", HF_HUB_OFFLINE="0")
        counts = {}
        for name, spec in (("pinned", f"org/tok@{first}"), ("main", "org/tok")):
            pipe = tmp_path / f"{name}.yaml"
            pipe.write_text(f"name: {name}\nsources: [{ROOT / 'sources/demo/eltec_fr.yaml'}]\noutput_dir: {tmp_path / name}\n"
                            f"executor: {{type: local, workers: 1, tasks: 1}}\ntokenizer: {spec}\n", encoding="utf-8")
            proc = subprocess.run([sys.executable, "-m", "lucie_data.cli", "build", str(pipe)], env=env,
                                  capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
            kept = pl.read_parquet(sorted((tmp_path / name / "sources/eltec_fr/data").glob("*/*.parquet")))
            counts[name] = kept
            entry = json.loads((tmp_path / name / "manifest.json").read_text())["token_counter"]
            want = (tmp_path / ("a.json" if name == "pinned" else "b.json")).read_bytes()
            import hashlib

            assert entry["name"] == spec and entry["sha256"] == hashlib.sha256(want).hexdigest()
            assert entry["revision"] == (first if name == "pinned" else None) and len(entry["commit"]) == 40
            if name == "pinned":
                assert entry["commit"] == first
    from tokenizers import Tokenizer

    for name, path in (("pinned", tmp_path / "a.json"), ("main", tmp_path / "b.json")):
        tok = Tokenizer.from_file(str(path))
        df = counts[name]
        assert df["n_tokens"].to_list() == [len(tok.encode(t, add_special_tokens=False).ids) for t in df["text"]]
    assert sum(counts["main"]["n_tokens"]) > sum(counts["pinned"]["n_tokens"])  # punctuation split by main's only


def test_a_tokenizer_replaced_under_the_same_name_rebuilds(tmp_path):
    """Review: a tokenizer.json replaced in place (or a Hub id whose main moved) left the source "up to date" with
    the old counts, while the manifest named the new tokenizer. Its content is part of the build key."""
    from tokenizers import Tokenizer

    from lucie_data.cli import main

    tok = tmp_path / "tokenizer.json"
    _tokenizer(tok, False)
    pipe = tmp_path / "p.yaml"
    pipe.write_text(f"name: p\nsources: [{ROOT / 'sources/demo/eltec_fr.yaml'}]\noutput_dir: {tmp_path / 'b'}\n"
                    f"executor: {{type: local, workers: 1, tasks: 1}}\ntokenizer: {tok}\n", encoding="utf-8")

    def counts() -> list[int]:
        return pl.read_parquet(sorted((tmp_path / "b/sources/eltec_fr/data").glob("*/*.parquet")))["n_tokens"].to_list()

    assert main(["build", str(pipe)]) == 0
    before = counts()
    _tokenizer(tok, True)  # same path, other content
    assert main(["build", str(pipe)]) == 0
    after = counts()
    texts = pl.read_parquet(sorted((tmp_path / "b/sources/eltec_fr/data").glob("*/*.parquet")))["text"]
    new = Tokenizer.from_file(str(tok))
    assert after == [len(new.encode(t, add_special_tokens=False).ids) for t in texts] and sum(after) > sum(before)
    entry = json.loads((tmp_path / "b/manifest.json").read_text())["token_counter"]
    import hashlib

    assert entry == {"name": str(tok), "sha256": hashlib.sha256(tok.read_bytes()).hexdigest()}


def test_a_hub_repository_without_tokenizer_json_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    with HubStub(tmp_path / "hub", token=TOKEN) as stub:
        api = HfApi(endpoint=stub.endpoint, token=TOKEN)
        api.create_repo("org/notok", repo_type="model")
        api.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id="org/notok", repo_type="model")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
        env.update(HF_ENDPOINT=stub.endpoint, HF_TOKEN=TOKEN, HF_HOME=str(tmp_path / "hf_home"), HF_HUB_OFFLINE="0",
                   HF_HUB_DISABLE_TELEMETRY="1")
        pipe = tmp_path / "p.yaml"
        pipe.write_text(f"name: p\nsources: [{ROOT / 'sources/demo/eltec_fr.yaml'}]\noutput_dir: {tmp_path / 'b'}\n"
                        "tokenizer: org/notok\n", encoding="utf-8")
        proc = subprocess.run([sys.executable, "-m", "lucie_data.cli", "build", str(pipe)], env=env,
                              capture_output=True, text=True, timeout=300)
        pipe.write_text(pipe.read_text(encoding="utf-8").replace("org/notok", "org/nothere"), encoding="utf-8")
        gone = subprocess.run([sys.executable, "-m", "lucie_data.cli", "build", str(pipe)], env=env,
                              capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "the Hub repository org/notok has no tokenizer.json" in proc.stderr, proc.stderr[-2000:]
    # review: a repository that does not exist was answered "run once with the network so the HF cache holds it"
    assert gone.returncode == 2 and "the Hub has no model repository org/nothere" in " ".join(gone.stderr.split())


def test_workers_count_with_the_commit_recorded_even_if_main_moves_during_the_build(tmp_path, monkeypatch):
    """Read-through: the main process resolved an unpinned Hub id (recording its commit and sha256), then every step
    looked it up again by name. A repository whose main moved during the build gave counts from another
    tokenizer.json than the manifest names (rule 4). The steps now load ORG/NAME@<the recorded commit>."""
    import hashlib

    from tokenizers import Tokenizer

    from lucie_data.recipe import load_pipeline
    from lucie_data.runner import build

    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    with HubStub(tmp_path / "hub", token=TOKEN) as stub:
        monkeypatch.setenv("HF_ENDPOINT", stub.endpoint)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        api = HfApi(endpoint=stub.endpoint, token=TOKEN)
        api.create_repo("org/tok", repo_type="model")
        api.upload_file(path_or_fileobj=str(_tokenizer(tmp_path / "a.json", False)), path_in_repo="tokenizer.json",
                        repo_id="org/tok", repo_type="model")
        pipe = tmp_path / "p.yaml"
        pipe.write_text(f"name: p\nsources: [{ROOT / 'sources/demo/eltec_fr.yaml'}]\noutput_dir: {tmp_path / 'b'}\n"
                        "executor: {type: local, workers: 1, tasks: 1}\ntokenizer: org/tok\n", encoding="utf-8")
        moved = []

        def on_event(event: str, data: dict) -> None:
            if event == "segment" and not moved:  # main moves after the build resolved it, before any step counts
                moved.append(api.upload_file(path_or_fileobj=str(_tokenizer(tmp_path / "b.json", True)),
                                             path_in_repo="tokenizer.json", repo_id="org/tok", repo_type="model").oid)

        result = build(load_pipeline(pipe), on_event=on_event)
    assert moved and result.token_counter["sha256"] == hashlib.sha256((tmp_path / "a.json").read_bytes()).hexdigest()
    assert result.token_counter["commit"] != moved[0]
    df = pl.read_parquet(sorted((tmp_path / "b/sources/eltec_fr/data").glob("*/*.parquet")))
    recorded = Tokenizer.from_file(str(tmp_path / "a.json"))
    assert df["n_tokens"].to_list() == [len(recorded.encode(t, add_special_tokens=False).ids) for t in df["text"]]



def _two_sources_built(tmp_path):
    """eltec_fr and pud_en built with a local tokenizer.json: (its path, the pipeline, the tokenizer's sha256)."""
    import hashlib

    from lucie_data.cli import main

    tok = tmp_path / "tokenizer.json"
    _tokenizer(tok, False)
    pipe = tmp_path / "p.yaml"
    pipe.write_text(f"name: p\nsources: [{ROOT / 'sources/demo/eltec_fr.yaml'}, {ROOT / 'sources/demo/pud_en.yaml'}]\n"
                    f"output_dir: {tmp_path / 'b'}\nexecutor: {{type: local, workers: 1, tasks: 1}}\ntokenizer: {tok}\n"
                    "mix: {factors: {}, default_factor: 1}\n", encoding="utf-8")
    assert main(["build", str(pipe)]) == 0
    return tok, pipe, hashlib.sha256(tok.read_bytes()).hexdigest()

def test_each_source_records_its_counter_and_a_mix_of_two_counters_is_warned_about(tmp_path, capsys):
    """Engineer review: after the tokenizer changed, an `--only` run recorded only the new tokenizer in the manifest,
    while the other sources' counts came from the old one, and `mix build` summed both without a word. Each source
    entry records what counted it (kept as built by --only), and the mix says when they differ."""
    import hashlib

    from lucie_data.cli import main

    tok, pipe, old = _two_sources_built(tmp_path)
    _tokenizer(tok, True)  # same path, other content
    new = hashlib.sha256(tok.read_bytes()).hexdigest()
    assert main(["build", str(pipe), "--only", "eltec_fr"]) == 0
    m = json.loads((tmp_path / "b/manifest.json").read_text())
    by = {s["name"]: s["token_counter"]["sha256"] for s in m["sources"]}
    assert by == {"eltec_fr": new, "pud_en": old}
    capsys.readouterr()
    assert main(["mix", "build", str(tmp_path / "b")]) == 0
    cap = capsys.readouterr()
    err = " ".join((cap.out + cap.err).split())
    assert "warning: the sources' token counts come from different tokenizers" in err, err
    assert f"sha256 {new[:12]}: eltec_fr" in err and f"sha256 {old[:12]}: pud_en" in err


def test_an_older_manifest_without_per_source_counters_keeps_its_run_counter_after_only(tmp_path, capsys):
    """Code review: a build made before sources recorded their own `token_counter` (and `license_policy`) had them
    at the top level only; an `--only` run then recorded the new counter for the sources it left out, and the mix's
    different-tokenizers warning stayed silent. Those sources keep the older run's counter and policy."""
    import hashlib

    from lucie_data.cli import main

    tok, pipe, old = _two_sources_built(tmp_path)
    mpath = tmp_path / "b/manifest.json"
    m = json.loads(mpath.read_text())
    old_policy = {"allow": ["MIT"], "unknown": "deny"}  # what the older run's top level said
    m["license_policy"] = old_policy
    for s in m["sources"]:  # as an older version wrote it
        s.pop("token_counter"), s.pop("license_policy")
    mpath.write_text(json.dumps(m))
    _tokenizer(tok, True)
    new = hashlib.sha256(tok.read_bytes()).hexdigest()
    assert main(["build", str(pipe), "--only", "eltec_fr"]) == 0
    m = json.loads(mpath.read_text())
    by = {s["name"]: s for s in m["sources"]}
    assert by["eltec_fr"]["token_counter"]["sha256"] == new and by["pud_en"]["token_counter"]["sha256"] == old
    assert by["pud_en"]["license_policy"] == old_policy and by["eltec_fr"]["license_policy"] != old_policy
    capsys.readouterr()
    main(["mix", "build", str(tmp_path / "b")])
    cap = capsys.readouterr()
    err = " ".join((cap.out + cap.err).split())
    assert "warning: the sources' token counts come from different tokenizers" in err, err
