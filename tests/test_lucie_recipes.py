"""The Lucie recipes (sources/lucie/*.yaml, pipelines/lucie.yaml): Lucie's released dataset as lucie-data recipes.

No machine here reaches the Hub: the recipes keep the real Hub id, and the end-to-end test runs copies of four of
them, with only `input.dataset` pointing at a local folder laid out like the released dataset (README `configs:`,
`data/v*/{natural,code}/<lang>/<Source>/*.parquet`, Lucie's columns), filled with real texts from the repository.
Reference facts: /work/shared/notes/lucie-dataset.md §1 (licence codes, categories) and §4 (configs, schema).
"""
import json
import re
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from lucie_data.cli import main
from lucie_data.licenses import license_class, normalize_license
from lucie_data.mix.plan import load_weights_yaml
from lucie_data.recipe import Category, load_pipeline, load_source, validate_paths

ROOT = Path(__file__).resolve().parents[1]
LUCIE_SOURCES = ROOT / "sources" / "lucie"
LUCIE_PIPELINE = ROOT / "pipelines" / "lucie.yaml"
SHIPPED_WEIGHTS = ROOT / "src" / "lucie_data" / "assets" / "lucie" / "weights.yaml"
LUCIE_TOTAL_SEEN = 3_121_744_220_736
HUB_ID = "OpenLLM-France/Lucie-Training-Dataset"

# The per-source configs of the released dataset, copied from lucie-dataset.md §4 ("per source"). No Persee.
LUCIE_SOURCE_CONFIGS = [
    "AmendementsParlement", "AmericanStories", "Claire", "Claire-en", "Claire-fr", "CroissantAligned",
    "DiscoursPublics", "Europarl", "Europarl-de", "Europarl-en", "Europarl-es", "Europarl-fr", "EuroparlAligned",
    "EuroparlAligned-de,fr", "EuroparlAligned-es,en", "EuroparlAligned-fr,en", "EuroparlAligned-it,en", "Eurovoc",
    "Eurovoc-de", "Eurovoc-en", "Eurovoc-es", "Eurovoc-it", "FineWebEdu", "GallicaMonographies", "GallicaPress",
    "Gutenberg", "Gutenberg-de", "Gutenberg-en", "Gutenberg-es", "Gutenberg-fr", "Gutenberg-it", "HAL",
    "InterventionsParlement", "LEGI", "MathPile", "OpenData", "OpenEdition", "PeS2o", "PeS2o-s2ag", "PeS2o-s2orc",
    "Pile", "Pile-DM_Mathematics", "Pile-FreeLaw", "Pile-NIH_ExPorter", "Pile-PhilPapers", "Pile-StackExchange",
    "Pile-USPTO_Backgrounds", "Pile-Ubuntu_IRC", "QuestionsEcritesParlement", "RedPajama", "RedPajama-de",
    "RedPajama-es", "RedPajama-fr", "RedPajama-it", "Stac", "TheStack", "Theses", "Wikipedia", "Wikipedia-de",
    "Wikipedia-en", "Wikipedia-es", "Wikipedia-fr", "Wikipedia-it", "Wikisource", "Wiktionary", "YouTube",
]
LUCIE_SOURCES_ON_HUB = {c.split("-")[0] for c in LUCIE_SOURCE_CONFIGS}

PD_GUT = "LicenseRef-PD-US-Project-Gutenberg"
EUROPARL = "LicenseRef-Europarl-open"
PILE = "LicenseRef-Pile-uncopyrighted"
WIKI = "CC-BY-SA-4.0 OR GFDL-1.3-or-later"
# recipe -> (config, category, licence after normalisation, licence class, passes the lucie pipeline policy)
EXPECTED = {
    "RedPajama": ("RedPajama", "web", "LicenseRef-RedPajama-V2-CommonCrawl-ToU", "unknown", True),
    "FineWebEdu": ("FineWebEdu", "web", "ODC-By-1.0", "permissive", True),
    "GallicaPress": ("GallicaPress", "newspaper", "LicenseRef-public-domain", "public-domain", True),
    "GallicaMonographies": ("GallicaMonographies", "book", "LicenseRef-public-domain", "public-domain", True),
    "HAL": ("HAL", "technical", "LicenseRef-Roots-HAL-open-access", "unknown", True),
    "Theses": ("Theses", "technical", "LicenseRef-theses.fr-HAL-open-access", "unknown", True),
    "OpenEdition": ("OpenEdition", "technical", "LicenseRef-OpenEdition-Books", "unknown", True),
    "Wikipedia": ("Wikipedia", "wiki", WIKI, "share-alike", True),
    "Wikisource": ("Wikisource", "wiki", WIKI, "share-alike", True),
    "Wiktionary": ("Wiktionary", "wiki", WIKI, "share-alike", True),
    **{f"Gutenberg-{l}": (f"Gutenberg-{l}", "book", PD_GUT, "public-domain", True) for l in ("en", "fr", "de", "es", "it")},
    "Europarl": ("Europarl", "legi_dialogue", EUROPARL, "unknown", True),
    **{f"EuroparlAligned-{p.replace(',', '-')}": (f"EuroparlAligned-{p}", "aligned", EUROPARL, "unknown", True)
       for p in ("fr,en", "es,en", "it,en", "de,fr")},
    "CroissantAligned": ("CroissantAligned", "aligned", "LicenseRef-unknown", "unknown", False),
    "Claire": ("Claire", "dialogue", "CC-BY-NC-SA-4.0", "non-commercial", False),
    "Stac": ("Stac", "dialogue", "CC-BY-NC-SA-4.0", "non-commercial", False),
    "Eurovoc": ("Eurovoc", "legi_written", "EUPL-1.1", "share-alike", True),
    "YouTube": ("YouTube", "dialogue", "LicenseRef-unknown", "unknown", False),
    "AmericanStories": ("AmericanStories", "newspaper", "CC-BY-4.0", "permissive", True),
    "PeS2o": ("PeS2o", "technical", "ODC-By-1.0", "permissive", True),
    "Pile-FreeLaw": ("Pile-FreeLaw", "legi_written", PILE, "unknown", True),
    "Pile-StackExchange": ("Pile-StackExchange", "forum", PILE, "unknown", True),
    "Pile-Ubuntu_IRC": ("Pile-Ubuntu_IRC", "forum", PILE, "unknown", True),
    "Pile-USPTO_Backgrounds": ("Pile-USPTO_Backgrounds", "technical", PILE, "unknown", True),
    "Pile-PhilPapers": ("Pile-PhilPapers", "technical", PILE, "unknown", True),
    "Pile-NIH_ExPorter": ("Pile-NIH_ExPorter", "technical", PILE, "unknown", True),
    "Pile-DM_Mathematics": ("Pile-DM_Mathematics", "math", PILE, "unknown", True),
    "MathPile": ("MathPile", "math", "CC-BY-SA-4.0", "share-alike", True),
    "TheStack": ("TheStack", "programming", "LicenseRef-TheStack-terms-of-use", "unknown", True),
    "OpenData": ("OpenData", "legi_written", "ODC-By-1.0", "permissive", True),
    "LEGI": ("LEGI", "legi_written", "LicenseRef-unknown", "unknown", False),
    "DiscoursPublics": ("DiscoursPublics", "legi_spoken", "etalab-2.0", "permissive", True),
    "AmendementsParlement": ("AmendementsParlement", "legi_written", "CC-BY-SA-4.0", "share-alike", True),
    "InterventionsParlement": ("InterventionsParlement", "legi_spoken", "CC-BY-SA-4.0", "share-alike", True),
    "QuestionsEcritesParlement": ("QuestionsEcritesParlement", "legi_written", "CC-BY-SA-4.0", "share-alike", True),
}


@pytest.fixture(scope="module")
def lucie_pipeline():
    return load_pipeline(LUCIE_PIPELINE)


# ----------------------------------------------------------------------------------------------- 1. validation


def test_validate_offline(monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert validate_paths([LUCIE_SOURCES / p.name for p in sorted(LUCIE_SOURCES.glob("*.yaml"))] + [LUCIE_PIPELINE]) == []
    assert main(["validate", str(LUCIE_SOURCES), str(LUCIE_PIPELINE)]) == 0
    assert "valid" in capsys.readouterr().out


def test_every_stage_compiles_with_the_pipeline_policy(lucie_pipeline, tmp_path):
    """Each source's stage list, with the pipeline's implicit licence gate, builds its datatrove steps (no network)."""
    from lucie_data.runner import RunOptions, build_segment_pipeline, compile_segments

    pol = lucie_pipeline.recipe.license_policy
    opts = RunOptions(tasks=1, license_policy=pol)
    for src in lucie_pipeline.sources:
        segs = compile_segments(src, pol)
        assert len(segs) == 1, src.name  # no barrier stage: the released text is not re-curated
        assert segs[-1].stages[-1][0] == "license_policy"
        steps = build_segment_pipeline(src, segs[0], None, tmp_path / src.name, opts, tmp_path)
        assert steps and type(steps[0]).__name__ == "RecordReader"


# ----------------------------------------------------------------------------------------------- 2. the table


def test_recipe_table(lucie_pipeline):
    pol = lucie_pipeline.recipe.license_policy
    loaded = {s.name: s.recipe for s in lucie_pipeline.sources}
    assert set(loaded) == set(EXPECTED)
    categories = set(Category.__args__)
    for name, (config, category, spdx, cls, allowed) in EXPECTED.items():
        r = loaded[name]
        assert r.input.type == "hf_dataset" and r.input.dataset == HUB_ID, name
        assert r.input.config == config and config in LUCIE_SOURCE_CONFIGS, name
        assert (r.input.split, r.input.streaming, r.input.revision) == ("train", True, "v1.1"), name
        assert r.category == category and category in categories, name
        assert r.license == spdx == normalize_license(spdx), name
        assert license_class(r.license) == cls, name
        assert pol.decide(r.license)[0] is allowed, name
        assert r.provenance.url == f"https://huggingface.co/datasets/{HUB_ID}" and "2503.12294" in r.provenance.citation
        assert r.input.text_field == "text" and r.input.id_field == "id"
        # Lucie's columns, and a dotted path into a JSON-string column only where a rule reads that key
        assert {f.split(".")[0] for f in r.input.metadata_fields} <= {"author", "quality_signals", "extra"}, name
        dotted = {f for f in r.input.metadata_fields if "." in f}
        if name.startswith("Gutenberg-"):
            g = r.stages[0].gutenberg
            assert dotted == {g.death_year_field, g.birth_year_field, g.usagerights_field}, name
            assert {"author", "extra"} <= set(r.input.metadata_fields), name  # the JSON strings stay as they are
        else:
            assert not dotted, name
        # a source spanning several (programming) languages, or a pair Lucie writes in text order (fr,en / en,fr),
        # takes each record's `language`; else the recipe's one
        pair = any("," in lang for lang in r.languages)
        assert (r.input.language_field == "language") == (len(r.languages) > 1 or r.is_code or pair), name


def test_every_released_source_is_covered_and_persee_is_not_invented(lucie_pipeline):
    covered = {s.recipe.input.config.split("-")[0] for s in lucie_pipeline.sources}
    assert covered == LUCIE_SOURCES_ON_HUB
    assert not any("persee" in s.name.lower() or "persee" in s.recipe.input.config.lower() for s in lucie_pipeline.sources)


def test_mix_keys_exist_for_every_recipe(lucie_pipeline):
    """Each recipe's weighting keys (language--category, with Lucie's pair order) have a Lucie factor."""
    from lucie_data.mix.stats import mix_language

    factors = load_weights_yaml(SHIPPED_WEIGHTS).factors
    for s in lucie_pipeline.sources:
        for lang in s.recipe.languages:
            assert f"{mix_language(lang)}--{s.recipe.category}" in factors, (s.name, lang)


# ----------------------------------------------------------------------------------------------- 4. the weights


def test_pipeline_mix_block_is_the_shipped_weights(lucie_pipeline, tmp_path):
    spec = lucie_pipeline.recipe.mix
    wf = (LUCIE_PIPELINE.parent / spec.weights_file).resolve()
    assert wf == SHIPPED_WEIGHTS.resolve()
    assert load_weights_yaml(wf) == load_weights_yaml(SHIPPED_WEIGHTS)
    assert len(load_weights_yaml(wf).factors) == 38
    assert main(["mix", "plan", "--weights", str(wf), "--json", str(tmp_path / "plan.json")]) == 0
    assert json.loads((tmp_path / "plan.json").read_text())["total_tokens_seen"] == LUCIE_TOTAL_SEEN


# ----------------------------------------------------------------------------------------------- 3. end to end

def _records(path: Path, n: int) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()][:n]


def _years(author: str) -> tuple[int | None, int | None]:
    m = re.search(r"\((\d{4})-(\d{4})\)", author or "")
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


def _gutenberg_rows(recs: list[dict], lang: str) -> list[dict]:
    """Lucie's Gutenberg schema (metadata_examples.json): author and extra are JSON strings."""
    rows = []
    for r in recs:
        birth, death = _years(r.get("author"))
        rows.append({"text": r["text"], "id": r["id"], "source": "Gutenberg", "language": lang,
                     "title": r.get("title") or r["id"], "date": str(r.get("date") or ""),
                     "author": json.dumps({"author": r.get("author"), "authoryearofbirth": birth,
                                           "authoryearofdeath": death}, ensure_ascii=False),
                     "extra": json.dumps({"usagerights": "open"})})
    return rows


@pytest.fixture(scope="module")
def standin(tmp_path_factory) -> Path:
    """A local folder laid out like the released dataset, with the card's `configs:` for the configs it holds."""
    ds = tmp_path_factory.mktemp("lucie_hub") / "Lucie-Training-Dataset"
    v = ds / "data" / "v1.1"

    def put(rel: str, rows: list[dict]) -> None:
        (v / rel).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows), v / rel)

    first = {}
    for r in _records(ROOT / "data" / "demo" / "fr_eltec_novels.jsonl", 45):
        first.setdefault(r["author"], r)  # the first chapter of each of the four novels
    fr = _gutenberg_rows(list(first.values()), "fr")
    assert len(fr) == 4
    # derived (the only non-real value): the last book's author is given a death year of 1960, too recent for
    # France (2024 - 80 = 1944), to exercise Lucie's rule; the text and the other fields are real. The others keep
    # the years of their ELTeC author field (all died before 1944, or unknown: kept by Lucie's rule).
    a = json.loads(fr[-1]["author"])
    fr[-1]["author"] = json.dumps(dict(a, authoryearofdeath=1960), ensure_ascii=False)
    put("natural/fr/Gutenberg/Gutenberg--fr--000.parquet", fr)
    put("natural/en/Gutenberg/Gutenberg--en--000.parquet",
        _gutenberg_rows(_records(ROOT / "tests" / "data" / "quality" / "en_eltec_novels.jsonl", 3), "en"))
    code = [r for r in _records(ROOT / "data" / "demo" / "code_permissive.jsonl", 62)
            if r.get("programming_language", "").lower() == "python"][:5]
    put("code/python/TheStack/TheStack--python--000.parquet",
        [{"text": r["text"], "id": r["id"], "source": "TheStack", "language": "code:python",
          "extra": json.dumps({"ext": "py", "max_stars_repo_path": r.get("path")}),
          "quality_signals": json.dumps({"max_line_length": max(map(len, r["text"].splitlines()))})} for r in code])
    claire = _records(ROOT / "tests" / "data" / "quality" / "fr_ud_gsd.jsonl", 3)
    put("natural/fr/Claire/Claire--fr--000.parquet",
        [{"text": r["text"], "id": json.dumps({"idx_row": i}), "source": "Claire", "language": "fr",
          "extra": json.dumps({"subset": "UD-GSD stand-in"})} for i, r in enumerate(claire)])
    # EuroparlAligned-fr,en in Lucie's form: every third pair swapped, English first, its language written "en,fr"
    # (stand-in text: the UD French-PUD pairs of the demo, not Europarl)
    pairs = []
    for i, r in enumerate(_records(ROOT / "data" / "demo" / "parallel_fr_en_pud.jsonl", 9)):
        swapped = i % 3 == 0
        pairs.append({"text": f"{r['text_en']}\n{r['text']}" if swapped else f"{r['text']}\n{r['text_en']}",
                      "id": r["id"], "source": "EuroparlAligned", "language": "en,fr" if swapped else "fr,en",
                      "extra": json.dumps({"lang_1": "en" if swapped else "fr", "lang_2": "fr" if swapped else "en"})})
    put("natural/fr-en/EuroparlAligned/EuroparlAligned--fr-en--000.parquet", pairs)
    configs = {  # the card's patterns (lucie-dataset.md §4)
        "EuroparlAligned-fr,en": "data/v*/natural/fr-en/EuroparlAligned/*.parquet",
        "default": "data/v*/*/*/*/*parquet",
        "Gutenberg": "data/v*/natural/*/Gutenberg/*.parquet",
        "Gutenberg-fr": "data/v*/natural/fr/Gutenberg/*.parquet",
        "Gutenberg-en": "data/v*/natural/en/Gutenberg/*.parquet",
        "Claire": "data/v*/natural/*/Claire/*.parquet",
        "Claire-fr": "data/v*/natural/fr/Claire/*.parquet",
        "TheStack": "data/v*/code/*/TheStack/*.parquet",
        "code-python": "data/v*/code/python/*/*.parquet",
    }
    header = {"license": "cc-by-nc-sa-4.0",
              "configs": [{"config_name": k, "data_files": [{"path": p, "split": "train"}]} for k, p in configs.items()]}
    (ds / "README.md").write_text("---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n# stand-in\n", encoding="utf-8")
    return ds


E2E = ["Gutenberg-fr", "Gutenberg-en", "TheStack", "Claire", "EuroparlAligned-fr-en"]


@pytest.fixture(scope="module")
def e2e_build(standin, tmp_path_factory):
    """The real recipes with only `input.dataset` replaced, and the real policy and mix block."""
    work = tmp_path_factory.mktemp("lucie_e2e")
    (work / "sources").mkdir()
    for name in E2E:
        text = (LUCIE_SOURCES / f"{name}.yaml").read_text(encoding="utf-8")
        assert text.count(f"  dataset: {HUB_ID}\n") == 1
        (work / "sources" / f"{name}.yaml").write_text(text.replace(f"  dataset: {HUB_ID}\n", f"  dataset: {standin}\n"),
                                                       encoding="utf-8")
    pipe = yaml.safe_load(LUCIE_PIPELINE.read_text(encoding="utf-8"))
    pipe["sources"] = ["sources/*.yaml"]
    pipe["output_dir"] = "out"
    pipe["executor"] = {"type": "local", "workers": 2, "tasks": 2}
    pipe.pop("tokenizer")  # Lucie's tokenizer is on the Hub; offline, token counts use the regex fallback
    pipe["mix"]["weights_file"] = str((LUCIE_PIPELINE.parent / pipe["mix"]["weights_file"]).resolve())
    # a pipeline's publish_as names its own sources only (a key naming no source is a recipe error)
    pipe["mix"]["publish_as"] = {k: v for k, v in pipe["mix"]["publish_as"].items() if k in E2E}
    (work / "lucie.yaml").write_text(yaml.safe_dump(pipe, sort_keys=False), encoding="utf-8")
    out = work / "out"
    assert main(["build", str(work / "lucie.yaml"), "--output", str(out)]) == 0
    return standin, out


def _kept(out: Path, name: str) -> pl.DataFrame:
    files = sorted((out / "sources" / name / "data").glob("**/*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files]) if files else pl.DataFrame()


def _removed(out: Path, name: str) -> pl.DataFrame:
    files = sorted((out / "sources" / name / "removed").glob("*/*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal") if files else pl.DataFrame()


def test_e2e_conservation_and_licences(e2e_build):
    standin, out = e2e_build
    expected_in = {"Gutenberg-fr": "natural/fr/Gutenberg", "Gutenberg-en": "natural/en/Gutenberg",
                   "TheStack": "code/python/TheStack", "Claire": "natural/fr/Claire",
                   "EuroparlAligned-fr-en": "natural/fr-en/EuroparlAligned"}
    for name in E2E:
        led = json.loads((out / "sources" / name / "ledger.json").read_text())
        assert led["balanced"], led["imbalances"]
        for st in led["stages"]:
            assert st["docs_in"] == st["docs_kept"] + st["docs_removed"]
        n_in = sum(pq.read_metadata(f).num_rows for f in (standin / "data" / "v1.1" / expected_in[name]).glob("*.parquet"))
        kept, removed = _kept(out, name), _removed(out, name)
        assert led["records_read"] == n_in == kept.height + removed.height, name
        assert not led.get("quarantined_files"), name
        r = load_source(out.parent / "sources" / f"{name}.yaml")[0].recipe
        if kept.height:
            assert set(kept["license"]) == {r.license} and set(kept["license_evidence"]) == {"recipe"}
            assert kept["id"].n_unique() == kept.height
            assert all(i.startswith(f"{name}/") for i in kept["id"])
    assert _kept(out, "Gutenberg-fr").height >= 3 and _kept(out, "Gutenberg-en").height == 3
    stack = _kept(out, "TheStack")
    assert stack.height == 5 and set(stack["language"]) == {"code:python"}
    meta = json.loads(stack["metadata"][0])
    assert json.loads(meta["extra"])["ext"] == "py"  # Lucie's JSON columns are carried as they are
    fr = _kept(out, "Gutenberg-fr")
    assert set(fr["language"]) == {"fr"} and all(fr["title"].is_not_null())
    # NC documents never pass the lucie policy: removed at the pipeline's gate, with the reason
    claire = _removed(out, "Claire")
    assert _kept(out, "Claire").height == 0 and claire.height == 3
    assert set(claire["removal_stage"]) == {"license_policy"}
    assert set(claire["removal_reason"]) == {"license_not_allowed"}


def test_e2e_gutenberg_rule_on_released_schema(e2e_build):
    """The rule reads the author's years inside Lucie's JSON string `author` (dotted metadata_fields): the book whose
    author died in 1960 is removed for France (2024 - 80 = 1944), the others are kept on their real dates."""
    standin, out = e2e_build
    removed = _removed(out, "Gutenberg-fr")
    assert removed.height == 1
    assert removed["removal_reason"].to_list() == ["license_gutenberg_author_too_recent"]
    assert set(removed["removal_stage"]) == {"license_policy"}
    rmeta = json.loads(removed["metadata"][0])
    assert (rmeta["author.authoryearofdeath"], rmeta["license_rule_basis"]) == (1960, "death_year")
    assert json.loads(rmeta["author"])["authoryearofdeath"] == 1960  # the JSON string is carried as it is
    fr = _kept(out, "Gutenberg-fr")
    assert fr.height == 3
    rows = pq.read_table(standin / "data" / "v1.1" / "natural" / "fr" / "Gutenberg").to_pylist()
    by_id = {f"Gutenberg-fr/{r['id']}": json.loads(r["author"]) for r in rows}
    assert json.loads(rows[-1]["author"])["authoryearofdeath"] == 1960
    for rid, m in zip(fr["id"], map(json.loads, fr["metadata"])):
        a = by_id[rid]
        assert m["license_rule_verdict"] == "allowed"
        assert m.get("author.authoryearofdeath") == a["authoryearofdeath"]
        assert m.get("author.authoryearofbirth") == a["authoryearofbirth"]
        assert m["extra.usagerights"] == "open"
        # a real year was checked, or the basis says Lucie's default kept a book without one
        if a["authoryearofdeath"] is not None:
            assert a["authoryearofdeath"] <= 1944 and m["license_rule_basis"] == "death_year", (rid, a)
        else:
            assert m["license_rule_basis"] == ("birth_year" if a["authoryearofbirth"] is not None else "no_dates")
    # English: the copyright check only, on the real usagerights
    en = _kept(out, "Gutenberg-en")
    assert {json.loads(m)["license_rule_basis"] for m in en["metadata"]} == {"english_usagerights"}


def test_e2e_mix_has_no_disallowed_licence(e2e_build):
    _, out = e2e_build
    assert main(["mix", "build", str(out)]) == 0
    mix = out / "mix"
    files = sorted((mix / "data").glob("**/*.parquet"))
    assert files
    rows = pl.concat([pl.read_parquet(f, columns=["id", "license", "source"]) for f in files])
    assert "Claire" not in set(rows["source"])
    assert set(rows["license"]) <= {PD_GUT, "LicenseRef-TheStack-terms-of-use", "LicenseRef-Europarl-open"}
    assert set(rows["source"]) == {"Gutenberg-fr", "Gutenberg-en", "TheStack", "EuroparlAligned-fr-en"}
    # published in Lucie's source folders (mix: publish_as), each file named after the recipe its rows come from
    assert {f.relative_to(mix / "data").parent.as_posix() for f in files} == {
        "natural/fr/Gutenberg", "natural/en/Gutenberg", "code/python/TheStack", "natural/fr-en/EuroparlAligned"}
    for f in files:
        (src,) = set(pl.read_parquet(f, columns=["source"])["source"])
        assert f.name.startswith(f"{src}--"), f
    # Lucie's factors: fr--book 2, en--book 3, code--programming 2, fr-en--aligned 3 whole epochs
    per = rows.group_by("source").len()
    got = dict(zip(per["source"], per["len"]))
    assert got == {"Gutenberg-fr": 2 * 3, "Gutenberg-en": 3 * 3, "TheStack": 2 * 5,  # one fr book removed by the rule
                   "EuroparlAligned-fr-en": 3 * 9}
    # swapped pairs keep Lucie's "en,fr" and are weighted and filed with the others, under fr-en
    aligned = [f for f in files if f.parent.name == "EuroparlAligned"]
    assert {f.parent.parent.name for f in aligned} == {"fr-en"}
    langs = pl.concat([pl.read_parquet(f, columns=["language"]) for f in aligned])["language"].value_counts()
    assert dict(zip(langs["language"], langs["count"])) == {"fr,en": 3 * 6, "en,fr": 3 * 3}
    plan = json.loads((mix / "mix_plan.json").read_text())
    assert [k for k in plan["subsets"] if k.startswith("EuroparlAligned")] == ["EuroparlAligned-fr-en--fr-en"]


# every config name of the released dataset's card (lucie-dataset.md §4): default, languages, pairs, natural, code and
# its 30 languages (only the ones a build has are listed by a mix), per source
LUCIE_CONFIGS = {"default", "natural", "code", "en", "fr", "de", "es", "it", "de,fr", "es,en", "fr,en", "it,en",
                 *LUCIE_SOURCE_CONFIGS}


def test_e2e_mix_configs_are_lucies(e2e_build, tmp_path):
    """`load_dataset(mix, name)` takes the released dataset's config names: `fr,en` (not `fr-en`), `Gutenberg` and
    `Gutenberg-fr` for two recipes published in one folder, and every config holds the rows of its files."""
    import datasets

    _, out = e2e_build
    mix = out / "mix"
    if not (mix / "mix_plan.json").is_file():
        assert main(["mix", "build", str(out)]) == 0
    text = (mix / "README.md").read_text(encoding="utf-8")
    configs = yaml.safe_load(text.split("\n---\n", 1)[0][4:])["configs"]
    names = [c["config_name"] for c in configs]
    assert len(names) == len(set(names))
    assert set(names) - {"code-python"} <= LUCIE_CONFIGS
    assert {"fr,en", "Gutenberg", "Gutenberg-fr", "Gutenberg-en", "EuroparlAligned", "TheStack", "natural",
            "code"} <= set(names)
    for c in configs:
        ds = datasets.load_dataset(str(mix), c["config_name"], split="train", cache_dir=str(tmp_path / "hf"))
        files = [f for f in mix.glob(c["data_files"][0]["path"])]
        assert files and ds.num_rows == sum(pq.read_metadata(f).num_rows for f in files), c["config_name"]
    fr = datasets.load_dataset(str(mix), "Gutenberg-fr", split="train", cache_dir=str(tmp_path / "hf"))
    assert set(fr["source"]) == {"Gutenberg-fr"} and fr.num_rows == 2 * 3
    both = datasets.load_dataset(str(mix), "Gutenberg", split="train", cache_dir=str(tmp_path / "hf"))
    assert set(both["source"]) == {"Gutenberg-fr", "Gutenberg-en"} and both.num_rows == 2 * 3 + 3 * 3
    pairs = datasets.load_dataset(str(mix), "fr,en", split="train", cache_dir=str(tmp_path / "hf"))
    assert set(pairs["language"]) == {"fr,en", "en,fr"} and pairs.num_rows == 3 * 9
    assert "In the folder and config `Gutenberg`" in text  # the card says where a renamed source is


def test_lucie_pipeline_publishes_under_lucies_config_names():
    """With pipelines/lucie.yaml's `publish_as`, a mix holding every recipe in each of its languages has the released
    dataset's per-source configs, all of them but PeS2o's two subsets (one recipe here: the release's PeS2o config
    has both), and no other (card_configs is a pure function of the plan's shard list)."""
    from lucie_data.mix.card import card_configs

    publish = yaml.safe_load(LUCIE_PIPELINE.read_text(encoding="utf-8"))["mix"]["publish_as"]
    shards = []
    for f in sorted(LUCIE_SOURCES.glob("*.yaml")):
        r = load_source(f)[0].recipe
        for lang in r.languages:
            kind, folder = ("code", "python") if lang == "code" else ("natural", lang.replace(",", "-"))
            shards.append({"path": f"data/{kind}/{folder}/{publish.get(r.name, r.name)}/{r.name}--{folder}--000.parquet",
                           "source": r.name, "kind": kind, "language": folder, "rows": 1})
    names = [c["config_name"] for c in card_configs({"shards": shards})]
    assert len(names) == len(set(names))
    assert set(names) == LUCIE_CONFIGS - {"PeS2o-s2ag", "PeS2o-s2orc"} | {"code-python"}
