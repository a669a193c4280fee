"""Pure mix planning: turn per-subset token counts + upsampling factors into a training mix.

The weighting rule is Lucie's, from OpenLLM-France/Lucie-Training
``training/collect_data_and_weights.py`` (commit c3b8b3a; identical to
``collect_data_and_weights_light.py`` used for phase 1)::

    num_epochs       = domain_upsampling[language + "--" + category] * add_language_weights.get(language, other_weight)
    reweighted_count = num_epochs * count
    new_ratio        = reweighted_count / total_reweighted_count

Here ``domain_upsampling`` is ``Weights.factors``, ``add_language_weights`` is
``Weights.languages`` (missing languages default to 1.0, Lucie's ``--other_weight``
default) and ``Weights.sources`` is an extra per-subset multiplier (1.0 by default).

Everything here is pure (no I/O except the two explicit loaders) and exact:
factors are read as the decimals they are written as (``1.5`` is 3/2) and token
counts are multiplied with :class:`fractions.Fraction`, so Lucie's published
figures (3,121,744,220,736 tokens seen) are reproduced to the token. (One rounding:
a product of factors within 2^-50 of a short decimal is that decimal, see ``_as_meant``.)
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from ..errors import BuildFileError

__all__ = [
    "MixPlanError",
    "SubsetStats",
    "SubsetPlan",
    "MixPlan",
    "Weights",
    "language_group",
    "load_stats_csv",
    "load_weights_yaml",
    "mix_language_of",
    "parse_weights",
    "format_tokens",
    "plan_mix",
    "solve_factors",
]

KEY_SEP = "--"  # Lucie's weight keys are "<language>--<category>"
PARALLEL = "parallel"


class MixPlanError(ValueError):
    """A mix cannot be planned from the given stats/weights; the message says how to fix it."""


class DamagedShardError(MixPlanError, BuildFileError):
    """A build or mix shard that does not read as Parquet: the message names it and how to get it back
    (:func:`lucie_data.buildfiles.damaged_shard_message`). A MixPlanError for the mix's callers, an InputError for
    the CLI (exit 2 without a traceback, also from ``lucie-data build``, whose manifest summarises the shards)."""


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class SubsetStats:
    """One row of the stats table: a subset and its raw (one-epoch) token count."""

    subset: str
    language: str
    category: str
    tokens: int

    @property
    def key(self) -> str:
        """The ``language--category`` key that selects the subset's factor."""
        return f"{self.language}{KEY_SEP}{self.category}"


def _reject_bool(v: Any) -> Any:
    # YAML 1.1 turns `yes`/`no`/`on` into booleans; pydantic would silently read them as 1.0/0.0.
    if isinstance(v, bool):
        raise ValueError("a factor must be a number, not a boolean")
    return v


_reject_bool.refuses_booleans = True  # models.YamlModel's own check stands aside (it stops at a mapping's first)


MAX_FACTOR = 100.0  # Lucie's largest factor is 3 (../shared/notes/lucie-dataset.md, dataset_weights.yaml)


def _plausible(v: float) -> float:
    # fuzz review: `1e30` planned 10^35 tokens seen and `mix build` wrote on without a word; `2000` for `2.0` would
    # write 2,000 copies of a corpus
    if v > MAX_FACTOR:
        raise ValueError(f"a factor or multiplier of epochs (Lucie's largest factor is 3); {v:g} is above "
                         f"{MAX_FACTOR:g}, refused as a typo: write the epochs you mean (2 or 2.5, not 2000)")
    return v


Factor = Annotated[float, BeforeValidator(_reject_bool), Field(ge=0, allow_inf_nan=False), AfterValidator(_plausible)]


class Weights(BaseModel):
    """Upsampling factors (Lucie's ``assets/dataset_weights.yaml`` plus optional multipliers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    factors: dict[str, Factor] = Field(description="language--category -> number of epochs")
    languages: dict[str, Factor] = Field(
        default_factory=dict, description="per-language multiplier (Lucie's --fr_weight etc.), default 1.0"
    )
    sources: dict[str, Factor] = Field(default_factory=dict, description="per-subset multiplier, default 1.0")
    default_factor: Factor | None = Field(
        default=None, description="factor for keys absent from `factors`; null makes a missing key an error"
    )

    @field_validator("factors", "languages", "sources", mode="wrap")
    @classmethod
    def _language_keys(cls, v: Any, handler, info) -> Any:
        """Languages in keys are read as a build files them: ``FR`` -> ``fr``, ``fr,en`` -> ``fr-en`` (review: such
        keys matched no subset and did nothing, without a word). A programming language is an error: code subsets
        are weighted as ``code``, so ``code:python`` could only apply to every language's code. (``sources`` keys,
        subset names, are kept as written; for them this only names each bad key or value at its own line.)"""
        return keys_and_values(v, handler, info.field_name)

    def to_yaml(self) -> str:
        """Serialise in the same format :func:`load_weights_yaml` reads."""
        data: dict[str, Any] = {"factors": dict(self.factors)}
        if self.languages:
            data["languages"] = dict(self.languages)
        if self.sources:
            data["sources"] = dict(self.sources)
        data["default_factor"] = self.default_factor
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def keys_and_values(v: Any, handler, field: str) -> Any:
    """A ``factors:`` or ``languages:`` mapping validated with its keys as a build files them (:func:`_weight_key`),
    as a wrap validator: every bad key and every bad value beside it named at once, each at its own place
    (``factors.xx--web``), so a weights file's errors come with their lines (review: `xx--web: 1` hid `en--web: -1`
    until it was fixed; a boolean hid both)."""
    from pydantic_core import InitErrorDetails, PydanticCustomError

    if not isinstance(v, Mapping):
        return handler(v)
    out: dict[Any, Any] = {}
    given: dict[Any, Any] = {}  # the key as written, of each key as filed
    place: dict[str, int] = {}  # a key's place in the mapping, as written and as filed
    problems: list[InitErrorDetails] = []
    for i, (key, value) in enumerate(v.items()):
        place[str(key)] = i
        if not isinstance(key, str):  # (the key itself as input: the weights file's message finds how it is written)
            problems.append(InitErrorDetails(type=PydanticCustomError("yaml_key", "{m}", {"m": _yaml_key_message(key)}),
                                             loc=(str(key),), input=key))
            continue
        try:
            new = _weight_key(str(key), field) if isinstance(key, str) else key
        except ValueError as e:
            msg = str(e).removeprefix(f"key {key!r}: ").removeprefix(f"{key!r}: ")
            problems.append(InitErrorDetails(type=PydanticCustomError("value_error", "{m}", {"m": msg}),
                                             loc=(str(key),), input=value))
            continue
        if new in out:
            said = f"{key!r} and {given[new]!r} both mean {new!r}: give it once"
            problems.append(InitErrorDetails(type=PydanticCustomError("value_error", "{m}", {"m": said}),
                                             loc=(str(key),), input=value))
        out[new] = value
        given.setdefault(new, key)
        place.setdefault(str(new), i)
    try:
        validated = handler(out)
    except ValidationError as err:
        # each error at the key as written (`FR--books`, its own line), not as filed (rv55: `fr--books` was not in the
        # file, so its line was the mapping's)
        problems += [InitErrorDetails(type=PydanticCustomError(e["type"], "{m}", {"m": e["msg"]}),
                                      loc=(str(given.get(e["loc"][0], e["loc"][0])), *e["loc"][1:]) if e["loc"] else (),
                                      input=e["input"]) for e in err.errors()]
    if problems:  # in the mapping's order (a filed key at the place of the key as written)
        problems.sort(key=lambda d: place.get(str(d["loc"][0]), len(place)) if d["loc"] else -1)
        raise ValidationError.from_exception_data("Weights", problems)
    return validated


def _weight_key(key: str, field: str) -> str:
    """A weights key with its language part as :func:`~.stats.mix_language` files documents (``languages``: the key;
    ``factors``: before ``--``). ``sources`` keys are subset names, matched as written (an unknown one is an error)."""
    from .stats import mix_language  # (stats imports this module)

    def lang(x: str) -> str:
        low = x.strip().lower()
        if low != "code" and low.startswith(("code:", "code-")):
            raise ValueError(f"{key!r}: code subsets are weighted as `code` (one key for every programming "
                             "language); write `code`")
        if low and mix_language_of(low) is None:  # (fuzz review: `xx--web` was accepted, the stats CSV refuses `xx`)
            from ..languages import language_problem

            problem = language_problem(x) or f"language {x!r} names no language"
            raise ValueError(f"key {key!r}: {problem}, so no build files a subset under it. Write the language as a "
                             "build files it: an ISO 639 code (fr), a pair (fr-en), code, or und")
        # case and a pair's comma only: a key a build would file under another code (`fre`, `french`, `fr-FR`,
        # `en_US`) is kept, and weight_typos names the code to write when that code is a subset's language
        return mix_language(low) if low else x

    if field == "languages":
        return lang(key)
    if field == "sources" or KEY_SEP not in key:
        return key
    head, _, tail = key.partition(KEY_SEP)
    return f"{lang(head)}{KEY_SEP}{tail.strip().lower()}"  # categories are lower case (recipe.Category)


def mix_language_of(value: str) -> str | None:
    """The language a build weights a record labelled ``value`` under, or None when a build would not know it.

    The build's two steps, one after the other: the record reader's :func:`~lucie_data.languages.normalize_language`
    (``fr-FR``, ``fra``, ``French``, ``Français``, ``FR`` -> ``fr``; ``fr-en``, ``fr,EN`` -> the pair ``fr,en``;
    ``code:Python`` -> ``code:python``), then :func:`~.stats.mix_language` (``fr,en`` -> ``fr-en``, ``code:<lang>``
    -> ``code``). ``und`` (unknown) stays ``und``, the folder a build files unlabelled documents under. Why: the
    stats CSV and weights keys were only lower-cased, so ``fr-FR`` became a "pair" ``fr-fr``, ``fra`` a language
    of its own, and their factors never applied (review)."""
    from ..languages import UNKNOWN, normalize_language
    from .stats import mix_language  # (stats imports this module)

    low = value.strip().lower()
    if low == UNKNOWN:
        return UNKNOWN
    if low == "code" or low.startswith(("code:", "code-")):
        return "code"
    canon = normalize_language(value)
    return mix_language(canon) if canon is not None else None


def _exact(x: float | int | Decimal | Fraction) -> Fraction:
    """Read a factor as the decimal it was written as (1.5 -> 3/2), not its binary float value."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, int):
        return Fraction(x)
    if isinstance(x, Decimal):
        return Fraction(x)
    return Fraction(repr(float(x)))  # repr is the shortest round-tripping decimal


_YAML_KINDS = {type(None): "null", bool: "a boolean", int: "a number", float: "a number"}


def _yaml_key_message(key: Any, written: str | None = None) -> str:
    """rv56: `null: 1`, `true: 1`, `2024-01-01: 2` were named `factors.None`, `factors.datetime.date(2024, 1, 1)`, at
    the line of `factors:`: YAML reads such keys as null, booleans, numbers and dates, which name nothing here."""
    if written is None and isinstance(key, bool):  # (rv60: `no:`, Norwegian, was named `false`, "quote 'false'")
        return (f"a key is read by YAML as the boolean {str(key).lower()} (`yes`, `no`, `on`, `off`, `true` and `false` "
                "are), not as a name: quote it if it is one (Norwegian: `'no'`), else remove it")
    if written is None:
        written = ("null" if key is None else key.isoformat() if hasattr(key, "isoformat") else str(key))
    kind = _YAML_KINDS.get(type(key), "a date" if hasattr(key, "isoformat") else type(key).__name__)
    return f"the key `{written}` is read by YAML as {kind}, not as a name: quote it (`'{written}': …`) if it is one, " \
           f"else remove it"


def _written_key(parent: tuple, key: Any, lines: Mapping[tuple, int]) -> str | None:
    """The key as the file writes it (``~``, ``true``, ``2024-01-01``) of a mapping key YAML read as another type than
    text, which the file's line table keeps (recipe._yaml_with_lines)."""
    from ..recipe import WRITTEN  # (recipe imports this module)

    return lines.get((WRITTEN, *parent, str(key)))


def _error_lines(err: ValidationError, lines: Mapping[tuple, int] | None = None) -> list[tuple[tuple, str]]:
    """(YAML path, message) of each of pydantic's errors about a weights mapping."""
    allowed = ", ".join(Weights.model_fields)
    out = []
    for e in err.errors():
        loc = tuple(e["loc"])
        name = ".".join(str(p) for p in loc)
        if e["type"] == "yaml_key":  # a key YAML read as null, a boolean, a number or a date (keys_and_values)
            written = _written_key(loc[:-1], e["input"], lines or {})
            if written is not None:
                loc = loc[:-1] + (written,)
                out.append((loc, f"{'.'.join(str(p) for p in loc[:-1])}: {_yaml_key_message(e['input'], written)}"))
                continue
        if e["type"] == "extra_forbidden":
            out.append((loc, f"unknown top-level key {name!r} (allowed keys: {allowed})"))
        elif e["type"] == "missing":
            out.append((loc, f"missing required key {name!r}: add a `{name}:` mapping of language--category -> factor"))
        elif e["type"] == "value_error":  # the message names the key
            out.append((loc, f"{name}: {e['msg'].removeprefix('Value error, ')}"))
        else:
            out.append((loc, f"{name}: {e['msg']} (got {e.get('input')!r})"))
    return out


def _format_problems(problems: list[tuple[tuple, str]], origin: str, lines: Mapping[tuple, int] | None) -> str:
    """One message for every problem of a weights mapping, in file order with each one's line when the file's
    lines are known (a weights file: the line to fix, not only its YAML path)."""
    lines = lines or {}

    def line_of(loc: tuple) -> int | None:
        for n in range(len(loc), 0, -1):  # the key's own line, else its mapping's
            if loc[:n] in lines:
                return lines[loc[:n]]
        return None

    numbered = [(line_of(loc), msg) for loc, msg in problems]
    numbered.sort(key=lambda x: x[0] if x[0] is not None else 0)
    return "\n".join([f"invalid weights{origin}:"]
                     + [f"  - {f'line {n}: ' if n is not None else ''}{msg}" for n, msg in numbered])


def parse_weights(data: Mapping[str, Any] | Weights, *, origin: str = "", lines: Mapping[tuple, int] | None = None
                  ) -> Weights:
    """Validate a weights mapping, turning pydantic errors into a readable :class:`MixPlanError` that names every
    problem at once, with its line when ``lines`` (YAML path -> line) is given: a bad key, and a bad value beside
    it (review: `xx--web: 1` hid `en--web: -1` until it was fixed)."""
    if isinstance(data, Weights):
        return data
    if not isinstance(data, Mapping):
        raise MixPlanError(
            f"invalid weights{origin}: expected a mapping with a `factors:` key, got {type(data).__name__}"
        )
    try:
        return Weights.model_validate(dict(data))
    except ValidationError as err:
        raise MixPlanError(_format_problems(_error_lines(err, lines), origin, lines)) from None


def load_weights_yaml(path: str | Path) -> Weights:
    """Load and validate a weights YAML file."""
    path = Path(path)
    origin = f" in {path}"
    from ..recipe import _yaml_with_lines  # (recipe imports this module)

    dups: list = []
    try:
        data, lines = _yaml_with_lines(path.read_text(encoding="utf-8"), dups)
    except FileNotFoundError:
        raise MixPlanError(f"weights file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise MixPlanError(f"weights file {path} cannot be read ({err}); pass a YAML file") from None
    except yaml.YAMLError as err:  # (fuzz review: PyYAML's raw multi-line text, without the line or the hint)
        from ..recipe import yaml_problem

        line, text = yaml_problem(err)
        raise MixPlanError(f"weights file {path}{f':{line}' if line else ''}: {text}") from None
    if data is None:
        raise MixPlanError(f"weights file {path} is empty: it needs at least a `factors:` mapping")
    if dups:  # review: `de--web` given twice, the second silently won
        where, first, second = dups[0]
        raise MixPlanError(f"weights file {path}: {'.'.join(map(str, where))} is given twice (lines {first} and "
                           f"{second}); YAML would keep the second silently: remove one")
    return parse_weights(data, origin=origin, lines=lines)


_STATS_COLUMNS = ("subset", "language", "category", "tokens")


def _parse_tokens(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise MixPlanError(f"{where}: tokens must be a non-negative integer, got {value!r}")
    if isinstance(value, int):
        tokens = value
    elif isinstance(value, float) and value.is_integer():
        tokens = int(value)
    else:
        text = str(value).strip().replace("_", "")
        if not re.fullmatch(r"\d+", text):
            raise MixPlanError(f"{where}: tokens must be a non-negative integer, got {value!r}")
        if len(text) > 30:  # fuzz review: 4,300 digits and more were a traceback (Python's int limit)
            raise MixPlanError(f"{where}: tokens must be a non-negative integer of at most 30 digits, got {text[:20]}… "
                               f"({len(text):,} digits)")
        tokens = int(text)
    if tokens < 0:
        raise MixPlanError(f"{where}: tokens must be a non-negative integer, got {value!r}")
    return tokens


def _stats_language(value: str, where: str) -> str:
    """A stats CSV's language as the build files it (:func:`mix_language_of`); a value a build would not know is an
    error naming the row, rather than a language of its own that no factor key matches."""
    lang = mix_language_of(value)
    if lang is None:
        from ..languages import language_problem

        problem = (language_problem(value) or f"language {value!r} names no language").removeprefix("language ")
        raise MixPlanError(
            f"{where}: language {problem}. Write the language as a build files it: an ISO 639 code (fr), a pair "
            "(fr-en), code, or und when it is unknown"
        )
    return lang


def load_stats_csv(source: str | Path | Iterable[Mapping[str, Any] | SubsetStats]) -> list[SubsetStats]:
    """Read per-subset stats from a CSV path (``subset,language,category,tokens``; extra columns
    are ignored) or from an iterable of dicts / :class:`SubsetStats`.

    Languages are read as a build maps a record's (:func:`mix_language_of`: ``fr-FR``, ``fra``, ``French`` ->
    ``fr``; ``fr,en`` -> ``fr-en``; ``code:python`` -> ``code``) and categories lower-cased, as weight keys are;
    a language a build would not know is an error naming the row. :class:`SubsetStats` items (a build's own
    counts) are taken as they are. A CSV row with more values than the header has columns is an error (an
    unquoted comma in a value shifted the rest)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise MixPlanError(f"stats file not found: {path}") from None
        except (OSError, UnicodeDecodeError) as err:
            raise MixPlanError(f"stats file {path} cannot be read ({err}); pass a CSV file") from None
        reader = csv.DictReader(io.StringIO(text))
        try:
            fieldnames = reader.fieldnames
            missing = [c for c in _STATS_COLUMNS if c not in (fieldnames or [])]
            if missing:
                raise MixPlanError(
                    f"stats file {path} lacks column(s) {', '.join(missing)}; "
                    f"expected a header with {','.join(_STATS_COLUMNS)} (found: {fieldnames})"
                )
            numbered: list[tuple[int, Any]] = []
            for row in reader:
                numbered.append((reader.line_num, row))
                extra = row.get(None)
                if extra is not None:  # csv.DictReader files the values past the header's columns under None
                    raise MixPlanError(
                        f"{path} row {reader.line_num}: {len(fieldnames) + len(extra)} values for the header's "
                        f"{len(fieldnames)} columns ({','.join(fieldnames)}); extra: {','.join(extra)}. Remove them, "
                        'or quote a value that holds a comma ("fr,en")'
                    )
        except csv.Error as err:
            raise MixPlanError(f"{path} row {reader.line_num}: not valid CSV ({err})") from None
        rows: Iterable[Any] = numbered
        origin = str(path)
    else:
        rows = enumerate(source, start=1)
        origin = "stats"

    out: list[SubsetStats] = []
    seen: set[str] = set()
    for i, row in rows:
        if isinstance(row, SubsetStats):
            item = row
            where = f"{origin} row {i} ({row.subset})"
            _parse_tokens(item.tokens, where)
        else:
            where = f"{origin} row {i}"
            missing = [c for c in _STATS_COLUMNS if row.get(c) is None or str(row.get(c)).strip() == ""]
            if missing:
                raise MixPlanError(f"{where}: missing value for {', '.join(missing)}")
            subset = str(row["subset"]).strip()
            where = f"{origin} row {i} ({subset})"
            item = SubsetStats(
                subset=subset,
                # the build's weighting language: `fr-FR` -> fr, `fr,en` -> fr-en, `code:python` -> code (as --build)
                language=_stats_language(str(row["language"]), where),
                category=str(row["category"]).strip().lower(),  # as weight keys' categories (review: `WEB`)
                tokens=_parse_tokens(row["tokens"], where),
            )
        if item.subset in seen:
            raise MixPlanError(f"{where}: duplicate subset {item.subset!r}; subset names must be unique")
        seen.add(item.subset)
        out.append(item)
    return out


# --------------------------------------------------------------------------- outputs

_PAIR_RE = re.compile(r"^[a-z]{2,3}\s*[-,]\s*[a-z]{2,3}$")


def language_group(lang: str) -> str:
    """Group a language label for reporting: pairs (``fr-en``, ``fr,en``) -> ``"parallel"``.

    Lucie's model card reports the aligned corpora as one "parallel data" row (2.5 %), while
    the stats keep them as ``fr-en``, ``it-en``, ... . The HF schema labels code ``code:<lang>``;
    those fold into ``"code"``. Anything else is returned unchanged.
    """
    if _PAIR_RE.match(lang):
        return PARALLEL
    if lang.startswith("code:"):
        return "code"
    return lang


def format_tokens(x: int | float) -> str:
    """A token count for a table: a whole number with thousands separators. Tokens seen are epochs x tokens and
    may be fractional (2.5 epochs of an odd count); the JSON keeps the exact value, a table shows it rounded half
    up (review: ``178,797,884,497.5``)."""
    return f"{x:,}" if isinstance(x, int) else f"{math.floor(x + 0.5):,}"


def _num(x: Fraction) -> int | float:
    """Integral values stay exact ints; others become floats."""
    return int(x) if x.denominator == 1 else float(x)


@dataclass(frozen=True)
class SubsetPlan:
    """One subset in the mix: how many epochs it gets and its share of tokens seen."""

    subset: str
    language: str
    category: str
    tokens: int
    epochs: float
    tokens_seen: int | float
    share: float

    @property
    def key(self) -> str:
        return f"{self.language}{KEY_SEP}{self.category}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "subset": self.subset,
            "language": self.language,
            "category": self.category,
            "tokens": self.tokens,
            "epochs": self.epochs,
            "tokens_seen": self.tokens_seen,
            "share": self.share,
        }


@dataclass(frozen=True)
class MixPlan:
    """A planned mix. ``targets`` is set only by :func:`solve_factors`."""

    subsets: list[SubsetPlan]
    languages: dict[str, dict]
    total_tokens: int
    total_tokens_seen: int | float
    targets: dict | None = None
    language_groups: dict[str, dict] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # likely typos in the weights (printed, not in to_dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "total_tokens": self.total_tokens,
            "total_tokens_seen": self.total_tokens_seen,
            "subsets": [s.to_dict() for s in self.subsets],
            "languages": {k: dict(v) for k, v in self.languages.items()},
            "language_groups": {k: dict(v) for k, v in self.language_groups.items()},
        }
        if self.targets is not None:
            out["targets"] = self.targets
        return out

    def to_markdown(self) -> str:
        n = format_tokens

        def pct(x: float) -> str:
            return f"{x * 100:.3f}"

        lines = [
            "## Mix plan",
            "",
            f"Raw tokens: {n(self.total_tokens)}; tokens seen: {n(self.total_tokens_seen)}.",
            "",
            "### Per subset",
            "",
            "| subset | language | category | tokens | epochs | tokens seen | % mix |",
            "|---|---|---|---:|---:|---:|---:|",
        ]
        for s in sorted(self.subsets, key=lambda s: (-s.tokens_seen, s.subset)):
            lines.append(
                f"| {s.subset} | {s.language} | {s.category} | {n(s.tokens)} | {s.epochs:g} "
                f"| {n(s.tokens_seen)} | {pct(s.share)} |"
            )
        for title, table in (("Per language", self.languages), ("Per language group", self.language_groups)):
            lines += ["", f"### {title}", "", "| language | tokens | tokens seen | % mix |", "|---|---:|---:|---:|"]
            for lang, row in table.items():
                lines.append(f"| {lang} | {n(row['tokens'])} | {n(row['tokens_seen'])} | {pct(row['share'])} |")
        if self.targets is not None:
            t = self.targets
            lines += [
                "",
                "### Targets",
                "",
                f"max_epochs: {t['max_epochs']:g}; feasible: {'yes' if t['feasible'] else 'no'}",
                "",
                "| language | target % | achieved % | multiplier | max epochs | capped |",
                "|---|---:|---:|---:|---:|---|",
            ]
            for lang, row in t["languages"].items():
                lines.append(
                    f"| {lang} | {pct(row['target'])} | {pct(row['achieved'])} | {row['multiplier']:.6g} "
                    f"| {row['max_epochs']:.6g} | {'yes' if row['capped'] else 'no'} |"
                )
            for key in ("reason", "note"):
                if t.get(key):
                    lines += ["", f"{key.capitalize()}: {t[key]}"]
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- planning


_MEANT_DIGITS = 12  # significant digits of a decimal a product of written factors may be meant as
_MEANT_TOL = Fraction(1, 2**50)  # relative: three factors, each within half a float ulp (2^-53) of what was meant


def _as_meant(e: Fraction) -> Fraction:
    """A product of factors as the decimal it is meant as: ``1.5 x 2.6666666666666665`` (a solved multiplier for
    8/3, printed as a float) is 4, not 3.99999999999999975. Each factor is read as the decimal it is written as, and
    a float written with 17 digits is only within half an ulp of the value it stands for, so a product within
    2^-50 (relative) of a decimal of at most 12 significant digits is that decimal. Products of short decimals
    (Lucie's 1.5 x 2) are exact already and unchanged.

    Why: a subset capped at 4 epochs printed 3.9999999999999996 and ``mix build``, which repeats floor(epochs)
    times, made it 3 whole epochs plus a 0.9999... draw (review)."""
    if e.denominator == 1 or e == 0:
        return e
    meant = Fraction(f"{float(e):.{_MEANT_DIGITS}g}")
    return meant if meant != e and abs(e - meant) <= meant * _MEANT_TOL else e


def _exact_epochs(stats: list[SubsetStats], weights: Weights, *, meant: bool = True) -> list[Fraction]:
    """Epochs per subset, exactly (:func:`_as_meant`; ``meant=False``: the raw product); all missing factors are
    reported at once."""
    unknown_sources = sorted(set(weights.sources) - {s.subset for s in stats})
    if unknown_sources:
        import difflib

        names = sorted({s.subset for s in stats})
        hints = [f"{near[0]!r} for {k!r}" for k in unknown_sources
                 for near in [difflib.get_close_matches(k, names, n=1, cutoff=0.6)] if near]
        raise MixPlanError(
            f"weights `sources:` names subset(s) not in the stats: {', '.join(unknown_sources)}; "
            "fix the spelling or remove them (keys are subset names, <source>--<language>: "
            f"{', '.join(names[:8])}{', …' if len(names) > 8 else ''})"
            + (f"; did you mean {', '.join(hints)}?" if hints else ".")
            + " A source the mix leaves out (redistributable: false, or no document the policy allows) has no subset"
        )
    missing: dict[str, list[str]] = {}
    epochs: list[Fraction] = []
    memo: dict[tuple, Fraction] = {}  # (factor, language multiplier, source multiplier) -> epochs: Fraction
    # arithmetic is ~2 us an operation, and a build of hundreds of subsets has only a few distinct triples
    for s in stats:
        if s.key in weights.factors:
            factor = weights.factors[s.key]
        elif weights.default_factor is not None:
            factor = weights.default_factor
        else:
            missing.setdefault(s.key, []).append(s.subset)
            continue
        triple = (factor, weights.languages.get(s.language, 1), weights.sources.get(s.subset, 1))
        f = memo.get(triple)
        if f is None:
            f = _exact(triple[0]) * _exact(triple[1]) * _exact(triple[2])
            if f > MAX_FACTOR:  # code review: each number was capped, their product (10^6 epochs) was not
                raise MixPlanError(
                    f"subset {s.subset}: {float(f):g} epochs (factor {triple[0]:g} for {s.key} × language "
                    f"multiplier {triple[1]:g} × source multiplier {triple[2]:g}) is above {MAX_FACTOR:g}, refused "
                    "as a typo (Lucie's largest is 3): lower one of them")
            f = memo[triple] = _as_meant(f) if meant else f
        epochs.append(f)
    if missing:
        import difflib

        unused = sorted(set(weights.factors) - {s.key for s in stats})

        def typo(key: str) -> str:
            lang, _, cat = key.partition(KEY_SEP)
            same = [k for k in unused if _canonical_key(k) == key]
            if same:  # `fr-fr--web` for `fr--web` (review: a build files fr-FR as fr)
                return (f"; your {same[0]!r} means it: a build files the language {same[0].partition(KEY_SEP)[0]!r} "
                        f"as {lang!r}, write {key!r}")
            if lang.count("-") == 1:  # a pair written in the other order (review: en,fr--aligned for fr-en--aligned)
                rev = "-".join(reversed(lang.split("-"))) + KEY_SEP + cat
                if rev in unused:
                    return (f"; your {rev!r} is the same pair in the other order: a pair is weighted under the order "
                            "its source declares")
            near = difflib.get_close_matches(key, unused, n=1, cutoff=0.8)
            return f"; your {near[0]!r} matches no subset: a typo of it?" if near else ""

        parts = [f"{key!r} (used by: {', '.join(subs)}{typo(key)})" for key, subs in sorted(missing.items())]
        first = sorted(missing)[0]
        raise MixPlanError(
            "no factor for weight key(s) "
            + "; ".join(parts)
            + f". Add them under `factors:` (e.g. `{first}: 1`) or set `default_factor`."
        )
    return epochs


def _group_table(stats: list[SubsetStats], seen: list[Fraction], total_seen: Fraction, key) -> dict[str, dict]:
    tokens: dict[str, int] = {}
    tseen: dict[str, int | Fraction] = {}  # int while every term is (see plan_mix)
    for s, ts in zip(stats, seen):
        g = key(s.language)
        tokens[g] = tokens.get(g, 0) + s.tokens
        tseen[g] = tseen.get(g, 0) + ts
    order = sorted(tokens, key=lambda g: (-tseen[g], g))
    return {
        g: {"tokens": tokens[g], "tokens_seen": _num(tseen[g]), "share": float(tseen[g] / total_seen)}
        for g in order
    }


def plan_mix(
    stats: Iterable[SubsetStats | Mapping[str, Any]] | str | Path,
    weights: Weights | Mapping[str, Any],
) -> MixPlan:
    """Apply Lucie's rule (epochs = factor x language x source multiplier; share = seen / total seen)."""
    stats = load_stats_csv(stats)
    weights = parse_weights(weights)
    if not stats:
        raise MixPlanError("no subsets in the stats: nothing to plan")
    epochs = _exact_epochs(stats, weights)
    # whole epochs (the usual case) give int tokens seen: the same values as the Fraction product, cheaper
    seen = [e.numerator * s.tokens if e.denominator == 1 else e * s.tokens for e, s in zip(epochs, stats)]
    # sums of ints stay ints (not Fractions: ~0.1 ms of a mix of 19 subsets, benchmarks/results/mix_corpora.md);
    # the values are the same, and int / int is the correctly rounded float of the ratio, as float(Fraction) is
    total_seen = sum(seen) if all(type(x) is int for x in seen) else sum(seen, Fraction(0))
    if total_seen == 0:
        raise MixPlanError("every subset gets 0 tokens seen (all factors or token counts are 0): shares are undefined")
    subsets = [
        SubsetPlan(
            subset=s.subset,
            language=s.language,
            category=s.category,
            tokens=s.tokens,
            epochs=float(e),
            tokens_seen=_num(ts),
            share=float(ts / total_seen),
        )
        for s, e, ts in zip(stats, epochs, seen)
    ]
    return MixPlan(
        subsets=subsets,
        languages=_group_table(stats, seen, total_seen, lambda lang: lang),
        total_tokens=sum(s.tokens for s in stats),
        total_tokens_seen=_num(total_seen),
        targets=None,
        language_groups=_group_table(stats, seen, total_seen, language_group),
        warnings=weight_typos(stats, weights),
    )


def _canonical_key(key: str) -> str | None:
    """``key`` with its language part as a build files it (``fr-fr--web`` -> ``fr--web``), when that differs."""
    if KEY_SEP in key:
        lang, _, cat = key.partition(KEY_SEP)
        canon = mix_language_of(lang) if lang else None
        return f"{canon}{KEY_SEP}{cat}" if canon is not None and canon != lang else None
    canon = mix_language_of(key)
    return canon if canon is not None and canon != key else None


def _reversed_pair(lang: str) -> str | None:
    """``en-fr`` for ``fr-en``; None for anything that is not a pair of two languages."""
    parts = lang.split("-")
    return f"{parts[1]}-{parts[0]}" if len(parts) == 2 and all(parts) and parts[0] != parts[1] else None


def weight_typos(stats: list[SubsetStats], weights: Weights) -> list[str]:
    """Factor keys and language multipliers that match no subset *and* look like a typo of one that does (or are
    not ``<language>--<category>`` at all). Why not every unused key: one weights file serves many builds (Lucie's
    38 keys on a build of 6 subsets), so unused keys are normal; a misspelt one silently did nothing, and with
    ``default_factor`` its subset got the default instead (found in review: ``en--bok``, ``code--programing``).

    A key whose language a build would file under another code that is a subset's (``french``, ``fre``, ``fr-FR``,
    ``en_US``; review: ignored without a word, ``fr-FR`` even pointed at ``fr-en``) names that code first."""
    import difflib

    keys = sorted({s.key for s in stats})
    out = []
    for key in sorted(set(weights.factors) - set(keys)):
        lang, _, cat = key.partition(KEY_SEP)
        rev = _reversed_pair(lang)
        if rev is not None and f"{rev}{KEY_SEP}{cat}" in keys:  # (trainer review: said only when no default_factor)
            out.append(f"factor key {key!r} matches no subset: '{rev}{KEY_SEP}{cat}' is the same pair in the other "
                       f"order, and a pair is weighted under the order its source declares; write "
                       f"'{rev}{KEY_SEP}{cat}'")
            continue
        canon = _canonical_key(key)
        if canon is not None and canon in keys:
            lang = key.partition(KEY_SEP)[0]
            own = (f"; {canon!r} has a factor of its own, so {key!r} does nothing" if canon in weights.factors else
                   f"; {canon!r} has no factor of its own: it got default_factor {float(weights.default_factor):g}"
                   if weights.default_factor is not None else "")
            out.append(f"factor key {key!r} matches no subset; did you mean {canon!r}? (a build files the language "
                       f"{lang!r} as {canon.partition(KEY_SEP)[0]!r}{own})")
            continue
        near = difflib.get_close_matches(key, keys, n=1, cutoff=0.8)
        if near and near[0] in weights.factors and KEY_SEP in key:
            continue  # a key of the same file that has its own factor (de--web next to es--web): not a typo
        hint = ""
        if near:
            hint = f"; did you mean {near[0]!r}?"
            if near[0] not in weights.factors and weights.default_factor is not None:
                hint += f" ({near[0]!r} has no factor of its own: it got default_factor {float(weights.default_factor):g})"
        if KEY_SEP not in key:
            out.append(f"factor key {key!r} is not <language>{KEY_SEP}<category> and matches no subset{hint}")
        elif near:
            out.append(f"factor key {key!r} matches no subset{hint}")
    langs = sorted({s.language for s in stats})
    for lang in sorted(set(weights.languages) - set(langs)):
        rev = _reversed_pair(lang)
        if rev is not None and rev in langs:  # (trainer review: `en,fr: 2` on a fr,en source did nothing, unsaid)
            out.append(f"language multiplier {lang!r} matches no subset's language: {rev!r} is the same pair in the "
                       f"other order, and a pair is weighted under the order its source declares; write {rev!r}")
            continue
        canon = _canonical_key(lang)
        if canon is not None and canon in langs:
            own = (f" ({canon!r} has a multiplier of its own, so {lang!r} does nothing)" if canon in weights.languages
                   else "")
            out.append(f"language multiplier {lang!r} matches no subset's language; did you mean {canon!r}?{own}")
            continue
        # a language compared with languages of its own kind (codes with codes, pairs with pairs), and not when the
        # near one has its own multiplier: `de` next to `code` or `es` is no typo (code review)
        same_kind = [x for x in langs if ("-" in x) == ("-" in lang) and (x == "code") == (lang == "code")]
        near = difflib.get_close_matches(lang, same_kind, n=1, cutoff=0.6)
        if near and near[0] not in weights.languages:
            out.append(f"language multiplier {lang!r} matches no subset's language; did you mean {near[0]!r}?")
    return out


# --------------------------------------------------------------------------- solving

_TOL = 1e-9


def _language_multiplier(exact: Fraction, rests: set[Fraction], cap: Fraction) -> float:
    """The float that stands for the multiplier ``exact`` in the weights, for a language whose subsets' epochs
    before it are ``rests`` (factor x source multiplier, raw products): the plan reads the float back as the decimal
    it prints as and multiplies (:func:`_exact_epochs`), and no subset's epochs may then exceed the cap. When
    ``exact`` puts a subset at the cap, the float is chosen so that its epochs come out as the cap exactly.

    Why: rounding the multiplier down (to stay under the cap) gave capped subsets 4.999999999999999 epochs, shown
    as such in JSON and logs, and ``mix build`` (which repeats floor(epochs) times) then made a "5 epochs" subset
    4 whole epochs plus a 0.99999... draw (review)."""
    m = float(exact)
    rests = {r for r in rests if r > 0}
    if not rests or exact == 0:
        return m
    cap_f = float(cap)

    def epochs(x: float) -> float:
        return max(float(_as_meant(r * _exact(x))) for r in rests)

    for _ in range(64):  # a step or two in practice
        if epochs(m) <= cap_f:
            break
        m = math.nextafter(m, -math.inf)
    if max(rests) * exact >= cap:  # meant to be at the cap: land on it
        for _ in range(64):
            if epochs(m) >= cap_f:
                break
            up = math.nextafter(m, math.inf)
            if epochs(up) > cap_f:
                break
            m = up
    return m


def _target_key(name: str, groups: set[str]) -> str:
    """A target's language as the plan names its groups: ``FR`` -> ``fr`` (review: rejected while weight keys
    accept it), ``French``/``fr-FR`` -> ``fr`` as a build files them, ``Parallel`` -> ``parallel``. A name that
    is none of the groups is returned as written (the caller lists the known ones)."""
    key = name.strip()
    if key in groups:
        return key
    if key.lower() in groups:
        return key.lower()
    canon = mix_language_of(key) if key else None
    return canon if canon is not None and canon in groups else key


def solve_factors(
    stats: Iterable[SubsetStats | Mapping[str, Any]] | str | Path,
    target_shares: Mapping[str, float],
    max_epochs: float = 5.0,
    base_weights: Weights | Mapping[str, Any] | None = None,
    language_of: Callable[[str], str] = language_group,
) -> tuple[Weights, MixPlan]:
    """Find per-language multipliers (on top of ``base_weights``) that hit ``target_shares``.

    Why: Lucie's factors were hand-tuned until fr and en each got ~33 % of tokens seen; this
    does that search mechanically. Languages (as mapped by ``language_of``, default
    :func:`language_group`, so ``"parallel"`` is a valid target; names are read case-insensitively and as a
    build files them, ``FR`` or ``French`` for ``fr``) not in the targets keep multiplier 1 and share the
    remainder. No subset may exceed ``max_epochs``; a language at the cap gets exactly ``max_epochs`` on its
    subset with the most base epochs.

    Method: with the non-target tokens seen ``R`` fixed, the unconstrained solution is
    ``total = R / (1 - sum(targets))``. A fixed-point iteration on the set of capped languages
    then pins the most binding language (smallest cap/target ratio) at its cap and recomputes
    the total, until no free language exceeds its cap. Capping only lowers the total, so the
    set only grows and the loop ends in at most len(targets) rounds. The result is exact and
    deterministic. If a target cannot be met the closest plan is returned with
    ``targets["feasible"] == False`` and ``targets["reason"]`` (also in the plan's warnings) saying why:

    - a language's cap: it is held at its cap (its capacity ``C_g``, the most tokens seen it can have with no
      subset above ``max_epochs``) and the other targets are still met exactly;
    - targets that sum to 1 while languages outside them hold tokens (``R > 0``, which cannot shrink): no plan
      meets them all, and there is no finite total. The same iteration goes on as the total grows without bound:
      the most binding language (smallest ``C_g / target_g``) is pinned at its cap first, after which the other
      targets sum to less than 1 and are met exactly, as for targets summing to just under 1 (no jump at 1;
      reviews: pushing every language to its cap gave 33/33/33 % for 40/40/20 % targets, and keeping the
      targets' ratios let a tiny capped language drag the others far below their targets).

    ``base_weights=None`` means every factor is 1 (raw tokens).
    """
    stats = load_stats_csv(stats)
    if not stats:
        raise MixPlanError("no subsets in the stats: nothing to solve")
    if base_weights is None:
        base = Weights(factors={k: 1.0 for k in sorted({s.key for s in stats})})
    else:
        base = parse_weights(base_weights)
    if not (isinstance(max_epochs, (int, float)) and math.isfinite(max_epochs) and max_epochs > 0):
        raise MixPlanError(f"max_epochs must be a positive number, got {max_epochs!r}")
    cap = _exact(max_epochs)

    groups = {language_of(s.language) for s in stats}
    targets: dict[str, Fraction] = {}
    given: dict[str, str] = {}
    for lang, p in target_shares.items():
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not math.isfinite(p) or not 0 <= p <= 1:
            raise MixPlanError(f"target share for {lang!r} must be a number in [0, 1], got {p!r}")
        key = _target_key(str(lang), groups)
        if key in targets:
            raise MixPlanError(f"targets {given[key]!r} and {lang!r} both mean the language {key!r}: give it once")
        targets[key] = _exact(p)
        given[key] = str(lang)
    if not targets:
        raise MixPlanError("no target shares given")
    p_sum = sum(targets.values(), Fraction(0))
    if p_sum > 1 + Fraction(_TOL):
        raise MixPlanError(
            f"target shares sum to {float(p_sum):.6g} > 1 ({', '.join(f'{k}={float(v):g}' for k, v in targets.items())}); "
            "lower some targets"
        )
    unknown = sorted(set(targets) - groups)
    if unknown:
        raise MixPlanError(
            f"target language(s) {', '.join(unknown)} match no subset; known languages: {', '.join(sorted(groups))}"
            + ("; a language pair (fr,en) is targeted as its group, `parallel`"
               if any("," in u or (len(u) == 5 and u[2] == "-") for u in unknown) and "parallel" in groups else "")
        )

    base_epochs = _exact_epochs(stats, base)
    B: dict[str, Fraction] = {g: Fraction(0) for g in targets}  # base tokens seen per target group
    top: dict[str, Fraction] = {g: Fraction(0) for g in targets}  # highest base epochs in the group
    R = Fraction(0)
    rest: dict[str, Fraction] = {}  # tokens seen of the groups outside the targets
    for s, e in zip(stats, base_epochs):
        g = language_of(s.language)
        if g in targets:
            B[g] += e * s.tokens
            top[g] = max(top[g], e)
        else:
            R += e * s.tokens
            rest[g] = rest.get(g, Fraction(0)) + e * s.tokens
            if e > cap:
                raise MixPlanError(
                    f"subset {s.subset!r} ({g}, not in targets) already has {float(e):g} epochs > max_epochs "
                    f"{float(cap):g} under the base weights; raise max_epochs, lower its factor, or add {g!r} to the targets"
                )
    for g in targets:
        if B[g] == 0 and targets[g] > 0:
            raise MixPlanError(f"target language {g!r} has 0 tokens seen under the base weights; it cannot reach any share")

    # Capacity: the most tokens seen a group can reach without any of its subsets exceeding the cap.
    C = {g: (cap / top[g]) * B[g] if top[g] > 0 else Fraction(0) for g in targets}
    S: dict[str, Fraction] = {}
    capped: set[str] = set()
    free = [g for g in targets if B[g] > 0]
    for g in targets:
        if B[g] == 0:
            S[g] = Fraction(0)
    reason = None

    if R == 0:
        # Only target languages exist: shares are scale-free. Keep the targets' ratios, q_g = target_g /
        # sum(targets), at the smallest scale at which no target language is subsampled, unless the cap forbids it.
        if p_sum == 0:
            raise MixPlanError("all targets are 0 and no other language exists: nothing left to train on")
        q = {g: targets[g] / p_sum for g in free}
        pos = [g for g in free if q[g] > 0]
        total = min(max(B[g] / q[g] for g in pos), min(C[g] / q[g] for g in pos))
        for g in free:
            S[g] = q[g] * total
            if S[g] == C[g] and q[g] > 0:
                capped.add(g)
    else:
        while free:
            denom = 1 - sum((targets[g] for g in free), Fraction(0))
            numer = R + sum((C[g] for g in capped), Fraction(0))
            if denom > 0:
                total = numer / denom
                over = [g for g in free if targets[g] * total > C[g]]
            else:  # the free targets leave the others no room: no finite total; every one wants past its cap
                over = [g for g in free if targets[g] > 0]
            if not over:
                for g in free:
                    S[g] = targets[g] * total
                break
            g = min(over, key=lambda g: (C[g] / targets[g], g))  # the most binding language first
            capped.add(g)
            S[g] = C[g]
            free.remove(g)
        if p_sum >= 1 - Fraction(_TOL):  # (0.3333333333333333 x 3 sums to 1 too)
            others = sorted(g for g, r in rest.items() if r > 0)
            total = R + sum(S.values(), Fraction(0))
            share = R / total
            one = len(others) == 1
            reason = (
                f"the targets sum to {float(p_sum):g} but {', '.join(others)} (not in the targets, so kept at "
                f"{'its' if one else 'their'} base weights, multiplier 1) {'holds' if one else 'hold'} "
                f"{float(share) * 100:.3f} % of tokens seen: no plan meets every target. Closest plan: "
                f"{', '.join(sorted(capped))} at max_epochs {float(cap):g} (the most binding first), "
                + (f"{', '.join(sorted(free))} exactly on target" if free else "every target language at the cap")
                + f". Add {', '.join(others)} to the targets (e.g. --target {others[0]}=0, or `{others[0]}: 0` under "
                "`mix: targets`), or lower the targets to leave "
                f"{'it its' if one else 'them their'} share"
            )

    # Express the multipliers in Lucie's own terms: a per-language weight (--fr_weight & co).
    exact_mult = {g: S[g] / B[g] if B[g] > 0 else Fraction(1) for g in targets}
    mult = {g: float(m) for g, m in exact_mult.items()}
    # per language, its subsets' epochs before the language multiplier (factor x source multiplier)
    rests: dict[str, set[Fraction]] = {}
    plain = base.model_copy(update={"languages": {}})
    for s, e in zip(stats, _exact_epochs(stats, plain, meant=False)):
        if language_of(s.language) in targets:
            rests.setdefault(s.language, set()).add(e)
    languages = dict(base.languages)
    for lang in sorted({s.language for s in stats}):
        g = language_of(lang)
        if g in targets:
            exact = _exact(base.languages.get(lang, 1)) * exact_mult[g]
            languages[lang] = _language_multiplier(exact, rests.get(lang, set()), cap)
    weights = base.model_copy(update={"languages": languages})

    plan = plan_mix(stats, weights)
    achieved = {g: 0.0 for g in targets}
    max_ep = {g: 0.0 for g in targets}
    for sp in plan.subsets:
        g = language_of(sp.language)
        if g in targets:
            achieved[g] += sp.share
            max_ep[g] = max(max_ep[g], sp.epochs)
    # the plan is recomputed from the float weights; their epochs are kept at or under the cap
    worst = max(sp.epochs for sp in plan.subsets)
    if worst > float(cap):
        raise AssertionError(f"solver bug: epochs {worst} above cap {float(cap)}")  # pragma: no cover

    report_langs = {}
    feasible = True
    for g in targets:
        ok = abs(achieved[g] - float(targets[g])) <= 1e-6
        feasible &= ok
        report_langs[g] = {
            "target": float(targets[g]),
            "achieved": achieved[g],
            "multiplier": mult[g],
            "max_epochs": max_ep[g],
            "capped": g in capped,
        }
    if feasible:
        reason = None
    elif reason is None:
        short = [g for g in targets if g in capped and achieved[g] < float(targets[g]) - 1e-6]
        if short:
            reason = "; ".join(
                f"{g} reaches at most {achieved[g] * 100:.3f} % (target {float(targets[g]) * 100:.3f} %) with at "
                f"most {float(cap):g} epochs per subset (its subsets have up to {float(top[g]):g} epochs under the "
                "base weights)" for g in sorted(short)
            ) + ": raise max_epochs, or lower " + ("that target" if len(short) == 1 else "those targets")
    report: dict[str, Any] = {"max_epochs": float(cap), "feasible": bool(feasible), "languages": report_langs}
    if reason is not None:
        report["reason"] = reason
    if R == 0 and abs(p_sum - 1) > _TOL:
        report["note"] = "targets do not sum to 1 and no other language fills the remainder; shares were normalised"
    return weights, MixPlan(
        subsets=plan.subsets,
        languages=plan.languages,
        total_tokens=plan.total_tokens,
        total_tokens_seen=plan.total_tokens_seen,
        targets=report,
        language_groups=plan.language_groups,
        warnings=list(plan.warnings) + ([f"targets not met: {reason}"] if reason else []),
    )
