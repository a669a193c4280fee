"""Review 8 of the reader: a damaged input file shared by several tasks (fewer files than tasks).

With fewer input files than tasks every task reads every file and keeps its own records (striping); a file-level
error is reported by one task, the file's owner. A WARC cut quietly in a record (warcio stops without an error; the
record is shorter than its Content-Length) was only reported when the file's owner was also the task that kept the
cut record: with 2 or 5 tasks the cut record and the truncation vanished without a row. A gzipped WARC cut in a
record's header stopped quietly without any report at all, and a record cut in its HTTP headers was removed as
``read_unsupported_record`` instead of quarantining the file. Now every task reads every record the same way, the
truncation is found by all of them at the same record and reported once, by the file's owner, at the cut record's
position: kept and removed rows (ids, positions, reasons) are the same for 1, 2, 3 and 5 tasks.
"""
import gzip
import io
import json
from pathlib import Path

import pytest

from .test_inputs import ROOT, make_build

TASKS = (1, 2, 3, 5)
N_PAGES = 6  # responses 1..6 after a warcinfo record 0; the 4th response (record 4) is cut


def _warc(gz: bool) -> tuple[bytes, list[int]]:
    """A WARC (warcinfo, then N_PAGES html responses) and the offset of each record (and of the end)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    pages = sorted((ROOT / "data" / "demo" / "html").glob("*.html"))[:N_PAGES]
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=gz)
    offsets = [0]
    w.write_record(w.create_warcinfo_record("site.warc", {"software": "test"}))
    for i, p in enumerate(pages):
        offsets.append(buf.tell())
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record(f"https://example.org/{i}", "response", payload=io.BytesIO(p.read_bytes()),
                                            http_headers=http))
    offsets.append(buf.tell())
    return buf.getvalue(), offsets


def _rows(kept, removed) -> tuple[list, list]:
    k = sorted((r["id"], json.loads(r["metadata"])["source_record"], r["text"]) for r in kept.iter_rows(named=True))
    rm = sorted((r["id"], r["removal_reason"], json.loads(r["metadata"])["source_record"])
                for r in removed.iter_rows(named=True))
    return k, rm


def _build_all(tmp_path: Path, files: dict[str, bytes], input_line: str, languages: str = "[en, de]") -> dict:
    """The same input files built with 1, 2, 3 and 5 tasks: {tasks: (ledger, kept rows, removed rows)}."""
    out = {}
    for tasks in TASKS:
        d = tmp_path / f"t{tasks}"
        d.mkdir()
        for name, data in files.items():
            (d / name).write_bytes(data)
        led, kept, removed = make_build(d, f"""\
            name: shared
            category: web
            languages: {languages}
            license: CC-BY-4.0
            input: {input_line}
            """, tasks=tasks)
        out[tasks] = (led, *_rows(kept, removed))
    return out


def _check(res: dict, reason: str, pos: int, n_records: int, positions: list | None = None) -> None:
    """One truncation row at ``pos`` whatever the task count, nothing lost, the same rows everywhere."""
    for tasks, (led, kept, removed) in res.items():
        cut = [r for r in removed if r[1] in ("read_truncated_file", "read_corrupt_file")]
        assert [(r[1], r[2]) for r in cut] == [(reason, pos)], (tasks, removed)
        ids = [r[0] for r in kept] + [r[0] for r in removed]
        assert len(ids) == len(set(ids)), (tasks, ids)  # the truncation row's id clashes with no record's
        assert len(kept) + len(removed) == led["records_read"] == n_records, (tasks, kept, removed)
        if positions is not None:  # one file: every position once
            assert sorted([r[1] for r in kept] + [r[2] for r in removed]) == positions, (tasks, kept, removed)
        assert len(led["quarantined_files"]) == 1 and led["quarantined_files"][0]["reason"] == reason, tasks
    base = res[1][1:]
    for tasks in TASKS[1:]:
        assert res[tasks][1:] == base, tasks  # kept and removed rows identical for every task count


@pytest.mark.parametrize("gz", [False, True], ids=["warc", "warc.gz"])
def test_warc_cut_quietly_in_a_payload_is_reported_once_whatever_the_tasks(tmp_path, gz):
    """Failed before for 2 and 5 tasks: the cut record (response 4, kept by task 1 or 3) was silently lost."""
    data, offs = _warc(gz)
    name = "site.warc.gz" if gz else "site.warc"
    cut = data[: (offs[4] + offs[5]) // 2]  # in the middle of record 4's payload: warcio stops quietly
    res = _build_all(tmp_path, {name: cut}, f'{{type: warc, paths: ["../*.{name.split(".", 1)[1]}"]}}')
    _check(res, "read_truncated_file", 4, 4, [1, 2, 3, 4])
    led = res[2][0]
    assert "record 4" in led["quarantined_files"][0]["detail"]


@pytest.mark.parametrize("gz, cut_at", [(True, 40), (False, 13), (False, "Content-Length: "), (False, 40)],
                         ids=["warc.gz-quiet", "warc-quiet", "warc-empty-length", "warc-raises"])
def test_warc_cut_in_a_record_header_is_reported_once(tmp_path, gz, cut_at):
    """A file cut in record 4's WARC header. Failed before for every task count where warcio stops quietly: in a
    cut gzip member (``warc.gz-quiet``) or on a header it reads as the end of the file (``warc-quiet``): record 4 and
    the cut vanished without a row; a header cut after ``Content-Length:`` was a record of length 0, removed as
    read_unsupported_record, the file never quarantined (``warc-empty-length``). ``warc-raises`` is a
    regression test (worked before): warcio raises, every task sees it after record 3, the file's owner reports."""
    data, offs = _warc(gz)
    cut = offs[4] + cut_at if isinstance(cut_at, int) else data.index(cut_at.encode(), offs[4]) + len(cut_at)
    name = "site.warc.gz" if gz else "site.warc"
    res = _build_all(tmp_path, {name: data[:cut]}, f'{{type: warc, paths: ["../*.{name.split(".", 1)[1]}"]}}')
    _check(res, "read_truncated_file", 4, 4, [1, 2, 3, 4])
    assert "after record 3" in res[5][0]["quarantined_files"][0]["detail"]


def test_warc_cut_in_the_http_headers_is_a_truncation_not_an_unsupported_record(tmp_path):
    """Failed before for every task count: the cut record was removed as read_unsupported_record (its few bytes are
    no HTML) and the file was never quarantined."""
    data, offs = _warc(False)
    cut = data.index(b"HTTP/1.1 200", offs[4]) + 10
    res = _build_all(tmp_path, {"site.warc": data[:cut]}, '{type: warc, paths: ["../*.warc"]}')
    _check(res, "read_truncated_file", 4, 4, [1, 2, 3, 4])


def test_cut_jsonl_gz_shared_by_tasks_is_reported_once(tmp_path):
    """Regression (worked before): every task decompresses the whole .jsonl.gz and meets the cut at the same line,
    the file's owner reports it; a good file after it keeps the record striping in step."""
    texts = ["Un texte en français numéro {i}, assez long pour être un vrai document à garder. " * 8,
             "Encore un paragraphe {i} qui parle de la pluie et du beau temps dans les villages. " * 8]
    lines = b"".join(json.dumps({"id": f"r{i}", "text": texts[i % 2].format(i=i)}).encode() + b"\n"
                     for i in range(9))
    data = gzip.compress(lines)
    good = b"".join(json.dumps({"id": f"g{i}", "text": texts[i % 2].format(i=100 + i)}).encode() + b"\n"
                    for i in range(3))
    res = _build_all(tmp_path, {"a_cut.jsonl.gz": data[: len(data) * 2 // 3], "b_good.jsonl": good},
                     '{type: jsonl, paths: ["../*.jsonl*"]}', languages="[fr]")
    led = res[1][0]
    cut_row = [r for r in res[1][2] if r[1] == "read_truncated_file"]
    assert len(cut_row) == 1
    pos = cut_row[0][2]
    _check(res, "read_truncated_file", pos, led["records_read"])
    assert sum(1 for r in res[1][1] if r[0].startswith("shared/g")) == 3  # the good file, after the cut one, whole


def test_jsonl_zst_is_read(tmp_path):
    """Failed before: the zstandard stream reader cannot be iterated by line, every .jsonl.zst was removed whole as
    read_corrupt_file (the README says `.zst` is read transparently)."""
    import zstandard

    lines = b"".join(json.dumps({"id": f"z{i}", "text": f"Un texte en français numéro {i}, assez long pour rester "
                                 "un vrai document dans la construction du corpus. " * 6}).encode() + b"\n"
                     for i in range(4))
    res = _build_all(tmp_path, {"a.jsonl.zst": zstandard.ZstdCompressor().compress(lines)},
                     '{type: jsonl, paths: ["../*.jsonl.zst"]}', languages="[fr]")
    for tasks, (led, kept, removed) in res.items():
        assert led["records_read"] == 4 and not led["quarantined_files"], (tasks, removed)
        assert res[tasks][1:] == res[1][1:]
