"""Tokenizer time on adversarial runs (review 13: a 20,000-underscore or a-a-a… run took 2-7 s, quadratic; a 1 MB one
would have taken hours and stalled a worker). Times `words.tokenize` per language on runs of 50,000 and 200,000
characters (compiled loop, then the pure-Python twin in a subprocess) next to ordinary French text, and writes
benchmarks/results/tokenizer_adversarial.md. Linear time shows as a 4x ratio between the two lengths.

    .venv/bin/python benchmarks/tokenizer_adversarial.py
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

RUNS = {"underscores": "_", "a-a-a": "a-", "1-1-1": "1-", "a_a_a": "a_", "¬a¬a": "¬a", "apostrophes a'a'": "a'",
        "dots a.a.": "a.", "at-signs a@a@": "a@", "French clitics t-t-t": "t-", "-il-il": "-il"}
LANGS = ("fr", "en", "de", "es", "it")
SIZES = (50_000, 200_000)


def measure() -> dict:
    from lucie_data.steps.quality import words

    out = {"compiled": words._fast is not None, "rows": []}
    corpus = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "fr_eltec_novels.jsonl"
    if not corpus.exists():
        corpus = Path("/work/shared/corpora/fr_eltec_novels.jsonl")
    text = " ".join(json.loads(x)["text"] for x in corpus.read_text(encoding="utf-8").splitlines())[:200_000]
    t = time.perf_counter()
    words.tokenize(text, "fr")
    out["typical_fr_200k"] = time.perf_counter() - t
    for name, unit in RUNS.items():
        for lang in LANGS:
            row = {"run": name, "lang": lang}
            for n in SIZES:
                s = (unit * (n // len(unit) + 1))[:n]
                t = time.perf_counter()
                words.tokenize(s, lang)
                row[str(n)] = time.perf_counter() - t
            out["rows"].append(row)
    return out


def main() -> None:
    if "--child" in sys.argv:
        print(json.dumps(measure()))
        return
    results = {}
    for mode, env in (("compiled", {}), ("pure Python", {"LUCIE_DATA_PURE_PYTHON": "1"})):
        proc = subprocess.run([sys.executable, __file__, "--child"], capture_output=True, text=True, check=True,
                              env={**os.environ, **env})
        results[mode] = json.loads(proc.stdout)
    lines = ["# Tokenizer on adversarial runs", "",
             f"`.venv/bin/python benchmarks/tokenizer_adversarial.py` ({time.strftime('%Y-%m-%d')}, load "
             f"{os.getloadavg()[0]:.2f}). Seconds per `words.tokenize` call; linear time = the 200k column about 4x the "
             "50k one. Typical text: 200,000 characters of French ELTeC novels.", ""]
    for mode, r in results.items():
        lines += [f"## {mode} (typical French text, 200k chars: {r['typical_fr_200k']:.3f} s)", "",
                  "| run | lang | 50k s | 200k s | ratio |", "|---|---|---:|---:|---:|"]
        worst = 0.0
        for row in r["rows"]:
            a, b = row[str(SIZES[0])], row[str(SIZES[1])]
            worst = max(worst, b)
            lines.append(f"| {row['run']} | {row['lang']} | {a:.3f} | {b:.3f} | {b / a if a else 0:.1f} |")
        lines += ["", f"Slowest 200k run: {worst:.3f} s.", ""]
    out = Path(__file__).resolve().parent / "results" / "tokenizer_adversarial.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main()
