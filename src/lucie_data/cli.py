"""The ``lucie-data`` command line. Each command is a small function; heavy imports happen inside it."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import __version__
from .errors import LucieError

DEMO_PIPELINE = "pipelines/demo.yaml"


def _project_root() -> Path:
    """The folder holding pipelines/ and sources/: the current directory, else the source checkout."""
    cwd = Path.cwd()
    if (cwd / DEMO_PIPELINE).exists():
        return cwd
    here = Path(__file__).resolve().parents[2]
    return here


def _own_pipelines() -> list[Path] | None:
    """The current folder's own ``pipelines/*.yaml`` (and ``*.yml``), sorted; None without a ``pipelines/`` folder.

    Review: a user's project with ``pipelines/mine.yaml`` but no ``pipelines/demo.yaml`` was not taken for a project,
    so `validate` checked the bundled pipelines and said OK, and `build` built the bundled demo."""
    folder = Path.cwd() / "pipelines"
    if not folder.is_dir():
        return None
    return sorted(p.relative_to(Path.cwd()) for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def _no_own_pipelines_reason() -> str:
    """Why the bundled pipelines are used: what the current folder lacks."""
    return ("no pipelines/ here" if _own_pipelines() is None
            else f"{Path('pipelines')}/ here holds no .yaml file")


def _console(**kw):
    """A rich Console whose closed stdout raises BrokenPipeError to the command (rich itself exits 1 at once, so
    `validate … | head` lost validate's exit code 2)."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError

    con = _Console(**{"stderr": False, "highlight": False, **kw})
    if not con.is_terminal:  # piped or captured: no wrapping at 80 columns in the middle of a path or a command
        con.soft_wrap = True  # (review: `lucie-data\nstages` split in a log); a terminal wraps at its width
    return con


# ---------------------------------------------------------------------------------------------- validate
def cmd_validate(args) -> int:
    from rich.markup import escape

    from .recipe import validate_paths

    own = _own_pipelines() if not args.paths else None
    bundled = not args.paths and not own
    if args.paths:
        paths = [Path(p) for p in args.paths]
    elif own:  # the user's project: its own pipelines, whatever they are called
        paths = own
    else:  # nothing of the user's to check: the bundled pipelines, said below
        paths = sorted(_project_root().glob("pipelines/*.yaml"))
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.glob("**/*.y*ml")) if p.is_dir() else [p])
    con = _console()
    if not files:  # a folder without YAML, a glob of nothing: "OK: 0 file(s) valid" said nothing was checked
        from .errors import InputError

        raise InputError(f"no pipeline or recipe YAML file in {', '.join(map(str, paths)) or 'pipelines/'}: pass "
                         "files or folders holding them")
    note = (f" (the bundled pipelines: {_no_own_pipelines_reason()}; nothing of yours was checked: pass your files "
            "or folders, `lucie-data validate PATH…`)" if bundled else "")
    recipes: set[Path] = set()
    issues = validate_paths(files, recipes)
    if issues:
        try:
            con.print(f"[red]{len(issues)} problem{'s' if len(issues) != 1 else ''} found:[/red]{escape(note)}")
            for i in issues:
                con.print(f"  - {i}", markup=False)
        except BrokenPipeError:  # `validate | head`: still the verdict's exit code
            return _pipe_closed(2)
        return 2
    shown = ", ".join(str(f) for f in files[:10]) + (f" and {len(files) - 10} more" if len(files) > 10 else "")
    listed = recipes - {f.resolve() for f in files}  # recipes the pipelines list (review: the OK line counted only
    also = f" and the {len(listed)} recipe(s) they list" if listed else ""  # the files given)
    con.print(f"[green]OK[/green]: {len(files)} file(s) valid{also}: {escape(shown)}{escape(note)}", highlight=False)
    return 0


# ---------------------------------------------------------------------------------------------- build
def _load_target(path: str | None, output: str | None):
    from .recipe import _read_yaml, load_pipeline, load_source, misspelt_sources_key, single_source_pipeline
    from .errors import RecipeError

    if path:
        p = Path(path)
    elif (Path.cwd() / DEMO_PIPELINE).exists():
        p = Path.cwd() / DEMO_PIPELINE
    else:
        own = _own_pipelines()
        if own:  # review: the user's project without a demo.yaml built the bundled demo, silently
            from .errors import InputError

            shown = ", ".join(str(f) for f in own[:5]) + (f" and {len(own) - 5} more" if len(own) > 5 else "")
            raise InputError(f"no pipeline given, and this folder has its own pipelines/ ({shown}): name the one to "
                             f"build, e.g. `lucie-data build {own[0]}` (with no argument, build runs "
                             f"{DEMO_PIPELINE} of the current folder, or the bundled demo where there is no "
                             "pipelines/*.yaml)")
        p = _project_root() / DEMO_PIPELINE
    if not p.exists():
        from .errors import InputError

        raise InputError(f"{p}: no such pipeline or recipe file")
    data, lines, issues = _read_yaml(p)
    if issues:  # (a pipeline's are headed as the pipeline's: review, "found in recipes" for a pipeline's YAML slip)
        raise RecipeError(issues, (str(p),) if _looks_like_pipeline(p, data) else ())
    typo = misspelt_sources_key(data, p, lines)
    if typo is not None:  # a pipeline whose `sources:` is misspelt
        raise RecipeError([typo], (str(p),))
    if "sources" in data and "input" not in data:
        return load_pipeline(p)
    src, issues = load_source(p)
    if issues:
        raise RecipeError(issues)
    return single_source_pipeline(src, Path(output) if output else None)


def _looks_like_pipeline(p: Path, data) -> bool:
    """A pipeline (`sources:` and no `input:` at the top), also when its YAML does not parse (then read as text)."""
    if isinstance(data, dict):
        return "sources" in data and "input" not in data
    import re

    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return bool(re.search(r"^sources\s*:", text, re.MULTILINE)) and not re.search(r"^input\s*:", text, re.MULTILINE)


def _check_output(out: Path, given: str | None, pipe) -> None:
    """The build folder can be made (review: `output_dir: afile`, a file, gave a FileExistsError traceback)."""
    from .errors import InputError
    from .recipe import require_utf8_path

    require_utf8_path(out, "build folder")  # (before making it: rv60)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        blocker = next((p for p in [out, *out.parents] if p.exists() and not p.is_dir()), None)
        why = f"{blocker} is a file, not a folder" if blocker is not None else (err.strerror or str(err))
        where = ("--output" if given else f"`output_dir: {pipe.recipe.output_dir}` in {pipe.file}"
                 if pipe.recipe.output_dir and pipe.file else "the default build folder")
        raise InputError(f"cannot make the build folder {out} ({why}), given by {where}: choose a folder that can be "
                         "made there" + (" (or move that file away)" if blocker is not None else "")) from None


def cmd_build(args) -> int:
    import time

    from rich.markup import escape as esc
    from rich.status import Status

    from .runner import build

    from .recipe import blank_or_nul

    if blank_or_nul(args.output, "a path") is not None:
        from .errors import InputError

        # (fuzz review: `--output ""` was ignored, the build went to the pipeline's output_dir)
        raise InputError("--output is empty: give the build folder, or leave --output out to build into the "
                         "pipeline's output_dir")
    pipe = _load_target(args.pipeline, args.output)
    bundled = not args.pipeline and _project_root() != Path.cwd()
    if bundled and not args.output:
        # the bundled demo run from elsewhere: into ./build/<name> here, as a single recipe is, not into the
        # checkout or site-packages the demo pipeline lives in (review: it wrote /work/main/build/demo)
        args.output = str(Path.cwd() / "build" / pipe.recipe.name)
    if args.only:  # before the banner, as every other bad argument (third review)
        from .errors import InputError

        names = sorted(s.name for s in pipe.sources)
        unknown = [o for o in args.only if o not in names]
        if unknown:
            raise InputError(f"--only: unknown source(s) {', '.join(unknown)}; available: {', '.join(names)}")
    con = _console()
    out = Path(args.output).resolve() if args.output else pipe.output_dir
    from .runner import check_folder_pipeline

    check_folder_pipeline(out, pipe)  # before the banner, as every other bad argument (build() checks it again)
    _check_output(out, args.output, pipe)
    # every value from a recipe, a file name or a message is escaped: rich would take `./ds[train]` for markup, and
    # `markup=False` printed the tags themselves (review: a literal `[red]✗[/red]`)
    con.print(f"[bold]lucie-data {__version__}[/bold] · pipeline [cyan]{esc(pipe.recipe.name)}[/cyan]"
              f"{' (the bundled demo: ' + _no_own_pipelines_reason() + ')' if bundled else ''} · "
              f"{len(pipe.sources)} source(s) → {esc(str(out))}")
    status = Status("starting", console=con)
    status.start()
    started: dict[str, float] = {}

    def on_event(kind: str, d: dict) -> None:
        if kind == "source_start":
            started[d["source"]] = time.time()
            status.update(f"[cyan]{esc(d['source'])}[/cyan] reading…")
        elif kind == "segment":
            status.update(f"[cyan]{esc(d['source'])}[/cyan] segment {d['segment'] + 1}/{d['of']}…")
        elif kind == "progress":
            status.update(f"[cyan]{esc(d['source'])}[/cyan] segment {d['segment'] + 1}/{d['of']} · "
                          f"{d['docs']:,} documents · {d['rate']:,.0f} docs/s")
        elif kind == "warning":
            con.print(f"  [yellow]![/yellow] {esc(d['source'])}: {esc(str(d['message']))}")
        elif kind == "source_failed":  # the build goes on with the other sources, then exits 1
            con.print(f"  [red]✗[/red] {esc(d['source'])}: FAILED: {esc(str(d['message']))}")
        elif kind == "plan":
            status.update(f"[cyan]{esc(d['source'])}[/cyan] planning {esc(str(d['stage']))}…")
        elif kind == "source_done":
            r = d["result"]
            led = r.ledger
            if r.status == "incomplete":
                why = "; ".join(f"{q['file']}: {q['reason']}" for q in led.get("incomplete", []))
                # (the row that stands for a dataset that could not be loaded is not a record read: newcomer review,
                # "1 read before the input failed" of a dataset of which nothing was read)
                got = led["records_read"] - int((led.get("read_removed") or {}).get("read_dataset_unavailable", 0))
                con.print(f"  [red]✗[/red] {esc(r.name)}: INCOMPLETE, {got:,} read before the "
                          f"input failed ({esc(why)}); not marked finished: the next build retries it")
                return
            if r.status == "up-to-date":
                con.print(f"  [dim]✓ {esc(r.name)}: up to date ({led['docs_kept']:,} docs kept), skipped[/dim]")
                return
            secs = max(r.seconds, 1e-6)
            created = int(led.get("docs_created") or 0)  # parts a language_id split added (new-user review: "29 read
            # → 9 kept, 22 removed" did not add up)
            con.print(f"  [green]✓[/green] {esc(r.name)}: {led['records_read']:,} read"
                      + (f" + {created:,} parts created by a split" if created else "") + " → "
                      f"{led['docs_kept']:,} kept, "
                      f"{led['docs_removed']:,} removed · "
                      # (scale review: a resumed build divided every record by this run's time, 2.3x its real rate)
                      # (rv53: how much of it the stopped run had done)
                      + (f"resumed ({r.resumed[0]} of {r.resumed[1]} task runs kept), {secs:.1f} s this run"
                         if r.resumed else
                         f"{led['records_read'] / secs:,.0f} docs/s · {secs:.1f} s"))
    from .errors import BuildError

    failure = None
    try:
        result = build(pipe, Path(args.output) if args.output else None, args.workers, args.only, on_event)
    except BuildError as err:
        if err.result is None:
            raise
        # sources failed, the others were built: their summary and problems are said first (code review: a failure
        # hid the other sources' warnings and the incomplete notice), then the failure (exit 1)
        failure, result = err, err.result
    finally:
        status.stop()
    kept = sum(s.ledger["docs_kept"] for s in result.sources)
    read = sum(s.ledger["records_read"] for s in result.sources)
    con.print(f"[bold]done[/bold]: {read:,} records read, {kept:,} documents kept"
              + (f" in the sources built ({len(result.failed)} failed, below)" if result.failed else "") + "; "
              f"ledgers in {esc(str(out))}/sources/*/ledger.json, manifest {esc(str(out))}/manifest.json")
    probs = result.problems
    if probs:
        con.print(f"[yellow]{len(probs)} input problem(s), handled and recorded in the ledgers:[/yellow]")
        for p in probs:
            con.print(f"  - {p}", markup=False)
    if result.incomplete:
        con.print(f"[red]{len(result.incomplete)} source(s) incomplete[/red] ({esc(', '.join(result.incomplete))}): "
                  "an input could not be read whole (a file the build may not read: fix its permissions; a Hub "
                  "dataset: the network, a Hub outage?; a local dataset folder: the error above says what to fix); "
                  "rerun the same command to retry them. `lucie-data mix build` refuses an incomplete source.")
    if failure is not None:
        raise failure
    # a source that failed earlier and is still not built (--only left it out) leaves a build no mix takes: exit 1,
    # as for an incomplete source (code review: exit 0, listed among the "handled" problems)
    earlier = [f.get("name") for f in (result.manifest or {}).get("failed_sources") or [] if isinstance(f, dict)]
    return 1 if result.incomplete or earlier else 0


# ---------------------------------------------------------------------------------------------- stages / schema
def cmd_stages(args) -> int:
    from .stages import stage_table
    from .writes import check_stdout_written, stdout_is_product

    stdout_is_product()  # (rv60 F9: the list is all the command gives; lost, it fails)
    con = _console()
    for tname, spec in sorted(stage_table().items()):
        doc = (spec.__doc__ or "").strip().splitlines()[0] if spec.__doc__ else ""
        con.print(f"[bold cyan]{tname}[/bold cyan]  {doc}")
        _print_fields(con, spec, "    ", skip={"type"})
        _print_presets(con, tname)
    check_stdout_written("the stage list")
    return 0


def _print_presets(con, stage_type: str) -> None:
    """The per-language values a threshold left at None takes (review: `stages` showed `default None` for each, so the
    values applied, some of them not datatrove's, were only in the YAML file)."""
    from .stages.quality import _presets

    table = _presets().get(stage_type)
    if not table:
        return
    con.print("    presets: what a threshold left unset (None) is, per document language (`language: auto`) or for "
              "the stage's `language:`; each value's source is cited in src/lucie_data/assets/quality/presets.yaml "
              "([DT] datatrove's English defaults, [GO] Gopher, [FW2] FineWeb-2, [LD] our measurement)", markup=False)
    base = table.get("en", {})
    for lang in ("en", "fr", "de", "es", "it"):
        vals = base if lang == "en" else {**base, **table.get(lang, {})}
        shown = ", ".join(f"{k}={'[' + ', '.join(map(str, v)) + ']' if isinstance(v, list) and len(v) > 8 else v}"
                          for k, v in vals.items() if k != "stop_words")
        stops = vals.get("stop_words")
        con.print(f"        {lang}: {shown}" + (f", stop_words: {len(stops)} words" if stops else ""), markup=False)


def _print_fields(con, model, indent: str, skip=frozenset(), seen: tuple = ()) -> None:
    """One line per field (type, bounds, default, description); a field holding a model (``chunk: ChunkSpec``,
    ``policy: LicensePolicy``, ``gutenberg: GutenbergRule``) is followed by that model's fields, indented."""
    for fname, f in model.model_fields.items():
        if fname in skip:
            continue
        default = ("required" if f.is_required()
                   else f"default {_default_str(f.get_default(call_default_factory=True))}")
        ann = _type_str(f.annotation) + _constraint_str(f.metadata)
        desc = f" — {f.description}" if f.description else ""
        con.print(f"{indent}{fname}: {ann} ({default}){desc}", markup=False)
        for sub in _nested_models(f.annotation):
            if sub not in seen:  # a model that holds itself is shown once
                _print_fields(con, sub, indent + "    ", seen=seen + (sub,))


def _nested_models(ann) -> list:
    """The pydantic models a field's type holds (through ``| None``, ``list[…]``, ``Annotated``), in order."""
    import typing

    import pydantic

    if isinstance(ann, type) and issubclass(ann, pydantic.BaseModel):
        return [ann]
    out: list = []
    for arg in typing.get_args(ann):
        for m in _nested_models(arg):
            if m not in out:
                out.append(m)
    return out


def _type_str(ann) -> str:
    """A field's type as a reader writes it (``list[str] | None``, ``int ≥ 1``): validators and pydantic field
    objects are left out (review: `stages` printed ``BeforeValidator(func=<function … at 0x…>)``)."""
    import re
    import types
    import typing

    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if ann is type(None):
        return "None"
    if ann is Ellipsis:
        return "..."
    if origin is typing.Annotated:
        return _type_str(args[0]) + _constraint_str(args[1:])
    if origin is typing.Literal:
        return "Literal[" + ", ".join(repr(a) for a in args) + "]"
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_str(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", None) or str(origin).replace("typing.", "")
        return f"{name}[{', '.join(_type_str(a) for a in args)}]" if args else name
    if isinstance(ann, type):
        return ann.__name__
    if isinstance(ann, typing.ForwardRef):
        return ann.__forward_arg__
    # anything else: its text without module paths or object addresses
    text = re.sub(r"<[^<>]* at 0x[0-9a-fA-F]+>", "", str(ann).replace("typing.", ""))
    return re.sub(r"<class '([\w.]+)'>", lambda m: m.group(1).rsplit(".", 1)[-1], text)


def _default_str(value) -> str:
    """A default as YAML-ish text: plain values as Python writes them, a model as its fields, anything else by its
    type name (never an object repr with an address)."""
    import pydantic

    if isinstance(value, pydantic.BaseModel):
        value = value.model_dump(mode="json")

    def plain(v) -> bool:
        if v is None or isinstance(v, (bool, int, float, str)):
            return True
        if isinstance(v, (list, tuple, set, frozenset)):
            return all(plain(x) for x in v)
        if isinstance(v, dict):
            return all(plain(k) and plain(x) for k, x in v.items())
        return False

    return repr(value) if plain(value) else type(value).__name__


def _constraint_str(metadata) -> str:
    """Readable bounds from ``Annotated`` metadata (``Field(ge=1)``, ``annotated_types.Ge``); the rest (validators)
    says nothing a reader needs here."""
    symbols = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "min_length": "min length", "max_length": "max length"}
    parts: list[str] = []
    for m in metadata:
        for item in getattr(m, "metadata", None) or [m]:  # a FieldInfo carries its constraints in .metadata
            for attr, sym in symbols.items():
                v = getattr(item, attr, None)
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    parts.append(f"{sym} {v}")
    return (" " + ", ".join(dict.fromkeys(parts))) if parts else ""


def cmd_schema(args) -> int:
    from .recipe import PipelineRecipe, SourceRecipe
    from .writes import check_stdout_written, stdout_is_product

    stdout_is_product()  # (rv60 F9: the schema is all the command gives; lost, it fails)

    model = PipelineRecipe if args.kind == "pipeline" else SourceRecipe
    schema = model.model_json_schema()
    if model is SourceRecipe:
        # the schema of a recipe *file*: a pipeline's `defaults:` and a `preset:` may supply any key but `name`, and
        # `validate` checks the merged recipe (newcomer review: editors underlined as errors recipes that take
        # `category` and `license` from a preset)
        schema["required"] = [k for k in schema.get("required", []) if k == "name"]
        schema["description"] = ((schema.get("description") or "").rstrip() + "\n\nOnly `name` is required here: "
                                 "a pipeline's `defaults:` and a `preset:` may give the other keys; `lucie-data "
                                 "validate` checks the recipe they make together.").strip()
    print(json.dumps(schema, indent=2))
    check_stdout_written("the schema")
    return 0


# ---------------------------------------------------------------------------------------------- main
def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lucie-data", description="Declarative, licence-aware corpus curation.")
    p.add_argument("--version", action="version", version=f"lucie-data {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    v = sub.add_parser("validate", help="check recipes and pipelines; report every error at once")
    v.add_argument("paths", nargs="*", help="pipeline/recipe files or folders (default: ./pipelines/*.yaml; where "
                   "there is none, the bundled pipelines)")
    v.set_defaults(func=cmd_validate)

    b = sub.add_parser("build", help="run a pipeline (default: ./pipelines/demo.yaml; where there is "
                       "no ./pipelines/*.yaml, the bundled demo) into a build folder")
    b.add_argument("pipeline", nargs="?", help="pipeline file, or a single source recipe")
    b.add_argument("--output", "-o", help="build folder (default: the pipeline's output_dir; for a single recipe, ./build/<name>)")
    b.add_argument("--workers", "-w", type=_positive_int, help="processes at once (output does not depend on it)")
    b.add_argument("--only", nargs="+", action="extend", metavar="SOURCE",
                   help="build only these sources (repeatable: --only a --only b builds both)")
    b.set_defaults(func=cmd_build)

    s = sub.add_parser("stages", help="list every stage type with its arguments and defaults")
    s.set_defaults(func=cmd_stages)

    sc = sub.add_parser("schema", help="print the JSON Schema of recipes (for editors)")
    sc.add_argument("kind", nargs="?", choices=["source", "pipeline"], default="source")
    sc.set_defaults(func=cmd_schema)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return p


_EXTRA_COMMANDS: list = []


def _load_extras() -> None:
    """Each module of ``lucie_data.commands`` adds sub-commands through ``register(subparsers)``.

    Keep those modules light: import heavy libraries inside the command function, not at the top.
    """
    import importlib
    import pkgutil

    from . import commands

    _EXTRA_COMMANDS.clear()
    for m in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"{commands.__name__}.{m.name}")
        _EXTRA_COMMANDS.append(mod.register)


def _pipe_closed(code: int) -> int:
    """Exit ``code`` quietly once stdout's reader has gone: what is still buffered goes to /dev/null, or Python's
    flush at exit fails again and turns any exit code into 1 (review: `validate … | head` exited 1, not 2)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return code


class _ReaderMayGo:
    """``sys.stdout`` or ``sys.stderr`` while a command runs: once the pipe's reader has gone (`build … | head`),
    the stream is pointed at /dev/null, as Python's note on SIGPIPE advises
    (https://docs.python.org/3/library/signal.html#note-on-sigpipe), and the command carries on to its own exit
    status. Review: the first progress line after `head` exited raised BrokenPipeError, which ended a build between
    two sources (later sources never built, no manifest, exit 0), a `mix build` before its mix, a `push` before its
    first commit, and turned a failed `report` into exit 0.

    Any other write error is taken the same way, ``on_lost`` told of it once (rv57 F4: `build >log` on a full volume,
    or `>/dev/full`, ended with an ENOSPC traceback before any work; an EIO on a lost log share would end it between
    two sources): the log is lost, not the build."""

    def __init__(self, stream, on_lost=None):
        self._stream = stream
        self._gone = False
        self._on_lost = on_lost
        self.lost: OSError | None = None  # the write error that stopped it, if any (`mix plan --json -` fails on it)
        self.product = False  # stdout holds the command's product: its loss is the command's error, not a warning

    def write(self, text):
        if not self._gone:
            try:
                return self._stream.write(text)
            except OSError as err:
                self._lost(err)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._stream.flush()
            except OSError as err:
                self._lost(err)

    def _lost(self, err: OSError) -> None:
        self.lost = err
        self._to_devnull()
        if self._on_lost is not None and not isinstance(err, BrokenPipeError) and not self.product:  # (a reader
            # gone is no news; a lost product is said by its command: writes.stdout_is_product, rv60 F9)
            self._on_lost(err)

    def _to_devnull(self) -> None:
        self._gone = True
        try:  # what the stream still buffers is written to /dev/null by its next flush (at exit at the latest)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):  # (a stream without a descriptor: nothing more is written to it)
            pass

    def __getattr__(self, name):
        return getattr(self._stream, name)


_STDERR: list = []  # the stderr of the command running (main), innermost last: see _interrupted


def _in_utf8() -> None:
    """Run the program in Python's UTF-8 mode whatever the locale: the tool's files (recipes, logs, datatrove's task
    logs and stats) are UTF-8 and its output names paths and documents. rv57: under `LANG=en_US.ISO-8859-1` (what a
    plain `en_US` is on RHEL and HPC nodes) `build` stopped on a traceback at its first line, and with Python's own
    hint, PYTHONIOENCODING=utf-8, every source failed writing its task logs. The program starts again in UTF-8 mode
    (PYTHONUTF8=1, which its worker processes inherit); its arguments keep their bytes (a non-ASCII path stays right)."""
    import locale

    if sys.flags.utf8_mode or os.environ.get("LUCIE_DATA_NO_UTF8_REEXEC"):
        return
    encodings = {codecs_name(locale.getpreferredencoding(False)), codecs_name(sys.getfilesystemencoding())}
    if encodings == {"utf-8"}:
        return
    os.environ["PYTHONUTF8"] = "1"  # (its worker processes inherit it)
    os.environ["LUCIE_DATA_NO_UTF8_REEXEC"] = "1"  # (once: should UTF-8 mode not take, run as is)
    # the command line as given, interpreter options included (rv60: rebuilt from sys.argv, `python -m
    # lucie_data.cli` and `python -c …` started something else), and only where the program is lucie-data's own: a
    # script of the user's calling main() would run its own code twice, a program read from stdin or /dev/fd is
    # gone (rv61). There, this process goes on in UTF-8 as far as it can: its output, and files it opens
    orig = list(getattr(sys, "orig_argv", None) or [])
    if len(orig) < 2 or not _own_program():
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.reconfigure(encoding="utf-8", errors="backslashreplace")
            except (AttributeError, ValueError):
                pass
        for name in ("C.UTF-8", "C.utf8", "en_US.UTF-8"):  # open()'s default encoding follows LC_CTYPE
            try:
                locale.setlocale(locale.LC_CTYPE, name)
                break
            except locale.Error:
                continue
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-X", "utf8", *orig[1:]])


def _own_program() -> bool:
    """Whether this process runs lucie-data's own program: `python -m lucie_data` (or `lucie_data.cli`), or the
    `lucie-data` script pip installs (a few lines that import and call ``main``)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name in ("lucie_data.__main__", "lucie_data.cli"):
        return True
    script = sys.argv[0] if sys.argv else ""
    if not script or script == "-" or script.startswith(("/dev/", "/proc/")):
        return False
    try:
        with open(script, "rb") as f:
            head = f.read(2048)
    except OSError:
        return False
    # (the script an installer writes, named lucie-data: pip's and uv's templates differ, rv62; a user's wrapper of
    # another name is not taken for it)
    return (os.path.basename(script) in ("lucie-data", "lucie-data.exe") and len(head) < 2048
            and b"from lucie_data.cli import main" in head)


def codecs_name(encoding: str) -> str:
    import codecs

    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding


def main(argv: list[str] | None = None) -> int:
    """The command's exit status, whether or not its output's reader stays (see _ReaderMayGo)."""
    if argv is None:  # the program itself, not a caller's in-process use
        _in_utf8()
    saved = sys.stdout, sys.stderr
    err = _ReaderMayGo(saved[1]) if saved[1] is not None else None

    def stdout_lost(e: OSError) -> None:  # said on stderr, once (the wrapper stops writing stdout); nothing if that
        if err is not None:  # fails too
            err.write(f"warning: cannot write the standard output ({e.strerror or e}): nothing more is written to "
                      "it, the command carries on (redirect it to a writable file to keep its messages)\n")
            err.flush()

    wrapped = [_ReaderMayGo(saved[0], stdout_lost) if saved[0] is not None else None, err]
    sys.stdout, sys.stderr = wrapped
    _STDERR.append(wrapped[1])
    if argv is None:  # the program itself, not a caller's in-process use
        from . import interrupts

        interrupts.install()  # Ctrl-C and SIGTERM: stop, keep what is finished; a second one: at once
    try:
        try:
            return _main(argv)
        except KeyboardInterrupt:  # before _main's own handling: while the command's modules load (code review: a
            return _interrupted()  # SIGTERM in the first ~0.1 s printed a KeyboardInterrupt traceback, exit 130)
        except Exception as e:  # (the same, wrapped by a library: see _caused_by_interrupt)
            if not _caused_by_interrupt(e):
                raise
            return _interrupted()
    finally:
        _STDERR.pop()
        for s in wrapped:  # (not left to the exit: Python would fail there on the closed pipe, and exit 120)
            if s is not None:
                s.flush()
        sys.stdout, sys.stderr = saved


def _main(argv: list[str] | None = None) -> int:
    _load_extras()
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args) or 0
    except LucieError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:  # `lucie-data schema | head`: the reader had enough
        return _pipe_closed(0)
    except Exception as e:
        if not _caused_by_interrupt(e):
            raise
        if os.environ.get("LUCIE_VERBOSE"):  # (what the interrupt set off, for a bug in cleanup code)
            import traceback

            traceback.print_exc()
        return _interrupted(args)
    except KeyboardInterrupt:
        return _interrupted(args)


def _interrupted(args=None) -> int:
    from . import interrupts

    _handled_keyboard_interrupt()

    # to the command's stderr, not to whatever sys.stderr is now: a task running in this process (one worker) points
    # sys.stderr at /dev/null while it runs, to keep datatrove's task log off the terminal, and the interrupt left it
    # running (it ends with the process): a build with `workers: 1` stopped by Ctrl-C or SIGTERM said nothing
    # (review 48, on the way to that review's finding)
    stream = _STDERR[-1] if _STDERR and _STDERR[-1] is not None else sys.stderr
    print(f"{interrupts.stopped_by()}: " + (getattr(args, "on_interrupt", None)
                                             or "rerun the same command to resume; finished work is kept"),
          file=stream)
    return interrupts.exit_status()


def _handled_keyboard_interrupt() -> None:
    """Tell CPython the KeyboardInterrupt was handled. It notes one that passes through code a C extension runs with
    PyRun_String (an import inside pyarrow...) and, at exit, kills the process with SIGINT instead of exiting with the
    command's status (code review: 2 of 12 early SIGTERMs ended as "killed by SIGINT" after saying "terminated").
    CPython 3.8-3.13's ``_Py_UnhandledKeyboardInterrupt``; nothing where it is not exported."""
    try:
        import ctypes

        ctypes.c_int.in_dll(ctypes.pythonapi, "_Py_UnhandledKeyboardInterrupt").value = 0
    except (ImportError, ValueError, AttributeError, OSError):
        pass


def _caused_by_interrupt(e: BaseException) -> bool:
    """A Ctrl-C that a library wrapped in its own error: pydantic turns one raised while a model class is defined
    (the recipe modules' first import) into ``RuntimeError: Error calling __set_name__`` (stress review: a traceback
    and exit 1 for 1 of 16 interrupts in a build's first second)."""
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


if __name__ == "__main__":
    sys.exit(main())
