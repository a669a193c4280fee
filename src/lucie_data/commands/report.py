"""``lucie-data report BUILD``: the provenance report (JSON, Markdown, HTML) of a build."""
from __future__ import annotations

from pathlib import Path


def cmd_report(args) -> int:
    from ..errors import BuildError, InputError
    from ..report.aggregate import build_report
    from ..report.render import write_reports

    build_dir = Path(args.build)
    if not (build_dir / "sources").is_dir():
        raise InputError(f"{build_dir}: not a build folder (no sources/); run `lucie-data build` first")
    report = build_report(build_dir, tokenizer=args.tokenizer)
    paths = write_reports(report, build_dir / "reports")
    t = report["totals"]
    print(f"{t['kept']['docs']:,} documents kept ({t['kept']['tokens']:,} tokens), {t['removed']['docs']:,} removed; "
          f"{len(report['licenses'])} licence(s); mix licence {report['share_alike']['mix_license']}; "
          f"{sum(w['severity'] == 'warning' for w in report['warnings'])} warning(s)")
    for p in paths.values():
        print(f"  {p}")
    if not report["reconciliation"]["ok"]:
        bad = [c["check"] for c in report["reconciliation"]["checks"] if not c["ok"]]
        raise BuildError("the report does not reconcile with the build's ledgers/manifest: " + "; ".join(bad)
                         + ". Rebuild the source(s) with `lucie-data build`.")
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", help="write BUILD/reports/provenance.{json,md,html}: licences, funnel, attribution")
    p.add_argument("build", help="build folder (the pipeline's output_dir)")
    p.add_argument("--tokenizer", help="recount tokens with this tokenizer.json or Hub id "
                   "(default: the n_tokens column written by the build)")
    p.set_defaults(func=cmd_report)
