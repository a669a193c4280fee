"""Language identification: accuracy on real labelled text, the gate's reasons, chunk mode, offline use,
recipe validation, and end-to-end builds (ledger, partitions by language, manifest)."""
import hashlib
import json
import re
import socket
import textwrap
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from datatrove.data import Document

from lucie_data.errors import InputError
from lucie_data.recipe import SourceRecipe, load_pipeline, load_source
from lucie_data.runner import build
from lucie_data.stages import BuildContext

from .conftest import DATA, write

LABELLED = DATA / "langid" / "labelled.jsonl"
PROBLEMS = DATA / "problematic" / "problematic_docs.jsonl"


def rows(path=LABELLED):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def problem(pid):
    return next(r for r in rows(PROBLEMS) if r["id"] == pid)


def recipe_with(stages, languages=("fr",), category="book"):
    return SourceRecipe.model_validate({
        "name": "t", "category": category, "languages": list(languages), "license": "CC-BY-4.0",
        "input": {"type": "jsonl", "paths": ["x.jsonl"]}, "stages": stages})


def steps_of(tmp_path, stages, languages=("fr",), index=0, category="book"):
    rec = recipe_with(stages, languages, category)
    spec = rec.stages[index]
    sid = spec.name or spec.type
    return spec.build(BuildContext(source=rec, stage_id=sid, source_dir=str(tmp_path), work_dir=str(tmp_path / "w")))


def annotate(tmp_path, docs, languages=("fr",), category="book", **args):
    (step,) = steps_of(tmp_path, [{"type": "language_id", **args}], languages, category=category)
    return list(step.run(iter(docs)))


def docs_from(records, lang_meta=True):
    return [Document(text=r["text"], id=r["id"], metadata={"language": r["language"]} if lang_meta else {})
            for r in records]


# ------------------------------------------------------------------------------------ accuracy

def test_fasttext_accuracy_per_language_on_real_documents(tmp_path):
    """UD PUD, ELTeC chapters and noisy French OCR (≥ 200 chars): ≥ 99 % per language."""
    recs = [r for r in rows() if len(r["text"]) >= 200]
    out = annotate(tmp_path, docs_from(recs, lang_meta=False), languages=("fr", "en", "de", "es", "it"))
    hits, total = Counter(), Counter()
    for r, d in zip(recs, out):
        total[r["language"]] += 1
        hits[r["language"]] += d.metadata["language"] == r["language"]
    assert set(total) == {"fr", "en", "de", "es", "it"} and min(total.values()) >= 100
    acc = {lang: hits[lang] / total[lang] for lang in total}
    assert min(acc.values()) >= 0.99, acc
    ocr = [d for r, d in zip(recs, out) if "ocr" in r["corpus"]]
    assert len(ocr) == 16 and sum(d.metadata["language"] == "fr" for d in ocr) >= 15


def test_sampled_identification_agrees_with_the_whole_text(tmp_path):
    """Long documents are identified from three windows; the answer is the whole text's (and the truth)."""
    recs = [dict(r, language=f.name[:2]) for f in sorted((DATA / "quality").glob("*_eltec_novels.jsonl"))
            for r in rows(f) if len(r["text"]) > 2000]
    assert len(recs) >= 50 and {r["language"] for r in recs} == {"fr", "en", "de", "es", "it"}
    sampled = annotate(tmp_path, docs_from(recs, lang_meta=False), languages=("fr", "en", "de", "es", "it"))
    whole = annotate(tmp_path, docs_from(recs, lang_meta=False), languages=("fr", "en", "de", "es", "it"),
                     sample_chars=None)
    same = sum(a.metadata["language"] == b.metadata["language"] for a, b in zip(sampled, whole))
    assert same / len(recs) >= 0.99
    right = sum(d.metadata["language"] == r["language"] for r, d in zip(recs, sampled))
    assert right / len(recs) >= 0.99
    assert any(a.metadata["language_score"] != b.metadata["language_score"] for a, b in zip(sampled, whole))


def test_sample_windows_span_the_document_so_a_header_does_not_decide(tmp_path):
    from lucie_data.steps.langid import sample_text

    fr = " ".join(r["text"] for r in rows(DATA / "quality" / "fr_eltec_novels.jsonl"))[:12000]
    header = ("The Project Gutenberg eBook of this work is for the use of anyone anywhere in the United States "
              "and most other parts of the world at no cost and with almost no restrictions whatsoever. ") * 12
    text = header + fr
    assert sample_text(text, None) is text and sample_text(fr[:1500], 2000) == fr[:1500]
    s = sample_text(text, 2000)
    assert len(s) <= 2002 and s.startswith("The Project") and s.split(" ")[-1] == text.split(" ")[-1]
    out = annotate(tmp_path, [Document(text=text, id="gut", metadata={})], languages=("fr",))
    assert out[0].metadata["language"] == "fr"
    head = annotate(tmp_path, [Document(text=text[:2000], id="gut", metadata={})], languages=("fr",))
    assert head[0].metadata["language"] == "en"  # a head-only sample would have been fooled


@pytest.mark.parametrize("sample_chars,short_text_chars,length,second", [
    (2000, 5000, 3000, True),    # shorter than short_text_chars: the second opinion, as without sampling
    (2000, 5000, 8000, False),   # longer: the main detector, though its sample is shorter than short_text_chars
    (300, 600, 1000, False),
    (300, 600, 500, True),
    (None, 600, 1000, False),
])
def test_second_opinion_is_decided_on_the_document_not_its_sample(tmp_path, sample_chars, short_text_chars, length,
                                                                   second):
    """``short_text_chars`` is about the document: sampling a long one must not send it to the second opinion."""
    fr = " ".join(r["text"] for r in rows(DATA / "quality" / "fr_eltec_novels.jsonl"))
    text = fr[:length].rsplit(" ", 1)[0]
    out = annotate(tmp_path, [Document(text=text, id="d", metadata={})], languages=("fr",),
                   second_opinion="langdetect", short_text_chars=short_text_chars, sample_chars=sample_chars)
    assert out[0].metadata["language"] == "fr"
    assert (out[0].metadata["language_detector"] == "langdetect+fasttext:lid.176.ftz") is second, \
        out[0].metadata["language_detector"]


def test_annotation_fields(tmp_path):
    recs = rows()[:40]
    out = annotate(tmp_path, docs_from(recs), top_k=2)
    for d in out:
        m = d.metadata
        scores = m["language_scores"]
        assert 1 <= len(scores) <= 2 and list(scores)[0] == m["language"]
        assert list(scores.values()) == sorted(scores.values(), reverse=True)
        assert all(round(v, 4) == v and 0 <= v <= 1 for v in scores.values())
        assert m["language_score"] == scores[m["language"]] and m["language_detector"] == "fasttext:lid.176.ftz"


def test_code_and_parallel_sources_keep_their_language(tmp_path):
    code = rows(Path(__file__).resolve().parents[1] / "data" / "demo" / "code_permissive.jsonl")[:3]
    docs = [Document(text=r["text"], id=r["id"], metadata={"language": "code:python"}) for r in code]
    out = annotate(tmp_path, docs, languages=("code",), category="programming")
    assert {d.metadata["language"] for d in out} == {"code:python"}
    assert all(d.metadata["language_scores"] for d in out)  # scores are still recorded
    par = [Document(text=r["text"], id=r["id"], metadata={"language": "fr,en"}) for r in rows()[:5]]
    out = annotate(tmp_path, par, languages=("fr,en",), category="aligned")
    assert {d.metadata["language"] for d in out} == {"fr,en"}
    for d in out:  # a pair scores the sum of its members
        m = d.metadata
        assert m["language_score"] == round(m["language_scores"].get("fr", 0) + m["language_scores"].get("en", 0), 4)


def test_langdetect_backend_is_deterministic_and_accurate(tmp_path):
    recs = [r for r in rows() if "pud" in r["corpus"]][::10]  # 50 documents, 10 per language
    a = annotate(tmp_path, docs_from(recs), backend="langdetect")
    b = annotate(tmp_path, docs_from(recs), backend="langdetect")
    assert [d.metadata for d in a] == [d.metadata for d in b]
    assert sum(d.metadata["language"] == r["language"] for r, d in zip(recs, a)) >= 49
    assert a[0].metadata["language_detector"] == "langdetect"


def test_lingua_second_opinion_on_short_text(tmp_path):
    pytest.importorskip("lingua")
    # fastText's known misses on short strings (environment.md): "Bonne nuit" -> en; default cut-off: 20 chars
    short = [Document(text="Bonne nuit", id="s1", metadata={}), Document(text="Guten Morgen", id="s2", metadata={})]
    ft = annotate(tmp_path, [Document(text=d.text, id=d.id, metadata={}) for d in short], languages=("fr", "de", "en"))
    assert ft[0].metadata["language"] != "fr"
    both = annotate(tmp_path, short, languages=("fr", "de", "en"), second_opinion="lingua")
    assert [d.metadata["language"] for d in both] == ["fr", "de"]
    # lingua names the language, fastText scores it (rv52: lingua's confidences are relative among its candidates)
    assert {d.metadata["language_detector"] for d in both} == {"lingua+fasttext:lid.176.ftz"}
    for d, alone in zip(both, ft):
        m = d.metadata
        assert m["language_score"] == m["language_scores"][m["language"]] == alone.metadata["language_scores"].get(
            m["language"], m["language_score"]) < 0.65
    long = annotate(tmp_path, docs_from(rows()[:3]), languages=("fr", "de", "en"), second_opinion="lingua")
    assert {d.metadata["language_detector"] for d in long} == {"fasttext:lid.176.ftz"}


# ------------------------------------------------------------------------------------ the gate

GATE_CASES = [
    # (metadata after language_id, gate args, expected: True or reason)
    ({"language": "fr", "language_score": 0.98, "language_detector": "f"}, {}, True),
    ({"language": "fr", "language_score": 0.65, "language_detector": "f"}, {}, True),  # threshold is inclusive
    ({"language": "fr", "language_score": 0.64, "language_detector": "f"}, {}, "language_low_score"),
    ({"language": "en", "language_score": 0.99, "language_detector": "f"}, {}, "language_not_expected"),
    ({"language": "en", "language_score": 0.99, "language_detector": "f"}, {"languages": ["en", "de"]}, True),
    ({"language": "fr", "language_score": 0.5, "language_detector": "f"}, {"min_score": 0.4}, True),
    ({"language": "fr"}, {}, "language_missing"),
    ({"language": "und", "language_score": 0.0, "language_detector": "f"}, {}, "language_low_score"),
    ({"language": "en", "language_score": 0.3, "language_detector": "f"}, {}, "language_low_score"),  # unsure
    ({"language": "code:python", "language_score": 0.1, "language_detector": "f"}, {"languages": ["code"]}, True),
]


def assert_gate(tmp_path, doc: Document, expected, args: dict | None = None, **where) -> None:
    """The language_gate (``args``) of a recipe (``where``: languages, category) keeps ``doc`` (``expected`` True)
    or removes it with the reason ``expected``."""
    (gate,) = steps_of(tmp_path, [{"type": "language_id"}, {"type": "language_gate", **(args or {})}], index=1, **where)
    kept = list(gate.run(iter([doc])))
    if expected is True:
        assert kept == [doc]
    else:
        assert kept == []
        removed = pl.read_parquet(tmp_path / "removed" / "language_gate" / "*.parquet")
        assert removed["removal_reason"].to_list() == [expected]


@pytest.mark.parametrize("meta, args, expected", GATE_CASES)
def test_gate_reasons(tmp_path, meta, args, expected):
    assert_gate(tmp_path, Document(text="x", id="d", metadata=dict(meta)), expected, args)


def test_gate_on_a_parallel_source_expects_the_pair_and_its_members(tmp_path):
    (gate,) = steps_of(tmp_path, [{"type": "language_id"}, {"type": "language_gate"}], languages=("fr,en",),
                       index=1, category="aligned")
    docs = [Document(text="x", id=lang, metadata={"language": lang, "language_score": 0.9, "language_detector": "f"})
            for lang in ("fr,en", "fr", "en", "de")]
    assert [d.id for d in gate.run(iter(docs))] == ["fr,en", "fr", "en"]


def test_gate_on_real_text(tmp_path):
    """The OCR stock-exchange table (mostly numbers; fastText: en 0.25) is low-score, not "English";
    confident English text is not expected in a French source."""
    recs = {r["id"]: r for r in rows()}
    picked = [recs["newseye-fr-test_fr_6"], recs["fr-pud-n01001"], recs["en-pud-n01001"]]
    out = annotate(tmp_path, docs_from(picked))
    (gate,) = steps_of(tmp_path, [{"type": "language_id"}, {"type": "language_gate"}], index=1)
    kept = list(gate.run(iter(out)))
    assert [d.id for d in kept] == ["fr-pud-n01001"]
    removed = pl.read_parquet(tmp_path / "removed" / "language_gate" / "*.parquet")
    assert dict(zip(removed["id"], removed["removal_reason"])) == {
        "newseye-fr-test_fr_6": "language_low_score", "en-pud-n01001": "language_not_expected"}


# ------------------------------------------------------------------------------------ chunk mode

def test_chunk_annotate_french_document_with_english_paragraph(tmp_path):
    p = problem("problem-028")  # French paragraph followed by its English translation
    (d,) = annotate(tmp_path, [Document(text=p["text"], id="p28", metadata={"language": "fr"})],
                    chunk={"mode": "paragraph"})
    chunks = d.metadata["language_chunks"]
    assert [c[2] for c in chunks] == ["fr", "en"] and all(c[3] > 0.9 for c in chunks)
    assert p["text"][chunks[1][0]:chunks[1][1]].startswith("“While much")
    assert d.text == p["text"] and "modified_by" not in d.metadata


def test_chunk_drop_off_language_leaves_marker(tmp_path):
    p = problem("problem-028")
    fr_par = p["text"].split("\n\n")[0]
    text = fr_par + "\n\n" + p["text"].split("\n\n")[1] + "\n\n" + fr_par  # fr / en / fr
    (d,) = annotate(tmp_path, [Document(text=text, id="p", metadata={"language": "fr"})],
                    chunk={"mode": "paragraph", "action": "drop_off_language"})
    assert d.text == fr_par + "\n\n[...]\n\n" + fr_par
    assert d.metadata["modified_by"] == ["language_id"] and d.metadata["language_chunks_removed"] == 1
    assert d.metadata["language"] == "fr" and d.metadata["language_score"] > 0.95  # scored after the cut
    (end,) = annotate(tmp_path, [Document(text=p["text"], id="p", metadata={})],
                      chunk={"mode": "paragraph", "action": "drop_off_language"})
    assert end.text == fr_par + "\n\n[...]"


def test_chunk_size_mode_extends_to_newline(tmp_path):
    recs = [r for r in rows() if r["corpus"] == "fr_eltec_novels"]
    text = recs[0]["text"] + "\n" + [r for r in rows() if r["corpus"] == "de_eltec_novels"][0]["text"]
    (d,) = annotate(tmp_path, [Document(text=text, id="x", metadata={})], chunk={"mode": "size", "size": 300})
    chunks = d.metadata["language_chunks"]
    assert chunks[0][0] == 0 and chunks[-1][1] == len(text)
    for (s, e, _, _), nxt in zip(chunks, chunks[1:]):
        assert e - s >= 300 and text[e - 1] == "\n" and nxt[0] == e
    langs = [c[2] for c in chunks]
    assert langs[0] == "fr" and langs[-1] == "de" and set(langs) == {"fr", "de"}


def test_chunk_split_makes_one_document_per_language(tmp_path):
    p = problem("problem-028")
    out = annotate(tmp_path, [Document(text=p["text"], id="s/p28", metadata={"language": "fr", "source": "s"})],
                   chunk={"mode": "paragraph", "action": "split"})
    assert [d.id for d in out] == ["s/p28#fr", "s/p28#en"]
    assert [d.metadata["language"] for d in out] == ["fr", "en"]
    assert out[1].text == p["text"].split("\n\n")[1] and all(d.metadata["split_from"] == "s/p28" for d in out)
    removed = pl.read_parquet(tmp_path / "removed" / "language_id" / "*.parquet")
    assert removed["id"].to_list() == ["s/p28"] and removed["text"].to_list() == [p["text"]]
    assert removed["removal_reason"].to_list() == ["language_split_into_parts"]


# ------------------------------------------------------------------------------------ offline

@pytest.fixture
def no_network(monkeypatch):
    """Any internet connection attempt fails loudly and is recorded (local AF_UNIX sockets, which
    multiprocessing uses between processes, still work)."""
    attempts = []
    real_connect = socket.socket.connect

    def refuse(*a, **k):
        attempts.append(a)
        raise OSError("network disabled in tests")

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            return refuse(sock, address)
        return real_connect(sock, address)

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_default_model_works_offline(tmp_path, no_network):
    out = annotate(tmp_path, docs_from(rows()[:5]))
    assert all(d.metadata["language"] == "fr" for d in out)
    assert no_network == []


def test_hub_model_offline_is_a_clear_error_without_download(tmp_path, no_network, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    with pytest.raises(InputError, match=r"cannot get 'model.bin' from Hub repository 'someorg/lid-model'.*"
                                         r"set `model:` to the local file"):
        steps_of(tmp_path, [{"type": "language_id", "model": "someorg/lid-model"}])
    assert no_network == []


def test_local_model_path(tmp_path):
    from lucie_data.steps.langid import vendored_model_path

    copy = tmp_path / "my-lid.ftz"
    copy.write_bytes(Path(vendored_model_path()).read_bytes())
    out = annotate(tmp_path, docs_from(rows()[:3]), model=str(copy))
    assert out[0].metadata["language_detector"] == "fasttext:my-lid.ftz" and out[0].metadata["language"] == "fr"
    with pytest.raises(InputError, match=r"model file '.*nope.ftz' not found"):
        steps_of(tmp_path, [{"type": "language_id", "model": str(tmp_path / "nope.ftz")}])


# ------------------------------------------------------------------------------------ recipe validation

BASE = """\
name: s1
category: web
languages: [fr, en]
license: CC-BY-4.0
input:
  type: jsonl
  paths: [data.jsonl]
stages:
"""

VALID = [
    "  - type: language_id\n",
    "  - type: language_id\n  - type: language_gate\n",
    "  - {type: language_id, top_k: 5}\n  - {type: language_gate, min_score: 0.8, languages: [fr]}\n",
    "  - {type: language_id, backend: langdetect}\n",
    "  - {type: language_id, second_opinion: langdetect, short_text_chars: 60}\n",
    "  - {type: language_id, chunk: {mode: size, size: 10000, action: drop_off_language, languages: [fr]}}\n",
    "  - {type: language_id, chunk: {action: split}}\n  - type: language_gate\n",
    "  - {type: language_id, model: " + str(Path(__file__).resolve().parents[1] / "src/lucie_data/assets/lid.176.ftz") + "}\n",
    "  - {type: language_id, model: facebook/fasttext-language-identification}\n",
    "  - {type: language_id, sample_chars: null}\n",
    "  - {type: language_id, sample_chars: 500}\n",
    "  - {type: language_id, relabel_min_score: 0.5}\n",
]

INVALID = [
    # rv56: a language lingua has no model for failed the task ("Matching enum member not found") after validate
    ("  - {type: language_id, second_opinion: lingua, candidates: [fr, oc]}\n", r"lingua has no model for 'oc'"),
    ("  - {type: language_id, backend: lingua, candidates: [\"no\", sv]}\n",
     r"lingua has no model for 'no'.*Norwegian is `nb` or `nn`"),
    ("  - type: language_gate\n", r"^language_gate needs a `- type: language_id` stage before it"),  # at stages[0] (path)
    ("  - type: language_gate\n  - type: language_id\n", r"language_gate needs a `- type: language_id`"),
    ("  - {type: language_id, backend: cld3}\n", r"Input should be 'fasttext', 'langdetect' or 'lingua'"),
    ("  - {type: language_id, top_k: 0}\n", r"greater than or equal to 1"),
    ("  - {type: language_id, model: lid.176}\n", r"neither a fastText file \(.bin/.ftz\) nor a Hub repository"),
    ("  - {type: language_id, backend: langdetect, model: x.bin}\n", r"`model` only applies to backend fasttext"),
    ("  - {type: language_id, second_opinion: langdetect, backend: langdetect}\n", r"is already the backend"),
    ("  - {type: language_id, short_text_chars: 20}\n", r"`short_text_chars` only applies with a `second_opinion`"),
    ("  - {type: language_id, candidates: [fr, en]}\n", r"`candidates` only applies to lingua"),
    ("  - {type: language_id, chunk: {mode: paragraph, size: 500}}\n", r"`size` only applies to `mode: size`"),
    ("  - {type: language_id, chunk: {mode: sentence}}\n", r"Input should be 'paragraph' or 'size'"),
    ("  - {type: language_id, chunk: {action: drop}}\n", r"'annotate', 'drop_off_language' or 'split'"),
    ("  - {type: language_id, chunk: {size: 50, mode: size}}\n", r"greater than or equal to 100"),
    ("  - {type: language_id, chunk: {languages: [french], action: drop_off_language}}\n", r"not an ISO 639-1 code"),
    ("  - {type: language_id, chunk: {languages: [fr]}}\n", r"only applies to `action: drop_off_language`"),
    ("  - {type: language_id, treshold: 0.5}\n", r"unknown key"),
    ("  - {type: language_id, sample_chars: 100}\n", r"greater than or equal to 300"),
    ("  - {type: language_id, relabel_min_score: 1.5}\n", r"less than or equal to 1 \(got 1.5\)"),
    ("  - {type: language_id, model: models/lid.176.bin}\n", r"file 'models/lid.176.bin' does not exist"),
    ("  - type: language_id\n  - {type: language_gate, min_score: 1.5}\n", r"less than or equal to 1"),
    ("  - type: language_id\n  - {type: language_gate, languages: [French]}\n", r"not an ISO 639-1 code"),
    ("  - type: language_id\n  - {type: language_gate, languages: []}\n", r"`languages` is empty"),
    ("  - type: language_id\n  - {type: language_gate, languages: [qq]}\n", r"'qq' is not an ISO 639 language code"),
    ("  - type: language_id\n  - {type: language_gate, languages: [ger]}\n", r"use the ISO 639-1 code 'de' \(German\)"),
    ("  - {type: language_id, chunk: {languages: [xx], action: drop_off_language}}\n", r"chunk language 'xx': 'xx' is not"),
    ("  - {type: language_id, backend: lingua, candidates: [fr, zz]}\n", r"candidate language 'zz'"),
]


def source_file(tmp_path, stages_yaml):
    write(tmp_path / "data.jsonl", '{"id": "1", "text": "Bonjour"}\n')
    return write(tmp_path / "s1.yaml", BASE + stages_yaml)


@pytest.mark.parametrize("stages_yaml", VALID)
def test_valid_language_configs(tmp_path, stages_yaml):
    src, issues = load_source(source_file(tmp_path, stages_yaml))
    assert issues == [] and src is not None


@pytest.mark.parametrize("stages_yaml, message", INVALID)
def test_invalid_language_configs(tmp_path, stages_yaml, message):
    src, issues = load_source(source_file(tmp_path, stages_yaml))
    assert src is None and len(issues) == 1
    assert str(issues[0]).startswith(str(tmp_path / "s1.yaml"))
    assert re.search(message, issues[0].message), issues[0]


def test_lingua_needs_two_candidates(tmp_path):
    pytest.importorskip("lingua")
    from pydantic import ValidationError

    # refused when the recipe is validated (tests/test_review11_recipes.py), before any stage is built
    with pytest.raises(ValidationError, match=r"lingua needs at least 2 languages.*set `candidates:"):
        steps_of(tmp_path, [{"type": "language_id", "backend": "lingua"}], languages=("fr",))
    # the recipe's own languages as candidates: one lingua has no model for (rv56)
    with pytest.raises(ValidationError, match=r"lingua chooses among the recipe's languages, and has no model for 'oc'"):
        steps_of(tmp_path, [{"type": "language_id", "backend": "lingua"}], languages=("fr", "oc"))


# ------------------------------------------------------------------------------------ builds

def multilingual_source(tmp_path, stages: str, languages="[en, de]") -> Path:
    """A real mixed source: UD PUD + ELTeC in en/de/fr, the French/English problem-028, an OCR table."""
    picked = [r for r in rows() if r["language"] in ("en", "de")][::8]
    picked += [r for r in rows() if r["language"] == "fr"][:6]
    picked += [r for r in rows() if r["id"] == "newseye-fr-test_fr_6"]
    p28 = problem("problem-028")
    picked.append({"id": p28["id"], "text": p28["text"], "license": p28["license"]})
    with open(tmp_path / "mixed.jsonl", "w", encoding="utf-8") as f:
        for r in picked:
            f.write(json.dumps({"id": r["id"], "text": r["text"], "license": r["license"]}, ensure_ascii=False) + "\n")
    write(tmp_path / "src.yaml", textwrap.dedent(f"""\
        name: mixed
        category: web
        languages: {languages}
        license: CC-BY-SA-3.0
        input: {{type: jsonl, paths: [mixed.jsonl], license_field: license}}
        stages:
        """) + textwrap.indent(textwrap.dedent(stages), "  "))
    write(tmp_path / "pipe.yaml", "name: p\nsources: [src.yaml]\nexecutor: {tasks: 2, workers: 1}\n")
    return tmp_path / "pipe.yaml"


def test_build_language_id_and_gate(tmp_path, no_network):
    pipe = load_pipeline(multilingual_source(tmp_path, """\
        - type: language_id
        - {type: language_gate, min_score: 0.65}
        """))
    res = build(pipe, tmp_path / "out")
    assert no_network == []
    led = res.sources[0].ledger
    assert led["balanced"], led["imbalances"]
    gate = led["stages"][-1]
    assert gate["removed"]["language_not_expected"]["docs"] == 7  # 6 French + problem-028 (mostly French)
    assert gate["removed"]["language_low_score"]["docs"] == 1  # the OCR stock table
    src_dir = tmp_path / "out" / "sources" / "mixed"
    assert sorted(p.name for p in (src_dir / "data").iterdir()) == ["de", "en"]
    for lang in ("de", "en"):
        df = pl.read_parquet(src_dir / "data" / lang / "*.parquet")
        assert set(df["language"]) == {lang} and df.height == led["kept_by_language"][lang]["docs"]
        meta = json.loads(df["metadata"][0])
        assert meta["language_detector"] == "fasttext:lid.176.ftz" and lang in meta["language_scores"]
    models = json.loads((tmp_path / "out" / "manifest.json").read_text())["models"]
    (lid,) = [m for m in models if m["name"] == "fasttext-lid.176.ftz"]
    assert lid["license"] == "CC-BY-SA-3.0"
    assert lid["sha256"] == hashlib.sha256(Path(lid["path"]).read_bytes()).hexdigest()


def shard_hashes(out: Path) -> dict:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.glob("sources/*/*/**/*.parquet"))}


def test_build_split_keeps_the_ledger_balanced_and_is_deterministic(tmp_path):
    pipe_file = multilingual_source(tmp_path, """\
        - {type: language_id, chunk: {mode: paragraph, action: split}}
        - type: language_gate
        """, languages="[en, de, fr]")
    res = build(load_pipeline(pipe_file), tmp_path / "out")
    led = res.sources[0].ledger
    assert led["balanced"], led["imbalances"]
    lid = led["stages"][1]
    assert lid["docs_created"] >= 2 and led["docs_created"] == lid["docs_created"]
    assert lid["docs_in"] + lid["docs_created"] == lid["docs_kept"] + lid["docs_removed"]
    assert lid["removed"]["language_split_into_parts"]["docs"] >= 1
    kept = pl.read_parquet(tmp_path / "out" / "sources" / "mixed" / "data" / "**" / "*.parquet")
    parts = kept.filter(pl.col("id").str.contains("problem-028#", literal=True))
    assert sorted(parts["id"]) == ["mixed/problem-028#en", "mixed/problem-028#fr"]
    assert dict(zip(parts["id"], parts["language"])) == {"mixed/problem-028#en": "en", "mixed/problem-028#fr": "fr"}
    assert kept["id"].n_unique() == kept.height
    build(load_pipeline(pipe_file), tmp_path / "out2")
    assert shard_hashes(tmp_path / "out") == shard_hashes(tmp_path / "out2")


def test_build_drop_off_language_marks_modified(tmp_path):
    pipe = load_pipeline(multilingual_source(tmp_path, """\
        - {type: language_id, chunk: {action: drop_off_language}}
        - type: language_gate
        """, languages="[fr]"))
    led = build(pipe, tmp_path / "out").sources[0].ledger
    assert led["balanced"], led["imbalances"]
    kept = pl.read_parquet(tmp_path / "out" / "sources" / "mixed" / "data" / "**" / "*.parquet")
    (p28,) = kept.filter(pl.col("id") == "mixed/problem-028").iter_rows(named=True)
    assert p28["text"].endswith("un peu différent.\n\n[...]") and p28["language"] == "fr"
    assert json.loads(p28["metadata"])["modified_by"] == ["language_id"]
    assert set(kept["language"]) == {"fr"}


def test_example_recipe_builds(tmp_path, root):
    import shutil

    for d in ("sources", "data"):
        shutil.copytree(root / d, tmp_path / d)
    src, issues = load_source(tmp_path / "sources" / "examples" / "multilingual_pud.yaml")
    assert issues == []
    from lucie_data.recipe import single_source_pipeline

    res = build(single_source_pipeline(src, tmp_path / "out"))
    led = res.sources[0].ledger
    assert led["balanced"], led["imbalances"]
    assert set(led["kept_by_language"]) == {"fr", "en", "de"}


def test_report_reconciles_a_build_with_a_language_split(tmp_path):
    """Review: `chunk: {action: split}` adds documents (the ledger's docs_created), and `report` failed an untouched
    build ("documents = records read: expected 8, report 22 … changed since the build")."""
    import json as _json

    from lucie_data.cli import main

    root = Path(__file__).resolve().parents[1]
    recs = [_json.loads(line) for line in (root / "data/demo/parallel_fr_en_pud.jsonl").read_text(encoding="utf-8").splitlines()[:8]]
    (tmp_path / "m.jsonl").write_text("".join(_json.dumps({"id": r["id"], "text": f"{r['text']}\n\n{r['text_en']}"},
                                                          ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    (tmp_path / "s.yaml").write_text(textwrap.dedent("""\
        name: s
        category: web
        languages: [fr, en]
        license: CC-BY-SA-3.0
        input: {type: jsonl, paths: [m.jsonl]}
        stages:
          - {type: language_id, chunk: {mode: paragraph, action: split}}
        """), encoding="utf-8")
    (tmp_path / "p.yaml").write_text("name: p\nsources: [s.yaml]\noutput_dir: b\nexecutor: {type: local, workers: 1, tasks: 1}\n",
                                     encoding="utf-8")
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    led = _json.loads((tmp_path / "b/sources/s/ledger.json").read_text())
    created = sum(st.get("docs_created", 0) for st in led["stages"])
    assert created > 0 and led["balanced"]
    assert main(["report", str(tmp_path / "b")]) == 0
    rep = _json.loads((tmp_path / "b/reports/provenance.json").read_text())
    (chk,) = [c for c in rep["reconciliation"]["checks"] if c["check"].startswith("s: documents = records read")]
    assert chk["ok"] and chk["expected"] == 8 + created == rep["totals"]["kept"]["docs"] + rep["totals"]["removed"]["docs"]


# ------------------------------------------------------------------------------------ the declared language
def test_an_unsure_detector_does_not_relabel_a_declared_language(tmp_path):
    """Review: a French OCR stock table (fastText: en 0.25, fr not in its top 3) became `en` and was written to
    `data/en/`, a declared-Italian heading became `es` (0.545), and the declared language was lost. Below
    `relabel_min_score` (Lucie's 0.65) the declared language stays, scored by its own score, so the gate removes
    the document as `language_low_score`; a confident relabel keeps the declared one in `language_declared`."""
    recs = {r["id"]: r for r in rows()}
    table, en = recs["newseye-fr-test_fr_6"]["text"], recs["en-pud-n01001"]["text"]
    heading = problem("problem-015")["text"]
    docs = [Document(text=table, id="table", metadata={"language": "fr"}),
            Document(text=heading, id="heading", metadata={"language": "it"}),
            Document(text=en, id="en", metadata={"language": "fr"}),
            Document(text=table, id="undeclared", metadata={"language": None})]
    out = {d.id: d.metadata for d in annotate(tmp_path, docs, languages=("fr", "it"))}
    for doc_id, declared in (("table", "fr"), ("heading", "it")):
        m = out[doc_id]
        top, top_score = next(iter(m["language_scores"].items()))
        assert top != declared and top_score < 0.65  # the detector names another language, unsure
        assert m["language"] == declared and "language_declared" not in m
        assert m["language_score"] == m["language_scores"].get(declared, 0.0) < 0.65
    assert out["en"]["language"] == "en" and out["en"]["language_score"] >= 0.65
    assert out["en"]["language_declared"] == "fr"
    # nothing declared: the top language, whatever its score (as before)
    assert out["undeclared"]["language"] == next(iter(out["undeclared"]["language_scores"]))
    assert "language_declared" not in out["undeclared"]
    (gate,) = steps_of(tmp_path, [{"type": "language_id"}, {"type": "language_gate"}], languages=("fr", "it"), index=1)
    gated = annotate(tmp_path, [Document(text=d.text, id=d.id, metadata={"language": d.metadata["language"]})
                                for d in docs[:3]], languages=("fr", "it"))
    assert list(gate.run(iter(gated))) == []
    removed = pl.read_parquet(tmp_path / "removed" / "language_gate" / "*.parquet")
    assert dict(zip(removed["id"], removed["removal_reason"])) == {
        "table": "language_low_score", "heading": "language_low_score", "en": "language_not_expected"}


def test_relabel_min_score_is_configurable(tmp_path):
    recs = {r["id"]: r for r in rows()}
    heading, en = problem("problem-015")["text"], recs["en-pud-n01001"]["text"]
    docs = lambda: [Document(text=heading, id="heading", metadata={"language": "it"}),  # noqa: E731
                    Document(text=en, id="en", metadata={"language": "fr"})]
    low = {d.id: d.metadata for d in annotate(tmp_path, docs(), languages=("fr", "it"), relabel_min_score=0.2)}
    assert low["heading"]["language"] == next(iter(low["heading"]["language_scores"])) != "it"
    assert low["heading"]["language_declared"] == "it"
    high = {d.id: d.metadata for d in annotate(tmp_path, docs(), languages=("fr", "it"), relabel_min_score=1.0)}
    assert [high[k]["language"] for k in ("heading", "en")] == ["it", "fr"]
    assert high["en"]["language_score"] == high["en"]["language_scores"].get("fr", 0.0)
    # rv52: at 0, a text without a letter (no language: und, score 0) was relabelled `und`; it keeps its language
    digits = [Document(text="1 2 3 4 5 — 6 7 8 9 10 ... 2024", id="digits", metadata={"language": "fr"})]
    (zero,) = annotate(tmp_path, digits, languages=("fr", "it"), relabel_min_score=0)
    assert (zero.metadata["language"], zero.metadata["language_score"]) == ("fr", 0.0)
    assert "language_declared" not in zero.metadata
    (everything,) = annotate(tmp_path, docs()[1:], languages=("fr", "it"), relabel_min_score=0)
    assert everything.metadata["language"] == "en"  # (0 still relabels a text with letters to its top language)


def test_split_parts_record_the_declared_language_and_their_own_score(tmp_path):
    p = problem("problem-028")
    out = annotate(tmp_path, [Document(text=p["text"], id="s/p28", metadata={"language": "fr", "source": "s"})],
                   chunk={"mode": "paragraph", "action": "split"})
    assert [d.metadata["language"] for d in out] == ["fr", "en"]
    for d in out:
        m = d.metadata
        assert m["language_score"] == m["language_scores"].get(m["language"], 0.0)
    assert "language_declared" not in out[0].metadata and out[1].metadata["language_declared"] == "fr"


def test_build_keeps_an_unsure_document_under_its_declared_language(tmp_path):
    """Review: in a `languages: [fr]` source without a gate, the OCR stock table was written to `data/en/`. It
    stays in `data/fr/`; the confident English document goes to `data/en/` with `language_declared: fr`; the
    ledger's and the report's per-language counts agree with the shards."""
    from lucie_data.cli import main

    recs = {r["id"]: r for r in rows()}
    picked = [recs[i] for i in ("newseye-fr-test_fr_6", "en-pud-n01001", "fr-pud-n01001", "fr-pud-n01003")]
    with open(tmp_path / "in.jsonl", "w", encoding="utf-8") as f:
        for r in picked:
            f.write(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n")
    write(tmp_path / "src.yaml", "name: s\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-SA-3.0\n"
          "input: {type: jsonl, paths: [in.jsonl]}\nstages: [{type: language_id}]\n")
    write(tmp_path / "p.yaml", "name: p\nsources: [src.yaml]\noutput_dir: b\nexecutor: {type: local, workers: 1}\n")
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    out = tmp_path / "b"
    kept = pl.read_parquet(out / "sources" / "s" / "data" / "**" / "*.parquet")
    langs = dict(zip(kept["id"], kept["language"]))
    assert langs == {"s/newseye-fr-test_fr_6": "fr", "s/en-pud-n01001": "en", "s/fr-pud-n01001": "fr",
                     "s/fr-pud-n01003": "fr"}
    declared = {i: json.loads(m).get("language_declared") for i, m in zip(kept["id"], kept["metadata"])}
    assert declared == {"s/newseye-fr-test_fr_6": None, "s/en-pud-n01001": "fr", "s/fr-pud-n01001": None,
                        "s/fr-pud-n01003": None}
    led = json.loads((out / "sources" / "s" / "ledger.json").read_text())
    assert led["balanced"] and {k: v["docs"] for k, v in led["kept_by_language"].items()} == {"fr": 3, "en": 1}
    assert main(["report", str(out)]) == 0
    rep = json.loads((out / "reports" / "provenance.json").read_text())
    assert rep["reconciliation"]["ok"], [c for c in rep["reconciliation"]["checks"] if not c["ok"]]
    assert {c["language"]: c["docs"] for c in rep["composition"] if c["status"] == "kept"} == {"fr": 3, "en": 1}


# ------------------------------------------------------------------------------------ parallel pairs

PAIR_CASES = [
    # real fastText scores of UD PUD pairs (French sentence + "\n" + its English translation)
    ({"language": "fr,en", "language_scores": {"fr": 0.5545, "en": 0.3104, "es": 0.0113}}, True),
    ({"language": "fr,en", "language_scores": {"fr": 0.4492, "en": 0.0854, "it": 0.061}}, "language_low_score"),
    ({"language": "fr,en", "language_scores": {"en": 0.3645, "de": 0.2665, "ru": 0.0753}}, "language_low_score"),
    # the pair's sum passes, but the top language is neither member
    ({"language": "fr,en", "language_scores": {"de": 0.34, "fr": 0.33, "en": 0.32}}, "language_not_expected"),
    # relabelled by language_id (relabel_min_score below the gate's): the declared pair is in language_declared
    ({"language": "fr", "language_declared": "fr,en", "language_scores": {"fr": 0.5545, "en": 0.3104}}, True),
    ({"language": "fr", "language_scores": {"fr": 0.5545, "en": 0.3104}}, "language_low_score"),  # no pair declared
]


@pytest.mark.parametrize("meta, expected", PAIR_CASES)
def test_gate_scores_a_pair_by_the_sum_of_its_members(tmp_path, meta, expected):
    top = max(meta["language_scores"].values())
    doc = Document(text="x", id="d", metadata={**meta, "language_score": top, "language_detector": "f"})
    assert_gate(tmp_path, doc, expected, languages=("fr,en",), category="aligned")


def test_build_keeps_genuine_parallel_pairs(tmp_path):
    """Review: normalize -> parallel_join -> language_id -> language_gate removed 253 of the 1,000 UD PUD
    French-English pairs as `language_low_score` ("Un témoin a dit à la police…\\nA witness told police…":
    {fr: 0.5545, en: 0.3104}). The gate scores a pair by the sum of its members' scores."""
    root = Path(__file__).resolve().parents[1]
    write(tmp_path / "src.yaml", textwrap.dedent(f"""\
        name: par
        category: aligned
        languages: ["fr,en"]
        license: CC-BY-SA-3.0
        input: {{type: jsonl, paths: ["{root / 'data/demo/parallel_fr_en_pud.jsonl'}"], metadata_fields: [text_en]}}
        stages:
          - type: normalize
          - {{type: parallel_join, field: text_en}}
          - type: language_id
          - type: language_gate
        """))
    write(tmp_path / "pipe.yaml", "name: p\nsources: [src.yaml]\nexecutor: {tasks: 1, workers: 1}\n")
    led = build(load_pipeline(tmp_path / "pipe.yaml"), tmp_path / "out").sources[0].ledger
    assert led["balanced"], led["imbalances"]
    gate = led["stages"][-1]
    assert gate["docs_in"] == 300 and gate["docs_removed"] <= 300 * 0.03, gate["removed"]
    src = tmp_path / "out" / "sources" / "par"
    kept = [json.loads(m) for m in pl.read_parquet(src / "data" / "**" / "*.parquet")["metadata"]]
    pair = lambda m: round(m["language_scores"].get("fr", 0) + m["language_scores"].get("en", 0), 4)  # noqa: E731
    top = lambda m: max(m["language_scores"], key=m["language_scores"].get)  # noqa: E731
    assert all(pair(m) >= 0.65 and top(m) in ("fr", "en") for m in kept)
    assert sum(max(m["language_scores"].values()) < 0.65 for m in kept) >= 50  # the pairs the old gate removed
    if gate["docs_removed"]:
        removed = [json.loads(m) for m in pl.read_parquet(src / "removed" / "language_gate" / "*.parquet")["metadata"]]
        assert all(pair(m) < 0.65 or top(m) not in ("fr", "en") for m in removed)


# ------------------------------------------------------------------------------------ apostrophes

def _sentence(doc_id, start):
    text = next(r["text"] for r in rows() if r["id"] == doc_id)
    i = text.index(start)
    return text[i:text.index(".", i) + 1]


@pytest.mark.parametrize("backend", ["fasttext", "lingua"])
def test_typographic_apostrophes_are_read_as_ascii_by_the_detector(tmp_path, backend):
    """Review: the bundled lid.176.ftz scores "Forse l'abbigliamento richiesto era un po' all'antica." it 0.97, but
    0.15 with ’ (U+2019); French "Aujourd'hui…" 0.96 vs 0.575. Every detector is given ’ and ʼ (U+02BC) as ' (lingua
    reads ʼ, a letter, differently too), the document keeps its own text; real French PUD documents with ’ score as
    they do with '."""
    if backend == "lingua":
        pytest.importorskip("lingua")
    it = _sentence("it-pud-n01003", "Forse l'abbigliamento")
    fr = _sentence("fr-pud-n01009", "Aujourd'hui")
    real = [r for r in rows() if r["corpus"] == "fr_ud_pud" and "\u2019" in r["text"]][:20]
    assert len(real) == 20
    texts = [it, fr, *(r["text"].replace("\u2019", "'") for r in real)]
    variants = {q: [t.replace("'", q) for t in texts] for q in ("'", "\u2019", "\u02bc")}
    variants["as is"] = [it.replace("'", "\u2019"), fr.replace("'", "\u02bc"), *(r["text"] for r in real)]
    out = {q: annotate(tmp_path, [Document(text=t, id=str(i), metadata={}) for i, t in enumerate(ts)],
                       languages=("fr", "it"), backend=backend)
           for q, ts in variants.items()}
    ascii_scores = [d.metadata["language_scores"] for d in out["'"]]
    for q, docs in out.items():
        assert [d.text for d in docs] == variants[q]  # the text is unchanged
        assert [d.metadata["language_scores"] for d in docs] == ascii_scores, q
    if backend == "fasttext":
        assert [d.metadata["language"] for d in out["\u2019"][:2]] == ["it", "fr"]
        assert min(d.metadata["language_score"] for d in out["\u2019"][:2]) >= 0.65


def test_chunks_read_typographic_apostrophes_as_ascii(tmp_path):
    it = _sentence("it-pud-n01003", "Forse l'abbigliamento")
    fr = next(r["text"] for r in rows() if r["id"] == "fr-pud-n01009")
    text = fr + "\n\n" + it
    (ascii_doc,) = annotate(tmp_path, [Document(text=text, id="a", metadata={})], chunk={"mode": "paragraph",
                                                                                         "min_chars": 20})
    curly = text.replace("'", "\u2019")
    (curly_doc,) = annotate(tmp_path, [Document(text=curly, id="c", metadata={})], chunk={"mode": "paragraph",
                                                                                          "min_chars": 20})
    assert curly_doc.text == curly
    assert curly_doc.metadata["language_chunks"] == ascii_doc.metadata["language_chunks"]
    assert [c[2] for c in curly_doc.metadata["language_chunks"]] == ["fr", "it"]
