"""``lucie-data push BUILD --repo-id ORG/NAME``: publish a built mix with :func:`lucie_data.hub.push`.

BUILD is a build folder (its mix is ``BUILD/mix``) or a mix folder itself (it holds ``mix_plan.json``).
The token comes from ``HF_TOKEN`` (else huggingface_hub's saved login) and is never printed.
The Hub endpoint is ``--endpoint``, else ``HF_ENDPOINT``, else huggingface.co.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..hub import PushError


def _mix_folder(path: str) -> Path:
    p = Path(path)
    if (p / "mix_plan.json").is_file():
        return p
    if (p / "mix" / "mix_plan.json").is_file():
        return p / "mix"
    raise PushError(f"{p} holds no built mix (no mix_plan.json in it or in {p / 'mix'}): "
                    f"run `lucie-data mix build {p}` first")


def stale_mix(folder: Path, given: Path) -> Path | None:
    """The build a mix was made from, when its manifest.json is no longer the one the mix recorded, else None.

    The build is known when push is given it (its mix is ``BUILD/mix``), or given a mix folder named ``mix`` inside a
    build: the default layout. Elsewhere (``mix: {output: …}``) nothing says which build it was: not checked.
    New-user review: a mix made before a recipe changed and its source was rebuilt was pushed with exit 0, with
    documents the new build removes (and a licence policy changed since would not have been seen either)."""
    from ..mix.build import made_from_another_manifest

    # absolute, not resolved (`push .` inside BUILD/mix: the name of "." is ""; a `mix` symlink keeps its name)
    folder, given = Path(os.path.abspath(folder)), Path(os.path.abspath(given))
    build = given if given != folder else folder.parent if folder.name == "mix" else None
    return build if build is not None and made_from_another_manifest(folder, build) else None


def cmd_push(args) -> int:
    from ..hub import push

    folder = _mix_folder(args.build)
    build = stale_mix(folder, Path(args.build))
    if build is not None:
        raise PushError(f"the mix {folder} was made from an earlier state of the build {build}: its manifest.json has "
                        "changed since (a source rebuilt, a licence policy changed), so the mix may hold documents "
                        f"the build now removes. Run `lucie-data mix build {build}` again, then push.")
    result = push(folder, args.repo_id, revision=args.revision, private=args.private, create_pr=args.create_pr,
                  dry_run=args.dry_run, token=os.environ.get("HF_TOKEN") or None,
                  endpoint=args.endpoint or os.environ.get("HF_ENDPOINT") or None,
                  max_files_per_commit=args.max_files_per_commit, log=print)
    if not args.dry_run:
        print(f"pushed {len(result.uploaded)} file(s) in {len(result.commits)} commit(s), "
              f"{len(result.skipped)} unchanged: {result.url}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("push", help="publish a built mix to the Hugging Face Hub (token from HF_TOKEN)")
    p.add_argument("build", help="build folder (pushes BUILD/mix) or a mix folder")
    p.add_argument("--repo-id", required=True, help="dataset repo ORG/NAME")
    p.add_argument("--revision", help="branch (created if missing) or refs/pr/N to resume a pull request")
    p.add_argument("--private", action="store_true", help="create the repo private (refused if it exists public)")
    p.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing to the branch")
    p.add_argument("--dry-run", action="store_true", help="print the commits that would be made; no network")
    p.add_argument("--endpoint", help="Hub URL (default: HF_ENDPOINT, else https://huggingface.co)")
    p.add_argument("--max-files-per-commit", type=int, default=50, help="files per commit (large mixes: several commits)")
    p.set_defaults(func=cmd_push)
