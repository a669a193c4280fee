"""The card's attribution claim about `url`: said per source from the written shards (rows with a non-null `url`, of
the source's rows), never "every row keeps its url" for a source whose rows have none. On the real mix of
tests/test_mix_build.py (built once per session)."""
import copy
import re
from pathlib import Path

import polars as pl

from lucie_data.mix.card import render_card


def _truth(folder: Path) -> dict[str, tuple[int, int]]:
    """{source: (rows with a url, rows)} read from the mix's shards: an independent count."""
    df = pl.read_parquet(sorted(folder.glob("data/*/*/*/*.parquet")), columns=["source", "url"])
    return {r["source"]: (int(r["with_url"]), int(r["rows"])) for r in df.group_by("source").agg(
        pl.col("url").is_not_null().sum().alias("with_url"), pl.len().alias("rows")).iter_rows(named=True)}


def _lines(card: str) -> dict[str, str]:
    part = card.split("### Attribution", 1)[1].split("\n## ", 1)[0]
    return {m.group(1): m.group(0) for m in re.finditer(r"^- \*\*(\S+)\*\* .*$", part, re.MULTILINE)}


def test_the_card_says_per_source_how_many_rows_have_a_url(demo_mix):
    folder, plan = demo_mix
    truth = _truth(folder)
    # what makes this test meaningful: sources with and without urls
    assert any(0 < n < rows for n, rows in truth.values()) and any(n == rows for n, rows in truth.values())
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "Every row keeps its `url`" not in card
    lines = _lines(card)
    assert set(lines) == set(truth)
    for source, (n, rows) in truth.items():
        if n == rows:
            assert lines[source].endswith(f"Every row has its `url` ({rows:,}).")
        elif n == 0:
            assert lines[source].endswith(f"No row has a `url` (0 of {rows:,}).")
        else:
            assert lines[source].endswith(f"{n:,} of {rows:,} rows have a `url`; the others only `source` and `license`.")
    for s in plan["shards"]:  # per shard, as counted from the footers: the file's own non-null urls
        got = pl.read_parquet(folder / s["path"], columns=["url"])["url"].is_not_null().sum()
        assert s["url_rows"] == got, s


def test_a_source_with_some_urls_and_a_plan_without_counts(demo_mix):
    """A source whose rows are half with a url, or none (the plan's counts edited: the wording, not the data, is under
    test); a plan written before shards had `url_rows` claims no count and no url for every row."""
    _folder, plan = demo_mix
    p = copy.deepcopy(plan)
    source = p["shards"][0]["source"]
    rows = sum(s["rows"] for s in p["shards"] if s["source"] == source)
    for s in p["shards"]:
        if s["source"] == source:
            s["url_rows"] = s["rows"] // 2
    half = sum(s["url_rows"] for s in p["shards"] if s["source"] == source)
    assert 0 < half < rows
    assert _lines(render_card(p))[source].endswith(f"{half:,} of {rows:,} rows have a `url`; the others only "
                                                   "`source` and `license`.")
    for s in p["shards"]:
        if s["source"] == source:
            s["url_rows"] = 0
    assert _lines(render_card(p))[source].endswith(f"No row has a `url` (0 of {rows:,}).")
    for s in p["shards"]:
        del s["url_rows"]
    card = render_card(p)
    assert "Every row keeps its `url`" not in card and "rows have a `url`" not in card
    assert "it is null in the rows of sources without" in card


def test_the_card_says_which_files_a_renamed_config_holds_and_loads_the_largest_language():
    """Trainer review: a source `novels` in four languages and a source `novels-fr`: the config `novels-fr` is the
    source `novels-fr`, the French part of `novels` is `source-novels-fr`, and the card did not say so. The loading
    example named the first language config (a 2-row `de`), not the largest."""
    from lucie_data.mix.card import _example_config, card_configs

    shards = [{"path": f"data/natural/{lang}/novels/novels--{lang}--000.parquet", "source": "novels",
               "kind": "natural", "language": lang, "rows": 10, "bytes": 1000 * (lang == "fr") + 10}
              for lang in ("de", "en", "fr")]
    shards.append({"path": "data/natural/fr/novels-fr/novels-fr--fr--000.parquet", "source": "novels-fr",
                   "kind": "natural", "language": "fr", "rows": 5, "bytes": 500})
    notes: list[str] = []
    configs = card_configs({"shards": shards}, notes)
    got = {c["config_name"]: c["data_files"][0]["path"] for c in configs}
    assert got["novels-fr"] == "data/*/*/novels-fr/*.parquet"
    assert got["source-novels-fr"] == "data/natural/fr/novels/*.parquet"
    assert notes == ["`source-novels-fr` is the `fr` part of the source folder `novels` (`novels-fr` is another config)."]
    assert _example_config(configs, {"shards": shards}) == "fr"
    # code review: a source named `source-web` is not renamed, and a folder `code-x` is renamed for its prefix
    shards = [{"path": f"data/natural/{lang}/{folder}/{folder}--{lang}--000.parquet", "source": folder,
               "kind": "natural", "language": lang, "rows": 1, "bytes": 1}
              for folder in ("source-web", "code-x") for lang in ("de", "fr")]
    notes = []
    names = [c["config_name"] for c in card_configs({"shards": shards}, notes)]
    assert "source-web" in names and "source-code-x" in names and "source-code-x-de" in names
    assert notes == ["`source-code-x` is the source folder `code-x` (configs named `code-…` are code languages)."]
