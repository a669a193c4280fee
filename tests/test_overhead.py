"""The build's overhead cuts keep every output: workers skip pyarrow's pandas probe without changing a byte,
a worker's imports stay light, and the dedup plan is read per rank."""
import json
import subprocess
import sys
from pathlib import Path

from datatrove.data import Document

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"


def demo_docs() -> list[Document]:
    """Real records of the bundled demo (French novels and OCR, English news, code): varied lengths."""
    docs = []
    for name in ("fr_eltec_novels.jsonl", "fr_ocr_europeana_bnf.jsonl", "en_ud_pud.jsonl", "code_permissive.jsonl"):
        for i, line in enumerate((DEMO / name).read_text(encoding="utf-8").splitlines()[:60]):
            rec = json.loads(line)
            meta = {"language": "en" if name.startswith("en") else "fr", "source": name}
            docs.append(Document(text=rec["text"], id=f"{name}:{i}", metadata=meta))
    return docs


WORKER = r"""
import json, sys
from lucie_data.runner import skip_pyarrow_pandas_probe
if sys.argv[2] == "skip":
    skip_pyarrow_pandas_probe()
from datatrove.data import Document
from lucie_data.steps.base import KeptWriter, WorkWriter
docs = [Document(text=json.loads(l)["text"], id=str(i), metadata={"language": "fr", "source": "demo", "k": i})
        for i, l in enumerate(open(sys.argv[3], encoding="utf-8"))]
list(KeptWriter(sys.argv[1] + "/kept", max_rows=20).run(iter(docs), rank=0))
list(WorkWriter(sys.argv[1] + "/work").run(iter(docs), rank=0))
print(json.dumps({"pandas": "pandas" in sys.modules}))
"""


def test_workers_skip_pandas_and_write_the_same_bytes(tmp_path):
    """A worker never imports pandas now (~0.2 s each), and its Parquet shards are byte-identical."""
    seen = {}
    for mode in ("skip", "default"):
        res = subprocess.run([sys.executable, "-c", WORKER, str(tmp_path / mode), mode,
                              str(DEMO / "fr_eltec_novels.jsonl")], capture_output=True, text=True, check=True)
        seen[mode] = json.loads(res.stdout.strip().splitlines()[-1])["pandas"]
    assert seen["skip"] is False  # (pyarrow 26 imports it in the default mode: seen["default"] is True)
    files = sorted(p.relative_to(tmp_path / "skip") for p in (tmp_path / "skip").rglob("*.parquet"))
    assert len(files) == 4  # 45 novels chapters: three kept shards of 20 rows and one hand-off file
    for f in files:
        assert (tmp_path / "skip" / f).read_bytes() == (tmp_path / "default" / f).read_bytes(), f


def test_explicit_pandas_still_works_after_the_probe():
    code = ("import sys, pyarrow as pa\nfrom lucie_data.runner import skip_pyarrow_pandas_probe\n"
            "skip_pyarrow_pandas_probe()\nprint(pa.table({'a': [1, 2]}).to_pandas()['a'].sum())")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "3"


def test_worker_import_of_runner_stays_light():
    """Every task unpickles QuietLocalExecutor from lucie_data.runner: the recipe models must not come along."""
    code = ("import sys, lucie_data.runner\n"
            "print(sorted(m for m in ('lucie_data.recipe', 'lucie_data.stages', 'polars', 'pandas') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"


def test_planned_removal_reads_only_its_rank(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lucie_data.steps.dedup import PlannedRemoval

    plan = tmp_path / "plan.parquet"
    pq.write_table(pa.table({"rank": [0, 1, 1, 2], "pos": [1, 0, 2, 1], "duplicate_of": ["a", "b", "c", "d"]}), plan)
    docs = [Document(text=d.text, id=d.id, metadata={"_pos": i}) for i, d in enumerate(demo_docs()[:4])]
    f = PlannedRemoval(str(plan), "exact_duplicate", removed_dir=str(tmp_path / "removed"), stage_id="dd",
                       stage_type="exact_dedup")
    kept = list(f.run(iter(docs), rank=1))
    assert [d.id for d in kept] == [docs[1].id, docs[3].id]
    import polars as pl

    removed = pl.read_parquet(tmp_path / "removed" / "*.parquet")
    assert [json.loads(m)["duplicate_of"] for m in removed["metadata"]] == ["b", "c"]
    assert removed["removal_reason"].to_list() == ["exact_duplicate"] * 2
