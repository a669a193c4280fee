"""Recipes: per-source YAML (``sources/*.yaml``) and pipeline YAML (``pipelines/*.yaml``).

Everything here is validated up front with pydantic (unknown keys rejected), and every problem is
reported at once with its file, YAML path and line, so an invalid recipe fails before any work.
"""
from __future__ import annotations

import copy
import functools
import glob
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

import yaml
from pydantic import (AfterValidator, BaseModel, BeforeValidator, Field, TypeAdapter, ValidationError,
                      ValidationInfo, field_validator, model_validator)

from .buildfiles import NAME_RE
from .errors import ConfigIssue, InputError, RecipeError, in_file_order
from .languages import not_a_yaml_boolean
from .licenses import LicensePolicy, UNKNOWN, normalize_license
from .mix.build import MixSpec
from .models import YamlModel
from .stages import AnyStage, StageList

Category = Literal[
    "web", "newspaper", "technical", "book", "legi_written", "legi_spoken", "legi_dialogue",
    "wiki", "math", "forum", "dialogue", "aligned", "programming",
]  # Lucie's categories (lucie-dataset.md §4), the second half of a weighting key `lang--category`

# ids the runner uses itself: the reader's gate, the pipeline's implicit licence gate, the scratch folder
RESERVED_STAGE_IDS = frozenset({"read", "license_policy", "work"})
# metadata keys only the licence stages write (licenses.flag_reason reads two of them): never copied from a record
LICENCE_STAGE_KEYS = frozenset({"license_warning", "license_rule_verdict", "license_rule_basis"})

# validation context key: SourceRecipe leaves its cross-key checks to the caller (load_source reports each with its line)
COLLECT_PROBLEMS = "lucie_collect_recipe_problems"


_NULLABLE_NAMES = ("id_field", "url_field", "title_field", "date_field")  # field options where null means none


def blank_or_nul(value: object, what: str = "a name") -> str | None:
    """Why a name or path given as text cannot be one ("empty", "not a path (a NUL byte)"), or None. One test for the
    recipe's field names, input paths and output folders and the commands' --output (fuzz review: each passed)."""
    if not isinstance(value, str):
        return None
    if not value.strip():
        return "empty"
    return f"not {what} (a NUL byte)" if "\x00" in value else None


class Strict(YamlModel):
    pass


class Provenance(Strict):
    url: str | None = None
    citation: str | None = None
    retrieved: str | None = None
    notes: str | None = None


class InputSpec(Strict):
    """Where a source's documents come from and how their fields map to ours."""

    # metadata keys the reader sets on every document (RecordReader.make_doc), with the fix for each: a
    # `metadata_fields` entry naming one of them would be skipped, so it is a recipe error instead
    READER_METADATA_KEYS: ClassVar[dict[str, str]] = {
        "source": "the reader sets `source` to the recipe's `name:`; remove it from metadata_fields",
        "language": "use `language_field: language` to take each record's language",
        "license": "use `license_field: license` to take each record's licence",
        "license_evidence": "the reader records where the licence came from; remove it from metadata_fields",
        "license_raw": "the reader keeps the record's licence string there when `license_field` normalises it; "
                       "remove it from metadata_fields",
        "language_raw": "the reader keeps the record's language value there when `language_field` maps it to a code "
                        "or finds no language in it; remove it from metadata_fields",
        "url": "the record's `url` field already fills the url column (`url_field`, default `url`): "
               "remove it from metadata_fields, or set `url_field:` to the field that holds it",
        "title": "the record's `title` field already fills the title column (`title_field`, default `title`): "
               "remove it from metadata_fields, or set `title_field:` to the field that holds it",
        "date": "the record's `date` field already fills the date column (`date_field`, default `date`): "
               "remove it from metadata_fields, or set `date_field:` to the field that holds it",
        "source_file": "the reader records the input file there (lineage); remove it from metadata_fields",
        "source_record": "the reader records the record's position there (lineage); remove it from metadata_fields",
    }

    type: Literal["jsonl", "parquet", "text", "html", "warc", "hf_dataset"]
    paths: list[str] = Field(default_factory=list, description="files, folders or globs, relative to the recipe")
    text_field: str = "text"
    id_field: str | None = "id"
    metadata_fields: list[Annotated[str, AfterValidator(lambda f: InputSpec.check_metadata_field(f))]] = Field(default_factory=list, description="record fields copied into the output; a "
                                       "dotted path `author.authoryearofdeath` copies one key of a dict or JSON-string "
                                       "field under that dotted name")
    language_field: str | None = Field(None, description="per-record language (or programming language for code)")
    license_field: str | None = Field(None, description="per-record licence; overrides the recipe's `license`")
    url_field: str | None = "url"
    title_field: str | None = "title"
    date_field: str | None = "date"
    # hf_dataset
    dataset: str | None = Field(None, description="Hub dataset id or local dataset folder (hf_dataset)")
    config: str | None = None
    split: str = "train"
    revision: str | None = None
    streaming: bool = Field(False, description="hf_dataset: stream records instead of downloading the whole split")
    limit: int | None = Field(None, ge=1, description="hf_dataset: read only the first N records (samples, trials)")
    sidecar: str | None = Field(None, description="JSONL of per-file records (licence, url…) joined on `sidecar_key`")
    sidecar_key: str = Field("path", description="sidecar field holding the input file's path relative to the sidecar")
    # html / warc
    favor_precision: bool = True
    include_tables: bool = True

    @field_validator("text_field", "id_field", "language_field", "license_field", "url_field", "title_field",
                     "date_field", "sidecar_key", "sidecar", "dataset")
    @classmethod
    def _named(cls, v, info: ValidationInfo):
        """A field name (or file) left empty: fuzz review, `text_field: ""` passed validate and the build removed all
        45 records as read_missing_text, exit 0; `license_field: ""` labelled every record with the recipe's
        licence, no warning (the reader never checks an empty name)."""
        if (why := blank_or_nul(v)) is not None:
            name = info.field_name
            fix = ("give the record field's name, or null for none" if name in _NULLABLE_NAMES
                   else "give the name" if name in ("text_field", "sidecar_key") else "give the name, or remove it")
            raise ValueError(f"`{name}` is {why}: {fix}")
        return v

    @field_validator("paths")
    @classmethod
    def _no_empty_path(cls, v):
        for i, p in enumerate(v):
            if (why := blank_or_nul(p, "a path")) is not None:
                # (fuzz review: `paths: [""]` read the recipe's own folder, its YAML files, as data)
                raise ValueError(f"paths[{i}] is {why}: give a file, folder or glob relative to the recipe")
        return v

    @staticmethod
    def check_metadata_field(f: str) -> str:
        """One `metadata_fields` entry: a field name or a dotted path, never a key the reader fills itself."""
        if not f.strip() or any(not part.strip() for part in f.split(".")):
            raise ValueError(f"{f!r} has an empty part; give a field name or a dotted path such as "
                             "author.authoryearofdeath (a key inside a dict or JSON-string field)")
        if f in InputSpec.READER_METADATA_KEYS:
            raise ValueError(f"{f!r} is filled by the reader itself, so the record's value would be skipped; "
                             + InputSpec.READER_METADATA_KEYS[f])
        if f.startswith("_"):
            raise ValueError(f"{f!r}: metadata keys starting with `_` are internal and never written; "
                             "remove it from metadata_fields")
        if f in LICENCE_STAGE_KEYS:  # (code review: an input column copied there posed as a licence stage's flag)
            raise ValueError(f"{f!r} is written by the licence stages (a document carrying it is flagged, never "
                             "published); remove it from metadata_fields")
        if f == "modified_by":  # licence review: a record's "" or null there crashed its source at the first stage
            raise ValueError("'modified_by' is written by the stages that change a document's text (the "
                             "no-derivatives check reads it); remove it from metadata_fields")
        return f

    @model_validator(mode="after")
    def _check_kind(self) -> "InputSpec":
        if self.type == "hf_dataset":
            if not self.dataset:
                raise ValueError("input.type hf_dataset needs `dataset:` (a Hub id such as ORG/NAME or a local folder)")
        elif not self.paths:
            raise ValueError(f"input.type {self.type} needs `paths:` (files, folders or globs relative to the recipe)")
        return self


class OutputSpec(Strict):
    max_rows_per_shard: int = Field(100_000, ge=1, le=50_000_000)


def _language_value(v: str) -> str:
    from .languages import language_problem

    problem = language_problem(v, "recipe")  # the value as a record's would be read; the code to write instead
    if problem:
        raise ValueError(problem)
    return v


# one value of a recipe's `languages`, checked on its own so that every bad value is reported with its YAML path
# (`languages[3]`) and line; what a value means is ``languages.normalize_language`` (the reader's mapping too)
RecipeLanguage = Annotated[str, BeforeValidator(not_a_yaml_boolean), AfterValidator(_language_value)]


class SourceRecipe(Strict):
    """One source: its origin, licence, expected languages, input and stage list."""

    name: Annotated[str, Field(pattern=NAME_RE)]
    description: str = ""
    category: Category
    languages: list[RecipeLanguage] = Field(min_length=1, description="ISO 639-1 codes (fr), a pair (fr,en), "
                                            "code or code:<lang>, or [und] when unknown")
    license: str
    provenance: Provenance = Provenance()
    redistributable: bool = Field(True, description="false: may enter a build, never a published mix (e.g. Persée)")
    input: InputSpec
    stages: StageList = Field(default_factory=list)
    output: OutputSpec = OutputSpec()
    preset: str | None = None

    @field_validator("languages")
    @classmethod
    def _langs(cls, v: list[str]) -> list[str]:
        """The list as a whole (each value was checked by ``RecipeLanguage``, every bad one reported)."""
        if "und" in v and len(v) > 1:
            raise ValueError("`und` (unknown) cannot be listed with other languages: list the languages the "
                             "documents are in, or `[und]` alone when they are unknown")
        dup = sorted({lang for lang in v if v.count(lang) > 1})
        if dup:
            raise ValueError(f"{', '.join(map(repr, dup))} listed more than once; list each language once")
        return v

    @field_validator("license")
    @classmethod
    def _license(cls, v: str) -> str:
        spdx = normalize_license(v)
        if spdx == UNKNOWN and v != UNKNOWN:
            raise ValueError(
                f"licence {v!r} is not recognised; use an SPDX id (CC-BY-4.0, MIT…) or LicenseRef-<name>"
            )
        return spdx

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> SourceRecipe:
        """Checks across keys: stage names, the order of the language stages, the metadata keys stages read.
        ``load_source`` asks for them itself (context ``COLLECT_PROBLEMS``) to report each one with its own YAML
        path and line, with the field errors of the same run; a recipe built in code gets all of them in one error."""
        if (info.context or {}).get(COLLECT_PROBLEMS):
            return self
        problems = recipe_problems(self.stages, self.languages, self.input, self.category)
        if problems:
            raise ValueError("; ".join(f"{_fmt_path(loc)}: {msg}" for loc, msg in problems))
        return self

    def rule_fields(self) -> list[tuple[int, str, str]]:
        """(stage index, option, metadata key) of every record field a licence rule reads (the Gutenberg rule's
        ``*_field`` options): checked against ``metadata_fields`` here, against the records by the ledger."""
        out = []
        for i, st in enumerate(self.stages):
            g = getattr(st, "gutenberg", None) if st.type == "license_rules" else None
            if g is not None:
                out += [(i, key, getattr(g, key)) for key in ("death_year_field", "birth_year_field", "usagerights_field")]
        return out

    @property
    def is_code(self) -> bool:
        return self.category == "programming" or any(lang.startswith("code") for lang in self.languages)

    @property
    def mixes_code_and_prose(self) -> bool:
        """Code and natural languages in one source that is not all code (`languages: [en, code:python]`): stages
        with code-aware defaults decide per document (normalize's `auto`)."""
        return (self.category != "programming" and any(lang.startswith("code") for lang in self.languages)
                and any(not lang.startswith("code") for lang in self.languages))


# metadata keys some readers set without a `metadata_fields` entry (besides InputSpec.READER_METADATA_KEYS, set by all)
READER_EXTRA_KEYS: dict[str, frozenset[str]] = {
    "html": frozenset({"license_detected"}),  # trafilatura's detected licence (steps.readers._html_record)
    "warc": frozenset({"license_detected"}),
    "text": frozenset({"read_note", "read_bytes_replaced"}),
}


def stage_metadata_reads(stages: list) -> list[tuple[int, tuple, str, str]]:
    """(stage index, option path inside the stage, metadata key, what the stage does to every document without it)
    of every metadata key a stage reads from the records. The reader copies only the keys it fills itself and the
    ``input.metadata_fields``, so a key outside both is never there and the stage acts on nothing (review: a
    `parallel_join` on `text_en` not listed removed 25/25 documents as parallel_missing_translation)."""
    out: list[tuple[int, tuple, str, str]] = []
    for i, st in enumerate(stages):
        if isinstance(st, _StandIn):
            continue
        t = getattr(st, "type", None)
        if t == "parallel_join":
            out.append((i, ("field",), st.field, "every document would be removed as `parallel_missing_translation`"))
        elif t == "redpajama_rules":
            out.append((i, ("field",), st.field,
                        "every document would be removed as `redpajama_missing_signals`" if st.missing == "drop" else
                        "every document would be kept unchecked (`missing: keep`)"))
        elif t == "license_rules":
            if st.license_field:
                out.append((i, ("license_field",), st.license_field, "no document's licence would be taken from it"))
            if st.statement_field:
                out.append((i, ("statement_field",), st.statement_field,
                            "no document's licence would be taken from a rights statement"))
            if st.use_detected:
                out.append((i, ("use_detected",), "license_detected",
                            "no document's licence would be taken from the detected one"))
            if st.gutenberg is not None:
                for key in ("death_year_field", "birth_year_field", "usagerights_field"):
                    out.append((i, ("gutenberg", key), getattr(st.gutenberg, key),
                                "the rule would keep every book on Lucie's \"no data\" default while looking applied"))
    return out


class _StandIn:
    """A stage that failed its own validation, as far as the checks across stages can use it (its type, its
    name, whether it names languages): its own errors are reported, the order and name checks still run."""

    def __init__(self, raw: Any):
        raw = raw if isinstance(raw, dict) else {}
        self.type = raw.get("type") if isinstance(raw.get("type"), str) else None
        self.name = raw.get("name") if isinstance(raw.get("name"), str) else None
        self.languages = raw.get("languages")
        self.chunk = None


def recipe_problems(stages: list, languages: list | None, input_spec: Any,
                    category: str | None = None) -> list[tuple[tuple, str]]:
    """Every problem across keys of a recipe, each as (YAML path, message): stage ids reserved or used twice, a
    language stage out of order, a metadata key a stage reads that the input never carries. ``stages`` may hold
    ``_StandIn`` for stages that failed validation, ``input_spec`` may be None (an invalid ``input:``)."""
    from .stages.langid import check_language_stage_order

    out: list[tuple[tuple, str]] = []
    first: dict[str, int] = {}
    for i, st in enumerate(stages):
        name = getattr(st, "name", None)
        sid = name or getattr(st, "type", None)
        if not isinstance(sid, str):
            continue
        where = ("stages", i, "name") if name else ("stages", i)
        if sid in RESERVED_STAGE_IDS:
            out.append((where, (f"{sid!r} is reserved for a built-in stage "
                                f"({', '.join(sorted(RESERVED_STAGE_IDS))}); give this stage another `name:`")))
        elif sid in first:
            out.append((where, f"stage name {sid!r} is used twice (stages[{first[sid]}] and stages[{i}]; a stage's "
                               f"name is its folder under removed/); give one a distinct `name:`"
                               + ("" if name else f", e.g. `name: {sid}_{i}`")))
        else:
            first[sid] = i
    code = category == "programming" or any(isinstance(x, str) and x.startswith("code") for x in languages or [])
    if category == "programming" and isinstance(languages, list):
        # a programming source reads every record's language as a programming language's name (`en` -> `code:en`),
        # so a natural language it lists is never met: its documents were removed as language_not_expected
        from .languages import language_problem

        for i, lang in enumerate(languages):
            # (`und`: the languages are unknown, a null language; a value that is no language at all is said by its
            # own check: rv60, `[und]` was refused, `[Code]` got two contradicting messages)
            if (isinstance(lang, str) and not lang.lower().startswith("code") and lang != "und"
                    and not language_problem(lang)):
                out.append((("languages", i), f"{lang!r} is a natural language, and a `category: programming` source "
                            f"holds code only (each record's language is read as a programming language's name: "
                            f"{lang!r} would be `code:{lang}`, then removed as language_not_expected): list `code` or "
                            f"`code:<language>` here; for a source of prose and code (`[en, code:python]`) give the "
                            f"category of its prose (e.g. `technical`)"))
    for i, st in enumerate(stages):
        # datatrove-user review: on code, lines repeated >= min_repeats times are statements (`return false;`, `}`),
        # and the default deleted them from 10 real files; only a deliberate `repeated_lines: true` keeps the rule
        if (code and getattr(st, "type", None) == "boilerplate" and getattr(st, "repeated_lines", False)
                and "repeated_lines" not in getattr(st, "model_fields_set", {"repeated_lines"})):
            out.append((("stages", i), "boilerplate's `repeated_lines` (on by default) deletes every line repeated "
                        "min_repeats times or more, which in code are statements (`return false;`, `goto fail;`): "
                        "set `repeated_lines: false` in a code source, or `repeated_lines: true` to keep the rule "
                        "knowingly"))
    # the language stages, each checked on its own so that every one out of order is reported: a stage's problem
    # depends only on the stage itself and on whether a language_id comes before it
    seen_id = False
    for i, st in enumerate(stages):
        t = getattr(st, "type", None)
        if t not in ("language_id", "language_gate"):
            continue
        probe = [_StandIn({"type": None})] * i + [st]
        if seen_id and i:
            probe[0] = _StandIn({"type": "language_id"})
        problem = check_language_stage_order(probe, list(languages) if isinstance(languages, list) else None)
        if problem:
            out.append((("stages", i), problem.removeprefix(f"stages[{i}]: ")))
        seen_id = seen_id or t == "language_id"
    if input_spec is not None:
        listed = set(input_spec.metadata_fields)
        carried = listed | set(InputSpec.READER_METADATA_KEYS) | READER_EXTRA_KEYS.get(input_spec.type, frozenset())
        for i, opt, key, consequence in stage_metadata_reads(stages):
            if key in carried:
                continue
            if opt == ("use_detected",):
                msg = (f"`use_detected` reads the metadata key `license_detected`, which only `type: html` and "
                       f"`type: warc` inputs set (trafilatura's detected licence); with `type: {input_spec.type}` "
                       f"{consequence}: add license_detected to input.metadata_fields if the records carry it, or "
                       "remove `use_detected`")
            else:
                msg = (f"{key!r} is not read from the records; add it to input.metadata_fields (the reader copies "
                       f"only the fields listed there; a dotted path reads a key inside a JSON field: "
                       f"author.authoryearofdeath), or name a field that is listed there. Without it {consequence}")
            out.append((("stages", i) + opt, msg))
    # checks a stage can only make knowing the recipe's input and languages (quality.py: url_problem; `language:
    # auto` thresholds against the presets of the recipe's own languages): made here so `validate` reports them,
    # not only the build (review 9)
    for i, st in enumerate(stages):
        languages_problem = getattr(st, "languages_problem", None)  # (langid.py: lingua needs 2 languages)
        if callable(languages_problem) and isinstance(languages, list):
            msg = languages_problem(languages)
            if msg:
                out.append((("stages", i), msg))
        url_problem = getattr(st, "url_problem", None)
        if callable(url_problem) and input_spec is not None:
            msg = url_problem(input_spec)
            if msg:
                out.append((("stages", i), msg))
        if getattr(st, "language", None) == "auto" and callable(getattr(st, "problems", None)) \
                and callable(getattr(st, "languages_of", None)) and isinstance(languages, list):
            found = st.problems(st.languages_of(languages))
            if found:
                out.append((("stages", i), f"{st.type} with `language: auto`: " + "; and ".join(found.values())
                            + " (or set `language:` to the documents' language)"))
    return out


_STAGE = TypeAdapter(AnyStage)


def _lenient_stages(raw_stages: Any) -> list:
    """Each stage of a recipe that failed validation, validated on its own, or a ``_StandIn`` when it fails."""
    stages: list = []
    for raw in raw_stages if isinstance(raw_stages, list) else []:
        try:
            stages.append(_STAGE.validate_python(raw))
        except (ValidationError, ValueError, TypeError):
            stages.append(_StandIn(raw))
    return stages


def _lenient_problems(merged: dict) -> list[tuple[tuple, str]]:
    """``recipe_problems`` of a recipe that failed validation, on what is usable of it: a stage that fails its own
    validation stands in with its type and name, so its errors and the checks across stages come in one run."""
    raw_stages = merged.get("stages")
    if not isinstance(raw_stages, list):
        return []
    stages = _lenient_stages(raw_stages)
    languages = merged.get("languages") if isinstance(merged.get("languages"), list) else None
    inp = merged.get("input")
    spec = None
    if isinstance(inp, dict) and isinstance(inp.get("type"), str):
        fields = inp.get("metadata_fields", [])
        if isinstance(fields, list) and all(isinstance(f, str) for f in fields):
            from types import SimpleNamespace

            spec = SimpleNamespace(type=inp["type"], metadata_fields=fields)
    category = merged.get("category") if isinstance(merged.get("category"), str) else None
    return recipe_problems(stages, languages, spec, category)


class ExecutorSpec(Strict):
    """Where tasks run: `local` processes (datatrove's LocalPipelineExecutor) or a Ray cluster."""

    type: Literal["local", "ray"] = "local"
    workers: int = Field(2, ge=1, le=512, description="tasks run at once (does not change the output)")
    tasks: int = Field(4, ge=1, le=10_000, description="shards per source; part of the output, keep it fixed")
    address: str | None = Field(None, description="ray: cluster address (`auto`, `ray://host:10001`); "
                                "default starts a local Ray with `workers` CPUs")
    mem_per_cpu_gb: float = Field(2.0, gt=0, description="ray: memory reserved per task")

    @model_validator(mode="after")
    def _ray_only(self) -> "ExecutorSpec":
        # review 8: `address:` under `type: local` was accepted and the build ran locally, ignoring it
        given = sorted({"address", "mem_per_cpu_gb"} & self.model_fields_set) if self.type == "local" else []
        if given:
            raise ValueError(f"`{'`, `'.join(given)}` only applies with `type: ray`; set `type: ray` to run on that "
                             "Ray cluster, or remove it")
        return self


class PipelineRecipe(Strict):
    """A build: which sources, where the output goes, how it runs, and the licence policy."""

    name: Annotated[str, Field(pattern=NAME_RE)]
    description: str = ""
    sources: list[str] = Field(min_length=1, description="recipe files or globs, relative to this file")
    output_dir: str | None = None
    executor: ExecutorSpec = ExecutorSpec()

    @field_validator("output_dir")
    @classmethod
    def _a_folder(cls, v):
        # fuzz review: `""`, `"   "` and a NUL byte passed validate; the NUL was a traceback at build
        if (why := blank_or_nul(v, "a path")) is not None:
            raise ValueError(f"`output_dir` is {why}: give the build folder, relative to this file, or remove it "
                             "(default build/<name>)")
        return v
    # rv47: a negative or 2**64 seed passed validate and the whole build, then stopped `mix build` (its selection hash
    # takes 64 bits), naming neither the file nor the key
    seed: int = Field(0, ge=0, lt=2**64, description="seed of the build's sampling and of the mix's selection (0 to "
                      "2**64 - 1)")
    tokenizer: str | None = Field(None, description="tokenizer.json path or Hub id for token counts; "
                                  "default: regex pre-token count (see lucie_data.tokens)")
    defaults: dict[str, Any] = Field(default_factory=dict, description="keys merged under every source recipe")
    presets: dict[str, dict[str, Any]] = Field(default_factory=dict, description="named recipe fragments (`preset:`)")
    license_policy: LicensePolicy | None = None
    mix: MixSpec | None = Field(None, description="how `lucie-data mix build` weights and materialises the mix")


# --------------------------------------------------------------------------------------------
# YAML with line numbers


class _LineLoader(yaml.SafeLoader):
    pass


def _yaml_with_lines(text: str, duplicates: list | None = None) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML and map each node's path (tuple of keys/indices) to its 1-based line. ``duplicates``, when given,
    gets (path, first line, second line) of every key given twice in one mapping: YAML keeps the last silently
    (review: `name:` twice, `de--web` twice in `mix.factors`)."""
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
    except RecursionError:
        raise YamlTooComplex("nested too deeply to read (hundreds of levels): a recipe, pipeline or weights file is "
                             "a few levels deep; check the file") from None
    finally:
        loader.dispose()
    lines: dict[tuple, int] = {}
    walked: set[int] = set()
    sizes: dict[int, int] = {}

    def size(n: yaml.Node) -> int:
        """Values the node stands for once its aliases are expanded (each shared node counted once per use)."""
        if id(n) not in sizes:
            kids = ([c for kv in n.value for c in kv] if isinstance(n, yaml.MappingNode)
                    else n.value if isinstance(n, yaml.SequenceNode) else [])
            sizes[id(n)] = 1 + sum(size(c) for c in kids)
        return sizes[id(n)]

    def walk(n: yaml.Node, path: tuple) -> None:
        lines.setdefault(path, n.start_mark.line + 1)
        if id(n) in walked:  # an alias of a node already walked: its own lines are known (fuzz review: every path
            return           # through nested aliases was walked, 9 levels took minutes and 20 GB)
        walked.add(id(n))
        if isinstance(n, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for k, v in n.value:
                if not isinstance(k, yaml.ScalarNode):  # `? [a, b]`: a key YAML reads as a list (refused below)
                    continue
                key = k.value
                if duplicates is not None and key != "<<":
                    if key in seen:
                        duplicates.append((path + (key,), seen[key], k.start_mark.line + 1))
                    seen.setdefault(key, k.start_mark.line + 1)
                lines[path + (key,)] = k.start_mark.line + 1
                if k.tag != "tag:yaml.org,2002:str" and k.style is None:
                    # a key YAML reads as null, a boolean, a number or a date (`~: 1`, `2024-01-01: 2`): pydantic
                    # names it as str() of that value ("None"), so its line is found under that name too (rv56)
                    try:
                        alias = path + (str(yaml.safe_load(key)),)
                        lines.setdefault(alias, k.start_mark.line + 1)
                        lines.setdefault((WRITTEN,) + alias, key)  # (the YAML path shows the key as written: rv61)
                    except yaml.YAMLError:
                        pass
                walk(v, path + (key,))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, path + (i,))

    if node is not None:
        try:
            walk(node, ())
            # only what aliases add counts: a long list written out (100,000 `domains:`) is the file's own size
            if size(node) > max(_YAML_MAX_VALUES, 10 * len(sizes)):
                raise YamlTooComplex(f"its aliases (`*name` of an `&name` anchor) expand {len(sizes):,} written "
                                     f"values to {size(node):,}: write the values out, or use fewer nested aliases")
        except RecursionError:
            raise YamlTooComplex("nested too deeply to read (hundreds of levels): a recipe, pipeline or weights file "
                                 "is a few levels deep; check the file") from None
    return yaml.safe_load(text), lines


# Aliases nested in aliases multiply (`a: &a [x, x]`, `b: &b [*a, *a]`, …: 9 levels of 9 were 387 million values
# downstream): a file may expand to 10 times the values it writes, and to 100,000 in any case
_YAML_MAX_VALUES = 100_000


class YamlTooComplex(yaml.YAMLError):
    """A YAML text that parses but is not one a recipe could be: nested past Python's recursion limit, or aliases
    that expand beyond any real recipe (``problem`` is the message, as PyYAML's errors have one)."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = None


def yaml_problem(e: yaml.YAMLError) -> tuple[int | None, str]:
    """(1-based line or None, "invalid YAML: what, and the usual fix") of a YAML error, as one line."""
    mark = getattr(e, "problem_mark", None)
    line = mark.line + 1 if mark else None
    problem = getattr(e, "problem", None) or str(e)
    hint = next((h for k, h in _YAML_HINTS if k in problem), "")
    return line, f"invalid YAML: {problem}{hint}"


def _fmt_path(loc: tuple) -> str:
    out = ""
    for part in loc:  # (a boolean is a key YAML read from `no:`, not a list index: rv62)
        out += f"[{part}]" if isinstance(part, int) and not isinstance(part, bool) else (f".{part}" if out else str(part))
    return out


_NO_KEY = object()


def _clean_loc(loc: tuple, data: Any) -> tuple:
    """Drop the discriminator tags pydantic inserts in union locations (``stages.1.min_length.min_chars``)."""
    out: list = []
    cur = data
    for part in loc:
        if isinstance(cur, list) and isinstance(part, int):
            out.append(part)
            cur = cur[part] if part < len(cur) else None
        elif isinstance(cur, dict):
            if part in cur:
                actual = next((k for k in cur if k == part and type(k) is not type(part)), part)
                # (pydantic names a boolean key 0 or 1: named as the key it is, `no:` not `[0]`; rv62)
                out.append(str(actual) if isinstance(actual, bool) else part)
                cur = cur[part]
            elif isinstance(part, str) and (key := next((k for k in cur if not isinstance(k, str) and str(k) == part),
                                                        _NO_KEY)) is not _NO_KEY:
                out.append(part)  # a key YAML read as null, a boolean, a number or a date, named as str() of it
                cur = cur[key]
            elif isinstance(part, str) and cur.get("type") == part:
                continue  # union tag
            else:
                out.append(part)
                cur = None
        elif isinstance(part, str) and part.startswith("function-"):
            continue
        else:
            out.append(part)
            cur = None
    return tuple(out)


def _model_at(root: type[BaseModel] | None, loc: tuple) -> type[BaseModel] | None:
    """The model whose keys hold the last part of pydantic's raw error location ``loc`` (stage specs found by
    their union tag, ``stages.0.min_length.min_char``), or None where the location is not a model."""

    from .stages import stage_table

    def inner(ann):
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            return ann
        for arg in get_args(ann):
            found = inner(arg)
            if found is not None:
                return found
        return None

    model = root
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if model is not None and part in model.model_fields:
            model = inner(model.model_fields[part].annotation)
        else:
            model = stage_table().get(part) if isinstance(part, str) else None
    return model


def _unknown_key(key: Any, model: type[BaseModel] | None) -> str:
    """``unknown key`` with the likely key meant and what is allowed there (dolma-style ``did you mean``)."""
    import difflib

    from .stages.base import StageSpec

    if model is None:
        return "unknown key (remove it or fix its spelling)"
    stage = issubclass(model, StageSpec)
    allowed = [k for k in model.model_fields if not (stage and k == "type")]
    # datatrove's reader arguments, which a datatrove user writes first (review: `id_key` suggested `sidecar_key`)
    known = {"text_key": "text_field", "id_key": "id_field", "glob_pattern": "paths", "data_folder": "paths"}
    close = [known[key]] if known.get(key) in allowed else difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    where = "`lucie-data stages` lists every stage's arguments" if stage else f"allowed here: {', '.join(allowed)}"
    return f"unknown key {key!r}; {hint}remove it or fix its spelling ({where})"


def _friendly(err: dict, model: type[BaseModel] | None = None) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return _unknown_key(err["loc"][-1] if err.get("loc") else "?", model)
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        tag, expected = ctx.get("tag"), ctx.get("expected_tags", "")
        import difflib

        options = [t.strip().strip("'") for t in str(expected).split(",")]
        close = difflib.get_close_matches(str(tag), options, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return f"unknown stage type {tag!r}; available: {', '.join(options)}.{hint}"
    if kind == "union_tag_not_found":
        return "each stage needs a `type:` key (see `lucie-data stages`)"
    if kind == "yaml_key":  # (mix.plan.keys_and_values: the message names the key and the fix)
        return msg
    if kind.startswith("value_error"):
        msg = msg.removeprefix("Value error, ")
    if kind == "string_pattern_mismatch" and (err.get("ctx") or {}).get("pattern") == NAME_RE:
        msg = ("a name must be usable as a folder name: letters, digits, `_`, `.` and `-`, starting with a letter "
               "or a digit (no `/`, no spaces)")
    inp = err.get("input")
    loc = tuple(err.get("loc") or ())
    if kind == "list_type" and isinstance(inp, (str, int, float)):  # review: `languages: fr` said "a valid list"
        return f"expected a list, got the single value {inp!r}: write it as a list, `[{inp}]`"
    if kind == "list_type":  # a mapping or nothing where a list goes (`stages: {type: normalize}`, `stages:`)
        got = "nothing" if inp is None else "a mapping" if isinstance(inp, dict) else type(inp).__name__
        return f"expected a list (`- item` lines, or `[a, b]`), got {got}"
    if kind == "string_type" and isinstance(inp, (list, dict)):
        return (f"expected a single value, got a {'list' if isinstance(inp, list) else 'mapping'} ({inp!r}); write "
                "one value" + (" (an SPDX expression joins licences: `MIT OR Apache-2.0`)" if loc[-1:] == ("license",)
                               else ""))
    if kind in ("model_type", "dict_type", "model_attributes_type") and not isinstance(inp, dict):
        shown = f"the string {inp!r}" if isinstance(inp, str) else "nothing" if inp is None else f"{inp!r}"
        if "stages" in loc[-3:-1] and isinstance(loc[-1], int):  # (a preset's stages too)
            hint = f"write `- type: {inp}`" if isinstance(inp, str) else "`lucie-data stages` lists them"
            return f"a stage is a mapping with a `type:` key, got {shown}: {hint}"
        return (f"expected a mapping (keys on their own lines, indented under `{loc[-1] if loc else 'it'}:`), got "
                f"{shown}; `lucie-data schema` lists its keys")
    if (kind not in ("model_type", "dict_type") and not isinstance(inp, (dict, list)) and inp is not None
            and repr(inp) not in msg):  # a message that already quotes the value says it once
        msg += f" (got {inp!r})"
    return msg


def validation_problems(exc: ValidationError, data: Any, root: type[BaseModel] | None = None) -> list[tuple[tuple, str]]:
    """(YAML path, message) of each pydantic error; ``root`` (the validated model) lets an unknown key name the
    allowed ones."""
    out = []
    for err in exc.errors():
        loc = _clean_loc(tuple(err["loc"]), data)
        model = _model_at(root, tuple(err["loc"])) if err["type"] == "extra_forbidden" else None
        out.append((loc, _friendly(err, model)))
    return out


def _line_of(loc: tuple, lines: dict[tuple, int]) -> int | None:
    """The line of ``loc``, else of its nearest ancestor in the file."""
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
        keyed = tuple(p if isinstance(p, str) or (isinstance(p, int) and not isinstance(p, bool)) else str(p)
                      for p in loc[:n])  # (a key YAML read as null, a boolean…: its line is under str() of it)
        if keyed in lines:
            return lines[keyed]
    return None


WRITTEN = "\0written"  # lines[(WRITTEN, *path)]: a key YAML read as null, a boolean, a number or a date, as written


def _as_written(loc: tuple, lines: dict) -> tuple:
    """``loc`` with each such key as the file writes it (`mix.languages.no`, not `mix.languages.False`)."""
    def key(p):
        return p if isinstance(p, str) or (isinstance(p, int) and not isinstance(p, bool)) else str(p)
    return tuple(lines.get((WRITTEN, *map(key, loc[:i + 1])), part) for i, part in enumerate(loc))


def issues_from_validation(exc: ValidationError, data: Any, file: str, lines: dict[tuple, int],
                           root: type[BaseModel] | None = None) -> list[ConfigIssue]:
    """One issue per pydantic error, with the YAML path and line; ``root`` (the validated model) lets an unknown
    key name the allowed ones."""
    return [ConfigIssue(file, _fmt_path(_as_written(loc, lines)), msg, _line_of(loc, lines))
            for loc, msg in validation_problems(exc, data, root)]


# --------------------------------------------------------------------------------------------
# loading


def deep_merge(base: dict, over: dict) -> dict:
    """Merge ``over`` onto ``base``: mappings merge recursively, everything else (lists too) is replaced."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _read_yaml(path: Path) -> tuple[Any, dict[tuple, int], list[ConfigIssue]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, {}, [ConfigIssue(str(path), "", "file not found")]
    except UnicodeDecodeError as e:
        raw = e.object if isinstance(e.object, bytes) else b""
        utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff")  # (a UTF-16 byte-order mark: review, named as such)
        line = raw.count(b"\n", 0, e.start) + 1 if raw and not utf16 else None
        what = ": it is UTF-16 (it starts with a UTF-16 byte-order mark)" if utf16 else f" ({e.reason} at byte {e.start})"
        return None, {}, [ConfigIssue(str(path), "", f"not UTF-8 text{what}; save it as UTF-8", line)]
    except IsADirectoryError:
        return None, {}, [ConfigIssue(str(path), "", "is a folder; pass a pipeline or recipe YAML file")]
    except OSError as e:
        return None, {}, [ConfigIssue(str(path), "", f"cannot be read: {e.strerror or e}")]
    dups: list = []
    try:
        data, lines = _yaml_with_lines(text, dups)
    except yaml.YAMLError as e:
        line, text = yaml_problem(e)
        return None, {}, [ConfigIssue(str(path), "", text, line)]
    if not isinstance(data, dict):
        return None, {}, [ConfigIssue(str(path), "", "expected a mapping of keys (name:, input:, stages: …) at the top")]
    issues = [ConfigIssue(str(path), _fmt_path(where), f"key given twice (lines {first} and {second}); YAML would keep "
                          "the second silently: remove one", second) for where, first, second in dups]
    return data, lines, issues


# PyYAML's words for the usual slips, with what a newcomer most likely did (data-engineer review: the bare
# messages gave a line and nothing to do about it)
_YAML_HINTS = (
    ("mapping values are not allowed here", " (a `key: value` where YAML did not expect one: usually this line is "
                                            "indented deeper than the keys beside it, or a value before it holds an "
                                            "unquoted `: `; align it with its siblings or quote the value)"),
    ("expected <block end>", " (a line indented less or more than its siblings: keys of one mapping, and `- ` items "
                             "of one list, start in the same column)"),
    ("found another document", " (a `---` line starts a second YAML document: a recipe or pipeline is one; remove it)"),
    ("found character '\\t'", " (a tab: YAML indents with spaces only)"),
    ("found unhashable key", " (a key written as a list or a mapping, e.g. after `? `: keys are plain names)"),
)


def _relative_hint(given: Path, base: Path) -> str:
    """The hint "(relative paths are resolved from BASE)" after a path that was not found, only when that path is
    relative (review: it was said after absolute paths too, and as "from ." for a pipeline in the current folder)."""
    if given.is_absolute():
        return ""
    return f" (relative paths are resolved from {Path(base).resolve()})"


def resolve_paths(base: Path, patterns: list[str], problems: list[str] | None = None) -> list[Path]:
    """Expand globs and folders relative to ``base``; sorted, so shard assignment is deterministic. Only regular files
    (or symlinks to one) with a UTF-8 path (:func:`_utf8_path`): anything else a pattern matches (a dangling symlink, a symlink loop, a named pipe, a socket, a
    device) is left out and said in ``problems`` (fuzz review: a loop was a traceback, a dangling link failed the
    source as "a defect", a named pipe hung the build)."""
    out: list[Path] = []
    for pat in patterns:
        p = Path(pat)
        full = p if p.is_absolute() else base / p
        matches = sorted(Path(m) for m in glob.glob(str(full), recursive=True))
        if problems is not None:
            problems.extend(_unlistable_dirs(str(full)))
        for m in matches:
            if m.is_dir():
                out.extend(_walk_files(m, problems))
            elif m.is_file():
                out.append(m)
            elif problems is not None:
                problems.append(_not_a_file(m))
    seen, uniq = set(), []
    for m in out:
        if problems is not None and not _utf8_path(m):
            problems.append(_not_utf8(m))
            continue
        try:
            r = m.resolve()
        except (OSError, RuntimeError):  # (a loop made after the listing)
            if problems is not None:
                problems.append(_not_a_file(m))
            continue
        if r not in seen:
            seen.add(r)
            uniq.append(r)
    return uniq


def _walk_files(folder: Path, problems: list[str] | None) -> list[Path]:
    """Every regular file under ``folder`` but hidden ones, sorted, through symlinked subfolders too (code review:
    ``rglob`` skipped them, so `paths: [data]` left out what `data/**/*.jsonl` read), each real folder once (a link back
    up is a loop, not read twice); anything else is said in ``problems``."""
    out: list[Path] = []
    seen: set[str] = set()

    def unlistable(err: OSError) -> None:  # (os.walk skips such a folder without a word: review 29, records lost)
        if problems is not None:
            problems.append(_cannot_list(err.filename, err))

    for root, dirs, files in os.walk(folder, followlinks=True, onerror=unlistable):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        # hidden files and folders are not the corpus (rv59: a data folder under git was read with `.git/`, 1,008
        # junk records removed, an editor's swap file rebuilt the source, its lock file stopped every build); as
        # globs and `hf_dataset` folders (runner.local_dataset_files) leave them out. A path naming one still reads it
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:  # (os.walk lists here whatever is not a folder: links that lead nowhere, pipes…)
            if name.startswith("."):
                continue
            x = Path(root, name)
            if x.is_file():
                out.append(x)
            elif problems is not None:
                problems.append(_not_a_file(x))
    return sorted(out)


def _unlistable_dirs(pattern: str) -> list[str]:
    """The folders a glob pattern reads that cannot be listed (no read or execute permission): glob skips them
    without a word, so the files in them were neither read nor reported (review 29, rule 1)."""
    parent = os.path.dirname(pattern)
    if not parent:
        return []
    dirs = glob.glob(parent, recursive=True) if glob.has_magic(parent) else [parent]
    out = []
    for d in sorted(dirs):
        if os.path.isdir(d):
            try:
                os.scandir(d).close()
            except OSError as e:
                out.append(_cannot_list(d, e))
    return out


def _cannot_list(folder, err: OSError) -> str:
    return (f"{folder} cannot be listed ({err.strerror or err}), so its files would not be read: give the user "
            "running the build read and execute permission on it (chmod a+rx), or make `paths` leave it out")


def _utf8_path(m: Path) -> bool:
    """Whether a path is text: lineage writes every input's path (``source_file``, ids) to UTF-8 Parquet, and a
    name in another encoding (Python keeps its bytes as lone surrogates) failed the whole source in the writer."""
    try:
        str(m).encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _not_utf8(m: Path) -> str:
    """Why an input whose path is not UTF-8 is not read (its bytes escaped, ``\\xff``), with the fix."""
    shown = os.fsencode(m).decode("utf-8", "backslashreplace")
    return (f"{shown}: its name is not UTF-8, and the build records input names as text: rename it to a UTF-8 name "
            "(a folder of Latin-1 names: convmv -r -f latin1 -t utf-8 --notest FOLDER), or make `paths` leave it out")


def require_utf8_path(path: Path, what: str) -> None:
    """An output folder whose name is not UTF-8 (typed in a Latin-1 locale: Python keeps its bytes as lone
    surrogates), refused before any work: every source failed as "a defect", then the manifest's write ended on a
    traceback (rv60). The build records its paths as text, as it does its inputs'."""
    if not _utf8_path(path):
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        raise InputError(f"{what} {shown}: its name is not UTF-8, and lucie-data records its paths as text: give a "
                         "folder with a UTF-8 name (in a Latin-1 locale, type the name in a UTF-8 terminal, or rename "
                         "it with convmv -f latin1 -t utf-8 --notest)")


def _not_a_file(m: Path) -> str:
    """Why a path an input pattern matches is not read, with the fix."""
    import stat

    if m.is_symlink():
        try:
            target = os.readlink(m)
        except OSError:
            target = "?"
        try:
            m.resolve(strict=True)
            why = f"is a symlink to {target}, which is not a regular file"
        except RuntimeError:
            why = f"is a symlink loop (it points to {target})"
        except OSError:
            why = f"is a symlink to {target}, which does not exist"
    else:
        try:
            mode = m.stat().st_mode
            why = ("is a named pipe (reading it would wait for a writer forever)" if stat.S_ISFIFO(mode)
                   else "is a socket" if stat.S_ISSOCK(mode) else "is a device" if stat.S_ISCHR(mode) or
                   stat.S_ISBLK(mode) else "is not a regular file")
        except OSError as e:
            why = f"cannot be read ({e.strerror or e})"
    return f"{m} {why}: remove it, or make `paths` match regular files only"


def _resolve_stage_paths(recipe: SourceRecipe, base: Path, file: str, lines: dict,
                        place=None) -> tuple[SourceRecipe, list[ConfigIssue]]:
    """Make each stage's file arguments absolute (relative to the recipe) and check they exist. ``place(loc,
    message)`` makes the issue of a YAML path (the file and line it comes from); default: the recipe's."""
    if place is None:
        def place(loc: tuple, msg: str) -> ConfigIssue:
            return ConfigIssue(file, _fmt_path(loc), msg, lines.get(loc))
    issues: list[ConfigIssue] = []
    stages = []
    changed = False
    for i, st in enumerate(recipe.stages):
        update = {}
        for f, v in st.path_values():
            p = Path(v).expanduser()
            full = p if p.is_absolute() else (base / p).resolve()
            if not full.exists():
                issues.append(place(("stages", i, f), f"file {v!r} does not exist{_relative_hint(p, base)}; fix the "
                                    "path or download the model first"))
                continue
            if (problem := st.file_problem(f, str(full))) is not None:
                issues.append(place(("stages", i, f), f"file {v!r} {problem}"))
            if str(full) != v:
                update[f] = str(full)
        if update:
            st = st.model_copy(update=update)
            changed = True
        stages.append(st)
    if recipe.input.sidecar:
        sc = (base / recipe.input.sidecar)
        if not sc.is_file():
            issues.append(place(("input", "sidecar"), f"sidecar file {recipe.input.sidecar!r} does not exist"))
    return (recipe.model_copy(update={"stages": stages}) if changed else recipe), issues


class LoadedSource:
    """A validated source recipe with the file it came from and its resolved input files."""

    def __init__(self, recipe: SourceRecipe, file: Path, raw: dict, inputs: list[Path]):
        self.recipe = recipe
        self.file = file
        self.raw = raw
        self.inputs = inputs

    @property
    def name(self) -> str:
        return self.recipe.name

    @property
    def sidecar(self) -> Path | None:
        """The sidecar file (per-page licences, URLs), resolved as the reader resolves it, or None."""
        sc = self.recipe.input.sidecar
        return Path(os.path.realpath(os.path.join(str(self.file.parent), sc))) if sc else None

    def recipe_hash(self) -> str:
        return hashlib.sha256(self.recipe.model_dump_json().encode()).hexdigest()


class _Origins:
    """Where each YAML path of a merged recipe comes from: the recipe's own data, else the pipeline's preset, else
    its defaults (``deep_merge``: defaults < preset < recipe; mappings merge, anything else is replaced), so an
    issue names the file, line and path the user has to edit (review: a typo under the pipeline's
    `presets.fr_web.stages[1]` was reported at line 1 of the recipe using the preset)."""

    def __init__(self, path: Path, lines: dict, data: dict, preset_name: Any, preset: dict | None,
                 defaults: dict | None, pipeline_file: Path | None, pipeline_lines: dict | None):
        self.path, self.lines = path, lines
        self.pipeline_file, self.pipeline_lines = pipeline_file, pipeline_lines or {}
        self.layers: list[tuple[tuple | None, Any]] = [(None, data)]  # (path of the layer in the pipeline, data)
        if preset is not None:
            self.layers.append((("presets", preset_name), preset))
        if defaults:
            self.layers.append((("defaults",), defaults))

    def layer_of(self, loc: tuple) -> tuple | None:
        """None when ``loc`` is the recipe's own, else the pipeline path of the preset or defaults giving it."""
        cands = self.layers
        for part in loc:
            if isinstance(cands[0][1], dict):  # mappings merge: every layer up to the first non-mapping
                n = next((k for k, (_, v) in enumerate(cands) if not isinstance(v, dict)), len(cands))
                cands = cands[:n]
            else:  # a list or a value replaces the lower layers' whole
                cands = cands[:1]
            nxt = [(where, v[part]) for where, v in cands
                   if (isinstance(v, dict) and part in v)
                   or (isinstance(v, list) and isinstance(part, int) and 0 <= part < len(v))]
            if not nxt:
                break  # a missing key: the mapping that lacks it is the first layer holding its parent
            cands = nxt
        return cands[0][0]

    def issue(self, loc: tuple, msg: str) -> tuple[ConfigIssue, tuple | None]:
        """The issue of ``loc`` in the file it comes from, and the pipeline section it is in (None: the recipe)."""
        section = self.layer_of(loc)
        if section is None:
            return ConfigIssue(str(self.path), _fmt_path(_as_written(loc, self.lines)), msg,
                               _line_of(loc, self.lines)), None
        full = section + loc
        if self.pipeline_file is None:  # load_source(path, defaults, presets) without the pipeline's file
            return ConfigIssue(str(self.path), f"(pipeline) {_fmt_path(full)}", msg), section
        return (ConfigIssue(str(self.pipeline_file), _fmt_path(_as_written(full, self.pipeline_lines)), msg,
                            _line_of(full, self.pipeline_lines)), section)


def _with_users(issue: ConfigIssue, section: tuple, recipes: list[str]) -> ConfigIssue:
    """A pipeline issue found through its recipes, saying which recipes use the preset or defaults holding it."""
    what = (f"preset {section[1]!r}, used by" if section[0] == "presets" else "defaults, merged into")
    return ConfigIssue(issue.file, issue.path, f"{issue.message} (the pipeline's {what} {', '.join(recipes)})",
                       issue.line)


# the fields an html page has without a sidecar (steps.readers._html_record: trafilatura's)
_HTML_OWN_FIELDS = frozenset({"url", "title", "date", "sitename", "license_detected"})


def _idle_input_options(spec: "InputSpec", own: set[str]) -> list[tuple[tuple, str]]:
    """Input options the recipe (or its preset) writes that do nothing for its input type (new-user review: accepted
    without a word): hf_dataset's on files, html/warc's elsewhere, and a `license_field`/`language_field` naming a
    field text files or html pages without a sidecar never have (the build failed after extracting every page).
    Options from the pipeline's `defaults:` are not judged here: they serve sources of every type, so one idle for
    this type is fine; one that makes the build fail for it is ``_defaults_input_failures``'s."""
    only = {**{k: ("hf_dataset",) for k in ("dataset", "config", "split", "revision", "streaming", "limit")},
            "favor_precision": ("html", "warc"), "include_tables": ("html", "warc")}
    out: list[tuple[tuple, str]] = []
    idle = [k for k, types in only.items() if k in own and spec.type not in types]
    for k in idle:
        out.append((("input", k), f"`{k}` only applies to input.type {' / '.join(only[k])}, not {spec.type}: "
                                  "remove it"))
    if spec.type == "text":  # a text file's record is {text, id: its path, title: its name} (readers._iter_text)
        fixed = {"text_field": "text", "id_field": "id", "title_field": "title"}
        for k in ("text_field", "id_field", "title_field", "url_field", "date_field", "license_field",
                  "language_field"):
            field = getattr(spec, k)
            if k in own and field and field != fixed.get(k):
                out.append((("input", k), f"`{k}: {field}` names a record field, and a `type: text` file is one "
                                          "document with only its text, its path (id) and its name (title): remove "
                                          f"`{k}`" + (" (the recipe's `license:` and `languages:` apply to every "
                                                      "file)" if k in ("license_field", "language_field") else "")))
    if spec.type == "html" and not spec.sidecar:
        for k in ("license_field", "language_field"):
            field = getattr(spec, k)
            if k in own and field and field not in _HTML_OWN_FIELDS:
                out.append((("input", k), f"`{k}: {field}` reads a field of each record, and html pages without a "
                                          f"sidecar have only {', '.join(sorted(_HTML_OWN_FIELDS))}: give a "
                                          "`sidecar:` (a JSONL file with a row per input file holding that field, "
                                          f"joined on `sidecar_key`), or remove `{k}`"))
    if spec.type == "warc":  # a WARC record is a page as trafilatura extracts it (readers._iter_warc: no sidecar)
        for k in ("license_field", "language_field"):
            field = getattr(spec, k)
            if k in own and field and field not in _HTML_OWN_FIELDS:
                detected = (" (or `license_field: license_detected` for the licence trafilatura finds in the page)"
                            if k == "license_field" else "")
                out.append((("input", k), (f"`{k}: {field}` reads a field of each record, and the pages of a WARC "
                                           f"have only {', '.join(sorted(_HTML_OWN_FIELDS))} (trafilatura's): "
                                           f"remove `{k}`{detected}")))
    if "sidecar_key" in own and not spec.sidecar:
        out.append((("input", "sidecar_key"), "`sidecar_key` names the sidecar's join field, and there is no "
                                              "`sidecar:`: add the sidecar, or remove `sidecar_key`"))
    return out


def _reader_record_fields(spec: InputSpec) -> frozenset[str] | None:
    """The fields of every record of ``spec``'s input type, made by the reader itself (steps.readers: a text file is
    {text, id, title}, ``_iter_text``; an html page without a sidecar or a WARC page is trafilatura's fields, the
    text under `text_field`, the file or record id under `id_field`, ``_html_record``), or None when the input's own
    records decide (jsonl, parquet, hf_dataset, html with a sidecar)."""
    if spec.type == "text":
        return frozenset({"text", "id", "title"})
    if spec.type == "warc" or (spec.type == "html" and not spec.sidecar):
        return _HTML_OWN_FIELDS | {spec.text_field} | ({spec.id_field} if spec.id_field else set())
    return None


# the input options naming a field that make the build fail the source when no record has it
# (ledger.read_checks_problems: a licence field no record fills, a text field no record has); the other field options
# only warn (the reader falls back to the recipe's language, a positional id, no url...)
_FIELD_OPTIONS_THAT_FAIL = {
    "license_field": ("the build would fail this source after reading all of it (a licence field no record fills)",
                      "null"),
    "text_field": (("the build would remove every record at `read` (read_missing_text) and fail this source after "
                    "reading all of it"), "text"),
}


def _defaults_input_failures(spec: InputSpec, own: set[str], defaults_input: set[str]) -> list[tuple[tuple, str]]:
    """Input options from the pipeline's `defaults:` (not written by the recipe or its preset) that cannot work for
    this recipe's input type: a field option the build fails on (``_FIELD_OPTIONS_THAT_FAIL``) naming a field that
    the reader's records of this type never have (``_reader_record_fields``). Review: `defaults: {input:
    {license_field: lic}}` with a `type: text` source passed `validate`, and the build failed that source after
    reading it. Options that are merely idle for the type are not judged (``_idle_input_options``): a defaults
    block serves sources of every type."""
    fields = _reader_record_fields(spec)
    if fields is None:
        return []
    what = {"text": "a `type: text` file is one record with only text, id (its path) and title (its name)",
            "html": "an html page without a `sidecar:` has only " + ", ".join(sorted(fields)),
            "warc": "a WARC page has only " + ", ".join(sorted(fields))}[spec.type]
    out: list[tuple[tuple, str]] = []
    for k, (consequence, override) in _FIELD_OPTIONS_THAT_FAIL.items():
        field = getattr(spec, k)
        if k in own or k not in defaults_input or not field or field in fields:
            continue
        sidecar = ", give this recipe a `sidecar:` whose rows hold that field" if spec.type == "html" else ""
        out.append((("input", k),
                    (f"`{k}: {field}` from the pipeline's defaults cannot work for input.type {spec.type}: {what}, so "
                     f"no record has {field!r} and {consequence}. Move `{k}` out of `defaults:` into the recipes "
                     f"whose records have that field{sidecar}, or override it in this recipe's `input:` with "
                     f"`{k}: {override}`")))
    return out


def _lenient_input(merged: dict) -> InputSpec | None:
    """The ``input:`` of a recipe that failed validation, as far as it validates on its own (keys with an error of
    their own left out), for the checks on its options; None when it cannot be made."""
    inp = merged.get("input")
    if not isinstance(inp, dict):
        return None
    try:
        return InputSpec.model_validate(inp)
    except ValidationError as e:
        bad = {err["loc"][0] for err in e.errors() if err.get("loc")}
        if not bad or "type" in bad or any(not err.get("loc") for err in e.errors()):
            return None
    try:
        return InputSpec.model_validate({k: v for k, v in inp.items() if k not in bad})
    except ValidationError:
        return None


def _load_source(path: Path, defaults: dict | None, presets: dict | None, pipeline_file: Path | None,
                 pipeline_lines: dict | None, policy=None) -> tuple[LoadedSource | None, list[ConfigIssue],
                                                                    list[tuple[ConfigIssue, tuple]]]:
    """``load_source``, with the issues of the pipeline's presets and defaults apart (the issue, its section)."""
    path = Path(path)
    data, lines, issues = _read_yaml(path)
    if data is None:
        return None, issues, []
    merged = data
    preset_name = data.get("preset")
    preset = None
    if preset_name is not None:
        if not isinstance(preset_name, str) or not presets or preset_name not in presets:
            known = ", ".join(sorted(presets or {})) or "none defined"
            return None, [ConfigIssue(str(path), "preset", f"unknown preset {preset_name!r}; available: {known}. "
                                      "Define it under `presets:` in the pipeline that lists this source",
                                      lines.get(("preset",)))], []
        preset = presets[preset_name] if isinstance(presets[preset_name], dict) else {}  # else the pipeline's error
        merged = deep_merge(preset, merged)
    if defaults:
        merged = deep_merge(defaults, merged)
    origins = _Origins(path, lines, data, preset_name, preset, defaults, pipeline_file, pipeline_lines)
    shared: list[tuple[ConfigIssue, tuple]] = []

    def place(loc: tuple, msg: str) -> ConfigIssue | None:
        issue, section = origins.issue(loc, msg)
        if section is None:
            return issue
        shared.append((issue, section))
        return None

    def add(found: list) -> None:
        issues.extend(i for i in found if i is not None)

    own_input = {k for d in (data, preset or {}) if isinstance(d.get("input"), dict) for k in d["input"]}
    defaults_input = set(defaults["input"]) if defaults and isinstance(defaults.get("input"), dict) else set()

    def input_checks(spec: InputSpec) -> list:
        return [place(loc, msg) for loc, msg in _idle_input_options(spec, own_input)
                + _defaults_input_failures(spec, own_input, defaults_input)]

    try:
        recipe = SourceRecipe.model_validate(merged, context={COLLECT_PROBLEMS: True})
    except ValidationError as e:
        # every field error, and the checks across stages on what is usable, in the same run
        add([place(loc, msg) for loc, msg in validation_problems(e, merged, SourceRecipe) + _lenient_problems(merged)])
        # the checks of a valid recipe's input options and gate policies, on what is usable, in the same run too
        # (review: they surfaced only once every other problem was fixed)
        spec = _lenient_input(merged)
        if spec is not None:
            add(input_checks(spec))
        if policy is not None and pipeline_file is not None:
            from types import SimpleNamespace

            stages = SimpleNamespace(stages=_lenient_stages(merged.get("stages")))
            add([place(loc, msg) for loc, msg in _loosening_gate_problems(stages, policy, Path(pipeline_file))])
        # input paths that match nothing, said in the same run (review: they surfaced only once the rest was fixed)
        inp = merged.get("input") if isinstance(merged.get("input"), dict) else {}
        if inp.get("type") != "hf_dataset" and isinstance(inp.get("paths"), list):
            for i, pat in enumerate(inp["paths"]):
                if not isinstance(pat, str) or blank_or_nul(pat) is not None:  # (reported by the validator)
                    continue
                odd: list[str] = []
                if not resolve_paths(path.parent, [pat], odd) and not odd:
                    add([place(("input", "paths", i),
                               f"no file matches {pat!r}{_relative_hint(Path(pat), path.parent)}; check the path")])
                add([place(("input", "paths", i), why) for why in odd[:5]])
        return None, issues, shared
    if recipe.input.sidecar and recipe.input.type != "html" and "sidecar" not in own_input:
        # a sidecar from the pipeline's defaults serves its html sources: for this one it is dropped, so that it is
        # neither looked for next to this recipe nor part of its build key (code review: touching the html sources'
        # sidecar rebuilt a jsonl source; a recipe in another folder was told the sidecar does not exist)
        recipe = recipe.model_copy(update={"input": recipe.input.model_copy(update={"sidecar": None})})
    add([place(loc, msg) for loc, msg in recipe_problems(recipe.stages, recipe.languages, recipe.input,
                                                         recipe.category)])
    add(input_checks(recipe.input))
    if policy is not None and pipeline_file is not None:
        add([place(loc, msg) for loc, msg in _loosening_gate_problems(recipe, policy, Path(pipeline_file))])
    recipe, path_issues = _resolve_stage_paths(recipe, path.parent, str(path), lines, place)
    add(path_issues)
    inputs: list[Path] = []
    if recipe.input.type != "hf_dataset":
        for i, pat in enumerate(recipe.input.paths):
            odd: list[str] = []
            found = resolve_paths(path.parent, [pat], odd)
            add([place(("input", "paths", i), why) for why in odd[:5]])
            if not found and not odd:
                add([place(("input", "paths", i),
                           f"no file matches {pat!r}{_relative_hint(Path(pat), path.parent)}; check the path")])
            inputs.extend(f for f in found if f not in inputs)
    else:
        ds = recipe.input.dataset or ""
        local = (path.parent / ds)
        if ds.startswith((".", "/")) and not local.exists():
            add([place(("input", "dataset"), f"local dataset folder {ds!r} does not exist")])
        elif local.is_dir():
            add([place(loc, msg) for loc, msg in _saved_dataset_problems(recipe.input, local, own_input)])
    if not issues and not shared and recipe.input.sidecar:
        issues.extend(check_sidecar(recipe.input, path, inputs, lines))
    if issues or shared:
        return None, issues, shared
    return LoadedSource(recipe, path.resolve(), merged, inputs), [], []


def load_source(
    path: Path, defaults: dict | None = None, presets: dict | None = None, pipeline_file: Path | None = None,
    pipeline_lines: dict | None = None,
) -> tuple[LoadedSource | None, list[ConfigIssue]]:
    """Load and validate one recipe, merged over a pipeline's ``defaults`` and ``presets``; every problem at once.
    An issue in the presets or defaults names ``pipeline_file`` at its line (``pipeline_lines``, from
    ``_yaml_with_lines``) and its path there, and says that this recipe uses it."""
    src, issues, shared = _load_source(path, defaults, presets, pipeline_file, pipeline_lines)
    return src, issues + [_with_users(i, section, [_recipe_label(path, pipeline_file)]) for i, section in shared]


def _recipe_label(path: Path, pipeline_file: Path | None) -> str:
    """The recipe as the user knows it: relative to the pipeline's folder when it is under it."""
    if pipeline_file is not None:
        try:
            return os.path.relpath(Path(path).resolve(), Path(pipeline_file).resolve().parent)
        except ValueError:
            pass
    return str(path)


def _examples(values, n: int = 3) -> str:
    vals = list(values)
    shown = ", ".join(repr(v) for v in vals[:n])
    return shown + (f" … ({len(vals)} in all)" if len(vals) > n else "")


def _saved_dataset_problems(spec: InputSpec, folder: Path, own: set[str]) -> list[tuple[tuple, str]]:
    """A ``save_to_disk`` folder (read with ``load_from_disk``) has no configs, and a DatasetDict's ``split`` must be
    one of its own: said before any work (code review: said at build time as an unreachable dataset, retried on every
    build)."""
    from .steps.readers import _saved_to_disk

    if not _saved_to_disk(str(folder)):
        return []
    out = []
    if spec.config:
        out.append((("input", "config"), f"{spec.dataset} was written by save_to_disk, which keeps no configs: "
                                          "remove `config:`"))
    try:
        splits = json.loads((folder / "dataset_dict.json").read_text(encoding="utf-8")).get("splits")
    except (OSError, ValueError, AttributeError):
        splits = None  # a single Dataset (read whole), or a DatasetDict load_from_disk will judge
    if isinstance(splits, list) and spec.split not in splits:
        how = "" if "split" in own else " (the default)"
        out.append((("input", "split"), f"{spec.dataset} (save_to_disk) has no split {spec.split!r}{how}; its "
                                         f"splits: {', '.join(map(str, splits))}: set `split:` to one of them"))
    return out


def check_sidecar(spec: InputSpec, recipe_file: Path, inputs: list[Path], lines: dict) -> list[ConfigIssue]:
    """Read the sidecar now, before any work: it must be JSON lines of objects, each with the ``sidecar_key``
    field (once per key), and its keys must name at least one input file (joined as the reader joins them,
    ``steps.readers.sidecar_key_of``: the file's path relative to the sidecar's folder).

    Why at load time: a sidecar that matches no file (a wrong ``sidecar_key``, a sidecar for other files) used
    to give every page the recipe's licence as if it had been checked, so pages the sidecar marks CC-BY-ND
    reached the mix labelled CC-BY-4.0 (rule 2). Some files without a row is allowed: the build warns and
    their documents carry ``license_evidence: recipe:no_sidecar_row``."""
    from .steps.readers import MAX_NESTING, _too_deep, sidecar_key_of, sidecar_lines

    file, key = str(recipe_file), spec.sidecar_key
    sc_path = os.path.join(str(recipe_file.resolve().parent), spec.sidecar)  # as the reader joins it
    key_line = lines.get(("input", "sidecar_key")) or lines.get(("input", "sidecar"))
    key_path = "input.sidecar_key" if ("input", "sidecar_key") in lines else "input.sidecar"

    def issue(path: str, msg: str, line) -> list[ConfigIssue]:
        return [ConfigIssue(file, path, msg, line)]

    if spec.type != "html":
        return issue("input.sidecar", f"a sidecar is only read for `type: html` inputs (one row per page file), "
                     f"so with type {spec.type} its licences would be ignored; remove `sidecar:`, or put the "
                     "fields in the records and name them with `license_field:`/`url_field:`",
                     lines.get(("input", "sidecar")))
    rels = [sidecar_key_of(str(p), sc_path) for p in inputs]
    wanted = set(rels)
    keys: dict[str, int] = {}
    hits: dict[str, int] = {}  # field -> rows whose value names an input file (the key the user meant)
    filled: set[str] = set()  # fields with a value in a row of an input file
    bad = ("; each line must be one JSON object such as {\"path\": \"html/page.html\", \"license\": "
           "\"CC-BY-4.0\"}")
    try:
        for n, text in sidecar_lines(sc_path):  # decoded exactly as the reader decodes it (a BOM on line 1 is fine)
            try:
                row = json.loads(text)
                deep = _too_deep(row, MAX_NESTING + 1)  # the reader's limit for a field, as for a jsonl record
            except ValueError as e:
                return issue("input.sidecar", f"sidecar {sc_path}, line {n}: not a JSON object ({e}){bad}",
                             lines.get(("input", "sidecar")))
            except RecursionError:  # valid JSON nested deeper than the parser goes: the reader would fail the source
                deep = True
            if deep:
                return issue("input.sidecar", f"sidecar {sc_path}, line {n}: nests lists/objects more than "
                             f"{MAX_NESTING} levels deep, the reader's limit; flatten that row (one JSON object per "
                             "input file)", lines.get(("input", "sidecar")))
            if not isinstance(row, dict):
                return issue("input.sidecar", f"sidecar {sc_path}, line {n}: a JSON {type(row).__name__}, "
                             "expected an object (one per input file)", lines.get(("input", "sidecar")))
            if row.get(key) in (None, ""):
                fields = sorted(map(str, row))
                close = [k for k in fields if isinstance(row.get(k), str) and
                         os.path.normpath(row[k]) in wanted]
                hint = (f"; the field {close[0]!r} holds input paths: set `sidecar_key: {close[0]}`" if close
                        else "")
                return issue(key_path, f"sidecar {sc_path}, line {n} has no value for sidecar_key {key!r} "
                             f"(its fields: {', '.join(fields[:20])}); sidecar_key names the field holding each "
                             f"input file's path relative to the sidecar's folder{hint}", key_line)
            k = os.path.normpath(str(row[key]))
            if k in keys:
                return issue(key_path, f"sidecar {sc_path}: {key} {row[key]!r} is on lines {keys[k]} and {n}; "
                             "one row per input file (the reader would use only one of them)", key_line)
            keys[k] = n
            for fk, fv in row.items():
                if isinstance(fv, str) and os.path.normpath(fv) in wanted:
                    hits[fk] = hits.get(fk, 0) + 1
            if k in wanted:
                filled.update(fk for fk, fv in row.items() if fv not in (None, ""))
    except UnicodeDecodeError as e:
        return issue("input.sidecar", f"sidecar {sc_path}, line {getattr(e, 'lucie_line', '?')}: not UTF-8 ({e}); "
                     "save the sidecar as UTF-8", lines.get(("input", "sidecar")))
    except OSError as e:
        return issue("input.sidecar", f"sidecar {sc_path} cannot be read: {e.strerror or e}",
                     lines.get(("input", "sidecar")))
    if not keys:
        return issue("input.sidecar", f"sidecar {sc_path} has no rows; give one JSON object per input file, or "
                     "remove `sidecar:`", lines.get(("input", "sidecar")))
    if not wanted & set(keys):
        best = max(sorted(hits), key=lambda k: hits[k], default=None)
        fix = (f"set `sidecar_key: {best}` (its values match {hits[best]} of the {len(rels)} input files)"
               if best and best != key else
               f"make sidecar_key name the field holding each input file's path relative to "
               f"{os.path.dirname(sc_path)}, or fix `paths:`/`sidecar:` so they describe the same files")
        return issue(key_path, f"no input file has a row in sidecar {sc_path}: its {key!r} values "
                     f"({_examples(sorted(keys))}) were compared with the input paths relative to the sidecar's "
                     f"folder ({_examples(rels)}), and none match, so every page would get the recipe's licence "
                     f"unchecked; {fix}", key_line)
    lic = spec.license_field
    if lic and lic not in filled and lic not in _HTML_OWN_FIELDS:  # (trafilatura's own fields come from the page)
        return issue("input.license_field",
                     f"no row of sidecar {sc_path} for an input file has a value for license_field {lic!r} (their "
                     f"fields: {', '.join(sorted(filled)[:20])}), so every page would carry the recipe's licence, "
                     "unverified (and the build fails a source whose licence field no record fills); name the "
                     "sidecar's licence field, or remove `license_field`", lines.get(("input", "license_field")) or lines.get(("input",)))
    return []


class LoadedPipeline:
    def __init__(self, recipe: PipelineRecipe, file: Path | None, sources: list[LoadedSource]):
        self.recipe = recipe
        self.file = file
        self.sources = sources

    @property
    def output_dir(self) -> Path:
        base = self.file.parent if self.file else Path.cwd()
        out = self.recipe.output_dir or f"build/{self.recipe.name}"
        p = Path(out)
        return (p if p.is_absolute() else base / p).resolve()

    def pipeline_hash(self) -> str:
        return hashlib.sha256(self.recipe.model_dump_json().encode()).hexdigest()


def _unused_preset_issues(presets: dict, files: list[Path], path: Path, lines: dict) -> list[ConfigIssue]:
    """A preset no recipe of the pipeline uses is checked on its own (review 9: `category: nope` and a misspelt stage
    type in one passed `validate`, to fail the day a recipe uses it): its keys, and each of its stages."""
    from pydantic import TypeAdapter


    used = set()
    for f in files:
        raw, _, _ = _read_yaml(f)
        if isinstance(raw, dict) and isinstance(raw.get("preset"), str):
            used.add(raw["preset"])
    out: list[ConfigIssue] = []
    for name, preset in presets.items():
        if name in used or not isinstance(preset, dict):
            continue
        partial = {k: v for k, v in preset.items() if k != "stages"}
        for key in partial:
            if key not in SourceRecipe.model_fields:
                out.append(ConfigIssue(str(path), f"presets.{name}.{key}", _unknown_key(key, SourceRecipe),
                                       lines.get(("presets", name, key))))
        if "category" in partial:
            try:
                TypeAdapter(Category).validate_python(partial["category"])
            except ValidationError as e:
                out.append(ConfigIssue(str(path), f"presets.{name}.category", _friendly(e.errors()[0]),
                                       lines.get(("presets", name, "category"))))
        out += _stage_list_issues(preset.get("stages"), ("presets", name), "in a preset no recipe uses yet", path,
                                  lines)
    return out


def _stage_list_issues(stages: Any, where: tuple, note: str, path: Path, lines: dict) -> list[ConfigIssue]:
    """Each stage of a pipeline fragment (a preset, the defaults) validated on its own, placed at its line."""
    from pydantic import TypeAdapter

    from .stages import AnyStage

    out: list[ConfigIssue] = []
    for i, st in enumerate(stages if isinstance(stages, list) else []):
        try:
            TypeAdapter(AnyStage).validate_python(st)
        except ValidationError as e:
            for err in e.errors():
                loc = where + ("stages", i) + _clean_loc(tuple(err["loc"]), st)
                n = len(where) + 2
                out.append(ConfigIssue(str(path), _fmt_path(loc), f"{_friendly(err)} ({note})",
                                       lines.get(loc[:n + 1]) or lines.get(loc[:n])))
    return out


def _unused_default_stages_issues(defaults: dict, presets: dict, files: list[Path], path: Path,
                                  lines: dict) -> list[ConfigIssue]:
    """`defaults.stages` that every recipe replaces (its own `stages:`, or its preset's) checked on their own (fuzz
    review: `min_chars: "abc"` there passed `validate`, to fail the day a recipe leaves its stages to the defaults)."""
    if not isinstance(defaults.get("stages"), list):
        return []
    for f in files:
        raw, _, _ = _read_yaml(f)
        if not isinstance(raw, dict) or "stages" in raw:
            continue
        preset = presets.get(raw.get("preset")) if isinstance(raw.get("preset"), str) else None
        if not (isinstance(preset, dict) and "stages" in preset):
            return []  # this recipe takes the defaults' stages: checked with it
    return _stage_list_issues(defaults["stages"], ("defaults",), "in the defaults, which every recipe replaces", path,
                              lines)


def _is_pipeline_file(f: Path) -> bool:
    """A YAML file that is a pipeline: a `sources:` list and no `input:` (as `build` and `validate` tell them apart)."""
    raw, _, _ = _read_yaml(f)
    return isinstance(raw, dict) and isinstance(raw.get("sources"), list) and "input" not in raw


def load_pipeline(path: Path) -> LoadedPipeline:
    """Load and validate a pipeline and all its sources; raise RecipeError listing every problem."""
    path = Path(path)
    data, lines, issues = _read_yaml(path)
    if data is None:
        raise RecipeError(issues, (str(path),))
    pipe = None
    try:
        pipe = PipelineRecipe.model_validate(data)
    except ValidationError as e:
        issues.extend(issues_from_validation(e, data, str(path), lines, PipelineRecipe))
    # keep going with whatever is usable, so every source's problems are reported in the same run
    patterns = data.get("sources") if isinstance(data.get("sources"), list) else []
    defaults = data.get("defaults") if isinstance(data.get("defaults"), dict) else {}
    presets = data.get("presets") if isinstance(data.get("presets"), dict) else {}
    files: list[Path] = []
    pipelines_met: set[Path] = set()
    for i, pat in enumerate(patterns):
        found = [f for f in resolve_paths(path.parent, [str(pat)]) if f.suffix in (".yaml", ".yml")]
        if not found:
            issues.append(ConfigIssue(str(path), f"sources[{i}]", f"no recipe matches {pat!r}"
                                      f"{_relative_hint(Path(str(pat)), path.parent)}", lines.get(("sources", i))))
        for f in found:
            if f in files or f in pipelines_met:
                continue
            if _is_pipeline_file(f):  # review: `sources: ["*.yaml"]` beside the pipeline read it as a recipe,
                pipelines_met.add(f)  # with 7 confusing "required key" errors
                itself = f == path.resolve()
                name = path.name if itself else os.path.relpath(f, path.resolve().parent)
                named = not any(c in str(pat) for c in "*?[") and not (path.parent / str(pat)).is_dir()
                fix = (f"remove {pat!r} from `sources:`" if named else "keep the recipes in a folder of their own "
                       "and point at it (`sources: [sources/*.yaml]`), or name them one by one")
                issues.append(ConfigIssue(
                    str(path), f"sources[{i}]",
                    f"{name} is a pipeline, not a recipe (it has `sources:`), and {pat!r} matches "
                    f"{'this pipeline file itself' if itself else 'it'}; `sources:` lists recipe files only: {fix}",
                    lines.get(("sources", i))))
                continue
            files.append(f)
    sources: list[LoadedSource] = []
    # an issue in the pipeline's presets or defaults is reported once, naming every recipe that uses it
    shared: dict[tuple, tuple[ConfigIssue, tuple, list[str]]] = {}
    for f in files:
        src, errs, from_pipeline = _load_source(f, defaults, presets, path, lines,
                                                pipe.license_policy if pipe is not None else None)
        issues.extend(errs)
        for issue, section in from_pipeline:
            users = shared.setdefault((issue.file, issue.path, issue.message, issue.line), (issue, section, []))[2]
            if (label := _recipe_label(f, path)) not in users:
                users.append(label)
        if src:
            sources.append(src)
    issues.extend(_with_users(issue, section, users) for issue, section, users in shared.values())
    issues.extend(_unused_preset_issues(presets, files, path, lines))
    issues.extend(_unused_default_stages_issues(defaults, presets, files, path, lines))
    names: dict[str, Path] = {}
    for s in sources:
        names[s.name] = s.file
    seen: dict[str, Path] = {}
    for f in files:  # every recipe's own `name:`, valid or not (review: a duplicate surfaced only once both loaded)
        raw, flines, _ = _read_yaml(f)
        name = raw.get("name") if isinstance(raw, dict) else None
        if isinstance(name, str):
            if name in seen:
                issues.append(ConfigIssue(str(f), "name", f"source name {name!r} is also used by {seen[name]}; give "
                                          "each recipe its own `name:`", flines.get(("name",))))
            seen.setdefault(name, f)
    raw_mix = data.get("mix") if isinstance(data.get("mix"), dict) else {}
    publish = raw_mix.get("publish_as") if isinstance(raw_mix.get("publish_as"), dict) else {}
    if publish and sources:  # also when another key is invalid: every problem in the same run
        import difflib

        from .mix.build import publish_as_problems

        for key, why in publish_as_problems({str(k): str(v) for k, v in publish.items()}, list(names)):
            issues.append(ConfigIssue(str(path), f"mix.publish_as.{key}", why, lines.get(("mix", "publish_as", key))))

        for key in map(str, publish):  # a misspelt source would be published under its own name, unnoticed
            if key not in names:
                close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                issues.append(ConfigIssue(
                    str(path), f"mix.publish_as.{key}",
                    f"{key!r} is not a source of this pipeline; {hint}keys are source names "
                    f"({', '.join(sorted(names)[:8])}{', …' if len(names) > 8 else ''})",
                    lines.get(("mix", "publish_as", key))))
    mix = pipe.mix if pipe is not None else _valid_mix_block(data)
    if mix is not None:  # also when other keys are invalid (new-user review: a policy error hid the mix's errors)
        issues.extend(_mix_weights_issues(mix, path, lines, sorted(names)))
    if pipe is not None and pipe.tokenizer:
        tok, problem = resolve_tokenizer(pipe.tokenizer, path.parent)
        if problem:
            issues.append(ConfigIssue(str(path), "tokenizer", problem, lines.get(("tokenizer",))))
        elif tok != pipe.tokenizer:
            pipe = pipe.model_copy(update={"tokenizer": tok})
    if pipe is not None and pipe.output_dir:
        out = Path(pipe.output_dir)
        out = out if out.is_absolute() else path.parent / out
        blocker = next((p for p in [out, *out.parents] if p.exists() and not p.is_dir()), None)
        if blocker is not None:  # review: found only by a traceback when the build made the folder
            what = (f"{out} is a file, not a folder" if blocker == out else
                    f"{blocker} is a file, so the build folder {out} cannot be made")
            issues.append(ConfigIssue(str(path), "output_dir", f"{what}; choose another folder (or move the file away)",
                                      lines.get(("output_dir",))))
    if issues or pipe is None:
        raise RecipeError(issues, (str(path),))
    return LoadedPipeline(pipe, path.resolve(), sources)


def _loosening_gate_problems(recipe: Any, policy, pfile: Path) -> list[tuple[tuple, str]]:
    """A source's ``license_gate`` policy that would allow what the pipeline's ``license_policy`` denies: both apply,
    so its wider settings do nothing, and the documents it meant to keep are removed without a word (new-user review:
    `allow: [CC-BY-NC-4.0]` in a recipe, 105 read, 0 kept, exit 0). Only settings written are judged. (loc, message)
    pairs, placed by the caller in the recipe or the preset that holds the stage. ``recipe``: a SourceRecipe, or
    anything with its ``stages`` (those of a recipe that failed validation, ``_lenient_stages``)."""
    out = []
    for i, st in enumerate(recipe.stages):
        own = getattr(st, "policy", None) if getattr(st, "type", None) == "license_gate" else None
        if own is None:
            continue
        said = own.model_fields_set
        wider: list[tuple[str, str]] = []
        if "allow" in said:
            wider += [("allow", f"{lic} is denied by it") for lic in own.allow if not policy.decide(lic)[0]]
        if "allow_classes" in said:
            from .licenses import license_class

            # a class the pipeline allows some licences of by id (`allow: [CC-BY-SA-4.0]`) is narrowed, not loosened,
            # by a source that names the class: those licences pass both (a false error before)
            by_id = {license_class(lic) for lic in policy.allow}
            wider += [("allow_classes", f"class {c} is not among its allow_classes, nor any licence of it in its "
                       "allow") for c in own.allow_classes if c not in policy.allow_classes and c not in by_id]
        for key, loose in (("unknown", "allow"), ("unverified", "allow")):
            if key in said and getattr(own, key) == loose and getattr(policy, key) != loose:
                wider.append((key, f"it says `{key}: {getattr(policy, key)}`"))
        for key, why in wider:
            out.append((("stages", i, "policy", key),
                        f"this source's policy cannot loosen the pipeline's license_policy ({pfile.name}): {why}, so "
                        "the gate would remove those documents all the same. Allow it in the pipeline's "
                        "license_policy, or remove it here (a source policy can only add restrictions)"))
    return out


def _valid_mix_block(data: dict) -> MixSpec | None:
    """The pipeline's ``mix:`` block when it validates on its own (the pipeline failed on other keys: the block's own
    errors are among the pipeline's validation errors already), else None."""
    try:
        return MixSpec.model_validate(data["mix"]) if isinstance(data.get("mix"), dict) else None
    except ValidationError:
        return None


def _mix_weights_issues(mix: MixSpec, path: Path, lines: dict, sources: list[str]) -> list[ConfigIssue]:
    """The ``mix:`` block's weights, read now (review: a missing ``weights_file`` or a ``sources:`` key naming no
    source passed `validate` and `build`, and failed `mix build` after the whole build, without the YAML path)."""
    from .mix.build import _spec_weights
    from .mix.plan import KEY_SEP, MixPlanError

    where = ("mix", "weights_file") if mix.weights_file else ("mix", "factors")
    try:
        weights = _spec_weights(mix, path.resolve())
    except MixPlanError as err:
        # (a weights file's own list of problems, one per line, indented under this one)
        return [ConfigIssue(str(path), ".".join(where), str(err).replace("\n  - ", "\n      - "),
                            lines.get(where) or lines.get(("mix",)))]
    out = []
    for key in sorted(weights.sources) if weights is not None and sources else []:
        src = key.rpartition(KEY_SEP)[0]
        if src not in sources:
            import difflib

            close = difflib.get_close_matches(src or key, sources, n=1, cutoff=0.6)
            out.append(ConfigIssue(
                str(path), f"mix.sources.{key}",
                f"{key!r} names no subset of this pipeline: keys are <source>{KEY_SEP}<language> with a source of the "
                f"pipeline{f' (did you mean {close[0]!r}?)' if close else ''}"
                f"{' in ' + mix.weights_file if mix.weights_file else ''}",
                lines.get(("mix", "sources", key)) or lines.get(where)))
    # a factor key whose category is none of Lucie's is a typo whatever the build (`fr--newspapers`): unlike a key
    # no subset of this build has (normal in a weights list shared by builds, `mix plan` warns of near misses), it
    # can match no subset of any build (code review: it passed validate, and its subsets got the default factor)
    import difflib

    categories = list(get_args(Category))
    # inline keys only: a weights file may be shared with `mix plan --stats CSV`, whose categories are free (review)
    for key in sorted(weights.factors) if weights is not None and not mix.weights_file else []:
        lang, sep, cat = key.partition(KEY_SEP)
        if sep and cat not in categories:
            close = difflib.get_close_matches(cat, categories, n=1, cutoff=0.6)
            out.append(ConfigIssue(
                str(path), f"mix.factors.{key}",
                f"factor key {key!r}: {cat!r} is not a category (keys are <language>{KEY_SEP}<category>, a category "
                f"one of {', '.join(categories)}){f'; did you mean {lang}{KEY_SEP}{close[0]}?' if close else ''}",
                lines.get(("mix", "factors", key)) or lines.get(where)))
    return out


def resolve_tokenizer(value: str, base: Path) -> tuple[str, str | None]:
    """A tokenizer is a local ``tokenizer.json`` (resolved from the pipeline's folder) or a Hub id ``ORG/NAME``.

    Anything that looks like a file must exist now, so a typo never turns into a download at run time."""
    # ORG/NAME, optionally @REVISION (a tag, branch or commit: refs/pr/1 holds slashes)
    looks_like_hub_id = re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?", value) and not value.endswith(".json")
    p = Path(value).expanduser()
    full = p if p.is_absolute() else (base / p).resolve()
    if full.is_file():
        why = _tokenizer_file_problem(str(full))
        if why is not None:  # review: `{}` passed validate, and the build failed with "Model missing", unplaced
            return value, (f"{value} is not a tokenizer.json the tokenizers library can load ({why}); give the "
                           "tokenizer.json saved with the model (`Tokenizer.save`, or the file of the model's Hub "
                           "repository), a Hub id such as OpenLLM-France/Lucie-7B, or remove `tokenizer:` to count "
                           "with the regex fallback")
        return str(full), None
    if full.is_dir():
        inside = full / "tokenizer.json"
        return value, (f"tokenizer {value!r} is a folder; give the path of a tokenizer.json file"
                       + (f" (this folder holds {inside})" if inside.is_file() else ""))
    if looks_like_hub_id and not p.is_absolute() and not value.startswith("."):
        return value, None
    return value, (f"tokenizer file {value!r} does not exist{_relative_hint(p, base)}; "
                   "give a tokenizer.json path or a Hub id such as OpenLLM-France/Lucie-7B (pinned: "
                   "OpenLLM-France/Lucie-7B@<revision>)")


def _tokenizer_file_problem(path: str) -> str | None:
    """Why a local tokenizer file cannot be loaded (the first line of the tokenizers library's message), or None.
    Loaded once per file version (a validate then a build load it once each); never reaches the network."""
    st = os.stat(path)
    return _tokenizer_load_problem(path, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _tokenizer_load_problem(path: str, size: int, mtime_ns: int) -> str | None:
    from tokenizers import Tokenizer

    try:
        Tokenizer.from_file(path)
    except Exception as err:  # noqa: BLE001 - the library raises a bare Exception with serde's message
        text = str(err).strip()
        return (text.splitlines()[0][:300] if text else type(err).__name__)
    return None


def single_source_pipeline(src: LoadedSource, output_dir: Path | None = None) -> LoadedPipeline:
    """Wrap one source recipe in a default pipeline, so `lucie-data build sources/x.yaml` works."""
    pipe = PipelineRecipe(name=src.name, sources=[str(src.file)],
                          output_dir=str(output_dir) if output_dir else str(Path.cwd() / "build" / src.name))
    return LoadedPipeline(pipe, None, [src])


def misspelt_sources_key(data: dict, path: Path, lines: dict) -> ConfigIssue | None:
    """A pipeline whose `sources:` key is misspelt (`source:`) reads as a recipe with five missing keys (review);
    one issue instead, naming the key. None when the file has `sources:` or `input:` (a recipe)."""
    import difflib

    if not isinstance(data, dict) or "sources" in data or "input" in data:
        return None
    key = next((k for k in map(str, data) if difflib.get_close_matches(k.lower(), ["sources"], cutoff=0.8)), None)
    if key is None:
        return None
    return ConfigIssue(str(path), key, f"unknown key {key!r}: a pipeline lists its recipes under `sources:` (did you "
                       "mean `sources`?), a recipe needs `input:`", lines.get((key,)))


def validate_paths(paths: list[Path], recipes: set[Path] | None = None) -> list[ConfigIssue]:
    """Validate any mix of pipeline and source files; returns every issue found. ``recipes``, when given, receives
    every source recipe checked, those the pipelines list included (validate's OK line counts them)."""
    issues: list[ConfigIssue] = []
    recipes = set() if recipes is None else recipes
    for p in paths:
        data, lines, errs = _read_yaml(Path(p))
        if data is None:  # (a readable file's issues, keys given twice, are reported by its loader below)
            issues.extend(errs)
            continue
        typo = misspelt_sources_key(data, Path(p), lines)
        if typo is not None:
            issues.append(typo)
            issues.extend(_pipeline_keys_issues({("sources" if k == typo.path else k): v for k, v in data.items()},
                                                Path(p), lines))
            continue
        if "sources" in data and "input" not in data:
            try:
                recipes.update(src.file for src in load_pipeline(Path(p)).sources)
            except RecipeError as e:
                issues.extend(e.issues)
        else:
            _, errs = load_source(Path(p))
            issues.extend(errs)
            recipes.add(Path(p).resolve())
    return in_file_order(issues)


def _pipeline_keys_issues(data: dict, path: Path, lines: dict) -> list[ConfigIssue]:
    """The problems of a pipeline's own keys, its recipes aside: what `validate` still reports of a pipeline whose
    `sources:` is misspelt (new-user review: six other errors appeared one fix later)."""
    try:
        pipe = PipelineRecipe.model_validate(data)
    except ValidationError as e:
        out = [i for i in issues_from_validation(e, data, str(path), lines, PipelineRecipe)
               if i.path.split(".")[0].split("[")[0] != "sources"]
        pipe = None
    else:
        out = []
    mix = pipe.mix if pipe is not None else _valid_mix_block(data)
    return out + (_mix_weights_issues(mix, path, lines, []) if mix is not None else [])


def stage_ids(stages: list) -> list[str]:
    """Each stage's id: its `name:` if given, else its type (the folder name under removed/)."""
    return [s.name or s.type for s in stages]
