"""``lucie-data mix plan`` and ``lucie-data mix build``: weigh a build like Lucie, then materialise it.

``mix plan`` with neither ``--stats``/``--build`` nor ``--weights`` (or with ``--lucie``) uses the
shipped Lucie assets (``lucie_data/assets/lucie/{stats.csv,weights.yaml}``) and so prints Lucie's
published composition (3,121,744,220,736 tokens seen).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import LucieError


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
            out[lang.strip()] = float(value)
        except ValueError:
            raise MixError(f"--target {item!r}: expected LANGUAGE=SHARE, e.g. --target fr=0.33") from None
    return out


def _print_plan(plan) -> None:
    from rich.console import Console
    from rich.table import Table

    def n(x):
        return f"{x:,}" if isinstance(x, int) else f"{x:,.1f}"

    con = Console(highlight=False)
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


def cmd_plan(args) -> int:
    from ..mix.plan import MixPlanError, load_stats_csv, load_weights_yaml, plan_mix, solve_factors

    try:
        if args.lucie and (args.stats or args.build or args.weights):
            raise MixError("--lucie uses the shipped Lucie stats and weights: drop --stats/--build/--weights")
        if args.stats and args.build:
            raise MixError("give --stats or --build, not both")
        weights = load_weights_yaml(args.weights) if args.weights else None
        if args.build:
            from ..mix.build import load_mix_config
            from ..mix.stats import build_counts

            cfg = load_mix_config(args.build, pipeline=args.pipeline, require_weights=False)
            policy = cfg.policy

            def keep(src, lic):
                if not src.redistributable:
                    return "not_redistributable"
                ok, reason = policy.decide(lic or "LicenseRef-unknown")
                return None if ok else reason

            counts, _ = build_counts(args.build, keep)
            stats = [c.to_stats() for c in counts]
            weights = weights or cfg.weights
            if weights is None and not args.target:
                raise MixError(f"no weights for {args.build}: pass --weights WEIGHTS.yaml, add a `mix:` block to the "
                               "pipeline, or give --target LANG=SHARE")
        elif args.stats:
            stats = load_stats_csv(args.stats)
            if weights is None and args.pipeline:
                from ..mix.build import pipeline_weights

                weights = pipeline_weights(args.pipeline)  # its mix: block (weights_file or factors)
            if weights is None and not args.target:
                raise MixError("--stats needs --weights WEIGHTS.yaml, a --pipeline whose `mix:` block has factors, "
                               "or --target LANG=SHARE to solve the factors")
        else:  # --lucie, or the documented default: Lucie's published counts
            stats = load_stats_csv(_assets() / "stats.csv")
            weights = weights or load_weights_yaml(_assets() / "weights.yaml")
        targets = _parse_targets(args.target)
        if targets is not None:
            weights, plan = solve_factors(stats, targets, args.max_epochs, base_weights=weights)
        else:
            plan = plan_mix(stats, weights)
    except MixPlanError as err:
        raise MixError(str(err)) from None
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)
    _print_plan(plan)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(plan.to_dict(), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(plan.to_markdown(), encoding="utf-8")
        print(f"wrote {args.markdown}")
    if args.weights_out:
        Path(args.weights_out).write_text(weights.to_yaml(), encoding="utf-8")
        print(f"wrote {args.weights_out}")
    return 0


def cmd_build(args) -> int:
    from ..mix.build import build_mix, load_mix_config
    from ..mix.plan import MixPlanError

    build = Path(args.build)
    if not build.is_dir():
        raise MixError(f"{build}: no such build folder; run `lucie-data build` first")
    try:
        cfg = load_mix_config(build, pipeline=args.pipeline, weights=args.weights, seed=args.seed, output=args.output,
                              repeat_ids=args.repeat_ids)
        plan = build_mix(build, cfg, log=print)
    except MixPlanError as err:
        raise MixError(str(err)) from None
    check = plan["license_check"]
    if not check["passed"]:
        print(f"licence check FAILED: {len(check['violations'])} violation(s); `lucie-data push` will refuse this mix")
        return 1
    return 0


def register(sub) -> None:
    m = sub.add_parser("mix", help="plan (Lucie's weighting) and build the training mix of a build")
    msub = m.add_subparsers(dest="mix_command", metavar="SUBCOMMAND", required=True)

    p = msub.add_parser("plan", help="epochs, tokens seen and shares per subset and language")
    p.add_argument("--stats", help="CSV with columns subset,language,category,tokens")
    p.add_argument("--build", help="a build folder: measured counts (sum of n_tokens per source x language)")
    p.add_argument("--pipeline", help="pipeline file: its licence policy (with --build) and its mix: weights when "
                   "--weights is not given (default with --build: the one recorded in BUILD/manifest.json)")
    p.add_argument("--weights", help="weights YAML (`factors:` language--category -> epochs)")
    p.add_argument("--lucie", action="store_true",
                   help="Lucie's published stats and weights (also the default without --stats/--build/--weights)")
    p.add_argument("--target", action="append", metavar="LANG=SHARE",
                   help="target share of tokens seen (repeatable; e.g. --target fr=0.33 --target en=0.33)")
    p.add_argument("--max-epochs", type=float, default=5.0, help="cap on epochs per subset when solving targets")
    p.add_argument("--json", help="write the plan as JSON")
    p.add_argument("--markdown", help="write the plan as Markdown")
    p.add_argument("--weights-out", help="write the (solved) weights as YAML")
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
    b.set_defaults(func=cmd_build)
