"""How often `language_id`'s sample of a long document stands, and whether its answer is the whole text's (rv52).

    .venv/bin/python benchmarks/langid_sampling.py [--corpora ../shared/corpora] [--backend fasttext|langdetect]

Every natural-language document over `sample_chars` (2,000) of the shared corpora, read and normalised as a build
reads them (the JSONL files with their recipe's language, the html pages with their sidecar's, the Gutenberg text
files as French), identified by the stage (a) as declared, (b) with no declared language, each compared with the
stage reading the whole text (`sample_chars: null`) and with the sample alone (the stage before rv52). Prints a
Markdown table; about 20 s with fastText on 2 cores, a few minutes with langdetect.
"""
from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("fr", "en", "de", "es", "it")


def recipe(name: str, languages: list[str], input_spec: dict):
    from lucie_data.recipe import SourceRecipe

    return SourceRecipe.model_validate({
        "name": name, "category": "web", "languages": languages, "license": "CC-BY-4.0", "input": input_spec,
        "stages": [{"type": "normalize"}, {"type": "language_id"}, {"type": "language_gate"}]})


def read(corpora: Path, min_chars: int) -> list:
    """(source, document) of every natural-language document over ``min_chars``, as the build's reader and
    ``normalize`` leave it."""
    from lucie_data.stages import BuildContext
    from lucie_data.steps.readers import RecordReader

    sources = [recipe(f.stem, [f.stem[:2]], {"type": "jsonl", "paths": [str(f)]})
               for f in sorted(corpora.glob("*.jsonl")) if f.stem[:2] in LANGS]
    sources.append(recipe("html_pages", ["en", "de", "fr"], {
        "type": "html", "paths": [str(corpora / "html" / "*.html")], "sidecar": str(corpora / "html_pages.jsonl"),
        "sidecar_key": "path", "language_field": "language"}))
    sources.append(recipe("textfiles", ["fr"], {"type": "text", "paths": [str(corpora / "problematic" / "real_*.txt")]}))
    out = []
    for r in sources:
        files = sorted(str(p) for pat in r.input.paths for p in Path("/").glob(pat.lstrip("/")))
        docs = RecordReader(source=r.name, input_spec=r.input.model_dump(), files=files, base_dir=str(corpora),
                            languages=r.languages, license=r.license, is_code=False, recipe_dir=str(corpora)).run(None)
        ctx = BuildContext(source=r, stage_id="normalize", source_dir="/nonexistent")
        for step in r.stages[0].build(ctx):
            docs = step.run(docs)
        out += [(r, d) for d in docs if "_read_error" not in d.metadata and len(d.text) > min_chars]
    return out


def language_id(r, backend: str, **args):
    from lucie_data.stages import BuildContext

    spec = type(r.stages[1]).model_validate({"type": "language_id", "backend": backend, **args})
    (step,) = spec.build(BuildContext(source=r, stage_id="language_id", source_dir="/nonexistent"))
    return step


def main() -> None:
    from datatrove.data import Document

    from lucie_data.stages.langid import DOC_SAMPLE_CHARS
    from lucie_data.steps.langid import sample_text

    ap = argparse.ArgumentParser()
    ap.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    ap.add_argument("--backend", default="fasttext", choices=["fasttext", "langdetect"])
    a = ap.parse_args()
    docs = read(a.corpora, DOC_SAMPLE_CHARS)
    print(f"{len(docs):,} documents over {DOC_SAMPLE_CHARS:,} characters, backend {a.backend}; each compared with the "
          "stage reading the whole text (`sample_chars: null`)\n")
    print("| | sample alone (before rv52) | sample, whole text in doubt (rv52) |\n|---|---|---|")
    steps: dict = {}
    for declared in (True, False):
        whole, old, new, slow, read_chars = [], [], [], 0, [0, 0, 0]
        for r, d in docs:
            if r.name not in steps:
                steps[r.name] = language_id(r, a.backend, sample_chars=None), language_id(r, a.backend)
            stw, stn = steps[r.name]
            meta = {"language": d.metadata.get("language")} if declared else {}
            seen: list[str] = []  # what the detector reads
            predict = stn.detector.predict
            stn.detector.predict = lambda texts, k, p=predict: seen.extend(texts) or p(texts, k)
            for out, run in ((whole, lambda x: stw._annotate_all([x])), (new, lambda x: stn._annotate_all([x])),
                             (old, lambda x: stn.annotate(x, *stn.identify([sample_text(x.text, DOC_SAMPLE_CHARS)],
                                                                            [x.text])[0]))):
                doc = Document(text=d.text, id=d.id, metadata=dict(meta))
                run(doc)
                out.append(doc.metadata)
            del stn.detector.predict
            read_chars[0] += len(d.text)  # (stw has its own detector: the whole text)
            read_chars[1] += len(seen[-1])  # the sample alone, as before rv52 (read last)
            read_chars[2] += sum(map(len, seen[:-1]))  # the stage's reads
            slow += any(len(t) == len(d.text) for t in seen[:-1])
        n = len(docs)

        def top(m):
            return max(m["language_scores"], key=m["language_scores"].get) if m["language_scores"] else "und"

        def agree(xs, side=False):
            same = sum(top(x) == top(w) and (not side or (x["language"] == w["language"] and (
                x["language_score"] >= 0.65) == (w["language_score"] >= 0.65))) for x, w in zip(xs, whole))
            return f"{same:,} ({same / n:.2%})"

        print(f"| **{'as declared' if declared else 'no declared language'}**, {n:,} documents: same top language as "
              f"the whole text | {agree(old)} | {agree(new)} |")
        print(f"| and same `language`, same side of 0.65 | {agree(old, True)} | {agree(new, True)} |")
        print(f"| identified whole | 0 | {slow:,} ({slow / n:.2%}) |")
        print(f"| characters read by the detector (whole texts: {read_chars[0]:,}) | {read_chars[1]:,} | "
              f"{read_chars[2]:,} (+{read_chars[2] / read_chars[1] - 1:.0%}) |")


if __name__ == "__main__":
    main()
