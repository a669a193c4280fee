"""Perplexity reviews (rv43 F1/F2, rv41 F5): the stage scored raw text where CCNet's models and Lucie's thresholds
assume CCNet's normalisation.

Text: ELTeC French chapters (tests/data/quality/fr_eltec_novels.jsonl, CC-BY-4.0; see tests/data/README.md)."""
from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from lucie_data.stages import AnyStage

DATA = Path(__file__).parent / "data" / "quality"
STAGE = TypeAdapter(AnyStage)


def chapters() -> list[str]:
    return [json.loads(line)["text"] for line in open(DATA / "fr_eltec_novels.jsonl", encoding="utf-8")]


def write_arpa(path: Path, texts: list[str]) -> Path:
    """A bigram ARPA model (add-one unigrams, frequent bigrams) estimated on ``texts``, one sentence per text."""
    train = " ".join(texts).split()
    uni, bi = Counter(train), Counter(zip(train, train[1:]))
    vocab = sorted(uni)
    total = sum(uni.values()) + len(vocab) + 2
    top = [(a, b) for (a, b), c in bi.most_common(3000) if c > 1]
    lines = ["\\data\\", f"ngram 1={len(vocab) + 3}", f"ngram 2={len(top)}", "", "\\1-grams:",
             f"{math.log10(1 / total):.6f}\t<unk>\t0", f"{math.log10(1 / total):.6f}\t</s>\t0", "-99\t<s>\t0"]
    lines += [f"{math.log10((uni[w] + 1) / total):.6f}\t{w}\t-0.3" for w in vocab]
    lines += ["", "\\2-grams:"] + [f"{math.log10(bi[(a, b)] / (uni[a] + 1)):.6f}\t{a} {b}" for a, b in top]
    path.write_text("\n".join(lines + ["", "\\end\\", ""]), encoding="utf-8")
    return path


def test_ccnet_normalisation():
    """CCNet's text_normalizer.normalize: lower case, accents stripped, each digit -> 0 (datatrove's port folds
    ``1830`` into one ``0``), Unicode punctuation replaced (« » … — ’), control characters removed, line breaks
    included (so the lines of a text are joined, as in CCNet's pipeline)."""
    from lucie_data.steps.quality.perplexity import ccnet_normalize

    text = "« Était-ce là ? » dit-il.\nÀ Paris, le 14 juillet 1830…\n\n\tÉmile’s — ÇA\x85"
    assert ccnet_normalize(text) == "\" etait-ce la ? \" dit-il.a paris, le 00 juillet 0000...emile's  -  ca"


def test_perplexity_of_a_model_trained_on_normalised_text(tmp_path):
    """rv43 F1: the same model and text gave 2.8x CCNet's perplexity (capitals, accents, digits and « » are out of
    a CCNet model's vocabulary), so a threshold calibrated CCNet's way removed every clean chapter."""
    kenlm = pytest.importorskip("kenlm")
    from lucie_data.steps.quality.perplexity import PerplexityFilter, ccnet_normalize

    texts = chapters()
    model = write_arpa(tmp_path / "fr.arpa", [ccnet_normalize(t) for t in texts[:6]])
    lm = kenlm.Model(str(model))
    f = PerplexityFilter(str(model))
    held_out = texts[6:]
    for t in held_out:  # CCNet's document perplexity: the normalised text, one line
        norm = ccnet_normalize(t)
        assert f.perplexity(t) == round(10 ** (-lm.score(norm) / (len(norm.split()) + 1)), 1)
    line = "« Était-ce là ? » dit-il. À Paris, le 14 juillet, Émile était déjà là."
    assert f.perplexity(line) == f.perplexity("\" etait-ce la ? \" dit-il. a paris, le 00 juillet, emile etait deja la.")
    # a threshold 1.5x the held-out median (CCNet-style) keeps the clean chapters (raw scoring removed them all)
    ppl = sorted(f.perplexity(t) for t in held_out)
    thr = 1.5 * ppl[len(ppl) // 2]
    rule = PerplexityFilter(str(model), threshold=thr, chunk_chars=100_000)
    from datatrove.data import Document

    assert all(rule.filter(Document(text=t, id=str(i))) is True for i, t in enumerate(held_out))


def test_without_normalisation_every_line_is_scored_as_ccnet_doclm(tmp_path):
    """``normalize: false`` (a model trained on raw text): the raw lines, blank ones included (CCNet's DocLM.do:
    each adds score("") and 1 to the length; they were skipped)."""
    kenlm = pytest.importorskip("kenlm")
    from lucie_data.steps.quality.perplexity import PerplexityFilter

    model = write_arpa(tmp_path / "raw.arpa", chapters()[:6])
    lm = kenlm.Model(str(model))
    text = "Il s'agit bien des noces, ma foi !\n\nVous allez voir."
    lines = text.split("\n")
    want = round(10 ** (-sum(lm.score(x) for x in lines) / sum(len(x.split()) + 1 for x in lines)), 1)
    assert PerplexityFilter(str(model), normalize=False).perplexity(text) == want
    assert PerplexityFilter(str(model)).perplexity(text) != want  # the default normalises
    assert PerplexityFilter(str(model)).perplexity(" \n\n ") is None  # nothing to score


def test_the_stage_passes_normalize_and_it_is_in_the_recipe(tmp_path):
    from lucie_data.recipe import SourceRecipe
    from lucie_data.stages.base import BuildContext

    arpa = str(DATA / "tiny_fr.arpa")
    rec = SourceRecipe.model_validate({"name": "t", "category": "book", "languages": ["fr"], "license": "CC-BY-4.0",
                                       "input": {"type": "jsonl", "paths": ["x.jsonl"]},
                                       "stages": [{"type": "perplexity", "model_path": arpa}]})
    ctx = BuildContext(source=rec, stage_id="perplexity", source_dir=str(tmp_path), work_dir=str(tmp_path / "w"))
    spec = STAGE.validate_python({"type": "perplexity", "model_path": arpa})
    assert spec.normalize is True and spec.build(ctx)[0].normalize is True
    # the resolved recipe (and so every perplexity source's build key) now says `normalize: true`: built before, rebuilt
    assert json.loads(rec.model_dump_json())["stages"][0]["normalize"] is True
    off = STAGE.validate_python({"type": "perplexity", "model_path": arpa, "normalize": False})
    assert off.build(ctx)[0].normalize is False


RECIPE = ("name: s\ncategory: book\nlanguages: [fr]\nlicense: CC-BY-4.0\ninput: {type: jsonl, paths: [in.jsonl]}\n"
          "stages:\n  - type: perplexity\n    model_path: {model}\n{extra}")


def _validate(tmp_path: Path, capsys, model: str, extra: str = "") -> tuple[int, str]:
    from lucie_data.cli import main

    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "1", "text": "Bonjour."}) + "\n", encoding="utf-8")
    f = tmp_path / "r.yaml"
    f.write_text(RECIPE.replace("{model}", model).replace("{extra}", extra), encoding="utf-8")
    capsys.readouterr()
    code = main(["validate", str(f)])
    cap = capsys.readouterr()
    return code, " ".join((cap.out + cap.err).split())


@pytest.mark.parametrize(("missing", "field", "line"), [("sentencepiece", "sp_model_path", 9), ("kenlm", "model_path", 8)])
def test_a_missing_package_is_a_validation_error(tmp_path, capsys, monkeypatch, missing, field, line):
    """rv43 F2: `sp_model_path` passed validate, then every task failed with a bare ModuleNotFoundError."""
    import importlib.util

    shutil.copy(DATA / "tiny_fr.arpa", tmp_path / "lm.arpa")
    (tmp_path / "fr.sp.model").write_bytes(b"\x0a\x00")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name, *a))
    code, out = _validate(tmp_path, capsys, "lm.arpa", "    sp_model_path: fr.sp.model\n")
    assert code == 2, out
    assert (f"r.yaml:{line}: stages[0].{field}: `{field}` needs the {missing} package, which is not installed: "
            f"pip install 'lucie-data[kenlm]' (or pip install {missing})") in out, out


def _arpa_variants(tmp_path: Path) -> dict[str, Path]:
    """tiny_fr.arpa as KenLM reads it: compressed, with blank and `#` lines before \\data\\, with CRLF line ends."""
    import bz2
    import gzip
    import lzma

    raw = (DATA / "tiny_fr.arpa").read_bytes()
    out = {"gz": gzip.compress(raw), "bz2": bz2.compress(raw), "xz": lzma.compress(raw),
           "comments": b"\n  \n# made by a test\n" + raw, "crlf": raw.replace(b"\n", b"\r\n")}
    for name, data in out.items():
        (tmp_path / f"lm.{name}").write_bytes(data)
    return {name: tmp_path / f"lm.{name}" for name in out}


def test_models_kenlm_reads_pass_validate(tmp_path, capsys):
    kenlm = pytest.importorskip("kenlm")
    for name, path in _arpa_variants(tmp_path).items():
        assert kenlm.Model(str(path)).order == 2, name  # (KenLM's own reading of each)
        code, out = _validate(tmp_path, capsys, path.name)
        assert code == 0, (name, out)
    spec = STAGE.validate_python({"type": "perplexity", "model_path": "m.bin"})
    (tmp_path / "m.bin").write_bytes(b"mmap lm http://kheafield.com/code format version 5\n\0" + bytes(200))
    assert spec.file_problem("model_path", str(tmp_path / "m.bin")) is None  # a binary, by its magic


@pytest.mark.parametrize(("content", "why"), [
    (json.dumps({"id": "fr-pud-n01001", "text": "« Alors que … »"}).encode() + b"\n", "is not a KenLM model (neither "
     "an ARPA file, whose first non-empty line is \\data\\, nor a KenLM binary, which starts with 'mmap lm "
     "http://kheafield.com/code'); give the .arpa (gzip, bzip2 or xz compressed or not) or the .arpa.bin"),
    (b"", "is not a KenLM model (neither an ARPA file, whose first non-empty line is \\data\\, nor a KenLM binary, "
     "which starts with 'mmap lm http://kheafield.com/code': the file is empty)"),
    (b"\x1f\x8b\x08\x00 not really gzip", "cannot be decompressed"),
    (b"mmap lm http://kheafield.com/code incomplete\n" + bytes(100), "is a KenLM binary that build_binary did not finish"),
    # code review: KenLM maps a binary into memory and refuses a compressed one ("Did you compress the binary file?")
    (__import__("gzip").compress(b"mmap lm http://kheafield.com/code format version 5\n\0" + bytes(200)),
     "is a compressed KenLM binary, which KenLM cannot map into memory: decompress it"),
    # a unigram ARPA file: KenLM "assumes at least a bigram model" and failed every task at run time
    (b"\\data\\\nngram 1=3\n\n\\1-grams:\n-1.0\t<s>\n-1.0\t</s>\n-1.0\tmot\n\n\\end\\\n",
     "is an ARPA model of order 1, which KenLM does not load (it needs order 2 or more); build one with `lmplz -o 5`"),
], ids=["jsonl", "empty", "broken_gzip", "incomplete_binary", "compressed_binary", "unigram"])
def test_a_model_path_that_is_no_kenlm_model(tmp_path, capsys, content, why):
    """rv41 F5: a file that is no KenLM model passed validate; the build failed after reading its inputs, with 'Rerun
    to resume' and a dump of the file's first line."""
    (tmp_path / "fake.bin").write_bytes(content)
    code, out = _validate(tmp_path, capsys, "fake.bin")
    assert code == 2 and f"r.yaml:8: stages[0].model_path: file 'fake.bin' {why}" in out, out
    assert "fr-pud-n01001" not in out


def _sp_model(tmp_path: Path) -> Path:
    """A small SentencePiece model trained on normalised ELTeC text, as CCNet's fr.sp.model on normalised text."""
    spm = pytest.importorskip("sentencepiece")
    from lucie_data.steps.quality.perplexity import ccnet_normalize

    corpus = tmp_path / "sp.txt"
    corpus.write_text("\n".join(ccnet_normalize(p) for t in chapters()[:6] for p in t.split("\n\n")), encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(tmp_path / "fr"), vocab_size=400,
                                   minloglevel=2)
    return tmp_path / "fr.model"


def test_an_sp_model_path_that_is_no_sentencepiece_model(tmp_path, capsys):
    pytest.importorskip("sentencepiece")
    shutil.copy(DATA / "tiny_fr.arpa", tmp_path / "lm.arpa")
    shutil.copy(DATA / "tiny_fr.arpa", tmp_path / "fr.sp.model")  # the KenLM model given twice
    code, out = _validate(tmp_path, capsys, "lm.arpa", "    sp_model_path: fr.sp.model\n")
    assert code == 2 and ("r.yaml:9: stages[0].sp_model_path: file 'fr.sp.model' is not a SentencePiece model "
                          "(sentencepiece: could not parse ModelProto); give the .sp.model that goes with the KenLM "
                          "model") in out, out
    _sp_model(tmp_path)
    code, out = _validate(tmp_path, capsys, "lm.arpa", "    sp_model_path: fr.model\n")
    assert code == 0, out


def test_perplexity_with_sentencepiece_as_ccnet(tmp_path):
    """CCNet's pipeline with its SentencePiece model: normalise the text, encode it whole, score the pieces."""
    kenlm = pytest.importorskip("kenlm")
    spm = pytest.importorskip("sentencepiece")
    from lucie_data.steps.quality.perplexity import PerplexityFilter, ccnet_normalize

    sp = spm.SentencePieceProcessor(model_file=str(_sp_model(tmp_path)))
    texts = chapters()
    model = write_arpa(tmp_path / "fr.arpa", [" ".join(sp.encode(ccnet_normalize(t), out_type=str)) for t in texts[:6]])
    lm = kenlm.Model(str(model))
    f = PerplexityFilter(str(model), sp_model_path=str(tmp_path / "fr.model"))
    for t in texts[6:9]:
        pieces = " ".join(sp.encode(ccnet_normalize(t), out_type=str))
        assert f.perplexity(t) == round(10 ** (-lm.score(pieces) / (len(pieces.split()) + 1)), 1)


def test_a_model_kenlm_rejects_at_run_time_fails_its_source_with_kenlm_reason(tmp_path):
    """A bigram header over a body KenLM cannot read passes the load-time look; the task failed with KenLM's C++
    signature and 'Rerun to resume', which would fail again. Now: KenLM's own reason and what to give instead."""
    pytest.importorskip("kenlm")
    from lucie_data.errors import InputError
    from lucie_data.steps.quality.perplexity import PerplexityFilter

    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\nngram 1=2\nngram 2=1\n\n\\1-grams:\n-1.0\t<s>\n\n\\end\\\n", encoding="utf-8")
    spec = STAGE.validate_python({"type": "perplexity", "model_path": str(bad)})
    assert spec.file_problem("model_path", str(bad)) is None  # the look at its head passes it
    f = PerplexityFilter(str(bad), removed_dir=str(tmp_path / "removed"), stage_id="ppl", stage_type="perplexity")
    with pytest.raises(InputError, match=r"^perplexity: KenLM cannot read the model '.*bad\.arpa': .*; give a KenLM "
                                         r"model \(an ARPA file of order 2 or more") as e:
        f.perplexity(chapters()[0])
    assert "lm::ngram" not in str(e.value) and "threw" not in str(e.value)
