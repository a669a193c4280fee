"""``lucie-data mix plan`` and ``lucie-data mix build``: weigh a build like Lucie, then materialise it.

``mix plan`` with neither ``--stats``/``--build`` nor ``--weights`` (or with ``--lucie``) uses the
shipped Lucie assets (``lucie_data/assets/lucie/{stats.csv,weights.yaml}``) and so prints Lucie's
published composition (3,121,744,220,736 tokens seen).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ..errors import LucieError


DEFAULT_MAX_EPOCHS = 5.0  # MixSpec.max_epochs' default: the cap when neither the command line nor a pipeline says


class MixError(LucieError):
    """A mix that cannot be planned or built; the message says how to fix it."""

    exit_code = 2


def _assets() -> Path:
    from importlib.resources import files

    return Path(str(files("lucie_data") / "assets" / "lucie"))


def _parse_targets(items: list[str] | None) -> dict[str, float] | None:
    if not items:
        return None
    out: dict[str, float] = {}
    for item in items:
        lang, sep, value = item.partition("=")
        try:
            if not sep or not lang.strip():
                raise ValueError
            share = float(value)
        except ValueError:
            raise MixError(f"--target {item!r}: expected LANGUAGE=SHARE, e.g. --target fr=0.33") from None
        if lang.strip() in out:  # review: the last one silently won
            raise MixError(f"--target {lang.strip()} is given twice ({out[lang.strip()]:g} and {share:g}): give it once")
        out[lang.strip()] = share
    return out


def _print_plan(plan, stderr: bool = False) -> None:
    """The plan's tables, on stderr when stdout carries the plan itself (`--json -`)."""
    from rich.table import Table

    from ..cli import _console
    from ..mix.plan import format_tokens as n

    con = _console(stderr=stderr)
    t = Table(title=f"Mix plan: {n(plan.total_tokens)} tokens -> {n(plan.total_tokens_seen)} tokens seen")
    for col in ("language", "tokens", "tokens seen", "% mix"):
        t.add_column(col, justify="left" if col == "language" else "right")
    for lang, row in plan.languages.items():
        t.add_row(lang, n(row["tokens"]), n(row["tokens_seen"]), f"{row['share'] * 100:.3f}")
    con.print(t)
    if plan.language_groups != plan.languages:
        g = Table(title="Per language group (pairs as 'parallel')")
        for col in ("group", "tokens seen", "% mix"):
            g.add_column(col, justify="left" if col == "group" else "right")
        for lang, row in plan.language_groups.items():
            g.add_row(lang, n(row["tokens_seen"]), f"{row['share'] * 100:.3f}")
        con.print(g)
    if plan.targets:
        tt = Table(title=f"Targets (max {plan.targets['max_epochs']:g} epochs; "
                         f"{'feasible' if plan.targets['feasible'] else 'NOT feasible: closest plan shown'})")
        for col in ("language", "target %", "achieved %", "multiplier", "capped"):
            tt.add_column(col, justify="left" if col == "language" else "right")
        for lang, row in plan.targets["languages"].items():
            tt.add_row(lang, f"{row['target'] * 100:.3f}", f"{row['achieved'] * 100:.3f}",
                       f"{row['multiplier']:.6g}", "yes" if row["capped"] else "no")
        con.print(tt)


STDOUT = "-"  # `--json -`: the plan on stdout, as most Unix tools read `-` (rv57 F5: it wrote a file named `-`)


def _output_file(path: str | None, option: str, example: str) -> Path | str | None:
    """Check a file ``mix plan`` will write before doing the work: a folder, or a path under a file, would otherwise
    fail with a traceback once the plan is computed. ``-`` is stdout (:data:`STDOUT`); `./-` is a file of that name."""
    if not path:
        return None
    if path in (STDOUT, "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"):  # (rv61, rv62: opened anew at offset 0, the
        # tables were mixed in, or lost)
        return STDOUT
    p = Path(path)
    if p.is_dir():
        raise MixError(f"{option} {p}: is a folder, expected the path of a file to write; "
                       f"pass a file name, e.g. {option} {p / example}")
    blocker = _file_among_parents(p)
    if blocker is not None:
        raise MixError(f"{option} {p}: {blocker} is a file, not a folder, so nothing can be written under it; "
                       "choose a path inside a folder (or move that file away)")
    return p


def _file_among_parents(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` when it is not a folder (nothing can be created under a file)."""
    existing = next((a for a in path.absolute().parents if a.exists()), None)
    return existing if existing is not None and not existing.is_dir() else None


def _write_output(path: Path | str, option: str, text: str, note=None) -> None:
    """Write one output of ``mix plan``; an unwritable path (permissions, a full disk) is a clear error, leaving an
    earlier file of that name as it was."""
    from ..writes import replace_files, stdout_is_product, stdout_lost

    if path == STDOUT:
        stdout_is_product()
        sys.stdout.write(text)
        lost = stdout_lost()  # (cli._ReaderMayGo: a log's loss is no failure, the plan's is; `| head` none)
        if lost is not None:
            raise MixError(f"{option} -: cannot write the plan to the standard output ({lost.strerror or lost}): "
                           f"redirect it to a writable file, or give {option} a file name")
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_files({path: text})  # whole or not at all, an earlier file kept (rv57 F6: a full disk left it empty)
    except OSError as err:
        raise MixError(f"{option} {path}: cannot write it ({err.strerror or err}); choose a writable path") from None
    print(f"wrote {path}", file=note or sys.stdout)


def _pipeline_spec(pipeline: str | None):
    """The ``mix:`` block of ``--pipeline`` (None without one): its ``targets`` and ``max_epochs`` apply to
    ``mix plan --stats`` as they do to ``mix build``."""
    if not pipeline:
        return None
    from ..mix.build import _pipeline_yaml, parse_mix_spec

    data = _pipeline_yaml(Path(pipeline))
    return parse_mix_spec(data["mix"], str(pipeline)) if data.get("mix") is not None else None


def cmd_plan(args) -> int:
    from ..mix.plan import MixPlanError, load_stats_csv, load_weights_yaml, plan_mix, solve_factors

    try:
        if args.lucie and (args.stats or args.build or args.weights or args.pipeline):
            raise MixError("--lucie uses the shipped Lucie stats and weights: drop --stats/--build/--weights/--pipeline")
        if args.pipeline and not (args.stats or args.build):
            # (newcomer review: the pipeline was ignored without a word and Lucie's published plan printed as its own)
            raise MixError(f"--pipeline {args.pipeline}: its `mix:` weights apply to measured counts: add --build BUILD "
                           "(a build of it) or --stats STATS.csv; without them the plan is Lucie's published one")
        if args.stats and args.build:
            raise MixError("give --stats or --build, not both")
        # every output path is checked before the (possibly long) planning, not when writing it
        json_out = _output_file(args.json, "--json", "plan.json")
        md_out = _output_file(args.markdown, "--markdown", "plan.md")
        weights_out = _output_file(args.weights_out, "--weights-out", "weights.yaml")
        dashes = [o for o, v in (("--json", json_out), ("--markdown", md_out), ("--weights-out", weights_out))
                  if v == STDOUT]
        if len(dashes) > 1:  # (rv57 F5: one overwrote the other)
            raise MixError(f"{' and '.join(dashes)} are each `-` (stdout), which can hold only one of them: give the "
                           "others a file name, e.g. --json - --markdown plan.md")
        files = [(o, v) for o, v in (("--json", json_out), ("--markdown", md_out), ("--weights-out", weights_out))
                 if isinstance(v, Path)]
        same = [(a, b, pa) for i, (a, pa) in enumerate(files) for b, pb in files[i + 1:]
                if os.path.realpath(pa) == os.path.realpath(pb) or (pa.exists() and pb.exists() and pa.samefile(pb))]
        if same:  # (rv61: `--json F --markdown F` wrote F twice, the Markdown last, exit 0)
            a, b, pa = same[0]
            raise MixError(f"{a} and {b} both name {pa}, which can hold only one of them: give each its own file")
        targets = _parse_targets(args.target)
        # targets from the command line replace the pipeline's; without any, its `mix: targets` apply (with its
        # max_epochs), on top of the weights, exactly as `mix build` does, so the plan shown is the one built
        pipe_targets, pipe_max_epochs = None, None
        weights = load_weights_yaml(args.weights) if args.weights else None
        if args.build:
            from ..mix.build import PolicyDecisions, load_mix_config
            from ..mix.stats import build_counts, excluded_notes

            cfg = load_mix_config(args.build, pipeline=args.pipeline, require_weights=False)
            keep = PolicyDecisions(cfg.policy).keep  # (the rule mix build applies)
            counts, excluded = build_counts(args.build, keep)
            stats = [c.to_stats() for c in counts]
            for note in excluded_notes(excluded):  # review: left out of the plan without a word
                print(note, file=sys.stderr)
            try:  # as mix build says them (third review: the plan was silent about sources without a build)
                head = json.loads((Path(args.build) / "manifest.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                head = {}
            for key, what in (("lost_sources", "built once but its build is gone: `mix build` refuses this build"),
                              ("unbuilt_sources", "never built (--only): not in this plan")):
                for name in head.get(key) or [] if isinstance(head, dict) else []:
                    print(f"note: {name}: {what}", file=sys.stderr)
            for f in (head.get("failed_sources") or [] if isinstance(head, dict) else []):
                if isinstance(f, dict):
                    print(f"note: {f.get('name')}: failed in the last build: not in this plan, and `mix build` "
                          "refuses this build", file=sys.stderr)
            from ..mix.build import mix_refusals

            for problem in mix_refusals(args.build, cfg):
                print(f"note: `mix build` refuses this build: {problem}", file=sys.stderr)
            weights = weights or cfg.weights
            pipe_targets, pipe_max_epochs = cfg.targets, cfg.max_epochs
            if weights is None and targets is None and pipe_targets is None:
                where = (f"the pipeline {cfg.pipeline_file}" if cfg.pipeline_file else
                         f"the build's pipeline {cfg.pipeline_missing} (recorded in its manifest.json), which is not "
                         "there any more (pass --pipeline)" if cfg.pipeline_missing else "the pipeline")
                raise MixError(f"no weights for {args.build}: pass --weights WEIGHTS.yaml, add a `mix:` block to "
                               f"{where}, or give --target LANG=SHARE")
        elif args.stats:
            stats = load_stats_csv(args.stats)
            if weights is None and args.pipeline:
                from ..mix.build import pipeline_weights

                weights = pipeline_weights(args.pipeline)  # its mix: block (weights_file or factors)
            spec = _pipeline_spec(args.pipeline)
            if spec is not None:
                pipe_targets = dict(spec.targets) if spec.targets is not None else None
                pipe_max_epochs = spec.max_epochs
            if weights is None and targets is None and pipe_targets is None:
                raise MixError("--stats needs --weights WEIGHTS.yaml, a --pipeline whose `mix:` block has factors, "
                               "or --target LANG=SHARE to solve the factors")
        else:  # --lucie, or the documented default: Lucie's published counts
            stats = load_stats_csv(_assets() / "stats.csv")
            weights = weights or load_weights_yaml(_assets() / "weights.yaml")
        if targets is None and pipe_targets is not None:
            targets = pipe_targets
        if targets is None and args.max_epochs is not None:
            raise MixError("--max-epochs only applies when solving targets: give --target LANG=SHARE (or use a "
                           "pipeline whose `mix:` block has targets), or drop --max-epochs")
        if targets is not None:
            max_epochs = args.max_epochs if args.max_epochs is not None else (pipe_max_epochs or DEFAULT_MAX_EPOCHS)
            weights, plan = solve_factors(stats, targets, max_epochs, base_weights=weights)
        else:
            plan = plan_mix(stats, weights)
    except MixPlanError as err:
        raise MixError(str(err)) from None
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)
    taken = STDOUT in (json_out, md_out, weights_out)  # stdout then holds only the JSON, Markdown or YAML asked for:
    _print_plan(plan, stderr=taken)  # the tables and "wrote F" go to stderr
    note = sys.stderr if taken else sys.stdout
    if json_out:
        _write_output(json_out, "--json", json.dumps(plan.to_dict(), indent=2) + "\n", note)
    if md_out:
        _write_output(md_out, "--markdown", plan.to_markdown(), note)
    if weights_out:
        _write_output(weights_out, "--weights-out", weights.to_yaml(), note)
    return 0


def cmd_build(args) -> int:
    from ..mix.build import build_mix, load_mix_config
    from ..mix.plan import MixPlanError

    build = Path(args.build)
    if not build.is_dir():
        raise MixError(f"{build}: no such build folder; run `lucie-data build` first")
    from ..recipe import blank_or_nul

    if blank_or_nul(args.output, "a path") is not None:
        # (code review: `--output ''` wrote the mix into the current folder)
        raise MixError("--output is empty: give the mix folder, or leave --output out (BUILD/mix or the pipeline's "
                       "mix.output)")
    try:
        cfg = load_mix_config(build, pipeline=args.pipeline, weights=args.weights, seed=args.seed, output=args.output,
                              repeat_ids=args.repeat_ids)
        def written(out: Path) -> None:  # what an interrupt from here on says (not "the mix was not written")
            args.on_interrupt = (f"the mix was written to {out} (its licence check passed) before the command was "
                                 "stopped; nothing to rerun")

        plan = build_mix(build, cfg, log=print, on_written=written)
    except MixPlanError as err:
        raise MixError(str(err)) from None
    except OSError as err:  # a file or folder the user may not read or write that no check above named (rule 3)
        from ..buildfiles import is_permission_error, unreadable_message

        if not is_permission_error(err) or not err.filename:
            raise
        raise MixError(unreadable_message(err.filename, err, action="read or written")) from None
    check = plan["license_check"]
    if not check["passed"]:
        return 1  # (build_mix said what failed and where the rejected mix is)
    return 0


def register(sub) -> None:
    m = sub.add_parser("mix", help="plan (Lucie's weighting) and build the training mix of a build")
    msub = m.add_subparsers(dest="mix_command", metavar="SUBCOMMAND", required=True)

    p = msub.add_parser("plan", help="epochs, tokens seen and shares per subset and language")
    p.add_argument("--stats", help="CSV with columns subset,language,category,tokens")
    p.add_argument("--build", help="a build folder: measured counts (sum of n_tokens per source x language)")
    p.add_argument("--pipeline", help="pipeline file: its licence policy (with --build), its mix: weights when "
                   "--weights is not given and its mix: targets when --target is not given, as `mix build` uses them "
                   "(default with --build: the one recorded in BUILD/manifest.json)")
    p.add_argument("--weights", help="weights YAML (`factors:` language--category -> epochs)")
    p.add_argument("--lucie", action="store_true",
                   help="Lucie's published stats and weights (also the default without --stats/--build/--weights)")
    p.add_argument("--target", action="extend", nargs="+", metavar="LANG=SHARE",
                   help="target shares of tokens seen: --target fr=0.33 en=0.33 code=0.15 (or the flag repeated)")
    p.add_argument("--max-epochs", type=float,
                   help="cap on epochs per subset when solving targets (default: the pipeline's mix.max_epochs, else "
                        f"{DEFAULT_MAX_EPOCHS:g}); only with --target or the pipeline's mix: targets")
    p.add_argument("--json", help="write the plan as JSON (`-`: to stdout, the tables then going to stderr)")
    p.add_argument("--markdown", help="write the plan as Markdown (`-`: to stdout)")
    p.add_argument("--weights-out", help="write the (solved) weights as YAML (`-`: to stdout)")
    p.set_defaults(func=cmd_plan)

    b = msub.add_parser("build", help="materialise the mix (Hub-ready folder with card and mix_plan.json)")
    b.add_argument("build", help="build folder (as written by `lucie-data build`)")
    b.add_argument("--weights", help="weights YAML (default: the pipeline's mix: block)")
    b.add_argument("--pipeline", help="pipeline file (default: the one recorded in BUILD/manifest.json)")
    b.add_argument("--seed", type=int, help="selection seed (default: mix.seed, else the pipeline's seed)")
    b.add_argument("--output", "-o", help="mix folder (default: mix.output, else BUILD/mix)")
    b.add_argument("--repeat-ids", choices=["suffix", "keep"],
                   help="ids of whole-epoch repeats (default: mix.repeat_ids, else suffix): suffix renames copy k "
                        "`id#k` (ids unique; a repeat of a shard copied whole is its first copy with only the id "
                        "column re-encoded); keep keeps the id (such repeats are byte copies; an id appears once "
                        "per epoch)")
    # (resume review: "finished work is kept" is not true of a mix, which starts over)
    b.set_defaults(func=cmd_build, on_interrupt="the mix was not written (an earlier mix in its folder is as it was); "
                   "rerun the same command to build it, from the start")
