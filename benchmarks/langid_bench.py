"""Language identification benchmark (run by hand): accuracy on real text and speed inside a build.

    .venv/bin/python benchmarks/langid_bench.py [--corpora ../shared/corpora] [--paragraphs 20000]

(a) Accuracy of the `language_id` stage (fastText lid.176.ftz, bundled) on every fr/en/de/es/it
    document of >= 200 characters of the shared corpora (UD treebanks, ELTeC novels, noisy French OCR):
    per-language precision/recall and accuracy per corpus; plus snippets under 40 characters (the first
    words of each UD PUD document, cut at a word boundary) for fastText alone, langdetect and, if
    installed, the lingua second opinion.
(b) Speed on 500-character paragraphs (ELTeC, 5 languages), one core, in the same run: the model alone
    (fasttext `model.predict`), the stage step alone, and the stage inside a real build (`lucie-data`
    runner, 1 task/1 worker; the stage's own time comes from datatrove's per-step time stats), in
    interleaved rounds, best round of each.
Writes benchmarks/results/langid.md and langid.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import textwrap
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LANGS = ["fr", "en", "de", "es", "it"]


def load_docs(corpora: Path, min_chars: int = 200) -> list[dict]:
    docs = []
    for f in sorted(corpora.glob("*.jsonl")):
        if f.name.startswith(("code", "parallel", "html")):
            continue
        kind = "ocr" if "ocr" in f.name else "eltec" if "eltec" in f.name else "ud"
        for line in open(f, encoding="utf-8"):
            r = json.loads(line)
            if r.get("language") in LANGS and len(r["text"]) >= min_chars:
                docs.append({"id": r["id"], "text": r["text"], "gold": r["language"], "corpus": f.stem, "kind": kind})
    return docs


def snippets(corpora: Path, max_chars: int = 40) -> list[dict]:
    out = []
    for lang in LANGS:
        for line in open(corpora / f"{lang}_ud_pud.jsonl", encoding="utf-8"):
            r = json.loads(line)
            t = r["text"][:max_chars]
            cut = t.rfind(" ") if len(r["text"]) > max_chars else len(t)
            s = t[:cut].strip() if cut > 10 else t.strip()
            if 0 < len(s) < max_chars:
                out.append({"id": r["id"], "text": s, "gold": lang})
    return out


def make_step(languages, **args):
    from lucie_data.recipe import SourceRecipe
    from lucie_data.stages import BuildContext

    rec = SourceRecipe.model_validate({"name": "b", "category": "web", "languages": languages, "license": "CC0-1.0",
                                       "input": {"type": "jsonl", "paths": ["x"]},
                                       "stages": [{"type": "language_id", **args}]})
    (step,) = rec.stages[0].build(BuildContext(source=rec, stage_id="language_id", source_dir=tempfile.mkdtemp()))
    return step


def run_step(step, texts: list[str]) -> list[dict]:
    from datatrove.data import Document

    docs = [Document(text=t, id=str(i), metadata={}) for i, t in enumerate(texts)]
    return [d.metadata for d in step.run(iter(docs))]


def prf(golds: list[str], preds: list[str]) -> dict:
    out = {}
    for lang in LANGS:
        tp = sum(g == lang and p == lang for g, p in zip(golds, preds))
        fp = sum(g != lang and p == lang for g, p in zip(golds, preds))
        fn = sum(g == lang and p != lang for g, p in zip(golds, preds))
        out[lang] = {"docs": golds.count(lang), "precision": round(tp / (tp + fp), 4) if tp + fp else None,
                     "recall": round(tp / (tp + fn), 4) if tp + fn else None}
    return out


def accuracy_part(corpora: Path) -> dict:
    docs = load_docs(corpora)
    metas = run_step(make_step(LANGS), [d["text"] for d in docs])
    preds = [m["language"] for m in metas]
    golds = [d["gold"] for d in docs]
    per_corpus = defaultdict(lambda: [0, 0])
    for d, p in zip(docs, preds):
        per_corpus[d["corpus"]][0] += p == d["gold"]
        per_corpus[d["corpus"]][1] += 1
    misses = [{"id": d["id"], "corpus": d["corpus"], "gold": d["gold"], "pred": m["language"],
               "score": m["language_score"], "text": d["text"][:120]}
              for d, m in zip(docs, metas) if m["language"] != d["gold"]]
    # what the gate (min_score 0.65, languages = gold) would keep
    gate_kept = sum(m["language"] == d["gold"] and m["language_score"] >= 0.65 for d, m in zip(docs, metas))
    res = {"docs": len(docs), "accuracy": round(sum(g == p for g, p in zip(golds, preds)) / len(docs), 5),
           "ocr_accuracy": round(sum(p == d["gold"] for d, p in zip(docs, preds) if d["kind"] == "ocr")
                                 / max(1, sum(d["kind"] == "ocr" for d in docs)), 5),
           "per_language": prf(golds, preds),
           "per_corpus": {k: {"docs": v[1], "accuracy": round(v[0] / v[1], 4)} for k, v in sorted(per_corpus.items())},
           "gate_065_keeps": round(gate_kept / len(docs), 5), "misses": misses}
    for key, max_chars in (("short_snippets_lt_40_chars", 40), ("short_snippets_lt_20_chars", 20)):
        snip = snippets(corpora, max_chars)
        sg = [s["gold"] for s in snip]
        short = {"snippets": len(snip), "mean_chars": round(sum(len(s["text"]) for s in snip) / len(snip), 1)}
        variants = [("fasttext", {}),
                    ("fasttext + langdetect second opinion", {"second_opinion": "langdetect",
                                                              "short_text_chars": max_chars}),
                    ("langdetect", {"backend": "langdetect"})]
        try:
            import lingua  # noqa: F401

            variants.insert(1, ("fasttext + lingua second opinion (candidates fr/en/de/es/it)",
                                {"second_opinion": "lingua", "short_text_chars": max_chars}))
        except ImportError:
            short["lingua"] = "not installed (pip install 'lucie-data[lingua]')"
        for name, args in variants:
            m = run_step(make_step(LANGS, **args), [s["text"] for s in snip])
            short[name] = round(sum(x["language"] == g for x, g in zip(m, sg)) / len(sg), 4)
        res[key] = short
    return res


def paragraphs(corpora: Path, n: int, size: int = 500) -> list[str]:
    per_lang = n // len(LANGS)
    out = []
    for lang in LANGS:
        got = 0
        for line in open(corpora / f"{lang}_eltec_novels.jsonl", encoding="utf-8"):
            t = json.loads(line)["text"]
            for i in range(0, len(t) - size, size):
                out.append(t[i:i + size])
                got += 1
                if got >= per_lang:
                    break
            if got >= per_lang:
                break
    return out


def speed_part(corpora: Path, n: int, rounds: int = 3) -> dict:
    import fasttext

    from lucie_data.recipe import load_pipeline
    from lucie_data.runner import build
    from lucie_data.steps.langid import vendored_model_path

    paras = paragraphs(corpora, n)
    model = fasttext.load_model(vendored_model_path())
    flat = [p.replace("\n", " ") for p in paras]
    model.predict(flat[0], k=3)
    res = {"paragraphs": len(paras), "chars_each": 500, "rounds": rounds}
    step = make_step(LANGS)
    from datatrove.data import Document

    def timed(fn) -> float:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    def stage_only():
        for _ in step.run(iter([Document(text=p, id=str(i), metadata={}) for i, p in enumerate(paras)])):
            pass

    t_model, t_step, t_doc, t_stage, t_wall = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with open(tmp / "paras.jsonl", "w", encoding="utf-8") as f:
            for i, p in enumerate(paras):
                f.write(json.dumps({"id": str(i), "text": p}, ensure_ascii=False) + "\n")
        (tmp / "src.yaml").write_text(textwrap.dedent("""\
            name: paras
            category: book
            languages: [fr, en, de, es, it]
            license: CC-BY-4.0
            input: {type: jsonl, paths: [paras.jsonl]}
            stages:
              - type: language_id
            """))
        (tmp / "pipe.yaml").write_text("name: b\nsources: [src.yaml]\nexecutor: {tasks: 1, workers: 1}\n")
        # the machine is shared: interleave the measurements and keep the best round of each
        for r in range(rounds):
            t_model.append(timed(lambda: [model.predict(x, k=3) for x in flat]))
            t_doc.append(timed(lambda: [Document(text=p, id=str(i), metadata={}) for i, p in enumerate(paras)]))
            t_step.append(timed(stage_only))
            out = tmp / f"out{r}"
            t_wall.append(timed(lambda: build(load_pipeline(tmp / "pipe.yaml"), out)))
            assert json.loads((out / "sources" / "paras" / "ledger.json").read_text())["balanced"]
            stats = json.loads((out / "sources" / "paras" / "logs" / "seg0" / "stats.json").read_text())
            step_stats = next(s for s in stats if "Language ID" in s["name"])
            t_stage.append(step_stats["time_stats"]["total"])
    n = len(paras)
    res["model_alone_docs_s"] = round(n / min(t_model))
    res["model_alone_docs_s_each_round"] = [round(n / t) for t in t_model]
    res["stage_step_alone_docs_s"] = round(n / (min(t_step) - min(t_doc)))
    res["stage_in_build_docs_s"] = round(n / min(t_stage))
    res["stage_in_build_docs_s_each_round"] = [round(n / t) for t in t_stage]
    res["whole_build_docs_s"] = round(n / min(t_wall))
    res["whole_build_seconds"] = round(min(t_wall), 2)
    res["stage_vs_model"] = round(res["stage_in_build_docs_s"] / res["model_alone_docs_s"], 3) if res["stage_in_build_docs_s"] else None
    return res


def write_report(res: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "langid.json").write_text(json.dumps(res, indent=2, ensure_ascii=False, sort_keys=True))
    a, s = res["accuracy"], res["speed"]
    lines = [
        "# Language identification benchmark", "",
        f"Command: `{res['command']}` · {res['date']} · Python {res['python']} · {res['machine']}", "",
        "Detector: fastText lid.176.ftz (bundled, offline) through the `language_id` stage.", "",
        f"## Accuracy, documents ≥ 200 characters ({a['docs']} documents: UD, ELTeC, French OCR)", "",
        f"- document accuracy: **{a['accuracy']:.4f}** (target ≥ 0.995); OCR documents: **{a['ocr_accuracy']:.4f}**",
        f"- share a `language_gate` (min_score 0.65, gold language expected) would keep: {a['gate_065_keeps']:.4f}", "",
        "| language | docs | precision | recall |", "|---|---|---|---|",
        *[f"| {k} | {v['docs']} | {v['precision']} | {v['recall']} |" for k, v in a["per_language"].items()], "",
        "| corpus | docs | accuracy |", "|---|---|---|",
        *[f"| {k} | {v['docs']} | {v['accuracy']} |" for k, v in a["per_corpus"].items()], "",
        f"Misses ({len(a['misses'])}):", "",
        *[f"- `{m['id']}` ({m['corpus']}): gold {m['gold']}, predicted {m['pred']} ({m['score']}): "
          f"{m['text'][:90]!r}" for m in a["misses"]], "",
        *[line for key, lim in (("short_snippets_lt_40_chars", 40), ("short_snippets_lt_20_chars", 20)) for line in (
            f"## Snippets under {lim} characters ({a[key]['snippets']} UD PUD openings cut at a word boundary, "
            f"mean {a[key]['mean_chars']} chars)", "",
            "| detector | accuracy |", "|---|---|",
            *[f"| {k} | {v} |" for k, v in a[key].items() if k not in ("snippets", "mean_chars")], "")],
        f"## Speed, one core, {s['paragraphs']} paragraphs of 500 characters (ELTeC, 5 languages)", "",
        "| what | docs/s |", "|---|---|",
        f"| fastText model alone (`model.predict(text, k=3)`) | {s['model_alone_docs_s']:,} |",
        f"| `language_id` step alone (Documents in, annotated Documents out) | {s['stage_step_alone_docs_s']:,} |",
        f"| `language_id` inside a real build (datatrove time of the step) | {s['stage_in_build_docs_s']:,} |",
        f"| whole build (read, ledger counters, language_id, Parquet writer, ledger) | {s['whole_build_docs_s']:,} |",
        "", f"Best of {s['rounds']} interleaved rounds; per round, model alone: {s['model_alone_docs_s_each_round']}, "
        f"stage in build: {s['stage_in_build_docs_s_each_round']}.", f"Stage in build / model alone: **{s['stage_vs_model']}** (target: ≥ 15,000 docs/s where the model does ~17,000).",
        "The machine is shared (2 cores, other builds running): absolute figures move by ±30 % between runs;"
        " the ratio compares rounds of the same run.", ""]
    (out_dir / "langid.md").write_text("\n".join(lines))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    ap.add_argument("--paragraphs", type=int, default=20_000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args()
    corpora = Path(args.corpora)
    res = {"command": "python benchmarks/langid_bench.py " + " ".join(sys.argv[1:]),
           "date": time.strftime("%Y-%m-%d"), "python": platform.python_version(), "machine": platform.machine()}
    res["accuracy"] = accuracy_part(corpora)
    print(f"accuracy {res['accuracy']['accuracy']} on {res['accuracy']['docs']} docs", flush=True)
    res["speed"] = speed_part(corpora, args.paragraphs)
    print(json.dumps(res["speed"]), flush=True)
    write_report(res, Path(args.out))
    print(f"wrote {args.out}/langid.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
