"""The dataset card (README.md) of a built mix, generated from its ``mix_plan.json``.

Why generated: the card is the contract with trainers (``configs:`` is what
``datasets.load_dataset(folder_or_repo, "fr")`` reads) and with licensors (licence, attribution,
share-alike obligations). Writing it by hand would let it drift from the shards.

Config names are the Lucie Training Dataset's (:func:`card_configs`): ``default``, a language (``fr``), a pair
``fr,en`` (its folder is ``fr-en``), ``code`` and ``code-<language>``, and one per source.
"""
from __future__ import annotations

import re
from typing import Any

import yaml

from ..report.render import _md_text

__all__ = ["card_configs", "render_card", "hf_license", "front_matter", "source_licences", "rows_with_url",
           "source_urls", "url_counts"]


def rows_with_url(paths: list[str]) -> list[int]:
    """Rows whose ``url`` is not null, per Parquet file, from the footer's statistics alone (no column is read;
    ~0.06 ms a file: 0.07 s for 1,316 shards): what the card says of each source's per-document ``url``. A file
    whose footer has no null count for ``url`` has that one column read; a file without a ``url`` column has 0."""
    import pyarrow.parquet as pq

    def one(path: str) -> int:
        md = pq.read_metadata(path)
        names = md.schema.names
        if "url" not in names:
            return 0
        j = names.index("url")
        nulls = 0
        for i in range(md.num_row_groups):
            st = md.row_group(i).column(j).statistics
            if st is None or not st.has_null_count:
                return md.num_rows - pq.ParquetFile(path).read(columns=["url"], use_threads=False).column("url").null_count
            nulls += st.null_count
        return md.num_rows - nulls

    return [one(p) for p in paths]  # serial: footer parsing holds the GIL, threads were 1.5-2x slower


# The licence identifiers the Hub accepts in a card's ``license:`` (https://huggingface.co/docs/hub/repositories-licenses);
# any other value is not recognised as a licence there (and is refused by the Hub's metadata validation).
HUB_LICENSES = frozenset({
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m", "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd", "bsd-2-clause", "bsd-3-clause",
    "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0",
    "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0",
    "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0", "cdla-sharing-1.0", "cdla-permissive-1.0",
    "cdla-permissive-2.0", "wtfpl", "ecl-2.0", "epl-1.0", "epl-2.0", "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0",
    "gfdl", "gpl", "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0", "isc", "lppl-1.3c", "ms-pl", "mpl-2.0",
    "odc-by", "odbl", "openrail++", "osl-3.0", "postgresql", "ofl-1.1", "ncsa", "unlicense", "zlib", "pddl", "lgpl-lr",
    "unknown", "other",
})
# SPDX ids (lower-cased, after dropping GNU's -only / -or-later / +) whose Hub identifier is spelt differently.
_SPDX_TO_HUB = {
    "odc-by-1.0": "odc-by", "odbl-1.0": "odbl", "pddl-1.0": "pddl", "c-uda-1.0": "c-uda", "lgpllr": "lgpl-lr",
    "ofl-1.1-rfn": "ofl-1.1", "ofl-1.1-no-rfn": "ofl-1.1",
}
# Versions the Hub lists only as a family: the family's identifier still names the right terms.
_HUB_FAMILIES = (("gfdl-", "gfdl"), ("lgpl-", "lgpl"), ("gpl-", "gpl"), ("bsd-", "bsd"))


def hf_license(spdx: str) -> str:
    """The Hub's ``license:`` value for an SPDX id: the Hub's own identifier (``GPL-3.0-only`` -> ``gpl-3.0``,
    ``ODbL-1.0`` -> ``odbl``, ``GFDL-1.3-or-later`` -> ``gfdl``), ``other`` for expressions, refs and licences the
    Hub does not list (the card then names the SPDX id in ``license_details``)."""
    if not spdx or spdx == "other" or " " in spdx or spdx.startswith("LicenseRef-"):
        return "other"
    key = spdx.lower()
    if key.startswith(("gpl-", "lgpl-", "agpl-", "gfdl-")):
        key = key.removesuffix("+").removesuffix("-only").removesuffix("-or-later")
    key = _SPDX_TO_HUB.get(key, key)
    if key in HUB_LICENSES:
        return key
    return next((hub for prefix, hub in _HUB_FAMILIES if key.startswith(prefix)), "other")


def config_language(lang_dir: str) -> str:
    """A language folder's config name: a pair folder ``fr-en`` is Lucie's config ``fr,en``
    (``load_dataset("OpenLLM-France/Lucie-Training-Dataset", "fr,en")``); a language is itself."""
    return lang_dir.replace("-", ",")


def card_configs(mix_plan: dict, notes: list[str] | None = None) -> list[dict]:
    """The ``configs:`` list, in a stable order, each path a glob relative to the mix folder.

    Names follow the Lucie Training Dataset's card: ``default``; a language (``fr``); a pair (``fr,en``);
    ``natural`` (with code beside it), ``code`` and ``code-<language>``; a source folder (``Gutenberg``, ``source-<name>`` if the name is taken);
    a source folder spanning several natural languages, once per language (``Gutenberg-fr``, ``EuroparlAligned-fr,en``);
    a source published in a folder of another name (``mix: publish_as:``), under its own name when its files are
    not already exactly one config's (``Pile-FreeLaw`` inside ``Pile``). A config is never listed twice. ``notes``, when
    given, gets a sentence for each config not named by the rule because that name was taken, saying which files it
    holds and why (trainer review: `novels-fr` loaded the source `novels-fr`, the French part of `novels` was
    `source-novels-fr`, and the card did not say so).
    """
    # every index in one pass over the shards (a scan per config was 0.48 s of a 1,320-shard mix under cProfile)
    by: dict[tuple, list[str]] = {}  # (kind,), (kind, lang), (folder,), (kind, lang, folder) -> paths, in order
    folder_langs: dict[str, set[str]] = {}  # folder -> its natural languages
    src_dirs: dict[str, set[str]] = {}  # source -> its folders
    src_files: dict[str, list[str]] = {}  # source -> its paths (any form)
    names_in: dict[str, list[tuple[str, str]]] = {}  # folder -> (file name, source) of its files
    every: list[str] = []
    natural_set, code_set = set(), set()
    for s in mix_plan["shards"]:
        path, src = s["path"], s["source"]
        src_files.setdefault(src, []).append(path)
        (natural_set if s["kind"] == "natural" else code_set if s["kind"] == "code" else set()).add(s["language"])
        p = path.split("/")
        if len(p) != 5:
            continue
        kind, lang, folder, fname = p[1], p[2], p[3], p[4]
        every.append(path)
        for key in ((kind,), (kind, lang), ("folder", folder), (kind, lang, folder)):
            by.setdefault(key, []).append(path)
        if kind == "natural":
            folder_langs.setdefault(folder, set()).add(lang)
        src_dirs.setdefault(src, set()).add(folder)
        names_in.setdefault(folder, []).append((fname, src))
    natural, code = sorted(natural_set), sorted(code_set)
    out: list[dict] = []
    names: set[str] = set()
    listed: set[frozenset] = set()  # the files of each config listed

    def add(name: str, path: str, files, default: bool = False) -> None:
        c: dict[str, Any] = {"config_name": name, "data_files": [{"split": "train", "path": path}]}
        if default:
            c["default"] = True
        out.append(c)
        names.add(name)
        listed.add(frozenset(files))

    add("default", "data/*/*/*/*.parquet", every, default=True)
    for lang in [x for x in natural if "-" not in x] + [x for x in natural if "-" in x]:  # languages, then pairs
        add(config_language(lang), f"data/natural/{lang}/*/*.parquet", by.get(("natural", lang), []))
    if code and natural:
        add("natural", "data/natural/*/*/*.parquet", by.get(("natural",), []))
    if code:
        add("code", "data/code/*/*/*.parquet", by.get(("code",), []))
        for lang in code:
            add(f"code-{lang}", f"data/code/{lang}/*/*.parquet", by.get(("code", lang), []))
    folders = sorted(names_in)
    named: dict[str, str] = {}  # folder -> its config's name
    for folder in folders:
        # a source named like a language or code config (`code-python` of French text: review) is `source-<name>`
        looks_taken = folder in names or folder in ("default", "natural", "code") or folder.startswith("code-")
        named[folder] = folder if not looks_taken else f"source-{folder}"
        if looks_taken and notes is not None:
            why = ("a language, pair or code config has that name" if folder in names else
                   "configs named `code-…` are code languages" if folder.startswith("code-") else
                   "a config of the whole mix has that name")
            notes.append(f"`source-{folder}` is the source folder `{folder}` ({why}).")
        add(named[folder], f"data/*/*/{folder}/*.parquet", by[("folder", folder)])
    for folder in folders:
        langs = sorted(folder_langs.get(folder, ()))
        if len(langs) > 1:
            for lang in langs:  # (prefixed as the folder's config is: a folder `code` gives source-code-de, review)
                name = f"{named[folder]}-{config_language(lang)}"
                if name in names:  # taken by another folder (publish_as: {pud_en: web_cc-en}, review): prefixed
                    taken, name = name, f"source-{folder}-{config_language(lang)}"
                    if notes is not None and name not in names:
                        notes.append(f"`{name}` is the `{config_language(lang)}` part of the source folder `{folder}` "
                                     f"(`{taken}` is another config).")
                if name not in names:
                    add(name, f"data/natural/{lang}/{folder}/*.parquet", by[("natural", lang, folder)])
    for src in sorted(src_files):
        dirs = src_dirs.get(src, set())
        if len(dirs) != 1 or src in names or src in dirs:
            continue
        (folder,) = dirs
        # a source's files are <source>--<language>--NNN[_e<k>].parquet; another source named <source>--… in the same
        # folder would match the glob too, so then there is no config of its own
        if any(f.startswith(f"{src}--") and other != src for f, other in names_in[folder]):
            continue
        files = src_files[src]
        if frozenset(files) not in listed:
            add(src, f"data/*/*/{folder}/{src}--*.parquet", files)
    return out


def _example_config(configs: list[dict], mix_plan: dict) -> str:
    """The config the card's loading example names: the language config with the most bytes of Parquet (trainer
    review: the first one listed, a 2-row `de`), else ``default``."""
    rows: dict[str, int] = {}
    for s in mix_plan["shards"]:
        if s.get("kind") == "natural":
            rows[s["language"]] = rows.get(s["language"], 0) + int(s.get("bytes") or 0)
    best = None
    for c in configs:
        m = re.fullmatch(r"data/natural/([^/*]+)/\*/\*\.parquet", c["data_files"][0]["path"])
        if m and (best is None or rows.get(m.group(1), 0) > rows.get(best[1], 0)):
            best = (c["config_name"], m.group(1))
    return best[0] if best else "default"


def _iso_languages(mix_plan: dict) -> list[str]:
    langs: set[str] = set()
    for s in mix_plan["shards"]:
        if s["kind"] == "natural":
            langs.update(p for p in s["language"].split("-") if p.isalpha() and len(p) in (2, 3))
    return sorted(langs)


def front_matter(mix_plan: dict) -> dict:
    from ..licenses import mix_license

    return _front_matter(mix_plan, mix_license(list(mix_plan["licenses"]), _policy(mix_plan)))


def _policy(mix_plan: dict) -> dict | None:
    """The mix's licence policy as ``mix_plan.json`` records it: the licence declared must be one it allows."""
    return (mix_plan.get("license_check") or {}).get("policy")


def _front_matter(mix_plan: dict, spdx: str, notes: list[str] | None = None) -> dict:
    """:func:`front_matter` with the mix's licence already derived (the card needs it twice)."""
    langs = _iso_languages(mix_plan)
    fm: dict[str, Any] = {
        "pretty_name": f"{mix_plan['name']} training mix (lucie-data)",
        "license": hf_license(spdx),
        "language": langs,
        "multilinguality": "multilingual" if len(langs) > 1 else "monolingual",
        "task_categories": ["text-generation"],
        "tags": ["lucie-data", "pretraining"] + (["code"] if any(s["kind"] == "code" for s in mix_plan["shards"]) else []),
        "configs": card_configs(mix_plan, notes),
    }
    if fm["license"] == "other":
        fm["license_name"] = "per-document licences"
        fm["license_details"] = (spdx if spdx != "other" else
                                 "Mixed licences: each row's `license` column holds its SPDX licence; see the card.")
        # the Hub pairs `license: other` with a link (hub-docs datasetcard.md: a file in the repo or a URL): the
        # licence's SPDX page for a single listed id, else this card, whose Licences section lists every row licence
        single = spdx != "other" and " " not in spdx and not spdx.startswith("LicenseRef-")
        fm["license_link"] = f"https://spdx.org/licenses/{spdx}.html" if single else "README.md"
    return fm


def _dump_yaml(data: dict) -> str:
    """``yaml.safe_dump`` through libyaml when PyYAML has it (10x faster on a card with hundreds of configs), the
    ``configs:`` list written directly when every name and path is a plain scalar (PyYAML's representer still costs
    ~40 us a config: 21 ms of a 1,320-shard mix's 493 configs). The text is the same as ``yaml.safe_dump``'s
    (tests/test_mix_build.py compares them)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    configs = data.get("configs")
    fast = _configs_block(configs) if isinstance(configs, list) else None
    if fast is None:
        return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True)
    marker = "lucie-data-configs-marker"
    text = yaml.dump({**data, "configs": [marker]}, Dumper=dumper, sort_keys=False, allow_unicode=True)
    return text.replace(f"configs:\n- {marker}\n", f"configs:\n{fast}", 1)


# a scalar PyYAML writes plain in block style: starts with a letter or digit (no indicator such as * & ! | > ' " % @
# ` - ? : , [ ] { } #), holds no ": " or " #", and is not a word or number YAML 1.1 would read as another type
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_.,/*+-]*")
_TYPED = re.compile(r"(?i)(y|yes|n|no|true|false|on|off|null|~|[-+]?(\.inf|\.nan))|[-+]?[0-9][0-9_:.eE+-]*")


def _plain(value: object) -> bool:
    return isinstance(value, str) and bool(_PLAIN.fullmatch(value)) and not _TYPED.fullmatch(value)


def _configs_block(configs: list) -> str | None:
    """The ``configs:`` items as ``yaml.safe_dump`` writes them, or None when one is not of the card's plain shape."""
    lines = []
    for c in configs:
        if not isinstance(c, dict) or set(c) - {"config_name", "data_files", "default"} or not _plain(c.get("config_name")):
            return None
        files = c.get("data_files")
        if not isinstance(files, list) or not files or list(c)[:2] != ["config_name", "data_files"]:
            return None
        lines.append(f"- config_name: {c['config_name']}\n  data_files:\n")
        for f in files:
            if not isinstance(f, dict) or list(f) != ["split", "path"] or not _plain(f["split"]) or not _plain(f["path"]):
                return None
            lines.append(f"  - split: {f['split']}\n    path: {f['path']}\n")
        if "default" in c:
            if c["default"] is not True or list(c)[2:] != ["default"]:
                return None
            lines.append("  default: true\n")
    return "".join(lines)


def _n(x: int | float) -> str:
    """Token counts as the plan's tables show them: whole numbers (tokens seen = epochs x tokens may be fractional;
    mix_plan.json keeps the exact value)."""
    from .plan import format_tokens

    return format_tokens(x)


def _repeats_paragraph(mix_plan: dict) -> str:
    """How repeated documents are identified: the mix's ``repeat_ids`` mode, said outright, because in
    ``keep`` mode an id is not a row key and a deduplication by id would silently undo the epochs."""
    mode = mix_plan.get("repeat_ids", "suffix")  # mixes built before the option existed: suffix
    text = (f"Repeated documents (`repeat_ids: {mode}`): " + mix_plan["id_scheme"] + f" Seed: {mix_plan['seed']}. "
            "Every file has the columns of the source build (no extra column), so a first copy can be the "
            "build's own shard.")
    if mode == "keep":
        text += ("\n\n**Ids repeat by design**: a document weighted e epochs appears under the same `id` once per "
                 "whole epoch, and once more if the fractional part of e draws it (e = 2.5: 2 or 3 times). Do not "
                 "deduplicate this mix by `id`: that would undo the weighting. `id` is not a unique key of a row "
                 "here.")
    dup = mix_plan.get("duplicate_ids")
    if dup:
        text += ("\n\n**Ids are not unique in the source build** for " + ", ".join(
            f"{k} ({v:,} documents share an id with another)" for k, v in sorted(dup.items()))
            + ": different documents carry the same `id` there, so they do here too, whatever `repeat_ids`. Do "
              "not deduplicate these sources by `id`.")
    return text


def source_licences(mix_plan: dict, source: str) -> dict[str, int] | None:
    """``{licence: rows}`` of one source's rows in the mix, or None when the plan does not say.

    Read from ``mix_plan["sources"][source]["licenses"]`` (counted on the written shards, like the plan's
    ``licenses``). A plan without it can still be answered when the whole mix carries one licence."""
    got = (mix_plan.get("sources", {}).get(source) or {}).get("licenses")
    if isinstance(got, dict):
        return {str(k): int(v) for k, v in got.items() if v}
    if len(mix_plan.get("licenses") or {}) == 1:
        rows = sum(s.get("rows", 0) for s in mix_plan.get("shards", []) if s.get("source") == source)
        return {next(iter(mix_plan["licenses"])): rows}
    return None


def _source_licences(mix_plan: dict, source: str) -> str:
    """What the attribution list says of a source's licences: those its rows in the mix carry, never the recipe's
    default alone when rows carry their own (a web source with a licence per page)."""
    from ..licenses import needs_attribution

    lics = source_licences(mix_plan, source)
    if lics is None:  # a plan written without per-source counts: say what is known, claim nothing more
        default = (mix_plan.get("sources", {}).get(source) or {}).get("license") or "?"
        return f"licence per row in its `license` column, recipe default {default}; credit as each licence requires"
    need = [lic for lic in sorted(lics) if needs_attribution(lic)]
    credit = ("requires attribution" if len(need) == len(lics) else
              "no attribution required" if not need else f"attribution required for rows under {', '.join(need)}")
    if len(lics) == 1:
        return f"{next(iter(lics))}, {credit}"
    listed = ", ".join(f"{lic} ({n:,} row{'s' if n != 1 else ''})" for lic, n in sorted(lics.items()))
    return f"per-document licences: {listed}; {credit}"


def _counter_note(counter: dict | None) -> str:
    """Which tokens the card counts (trainer review: read as the trainer's tokenizer's)."""
    if not counter or not counter.get("name"):
        return ""
    from ..tokens import FALLBACK

    name = counter["name"]
    if name == "several" and isinstance(counter.get("by_source"), dict):
        said = "; ".join(f"{src}: {_counter_name(c)}" for src, c in counter["by_source"].items())
        return f" Tokens are counted by different counters per source ({said}): their counts do not add up alike."
    if name == FALLBACK:
        return (f" Tokens are counted by the build's fallback counter `{FALLBACK}` (runs of letters and digits, and "
                "single punctuation marks; within ~15 % of a 65k BPE's count on French and English prose), not by a "
                "model's tokenizer.")
    return f" Tokens are counted with {_counter_name(counter)}."


def _counter_name(counter: dict) -> str:
    """A token counter as a card names it: the fallback, a Hub tokenizer (with its commit), or a local tokenizer.json
    by file name and digest (not the builder's path: it is absolute, a Hub id never is)."""
    from ..tokens import FALLBACK, shown_name

    name = str(counter.get("name"))
    if name == FALLBACK:
        return f"the fallback counter `{FALLBACK}`"
    if shown_name(name) != name:  # a local tokenizer.json
        digest = f" (sha256 `{counter['sha256'][:16]}…`)" if counter.get("sha256") else ""
        return f"a local tokenizer `{shown_name(name)}`{digest}"
    commit = f" at commit `{counter['commit']}`" if counter.get("commit") else ""
    return f"the tokenizer `{name}`{commit}"


def _changes_note(modified: dict | None) -> str:
    """What lucie-data changed in a source's texts, as the attribution of a CC licence must say (CC BY 4.0
    §3(a)(1)(B), BY-SA 3.0 §4(c); trainer review: 3,000 parallel texts joined by `parallel_join` were credited as
    their source published them). From the build's ledger: the stages that changed its kept documents."""
    if not modified:
        return " Whether lucie-data changed its texts is not recorded (a build made before 2026-11-28)."
    if not modified.get("docs"):
        return " No lucie-data stage changed its texts after they were read."
    stages = ", ".join(f"`{st}` ({n:,})" for st, n in sorted((modified.get("by_stage") or {}).items()))
    return (f" Modified by lucie-data: {modified['docs']:,} of its build's documents were changed by the stage(s) "
            f"{stages} (their rows' `metadata` lists them under `modified_by`).")


def url_counts(mix_plan: dict) -> dict[str, tuple[int, int] | None]:
    """Source -> (rows with a ``url``, rows) in the mix, from the plan's shards in one pass (a pass per source was
    ~40 ms of a 1,320-shard mix: benchmarks/results/mix.md); None for a source whose shards do not all say
    (a plan written before shards recorded ``url_rows``)."""
    out: dict[str, tuple[int, int] | None] = {}
    for s in mix_plan.get("shards", []):
        name = s.get("source")
        got = out.get(name, (0, 0))
        if got is None or not isinstance(s.get("url_rows"), int):
            out[name] = None
            continue
        out[name] = (got[0] + s["url_rows"], got[1] + s.get("rows", 0))
    return out


def source_urls(mix_plan: dict, source: str) -> tuple[int, int] | None:
    """(rows with a ``url``, rows) of one source in the mix (:func:`url_counts`); None when the plan does not say."""
    return url_counts(mix_plan).get(source)


def _url_note(got: tuple[int, int] | None) -> str:
    if got is None:
        return ""
    n, rows = got
    if n == rows:
        return f" Every row has its `url` ({rows:,})."
    if n == 0:
        return f" No row has a `url` (0 of {rows:,})."
    return f" {n:,} of {rows:,} rows have a `url`; the others only `source` and `license`."


_AUTOLINK = re.compile(r"https?://[^\x00-\x20\x7f<>]+", re.IGNORECASE)  # what a CommonMark autolink may hold


def _md_url(url) -> str:
    """A source's url as a Markdown autolink when it is http(s), else as text: a ``javascript:`` url is no link
    (rv58 F6)."""
    u = str(url).strip()
    return f"<{u}>" if _AUTOLINK.fullmatch(u) else _md_text(u)


def render_card(mix_plan: dict) -> str:
    from ..licenses import license_class, mix_license, share_alike_obligations

    lics = mix_plan["licenses"]
    spdx = mix_license(list(lics), _policy(mix_plan))
    renamed: list[str] = []
    fm = _front_matter(mix_plan, spdx, renamed)
    plan = mix_plan["plan"]
    subsets = mix_plan["subsets"]
    lines = ["---", _dump_yaml(fm).rstrip(), "---", "",
             f"# {fm['pretty_name']}", "",
             "A pre-training mix materialised by [lucie-data](https://github.com/OpenLLM-France) with the weighting "
             "rule of the Lucie Training Dataset (epochs = factor per `language--category`; tokens seen = epochs x "
             "tokens).", "",
             "## Loading", "", "```python", "from datasets import load_dataset",
             f'ds = load_dataset("<this repo or folder>", "{_example_config(fm["configs"], mix_plan)}", split="train")',
             "```", "",
             "Configs: " + ", ".join(f"`{c['config_name']}`" for c in fm["configs"]) + ". As in the Lucie Training "
             "Dataset, a language pair is named `xx,yy` (`fr,en`; its folder is `data/natural/fr-en/`), code is `code` "
             "and `code-<language>`, each source has its own config, and a source in several languages one per "
             "language (`<source>-fr`)." + "".join(f" {x}" for x in renamed), "",
             _repeats_paragraph(mix_plan), "",
             "## Composition", "",
             f"{mix_plan['totals']['docs']:,} rows, {mix_plan['totals']['tokens']:,} tokens in the files "
             f"(planned tokens seen: {_n(plan['total_tokens_seen'])} from {_n(plan['total_tokens'])} unique tokens)."
             + _counter_note(mix_plan.get("token_counter")), "",
             "### Per language", ""]
    # planned shares, and what the files hold: the fractional epochs draw documents, not tokens, so the realised
    # share differs from the plan (review: the card gave the plan's code 9.885 % where the files held 8.49 %)
    in_files: dict[str, int] = {}
    for s in subsets.values():
        in_files[s["language"]] = in_files.get(s["language"], 0) + s["tokens_achieved"]
    total_in_files = sum(in_files.values()) or 1
    targets = (plan.get("targets") or {}).get("languages") or {}
    lines += ["Planned shares of tokens seen, and the shares of the tokens the files hold"
              + (", against the targets asked for" if targets else "") + ".", "",
              "| language | tokens | tokens seen (planned) | % planned | % in the files |"
              + (" target % |" if targets else ""),
              "|---|---:|---:|---:|---:|" + ("---:|" if targets else "")]
    for lang, row in plan["languages"].items():
        target = targets.get(lang, {}).get("target")
        lines.append(f"| {lang} | {_n(row['tokens'])} | {_n(row['tokens_seen'])} | {row['share'] * 100:.3f} "
                     f"| {in_files.get(lang, 0) / total_in_files * 100:.3f} |"
                     + ((f" {target * 100:.3f} |" if target is not None else " |") if targets else ""))
    if targets and not plan["targets"].get("feasible", True):
        reason = plan["targets"].get("reason")
        lines += ["", "The targets could not all be met; this is the closest plan"
                  + (f": {reason}." if reason else ".")]
    lines += ["", "### Per subset (source × language)", "",
              "| subset | category | documents | tokens | epochs | rows in mix | tokens in mix |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for name, s in sorted(subsets.items()):
        lines.append(f"| {name} | {s['category']} | {s['docs']:,} | {s['tokens']:,} | {s['epochs']:g} "
                     f"| {s['docs_achieved']:,} | {s['tokens_achieved']:,} |")

    lines += ["", "## Licences", "",
              f"Declared licence of the mix: `{spdx}` (derived from every document's licence).", "",
              "| licence | class | rows |", "|---|---|---:|"]
    for lic, n in sorted(lics.items()):
        lines.append(f"| {lic} | {license_class(lic)} | {n:,} |")
    check = mix_plan["license_check"]
    pol = check["policy"]
    terms = [f"allowed classes: {', '.join(pol.get('allow_classes', [])) or 'none'}"]
    if pol.get("allow"):  # licences allowed by name (a LicenseRef of class unknown, say): the rows carry them
        terms.append(f"also allowed: {', '.join(pol['allow'])}")
    if pol.get("deny"):
        terms.append(f"denied: {', '.join(pol['deny'])}")
    lines += ["", f"Licence check: **{'passed' if check['passed'] else 'FAILED'}** (policy: {check['policy_origin']}; "
              f"{'; '.join(terms)})."]
    unverified = check.get("unverified_rows") or {}
    if unverified:
        total = sum(unverified.values())
        rows = sum(s.get("rows", 0) for s in mix_plan["shards"]) or 1
        lines += ["", f"{total:,} rows ({total / rows:.2%} of the mix) carry their source recipe's licence because their "
                  "input gave none of their own (a record without the licence field, a page without a sidecar row, "
                  "no rights data where the recipe said to look: `license_evidence` starting with `recipe:`); the "
                  f"policy lets them in (`unverified: {pol.get('unverified', 'allow')}`). Per source: "
                  + ", ".join(f"`{k}` {v:,}" for k, v in sorted(unverified.items())) + "."]
    ex_src = check["excluded"]["sources"]
    ex_doc = check["excluded"]["documents"]
    if ex_src or ex_doc:
        lines += ["", "Excluded from the mix:", ""]
        for name, e in sorted(ex_src.items()):
            lines.append(f"- source `{name}`: {e['reason']} ({e['docs']:,} documents)")
        for name, by_lic in sorted(ex_doc.items()):
            for lic, e in sorted(by_lic.items()):
                lines.append(f"- `{name}` documents under {lic}: {e['reason']} ({e['docs']:,} documents)")
    obligations = share_alike_obligations(list(lics), _policy(mix_plan))
    if obligations:
        lines += ["", "### Share-alike obligations", ""] + [f"- {o}" for o in obligations]
    lines += ["", "### Attribution", ""]
    used = sorted({s["source"] for s in mix_plan["shards"]})
    urls = url_counts(mix_plan)
    for name in used:
        meta = mix_plan["sources"].get(name, {})
        prov = meta.get("provenance") or {}
        # what the source is and where it comes from; neither known: the name and licence alone, no dangling ": ."
        # the recipe's strings as inline Markdown text, as the Markdown report shows them (rv58 F6: `<script>`, an
        # `<img onerror>` and a newline starting a `---` block went into the card as they were)
        what = " ".join(x for x in (_md_text((meta.get("description") or "").strip().rstrip(".")),
                                    _md_url(prov["url"]) if prov.get("url") else "") if x)
        cite = f" Cite: {_md_text(prov['citation'])}." if prov.get("citation") else ""
        notes = (f" Note: {_md_text(prov['notes'].rstrip('.'))}." if prov.get("notes")  # e.g. a compilation's licence
                 else "")
        pub = f" In the folder and config `{meta['published_as']}`." if meta.get("published_as") else ""
        lines.append(f"- **{name}** ({_source_licences(mix_plan, name)}){': ' + what if what else ''}.{cite}"
                     f"{notes}{pub}{_changes_note(meta.get('modified'))}{_url_note(urls.get(name))}")
    counted = all(urls.get(name) is not None for name in used)
    lines += ["", "Every row keeps its `source` and `license`; with the source's entry above they are the per-document "
              "attribution. A row's `url` links to the document itself where its source gives one"
              + (" (rows with one, per source, above)." if counted else "; it is null in the rows of sources without."),
              "", "## Provenance", "",
              "Built from the lucie-data build whose manifest has sha256 "
              f"`{mix_plan['build']['manifest_sha256']}`; `mix_plan.json` lists every shard with its row count and "
              "digest (`sha256` for a build shard's bytes copied as they were, `xxh3_128` for a file the mix wrote "
              "itself), the weights, the plan and what the licence check excluded.", "",
              "## Citation", "", "```bibtex",
              "@misc{lucie_data_mix,",
              f"  title  = {{{fm['pretty_name']}}},",
              "  note   = {Built with lucie-data following the Lucie Training Dataset recipe},",
              "}",
              "@misc{gouvert2025lucie,",
              "  title  = {The Lucie-7B LLM and the Lucie Training Dataset: Open Resources for Multilingual Language Generation},",
              "  author = {Gouvert, Olivier and Hunter, Julie and Louradour, J{\\'e}r{\\^o}me and others},",
              "  year   = {2025},",
              "  eprint = {2503.12294}, archivePrefix = {arXiv},",
              "}", "```", ""]
    return "\n".join(lines)
