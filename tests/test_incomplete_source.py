"""A dataset that cannot be read whole (a Hub outage, a dropped stream) leaves its source unfinished: accounted for
in its ledger, retried by the next build, refused by the mix. Before, an unreachable Hub dataset was quarantined,
the source became "up to date (0 docs kept)" for good, and the mix left it out without a word (review).

The closest honest stand-in for the Hub here is a local dataset folder (``hf_dataset`` reads it with ``datasets``
as it reads a Hub id): a damaged data file first, a good one after, as a Hub that comes back."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "lucie_data.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)


def test_an_unreadable_dataset_leaves_its_source_unfinished_retried_and_refused_by_the_mix(tmp_path):
    rows = [json.loads(line) for line in (ROOT / "data" / "demo" / "en_ud_pud.jsonl").read_text(encoding="utf-8")
            .splitlines()[:40]]
    ds = tmp_path / "ds"
    (ds / "data").mkdir(parents=True)
    good = tmp_path / "good.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": r["id"], "text": r["text"]} for r in rows]), good)
    (ds / "data" / "train-00000.parquet").write_bytes(b"PAR1" + b"\0" * 64)  # an outage: a file that is not Parquet
    (tmp_path / "hub.yaml").write_text(
        "name: hub\ncategory: web\nlanguages: [en]\nlicense: CC-BY-SA-4.0\n"
        "input: {type: hf_dataset, dataset: ./ds, split: train}\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text(
        f"name: p\nsources: [hub.yaml, {ROOT / 'sources/demo/pud_en.yaml'}]\noutput_dir: out\n"
        "executor: {type: local, workers: 1, tasks: 1}\nmix: {factors: {en--web: 1}}\n", encoding="utf-8")

    first = cli("build", "p.yaml", cwd=tmp_path)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "hub: INCOMPLETE" in first.stdout and "rerun the same command to retry" in first.stdout
    assert "Traceback" not in first.stdout + first.stderr
    led = json.loads((tmp_path / "out" / "sources" / "hub" / "ledger.json").read_text())
    assert led["balanced"] and led["complete"] is False and led["incomplete"][0]["reason"].startswith("read_dataset_")
    assert not (tmp_path / "out" / "sources" / "hub" / ".build_key").exists()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert {s["name"]: s.get("complete", True) for s in manifest["sources"]} == {"hub": False, "pud_en": True}

    mix = cli("mix", "build", "out", cwd=tmp_path)
    assert mix.returncode == 2 and "source hub is incomplete" in mix.stderr, mix.stderr
    assert not (tmp_path / "out" / "mix").exists()
    # the report says so (auditor review: shown as a finished source, its placeholder counted as a record read)
    assert cli("report", "out", cwd=tmp_path).returncode == 0
    report = json.loads((tmp_path / "out" / "reports" / "provenance.json").read_text())
    assert {s["name"]: s["complete"] for s in report["sources"]} == {"hub": False, "pud_en": True}
    warned = [w for w in report["warnings"] if w["kind"] == "incomplete_source"]
    assert [w["source"] for w in warned] == ["hub"] and "read_dataset_" in warned[0]["message"]
    assert "source hub is incomplete" in (tmp_path / "out" / "reports" / "provenance.md").read_text()

    again = cli("build", "p.yaml", cwd=tmp_path)  # still down: retried, not "up to date"
    assert again.returncode == 1 and "hub: INCOMPLETE" in again.stdout and "hub: up to date" not in again.stdout
    assert "pud_en: up to date" in again.stdout

    (ds / "data" / "train-00000.parquet").write_bytes(good.read_bytes())  # the Hub is back
    last = cli("build", "p.yaml", cwd=tmp_path)
    assert last.returncode == 0, last.stdout + last.stderr
    led = json.loads((tmp_path / "out" / "sources" / "hub" / "ledger.json").read_text())
    assert "complete" not in led and led["records_read"] == 40 and led["docs_kept"] + led["docs_removed"] == 40
    assert cli("mix", "build", "out", cwd=tmp_path).returncode == 0


def test_a_hub_dataset_with_no_network_fails_at_once_saying_so(tmp_path):
    """Newcomer review: with no network and offline mode unset, huggingface_hub and datasets retried the Hub for ~48 s
    per dataset (`pipelines/lucie.yaml`'s 42 Hub sources: ~34 min) and said "check the dataset id/config/split". A host
    whose name does not resolve is not coming back within the retries: the dataset is looked for in the cache only,
    and the message says what happened. The endpoint here is a `.invalid` name (RFC 2606: never resolves)."""
    (tmp_path / "hub.yaml").write_text(
        "name: hub\ncategory: web\nlanguages: [en]\nlicense: CC-BY-4.0\n"
        "input: {type: hf_dataset, dataset: OpenLLM-France/no-such-dataset, split: train}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    env.update(HF_ENDPOINT="https://hub.lucie-data.invalid", HF_HOME=str(tmp_path / "hf"))
    r = subprocess.run([sys.executable, "-m", "lucie_data.cli", "build", str(tmp_path / "hub.yaml"), "--output",
                        str(tmp_path / "b")], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert r.returncode == 1, r.stderr
    out = r.stdout + r.stderr
    assert "https://hub.lucie-data.invalid cannot be reached (its name does not resolve: no network?) and the HF cache " \
           "holds no copy of this dataset" in out, out
    assert "Traceback" not in out and "INCOMPLETE, 0 read before the input failed" in out, out
    led = json.loads((tmp_path / "b" / "sources" / "hub" / "ledger.json").read_text())
    assert led["complete"] is False  # retried by the next build, refused by the mix, as any unreachable dataset
