"""``lucie-data report BUILD``: the provenance report (JSON, Markdown, HTML) of a build."""
from __future__ import annotations

from pathlib import Path


def cmd_report(args) -> int:
    from ..errors import BuildError
    from ..report.aggregate import build_report, require_build
    from ..report.render import write_reports

    build_dir = Path(args.build)
    require_build(build_dir)  # a recipes folder also has sources/: write nothing into it
    from ..errors import InputError
    from ..locks import holder

    writing = holder(build_dir / ".lock")
    if writing:  # kill/resume review: it said the build had stopped and to rerun it, while the build ran
        raise InputError(f"a lucie-data build is writing {build_dir} right now ({writing}): report when it has "
                         "finished (its sources, ledgers and manifest are still changing)")
    if args.tokenizer:  # loaded once here, as the build does: a Hub id that cannot be had is an InputError, not a
        from ..runner import _check_tokenizer  # traceback from the recount (read-through)

        _check_tokenizer(args.tokenizer, flag="--tokenizer")
    out_dir = Path(args.output) if args.output else build_dir / "reports"
    from ..recipe import require_utf8_path

    require_utf8_path(out_dir.resolve(), "report folder")
    report = build_report(build_dir, tokenizer=args.tokenizer)
    try:
        paths = write_reports(report, out_dir)
    except OSError as err:  # (kill/resume review: a read-only build folder gave a traceback)
        raise InputError(f"cannot write the report into {out_dir} ({err.strerror or err}; no report file there "
                         "was replaced): "
                         + ("give a folder you can write with --output" if not args.output else
                            "give another --output folder")) from None
    t = report["totals"]
    print(f"{t['kept']['docs']:,} documents kept ({t['kept']['tokens']:,} tokens), {t['removed']['docs']:,} removed; "
          f"{len(report['licenses'])} licence(s); mix licence {report['share_alike']['mix_license']}; "
          f"{sum(w['severity'] == 'warning' for w in report['warnings'])} warning(s)")
    for p in paths.values():
        print(f"  {p}")
    # sources a `build --only` left as an earlier build made them: said here too, as the build and `mix build` say it
    stale = {k: [w["source"] for w in report["warnings"] if w["kind"] == k] for k in ("policy_changed",
                                                                                      "source_out_of_date")}
    pfile = report["build"].get("pipeline_file") or "PIPELINE"
    for kind, what in (("policy_changed", "built under another licence policy than the pipeline's current one"),
                       ("source_out_of_date", "out of date with the pipeline (recipe, inputs or options changed)")):
        if stale[kind]:
            print(f"warning: {', '.join(stale[kind])}: {what}, left out of the last build (--only); the report's "
                  f"warnings say what it changes; `lucie-data build {pfile}` without --only rebuilds "
                  f"{'it' if len(stale[kind]) == 1 else 'them'}")
    if not report["build"]["finished"]:  # new-user review: exit 0 and "Reconciliation: OK" on an interrupted build
        has = ("'s manifest.json is an earlier build's" if (build_dir / "manifest.json").is_file() else
               " has no manifest.json")  # (rv59: a rebuild that stopped, under an earlier build's manifest)
        raise BuildError(f"{build_dir}{has}: the build stopped before its end, so the report written "
                         f"covers only the {len(report['funnel'])} source(s) it wrote a ledger for (finished or incomplete) and cannot be reconciled with "
                         "the build (the policy and shards it recorded). Rerun `lucie-data build` with the same "
                         "pipeline and --output to finish it (it resumes), then `lucie-data report` again.")
    if not report["reconciliation"]["ok"]:
        from ..buildfiles import rebuild_hint

        failed = [c for c in report["reconciliation"]["checks"] if not c["ok"]]
        bad = [c["check"] for c in failed]
        # what was found, where the check says it in words (a shard, a recipe file, a stage, a licence)
        found = [f"{c['check'].split(': ', 1)[0]}: {c['report']}" for c in failed
                 if isinstance(c["report"], str) and c["report"] != "yes"]
        # a finished source is skipped by `lucie-data build`: name the folder to delete first, per source
        # (not for a check a rerun fixes: an unreadable policy in manifest.json, which the rerun writes again)
        names = sorted({c["check"].split(": ", 1)[0] for c in failed if ": " in c["check"] and not c.get("rerun_build")
                        and c["check"].split(": ", 1)[0] in report["funnel"]})
        fix = "; ".join(rebuild_hint(build_dir, n) for n in names) if names else \
            "rerun `lucie-data build` with the same pipeline and --output (it rewrites manifest.json)"
        raise BuildError("the report does not reconcile with the build's ledgers/manifest: " + "; ".join(bad)
                         + (f" (found: {'; '.join(found)})" if found else "")
                         + ". Files of the build were changed since it wrote them (a shard rewritten, a ledger, "
                         f"recipe.resolved.json or manifest.json edited): {fix}.")
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", help="write BUILD/reports/provenance.{json,md,html} (or into --output): licences, "
                       "funnel, attribution")
    p.add_argument("build", help="build folder (the pipeline's output_dir)")
    p.add_argument("--output", metavar="DIR", help="write the report files here (default: BUILD/reports; for a build "
                   "folder you cannot write, a read-only copy or an auditor's share)")
    p.add_argument("--tokenizer", help="recount tokens with this tokenizer.json or Hub id "
                   "(default: the n_tokens column written by the build)")
    p.set_defaults(func=cmd_report)
