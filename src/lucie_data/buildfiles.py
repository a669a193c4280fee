"""Reading a finished build's (or mix's) own files, with clear errors when one is damaged (rule 3).

Why one module: the mix, the report, ``trace`` and the CLI all read the same few files of a build folder (README
"Build folder (a public contract)"); each used to call ``json.loads`` and index into the result, so a damaged file
gave each a different traceback. Here each file is read once, checked against a pydantic model of what its
readers use (strict types, other keys allowed and not checked), and a problem becomes a
:class:`~lucie_data.errors.BuildFileError` (or the caller's error class) naming the file, the key
(``shards[0].rows``), what was expected, and how to get a good file back.
"""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import BuildFileError

# a source (recipe) name: a folder of the build (sources/<name>/) and of a mix (data/<kind>/<lang>/<name>/)
NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

__all__ = ["ManifestHead", "ManifestFile", "RecipeFile", "LedgerHead", "LedgerFile", "read_json_file",
           "parse_json_text", "validate", "read_manifest", "read_source_file", "check_json", "rebuild_hint", "shard_fix", "damaged_shard_message",
           "first_unreadable", "is_permission_error", "unreadable_message", "is_file_checked"]


class _Part(BaseModel):
    """What a reader relies on: those keys with those JSON types (no coercion); any other key is left alone."""

    model_config = ConfigDict(extra="allow", strict=True)


class _ManifestSource(_Part):
    name: str
    recipe_file: str | None = None
    recipe_sha256: str | None = None


class _ManifestShard(_Part):
    path: str
    rows: int
    bytes: int | None = None
    sha256: str | None = None
    summary: dict | None = None


class _RemovedShard(_Part):
    path: str
    rows: int


class _Pipeline(_Part):
    file: str | None = None
    name: str | None = None


class ManifestHead(_Part):
    """What the mix reads of ``manifest.json`` before it plans (its shard entries are checked one by one, as hints
    the mix trusts only while they still describe the file: a full check of 1,000s of entries costs ms)."""

    pipeline: _Pipeline | None = None
    license_policy: dict | None = None
    seed: int | None = None
    sources: list[_ManifestSource] = []


class ManifestFile(ManifestHead):
    """What the report and ``trace`` read of ``manifest.json``."""

    models: list[dict] = []
    shards: list[_ManifestShard] = []
    removed_shards: list[_RemovedShard] = []


class _Provenance(_Part):
    url: str | None = None
    citation: str | None = None


class _Input(_Part):
    type: str | None = None


class _Recipe(_Part):
    name: str
    category: str
    languages: list[str]
    license: str | None
    redistributable: bool = True
    description: str | None = None
    provenance: _Provenance | None = None
    input: _Input | None = None


class RecipeFile(_Part):
    """``sources/<source>/recipe.resolved.json``, as the mix, the report and ``trace`` read it."""

    recipe_file: str | None = None
    recipe: _Recipe


class LedgerHead(_Part):
    """What the build (is this source finished?) and the mix read of ``sources/<source>/ledger.json``."""

    records_read: int
    docs_kept: int
    docs_removed: int
    balanced: bool
    data_shards: int | None = None
    complete: bool | None = None  # False: an input could not be read whole (runner.RETRY_REASONS); absent: complete
    incomplete: list[dict] | None = None


class _RemovedCount(_Part):
    docs: int


class _Stage(_Part):
    stage: str
    type: str
    docs_in: int
    docs_kept: int
    docs_removed: int
    chars_in: int
    chars_removed: int
    removed: dict[str, _RemovedCount]
    docs_created: int | None = None  # the parts a language_id split adds (code review: "two" was a traceback)


class _Quarantined(_Part):
    reason: str


class LedgerFile(LedgerHead):
    """What the report reads of a ledger."""

    chars_kept: int
    stages: list[_Stage]
    quarantined_files: list[_Quarantined] = []


_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "integer", float: "number", bool: "boolean",
               type(None): "null"}
_EXPECTED = {"dict_type": "an object", "model_type": "an object", "model_attributes_type": "an object",
             "list_type": "an array", "string_type": "a string", "int_type": "an integer", "bool_type": "true or false",
             "float_type": "a number"}


def check_json(data: Any, model: type[BaseModel]) -> str | None:
    """The first place where ``data`` does not fit ``model`` (``stages[0].docs_in: expected an integer, got a
    JSON string``, ``sources[2].name: missing``), or None when it fits."""
    try:
        model.model_validate(data)
    except ValidationError as err:
        e = err.errors(include_url=False)[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(e["loc"]))
        where = where or "the top level"
        if e["type"] == "missing":
            return f"{where}: missing"
        expected = _EXPECTED.get(e["type"])
        if expected is None:
            return f"{where}: {e['msg']}"
        return f"{where}: expected {expected}, got a JSON {_JSON_TYPES.get(type(e['input']), type(e['input']).__name__)}"
    return None


Fix = str | Callable[[], str]  # the fix, or how to word it (called only on an error: a rebuild hint reads a file)


def _fix(fix) -> str:
    return fix() if callable(fix) else fix


def read_json_file(path, what: str, fix: Fix, model: type[BaseModel] | None = None,
                   error: type[Exception] = BuildFileError):
    """The parsed JSON of ``path``, None when there is no such file; else ``error`` naming the file, what is
    wrong (not UTF-8, not JSON with line and column, a key missing or of the wrong type, :func:`check_json`),
    that it should be ``what``, and ``fix``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except IsADirectoryError:
        raise error(f"{path} is a folder, expected {what}; {_fix(fix)}") from None
    except OSError as err:
        raise error(unreadable_message(path, err, fix)) from None
    return parse_json_text(raw, path, what, fix, model, error)


def is_permission_error(err: BaseException) -> bool:
    """``err`` says the user running lucie-data may not read, list or write a path (EACCES, EPERM), whoever raised
    it: Python's PermissionError, or pyarrow's OSError carrying that errno."""
    return isinstance(err, PermissionError) or getattr(err, "errno", None) in (errno.EACCES, errno.EPERM)


def _strerror(err: BaseException) -> str:
    code = getattr(err, "errno", None)
    if isinstance(code, int) and code > 0:
        return os.strerror(code)  # (pyarrow's strerror is its whole message, path included)
    if isinstance(err, PermissionError):  # (polars' has no errno: "Permission denied (os error 13): <path>")
        return os.strerror(errno.EACCES)
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


_VERB = {"read": "read", "listed": "list", "written": "write", "created": "create", "read or written": "read or write"}


def unreadable_message(path, err: BaseException, fix: Fix | None = None, action: str = "read") -> str:
    """``<path> cannot be read (<why>); check its permissions…``: a build or mix file (or folder) the command could
    not read, list, write or create (``action``: ``read``, ``listed``, ``written``, ``created``). A permission problem
    says only that, and to rerun once fixed: the file is not damaged, so no fix that deletes anything (review 49: an
    unreadable, intact shard was called damaged, with advice to delete its source folder). Any other error (EIO…)
    adds ``fix``, when given, as the other way out."""
    if is_permission_error(err):
        return (f"{path} cannot be {action} ({_strerror(err)}): check its permissions and those of the folders above "
                f"it (the user running lucie-data must be allowed to {_VERB.get(action, action)} it), then rerun the "
                "command")
    return f"{path} cannot be {action} ({_strerror(err)}); check its permissions" + (f", or {_fix(fix)}" if fix else "")


def is_file_checked(path, error: type[Exception] = BuildFileError) -> bool:
    """``Path.is_file()``, but a path the command may not look at (a folder above it without the permission to
    search it) is ``error`` naming it (:func:`unreadable_message`), not a traceback (Python 3.11's ``is_file`` raises
    PermissionError) or a file said to be missing."""
    try:
        return Path(path).is_file()
    except OSError as err:
        raise error(unreadable_message(path, err)) from None


def parse_json_text(raw: bytes | str, path, what: str, fix: Fix, model: type[BaseModel] | None = None,
                    error: type[Exception] = BuildFileError):
    """:func:`read_json_file` on content already read (``raw``) from ``path``."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as err:
        raise error(f"{path} is not UTF-8 text (byte {err.start}), expected {what}; {_fix(fix)}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise error(f"{path} is not valid JSON ({err.msg}, line {err.lineno} column {err.colno}), expected {what}; "
                    f"{_fix(fix)}") from None
    if model is not None:
        validate(data, path, what, fix, model, error)
    return data


def validate(data: Any, path, what: str, fix: Fix, model: type[BaseModel], error: type[Exception] = BuildFileError):
    """``error`` (file, key, what was expected, ``fix``) unless ``data``, parsed from ``path``, fits ``model``."""
    wrong = check_json(data, model)
    if wrong:
        raise error(f"{path}: {wrong}: not {what}; {_fix(fix)}")
    return data


MANIFEST_WHAT = "the manifest lucie-data build writes"
MANIFEST_FIX = "rerun `lucie-data build` with the same pipeline and --output: it rewrites manifest.json"


def read_manifest(build, error: type[Exception] = BuildFileError, model: type[BaseModel] = ManifestFile) -> dict | None:
    """``BUILD/manifest.json`` checked against ``model``; None when the build has none."""
    return read_json_file(Path(build) / "manifest.json", MANIFEST_WHAT, MANIFEST_FIX, model, error)


def is_build_manifest(path: Path) -> bool:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "lucie_data_version" in data and isinstance(data.get("pipeline"), dict)


def read_build_key(key_file) -> str | None:
    """A source folder's ``.build_key`` (None: none, or unreadable)."""
    try:
        return Path(key_file).read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def stopped_since_manifest(build) -> list[str]:
    """Sources a build started (re)building after ``manifest.json`` was written: the last build stopped before writing
    its own (a build writes each rebuilt source's ``.build_key`` first, its manifest last), so the manifest describes an
    earlier state of those folders. rv59: after a Ctrl-C'd rebuild, `report` called a source that run had finished
    "edited since the build" and one it was still writing "deleted since the build?", each with "delete the folder";
    rerunning the build is all it takes.

    A source whose manifest entry records its ``build_key`` is judged by it: another key on disk is a later run's. An
    older manifest's entry has none: a ``.build_key`` newer than the manifest then counts only when the folder does
    not match the entry (no ledger, other counts, another resolved recipe), so a build folder copied without its times
    (`cp -r`) is not taken for a stopped one."""
    build = Path(build)
    try:
        since = (build / "manifest.json").stat().st_mtime_ns
        data = json.loads((build / "manifest.json").read_bytes())
        entries = {e["name"]: e for e in data.get("sources") or [] if isinstance(e, dict) and isinstance(e.get("name"),
                                                                                                       str)}
    except (OSError, ValueError, AttributeError, TypeError, KeyError):
        return []
    out = []
    for key_file in sorted((build / "sources").glob("*/.build_key")):
        name, entry = key_file.parent.name, entries.get(key_file.parent.name)
        key = read_build_key(key_file)
        try:
            newer = key_file.stat().st_mtime_ns > since
        except OSError:
            continue
        if key is None:
            continue
        if entry is not None and isinstance(entry.get("build_key"), str):
            if key != entry["build_key"]:
                out.append(name)
        elif newer and (entry is None or key.startswith("v2:") or not _matches_entry(key_file.parent, entry)):
            # (a key in today's form after an earlier version's manifest: this version rebuilt or re-keyed the source
            # after it, and stopped before its own manifest; rv61)
            out.append(name)
    return out


def _matches_entry(source_dir: Path, entry: dict) -> bool:
    """Whether a source folder is the one an (older) manifest entry describes: its ledger's counts and its resolved
    recipe's bytes."""
    import hashlib

    try:
        led = json.loads((source_dir / "ledger.json").read_bytes())
        resolved = hashlib.sha256((source_dir / "recipe.resolved.json").read_bytes()).hexdigest()
    except (OSError, ValueError):
        return False
    counts = all(led.get(k) == entry.get(k) for k in ("records_read", "docs_kept", "docs_removed"))
    recorded = entry.get("resolved_recipe_file_sha256")
    return counts and (recorded is None or recorded == resolved)


def stopped_message(build, names: list[str]) -> str:
    return (f"the last build of {build} stopped before its end: it was rebuilding {', '.join(names)} after "
            "manifest.json was written, so manifest.json describes an earlier state of the folder. Rerun "
            "`lucie-data build` with the same pipeline and --output to finish it (it resumes)")


_SOURCE_FILES = {"recipe.resolved.json": (RecipeFile, "a resolved recipe"), "ledger.json": (LedgerFile, "a lucie-data ledger")}


def read_source_file(source_dir, name: str, error: type[Exception] = BuildFileError) -> dict | None:
    """``sources/<source>/recipe.resolved.json`` or ``ledger.json`` checked against its model; None when absent."""
    source_dir = Path(source_dir)
    model, what = _SOURCE_FILES[name]
    return read_json_file(source_dir / name, what, lambda: rebuild_hint(source_dir.parent.parent, source_dir.name),
                          model, error)


def rebuild_hint(build, source: str) -> str:
    """How to get one source of a build back: delete its folder and build that source again.

    Why delete: the build skips a finished source (same recipe, inputs and seed) without re-reading its shards,
    so ``--only`` alone would leave a damaged or missing shard as it is. The pipeline is the one the manifest
    records, when it can be read."""
    build = Path(build)
    pipeline = "PIPELINE.yaml"
    try:
        recorded = json.loads((build / "manifest.json").read_text(encoding="utf-8"))["pipeline"]["file"]
        if isinstance(recorded, str) and recorded:
            pipeline = recorded
    except (OSError, ValueError, KeyError, TypeError):  # a hint only: whoever reads the manifest reports its damage
        pass
    return (f"rebuild source {source}: delete the folder {build / 'sources' / source}, then rerun `lucie-data build` "
            f"for it: `lucie-data build {pipeline} --output {build} --only {source}`")


def shard_fix(path) -> str:
    """How to replace a damaged Parquet file: rebuild its source (a build's ``sources/<source>/{data,removed}/``
    shard) or the mix (a mix's ``data/<kind>/<language>/<Source>/`` shard)."""
    parts = Path(path).parts
    if len(parts) >= 5 and parts[-5] == "sources" and parts[-3] in ("data", "removed"):
        return rebuild_hint(Path(*parts[:-5]), parts[-4])
    if len(parts) >= 5 and parts[-5] == "data":
        mix = Path(*parts[:-5])
        build = mix.parent if (mix.parent / "sources").is_dir() else "BUILD"
        return f"rebuild the mix: `lucie-data mix build {build} --output {mix}` (it replaces the whole folder)"
    return "rebuild the folder it belongs to (`lucie-data build`, or `lucie-data mix build` for a mix)"


def damaged_shard_message(path, err: BaseException) -> str:
    """``<path> is damaged: not a readable Parquet file (<reader's first line>); <how to fix>``; a file the command
    may not read is not called damaged (:func:`unreadable_message`)."""
    if is_permission_error(err):
        return unreadable_message(path, err)
    detail = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
    return f"{path} is damaged: not a readable Parquet file ({detail}); {shard_fix(path)}"


def first_unreadable(paths, columns: list[str] | None = None):
    """(path, error) of the first file of ``paths`` pyarrow cannot read (those columns, every page), else None.

    For error paths only: a polars scan over many files that fails often does not say which file it was."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for p in paths:
        try:
            pf = pq.ParquetFile(p)
            cols = [c for c in columns if c in pf.schema_arrow.names] if columns else None
            pf.read(columns=cols, use_threads=False)
        except (pa.ArrowException, OSError) as err:  # ArrowInvalid (not Parquet, cut short), a missing file
            return p, err
    return None


def mix_folder_message(folder: Path, parent_is_build: bool | None = None) -> str | None:
    """What to say when a command that wants a build is given a mix folder (it holds ``mix_plan.json``), else None:
    the build it was made from, when that is the folder above (``BUILD/mix``). ``report``, ``trace``, ``mix build``
    and ``mix plan`` say the same (newcomer review: the mix commands said "run `lucie-data build` first")."""
    folder = Path(folder)
    if not (folder / "mix_plan.json").is_file():
        return None
    parent = folder.resolve().parent
    if parent_is_build is None:
        parent_is_build = (parent / "manifest.json").is_file() or (parent / "sources").is_dir()
    which = f"{parent}, the build holding it" if parent_is_build else "the folder `lucie-data mix build` was given"
    return (f"{folder} is a mix (it holds mix_plan.json), not a build: give the build it was made from ({which}); "
            "the mix's own composition and licences are in its README.md and mix_plan.json")


def no_build_message(folder: Path) -> str:
    """What to say of a folder without ``sources/`` given where a build is wanted (``mix build``, ``mix plan
    --build``): a mix folder names its build (:func:`mix_folder_message`), anything else is told to build first."""
    return mix_folder_message(folder) or (f"{folder} is not a build folder (no sources/ inside): run `lucie-data "
                                          "build` first, then pass the folder it wrote (e.g. build/demo)")
