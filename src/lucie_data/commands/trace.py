"""``lucie-data trace BUILD DOC_ID``: where a document came from and where it went."""
from __future__ import annotations


def cmd_trace(args) -> int:
    import json

    from ..report.trace import format_trace, trace
    from ..writes import check_stdout_written, stdout_is_product

    stdout_is_product()  # (rv60 F9: the lineage is all the command gives; lost, it fails, exit 2, before exit 1)
    t = trace(args.build, args.doc_id, mix=args.mix)
    print(json.dumps(t, indent=2, ensure_ascii=False, default=str) if args.json else format_trace(t), end="")
    check_stdout_written("the lineage")
    # exit 1 when the mix folder holds a copy no mix wrote (as `report` exits 1 when the shards do not reconcile):
    # a script auditing documents one by one must not read that as fine (second auditor review)
    # (and when the document's source failed in the last build: what its folder holds is not output)
    return 1 if t.get("mix_warning") or t.get("build_warning") else 0


def register(sub) -> None:
    p = sub.add_parser("trace", help="print a document's lineage: recipe, input record, annotations, licence, fate")
    p.add_argument("build", help="build folder")
    p.add_argument("doc_id", help="document id (<source>/<original id>); <id>#<k> names copy k of a repeated "
                                  "document in the mix (repeat_ids: suffix)")
    p.add_argument("--mix", default=None, help="the build's mix folder (default: BUILD/mix, else the pipeline's "
                                               "`mix: output:`)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_trace)
