"""Publishing a mix folder to the Hugging Face Hub: the only module that talks to the Hub.

Why it exists rather than a bare ``upload_folder``:
- a mix whose licence check failed (or was never run) must never be published, nor any file of the folder that
  the check did not see (only the shards ``mix_plan.json`` lists, it and the card are sent);
- mixes are large: the upload is split into several commits, and a push that dies half-way is
  resumed by pushing again (files whose content is already on the Hub are not re-sent);
- the Hub and the network fail transiently: every API call is retried with exponential backoff
  on 5xx / 429 / dropped connections, never on other 4xx (those are the user's to fix);
- the token is never printed, logged or written anywhere.

All HTTP goes through ``huggingface_hub.HfApi``; this module does not speak the protocol itself.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import LucieError
from .manifest import DIGESTS, FAST_DIGEST, file_digests
from .manifest import sha256_file as _sha256

__all__ = ["PushError", "PushResult", "push", "plan_batches"]

REPO_TYPE = "dataset"
README = "README.md"
PLAN = "mix_plan.json"
# Never part of a mix, never uploaded, never refused: VCS metadata, caches, editor litter. ``.cache`` holds
# huggingface_hub's own bookkeeping (``.cache/huggingface``: upload_large_folder's resume state, local_dir downloads),
# which huggingface_hub itself refuses to commit.
_IGNORED_PARTS = {".git", ".cache", "__pycache__", ".ipynb_checkpoints"}
_IGNORED_NAMES = {".DS_Store", "Thumbs.db"}
_REPO_ID = re.compile(r"(?!.*--)(?!.*\.\.)[A-Za-z0-9](?:[\w.-]{0,94}[A-Za-z0-9_])?/[A-Za-z0-9_](?:[\w.-]{0,94}[A-Za-z0-9_])?")
_MAX_SLEEP = 60.0


class PushError(LucieError):
    """A push refused before anything is uploaded (the mix, its plan, the arguments or the repo's state are not what
    a push needs); the message says why and what to do. Exit 2, like every refused input."""

    exit_code = 2


class PushFailed(PushError):
    """The Hub or the network failed during a push (after the retries); pushing again resumes. Exit 1."""

    exit_code = 1


@dataclass
class PushResult:
    """What a push did (or, with ``dry_run``, would do).

    ``uploaded``: paths sent (dry run: paths that would be sent if they differ on the Hub);
    ``skipped``: local paths already on the Hub with the same content; ``commits``: commit oids,
    in order; ``url``: the repo (or branch / pull request) page, None when nothing happened.
    """

    repo_id: str
    revision: str | None
    commits: list[str] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    url: str | None = None
    dry_run: bool = False
    deleted: list[str] = field(default_factory=list)  # files of an earlier mix under data/ that this one has not


@dataclass(frozen=True)
class _LocalFile:
    path: str  # path in repo, posix
    abspath: Path
    size: int
    sha256: str | None = None  # verified against mix_plan.json by _check_shards: not hashed again


def _file_sha256(f: _LocalFile) -> str:
    return f.sha256 or _sha256(f.abspath)


# --- checks that need no network ---------------------------------------------------------------

def _check_plan(folder: Path) -> dict:
    """Refuse to publish a mix whose licence check did not pass: publishing is not reversible. Returns the plan,
    read once for every check of the push."""
    plan_path = folder / PLAN
    if not plan_path.is_file():
        raise PushError(
            f"{folder} has no {PLAN}: it is not a built mix folder. Build the mix first "
            "(the build writes mix_plan.json with its licence check), then push that folder."
        )
    try:
        plan = json.loads(plan_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PushError(f"{plan_path} is not readable JSON ({err}); rebuild the mix.") from None
    check = plan.get("license_check") if isinstance(plan, dict) else None
    if not isinstance(check, dict):
        raise PushError(
            f"{plan_path} has no license_check: this mix was never checked against a licence policy, "
            "so it cannot be published. Rebuild the mix with a licence policy."
        )
    if check.get("passed") is True:
        return plan
    violations = check.get("violations") or []
    if not isinstance(violations, list):
        violations = [violations]
    lines = [f"  - {_format_violation(v)}" for v in violations] or ["  - (no violation listed)"]
    raise PushError(
        f"Refusing to push {folder}: its licence check failed ({len(violations)} violation"
        f"{'s' if len(violations) != 1 else ''}):\n" + "\n".join(lines) + "\n"
        "Fix: `lucie-data mix build` leaves out every document its policy forbids, so these rows reached the files "
        "it wrote from build shards that did not hold what their manifest says (second review: the advice was a "
        "policy change). Check those sources' shards, rebuild them (`lucie-data build`), run `lucie-data mix build` "
        "again, then push the new folder; a policy that should exclude them goes in the pipeline's license_policy."
    )


def _format_violation(v: Any) -> str:
    if isinstance(v, dict):
        who = v.get("source") or v.get("name") or v.get("dataset") or v.get("id")
        lic = v.get("license") or v.get("licence")
        why = v.get("reason") or v.get("message") or v.get("rule")
        parts = [str(who) if who else None, f"licence {lic}" if lic else None, str(why) if why else None,
                 f"in {v['shard']}" if v.get("shard") else None]
        text = ": ".join(p for p in (parts[0], ", ".join(p for p in parts[1:] if p)) if p)
        return text or json.dumps(v, sort_keys=True)
    return str(v)


def _check_repo_id(repo_id: str) -> None:
    if not isinstance(repo_id, str) or not _REPO_ID.fullmatch(repo_id) or len(repo_id.split("/")[1]) > 96:
        raise PushError(
            f"Invalid repo id {repo_id!r}: expected ORG/NAME (letters, digits, '-', '_', '.'; "
            "no '--' or '..'; at most 96 characters each), e.g. OpenLLM-France/lucie-mix-fr."
        )


def _local_files(folder: Path) -> list[_LocalFile]:
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if not p.is_file() or _IGNORED_PARTS.intersection(rel.parts) or p.name in _IGNORED_NAMES or p.suffix == ".pyc":
            continue
        out.append(_LocalFile(rel.as_posix(), p, p.stat().st_size))
    return out


def _check_rows(folder: Path, plan: dict, hashes: dict[str, tuple[str, str]]) -> None:
    """Every shard read again against the licence policy and sources mix_plan.json records (the hashes only say the
    files are the ones listed; a plan edited with them would pass): a row the policy or a non-redistributable source
    forbids stops the push."""
    from .mix.build import recheck_mix

    if not isinstance(plan.get("license_check", {}).get("policy"), dict) or not isinstance(plan.get("sources"), dict):
        # a plan no policy or sources can be read from (hand-made, an older format): the rows cannot be checked, and a
        # "passed" flag alone is not a check (read-through: the push went on quietly; rule 2)
        missing = [k for k, ok in (("license_check.policy", isinstance(plan.get("license_check", {}).get("policy"), dict)),
                                   ("sources", isinstance(plan.get("sources"), dict))) if not ok]
        raise PushError(f"{folder / PLAN} has no {' and no '.join(missing)}: its rows cannot be checked against the "
                        "licence policy they were mixed under (a plan written by hand, or by an older lucie-data). "
                        "Nothing was uploaded. Rebuild the mix with `lucie-data mix build`, then push that folder.")
    from .licenses import LicensePolicy

    try:
        LicensePolicy.model_validate(plan["license_check"]["policy"])
    except ValueError as err:  # a policy in the plan that does not validate (pydantic): a traceback before
        raise PushError(f"{folder / PLAN}: its license_check.policy is not a licence policy ({err}); rebuild the mix "
                        "with `lucie-data mix build`. Nothing was uploaded.") from None
    try:
        found, lic_docs = recheck_mix(folder, plan, hashes)
    except (OSError, ValueError) as err:  # a listed shard that does not read (its hash put in the plan): the
        # damaged-shard error says which and what to do; it was reported as a bad policy (read-through)
        raise PushError(f"Refusing to push {folder}: {str(err)[:600]}. Nothing was uploaded.") from None
    if found:
        listed = "; ".join(f"{v['source']} {v['license']} ({v['reason']}) in {v['shard']}" for v in found[:5])
        raise PushError(f"Refusing to push {folder}: reading its shards finds {len(found)} kind(s) of document its own "
                        f"licence policy or sources forbid ({listed}{' …' if len(found) > 5 else ''}), though "
                        "mix_plan.json says the check passed. Nothing was uploaded. Rebuild the mix with "
                        "`lucie-data mix build` from the build. If that mix is refused here again, the build's shards "
                        "are not what its manifest.json summarises (the mix trusts the per-shard counts of a shard "
                        "whose size and footer match it: a shard rewritten along with the manifest): rebuild the "
                        "sources with `lucie-data build` into a fresh --output, then mix.")
    if lic_docs != plan.get("licenses"):  # second review: relabelled within the policy, under a card still CC-BY
        said = plan.get("licenses") or {}
        diff = sorted(k for k in set(lic_docs) | set(said) if lic_docs.get(k) != said.get(k))
        raise PushError(f"Refusing to push {folder}: its shards hold other licences than mix_plan.json counts ("
                        + "; ".join(f"{k}: {lic_docs.get(k, 0):,} rows read, {said.get(k, 0):,} in the plan"
                                    for k in diff[:5])
                        + "), and the card's licence is derived from those counts. Nothing was uploaded. Rebuild the "
                        "mix with `lucie-data mix build` from the build.")


_CARD_KEYS = ("license", "license_name", "license_details", "configs")


def _check_card(folder: Path, plan: dict) -> None:
    """The card may be edited by hand (prose, tags, a description), but what it declares about the data must stay
    what ``mix build`` derived from the checked shards: ``license`` (and its name and details) from the rows'
    licences, ``configs`` from the files. Review: ``license: other`` changed to ``cc-by-4.0`` was published."""
    import yaml

    from .mix.card import front_matter

    card = folder / README
    if not card.is_file():  # review: without it the push went on, and the Hub kept the earlier mix's card
        raise PushError(f"{folder} has no README.md, the dataset card `lucie-data mix build` writes (its licence and "
                        "configs come from the data): rebuild the mix. Nothing was uploaded.")
    text = card.read_text(encoding="utf-8", errors="replace")
    parts = text.split("\n---", 1) if text.startswith("---") else []
    try:
        declared = yaml.safe_load(parts[0][3:]) if len(parts) == 2 else None
    except yaml.YAMLError as err:
        raise PushError(f"{card}: its YAML header does not parse ({err}); rebuild the mix (`lucie-data mix build`) "
                        "or repair the header.") from None
    if not isinstance(declared, dict):
        raise PushError(f"{card} has no YAML header (`---` … `---`) with the mix's licence and configs: rebuild the "
                        "mix (`lucie-data mix build`), then edit only its prose.")
    if isinstance(plan.get("card_sha256"), str) and _sha256(card) == plan["card_sha256"]:
        return  # the card as mix build wrote it
    try:
        want = front_matter(plan)
    except (KeyError, TypeError, AttributeError):  # a plan no card can be derived from (hand-made, older format)
        raise PushError(f"{folder / PLAN} does not hold what the card's licence and configs are derived from (a plan "
                        "written by hand, or by an older lucie-data), and README.md is not the card `mix build` wrote "
                        "with it: the card's licence cannot be checked. Nothing was uploaded. Rebuild the mix with "
                        "`lucie-data mix build`.") from None
    wrong = [k for k in _CARD_KEYS if declared.get(k) != want.get(k)]
    if wrong == ["configs"]:  # (_CARD_KEYS ends with configs: the only way it comes first)
        raise PushError(f"Refusing to push {folder}: its README.md declares `configs` other than the mix's checked "
                        f"shards give ({_configs_diff(declared.get('configs'), want['configs'])}). Nothing was "
                        "uploaded. The card's prose may be edited; its licence and configs come from the data: put "
                        "them back (rebuild the mix and merge your prose into the new card).")
    if wrong:
        k = wrong[0]
        raise PushError(f"Refusing to push {folder}: its README.md declares {', '.join(f'`{w}`' for w in wrong)} other "
                        f"than the mix's checked shards give ({k}: {declared.get(k)!r} where mix_plan.json gives "
                        f"{want.get(k)!r}"[:400] + "). Nothing was uploaded. The card's prose may be edited; its "
                        "licence and configs come from the data: put them back (rebuild the mix and merge your prose "
                        "into the new card), or change the data and rebuild.")


def _configs_diff(declared, want: list[dict]) -> str:
    """What differs between the card's configs and the mix's, by config name (review: the message quoted the
    first 300 characters of the list)."""
    if not isinstance(declared, list):
        return f"`configs` is {type(declared).__name__}, not a list"
    have = {c.get("config_name"): c for c in declared if isinstance(c, dict)}
    need = {c["config_name"]: c for c in want}
    parts = []
    for what, names in (("missing", sorted(set(need) - set(have))), ("not the mix's", sorted(set(have) - set(need)))):
        if names:
            parts.append(f"{what}: {', '.join(map(str, names[:6]))}{' …' if len(names) > 6 else ''}")
    changed = sorted(n for n in set(have) & set(need) if have[n] != need[n])
    if changed:
        parts.append(f"changed: {', '.join(map(str, changed[:6]))}{' …' if len(changed) > 6 else ''}")
    return "; ".join(parts) or "their order differs"


def _recorded_digest(entry: dict) -> tuple[str, str | None]:
    """(name, hex) of the digest a mix_plan.json shard entry records: ``sha256`` (a byte copy of a build shard; every
    shard of a mix written before 2026-11-28) or :data:`~lucie_data.manifest.FAST_DIGEST` (bytes the mix made).
    An entry with neither (a plan edited by hand) gives (``sha256``, None): a difference, so the push is refused."""
    for name in DIGESTS:
        if isinstance(entry.get(name), str):
            return name, entry[name]
    return "sha256", None


def _check_shards(folder: Path, files: list[_LocalFile], plan: dict) -> list[_LocalFile]:
    """Only what ``mix build`` wrote and checked may be published: the shards ``mix_plan.json`` lists, byte for
    byte (sha256), ``mix_plan.json`` and ``README.md``. Any other file (a shard slipped into ``data/``, notes, a
    Parquet file beside ``data/``, a ``.gitattributes``) never went through the licence check, so it is refused,
    not published. ``_local_files`` already leaves out what is never uploaded (``.git``, huggingface_hub's own
    ``.cache/huggingface`` bookkeeping, editor litter). Returns ``files`` with the sha256 of each listed shard,
    hashed once here for the rest of the push."""
    listed = {s["path"]: _recorded_digest(s) for s in plan.get("shards", []) if isinstance(s, dict) and "path" in s}
    if not listed:
        raise PushError(f"{folder / PLAN} lists no shards: rebuild the mix with `lucie-data mix build`.")
    local = {f.path: f for f in files}
    extra = sorted(set(local) - set(listed) - {README, PLAN})
    missing = sorted(set(listed) - set(local))
    # the sha256 of every shard (the LFS oid, kept for the rest of the push) and, where the plan records the mix's
    # fast digest instead, that one too, in the same read
    digests = {p: file_digests(local[p].abspath, fast=listed[p][0] == FAST_DIGEST) for p in set(local) & set(listed)}
    shas = {p: d[0] for p, d in digests.items()}
    changed = sorted(p for p, d in digests.items()
                     if listed[p][1] != (d[1] if listed[p][0] == FAST_DIGEST else d[0]))
    if extra or missing or changed:
        parts = [f"{what}: {_some(paths)}" for what, paths in (
            (f"{len(extra)} file(s) not in mix_plan.json", extra), ("missing", missing),
            ("changed since the licence check", changed)) if paths]
        fixes = []
        if extra:
            fixes.append("remove these files or move them out of the mix folder: it holds only what "
                         "`lucie-data mix build` writes (the shards mix_plan.json lists, mix_plan.json and README.md), "
                         "and nothing else in it was licence-checked")
        if missing or changed:
            fixes.append("rebuild the mix with `lucie-data mix build` instead of editing it by hand")
        raise PushError(f"Refusing to push {folder}: it does not match its mix_plan.json (" + "; ".join(parts)
                        + "). Nothing was uploaded. Fix: " + "; ".join(fixes) + ".")
    return [replace(f, sha256=shas[f.path]) if f.path in shas else f for f in files]


# data/{natural|code}/{language}/{Folder}/{source}--{language}--NNN[_e<k>].parquet: mix/build.py's _BucketWriter
# (`-e<k>` in mixes written before 2026-11-28: such files on the Hub are still recognised as shards)
_SHARD_NAME = re.compile(r"data/(?:natural|code)/[^/]+/[^/]+/[^/]+--[^/]+--\d{3,}(?:[-_]e\d+)?\.parquet")


def _remote_plan_shards(api, call, repo_id: str, revision: str) -> set[str]:
    """The shard paths the repo's own mix_plan.json lists at ``revision`` (what an earlier push published), or an
    empty set when it cannot be read as one."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = call("read the repo's mix_plan.json", lambda: api.hf_hub_download(
            repo_id, PLAN, repo_type=REPO_TYPE, revision=revision, cache_dir=tmp))
        try:
            shards = json.loads(Path(path).read_text(encoding="utf-8")).get("shards")
        except (OSError, ValueError, AttributeError):
            return set()
    return {s["path"] for s in shards if isinstance(s, dict) and isinstance(s.get("path"), str)} \
        if isinstance(shards, list) else set()


def _some(paths: list[str], n: int = 10) -> str:
    """The first ``n`` paths, and how many more: enough to find them, short enough to read."""
    return ", ".join(paths[:n]) + (f" … and {len(paths) - n} more" if len(paths) > n else "")


def _upload_order(f: _LocalFile) -> tuple:
    """Data first, then other metadata, README.md last: the card (whose configs point at the data)
    only appears once the data it describes is there."""
    return (f.path == README, not f.path.startswith("data/"), f.path)


def plan_batches(files: list[_LocalFile], max_files: int, max_bytes: int) -> list[list[_LocalFile]]:
    """Greedy split in upload order; a file bigger than ``max_bytes`` gets a commit of its own."""
    batches: list[list[_LocalFile]] = []
    cur: list[_LocalFile] = []
    cur_bytes = 0
    for f in sorted(files, key=_upload_order):
        if cur and (len(cur) >= max_files or cur_bytes + f.size > max_bytes):
            batches.append(cur)
            cur, cur_bytes = [], 0
        cur.append(f)
        cur_bytes += f.size
    if cur:
        batches.append(cur)
    return batches


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


# --- hashing: what the Hub reports, so unchanged files are not re-sent --------------------------

def _git_blob_sha1(path: Path, size: int) -> str:
    h = hashlib.sha1(b"blob %d\0" % size)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()




def _same_content(local: _LocalFile, remote: Any) -> bool:
    """Compare with a ``RepoFile``: LFS/Xet files carry the content's sha256, regular files the
    git blob sha1 of the content."""
    if remote is None or getattr(remote, "size", None) != local.size:
        return False
    lfs = getattr(remote, "lfs", None)
    if lfs is not None:
        return _file_sha256(local) == lfs.sha256
    return _git_blob_sha1(local.abspath, local.size) == remote.blob_id


# --- retries ----------------------------------------------------------------------------------

def _transient_types() -> tuple[type[BaseException], ...]:
    """Transport-level errors of whichever HTTP library this huggingface_hub uses."""
    types: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for mod, name in (("httpx2", "TransportError"), ("httpx", "TransportError"),
                      ("requests", "ConnectionError"), ("requests", "Timeout")):
        try:
            types.append(getattr(__import__(mod), name))
        except (ImportError, AttributeError):
            pass
    return tuple(types)


def _status(err: BaseException) -> int | None:
    response = getattr(err, "response", None)
    return getattr(response, "status_code", None)


def _is_transient(err: BaseException) -> bool:
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(err, HfHubHTTPError):  # an OSError subclass: check before the generic ones
        status = _status(err)
        return status is not None and (status >= 500 or status in (408, 429))
    if isinstance(err, json.JSONDecodeError):  # e.g. an HTML error page from a proxy in front of the Hub
        return True
    return isinstance(err, _transient_types())


class _Caller:
    """Runs one API call with retries; counts attempts so the user can be told what happened."""

    def __init__(self, retries: int, backoff: float, log: Callable[[str], Any], redact: Callable[[str], str]):
        self.retries, self.backoff, self.log, self.redact = retries, backoff, log, redact

    def __call__(self, what: str, fn: Callable[[], Any], before_retry: Callable[[], Any] | None = None) -> Any:
        attempt = 0
        while True:
            try:
                if attempt and before_retry is not None:
                    result = before_retry()
                    if result is not None:  # the previous attempt turned out to have succeeded
                        return result
                return fn()
            except Exception as err:  # noqa: BLE001 - classified just below
                if not _is_transient(err) or attempt >= self.retries:
                    raise
                delay = min(max(self.backoff * 2**attempt, _retry_after(err)), _MAX_SLEEP)
                attempt += 1
                self.log(f"  {what}: {self.redact(_short(err))}; retry {attempt}/{self.retries} in {delay:.2g}s")
                time.sleep(delay)


def _retry_after(err: BaseException) -> float:
    """Seconds the server asked us to wait (``Retry-After`` on 429/503), 0 if it did not say."""
    headers = getattr(getattr(err, "response", None), "headers", None) or {}
    try:
        return float(headers.get("Retry-After", 0))
    except (TypeError, ValueError):
        return 0.0


def _short(err: BaseException) -> str:
    """One line about an error, for progress messages (never includes request headers)."""
    status = _status(err)
    first = (str(err).strip().splitlines() or [""])[0]
    if status:
        return f"HTTP {status}" if not first else (first if first.startswith(str(status)) else f"HTTP {status}: {first}")
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def _explain(err: BaseException, repo_id: str, revision: str | None, stage: str, retries: int) -> str:
    """A message for the user: what failed, the likely cause, and what to do."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(err, OfflineModeIsEnabled):
        return "HF_HUB_OFFLINE is set: pushing needs the Hub. Unset HF_HUB_OFFLINE and retry."
    status = _status(err) if isinstance(err, HfHubHTTPError) else None
    server = (getattr(err, "server_message", None) or "").strip()
    detail = f" (Hub says: {server})" if server else ""
    where = f"{repo_id}" + (f"@{revision}" if revision else "")
    if status == 401:
        return (f"Authentication failed while {stage} {where} (HTTP 401){detail}. Check the token: set "
                "HF_TOKEN, or run `hf auth login` (from Python: push(token=...)); it needs write access.")
    if status == 403:
        return (f"Permission denied while {stage} {where} (HTTP 403){detail}. The token cannot write to the "
                f"'{repo_id.split('/')[0]}' namespace: use a token with write access to it (fine-grained tokens "
                "need 'write' on that organisation's repos).")
    if status == 404:
        return (f"Not found while {stage} {where} (HTTP 404){detail}. Check the repo id, the revision and that "
                "the token can see the repo.")
    if status == 412:
        return f"The branch moved while {stage} {where} (HTTP 412){detail}. Push again."
    if status is not None and not _is_transient(err):
        return (f"The Hub refused the request while {stage} {where} (HTTP {status}){detail}. Check what the Hub says "
                "above; a card it cannot parse (README.md's YAML header) or a file it does not accept is the usual "
                "cause: rebuild the mix and push again")
    if _is_transient(err):
        return (f"The Hub kept failing while {stage} {where} after {retries} retries "
                f"({_short(err)}). Push again later: files already uploaded are not sent twice.")
    return f"Push failed while {stage} {where}: {type(err).__name__}: {err}"


# --- push ---------------------------------------------------------------------------------------

def push(folder: str | Path, repo_id: str, *, revision: str | None = None, private: bool = False,
         create_pr: bool = False, dry_run: bool = False, token: str | None = None,
         max_files_per_commit: int = 50, max_bytes_per_commit: int = 512 * 2**20,
         retries: int = 5, backoff: float = 0.5, endpoint: str | None = None,
         log: Callable[[str], Any] = print) -> PushResult:
    """Publish the mix ``folder`` as the dataset repo ``repo_id``.

    Creates the repo (``private`` only applies on creation) and the branch ``revision`` if
    missing, then uploads the local files whose content is not already at ``revision`` in
    commits of at most ``max_files_per_commit`` files / ``max_bytes_per_commit`` bytes, data
    first and README.md last. ``create_pr``: the first commit opens a pull request against
    ``revision`` (default main) and the next ones go to that PR; to resume an interrupted PR
    push, pass ``revision="refs/pr/N"``. ``dry_run`` makes no HTTP call at all: it lists every
    local file as a candidate, since it cannot know what the Hub already has. ``token``
    defaults to huggingface_hub's resolution (``HF_TOKEN``, then the saved login).
    ``endpoint`` defaults to ``HF_ENDPOINT`` / huggingface.co.

    Raises PushError with a message meant for the user.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise PushError(f"{folder} is not a folder: pass the folder of a built mix.")
    _check_repo_id(repo_id)
    if max_files_per_commit < 1 or max_bytes_per_commit < 1 or retries < 0 or backoff < 0:
        raise PushError("max_files_per_commit and max_bytes_per_commit must be >= 1, retries and backoff >= 0.")
    if revision is not None and not revision.strip():
        raise PushError("revision must be a branch name (or refs/pr/N), not empty.")
    if create_pr and revision is not None and revision.startswith("refs/pr/"):
        raise PushError(f"revision={revision!r} is already a pull request: drop create_pr to add commits to it.")
    plan = _check_plan(folder)
    files = _check_shards(folder, _local_files(folder), plan)
    _check_card(folder, plan)
    _check_rows(folder, plan, {os.fspath(folder / f.path): ("sha256", f.sha256) for f in files if f.sha256})

    if dry_run:
        return _dry_run(files, repo_id, revision, create_pr, max_files_per_commit, max_bytes_per_commit, log)

    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, constants, get_token
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if constants.is_offline_mode():
        raise PushError("HF_HUB_OFFLINE is set: pushing needs the Hub. Unset HF_HUB_OFFLINE and retry.")
    given = token or get_token()
    # rv58: a token read with its line end (`HF_TOKEN=$(cat file)` keeps none, a secret file or `read` may) went into
    # the Authorization header, which http refuses quoting it: printed in clear, six times, and retried as a network
    # fault. Its ends are trimmed, as a pasted token's; one with a space or control character inside is refused
    token = given.strip() if given else given
    if not token:
        raise PushError("No Hugging Face token: set HF_TOKEN, or run `hf auth login` (from Python: push(token=...)) "
                        "(the token needs write access to the target namespace).")
    if any(c.isspace() or not c.isprintable() for c in token):
        raise PushError("The Hugging Face token holds a space or a control character inside it (HF_TOKEN or the "
                        "saved login): a token is one word; set it again without them.")
    forms = sorted({form for t in (given, token) for form in (t, repr(t)[1:-1], repr(t.encode())[2:-1]) if form},
                   key=len, reverse=True)

    def redact(text: str) -> str:
        for form in forms:  # (the longest first: the token as written, and as a repr or bytes repr shows it)
            text = text.replace(form, "***")
        return text

    def say(msg: str) -> None:
        log(redact(msg))

    api = HfApi(endpoint=endpoint, token=token)
    call = _Caller(retries, backoff, say, redact)
    result = PushResult(repo_id=repo_id, revision=revision)
    stage = "creating"
    target = revision or constants.DEFAULT_REVISION
    blending = False  # updating a published mix in several commits (set below)
    try:
        repo_url = call("create repo", lambda: api.create_repo(repo_id, repo_type=REPO_TYPE, private=private, exist_ok=True))
        result.url = str(repo_url) + (f"/tree/{revision}" if revision else "")
        if private:
            # ``private`` only applies when the repo is created: never pour data meant to be private
            # into a repo that already exists as a public one.
            stage = "checking the visibility of"
            info = call("repo info", lambda: api.repo_info(repo_id, repo_type=REPO_TYPE))
            if info.private is False:
                raise PushError(f"{repo_id} already exists and is public, but --private was asked: nothing was "
                                "uploaded. Make the repo private on the Hub first, or push without --private.")
        if revision and not revision.startswith("refs/") and revision != constants.DEFAULT_REVISION:
            stage = "creating branch of"
            call("create branch", lambda: api.create_branch(repo_id, branch=revision, repo_type=REPO_TYPE, exist_ok=True))

        stage = "listing files of"

        def remote_files(rev: str) -> dict[str, Any]:
            return call("list remote files", lambda: {
                e.path: e for e in api.list_repo_tree(repo_id, recursive=True, revision=rev, repo_type=REPO_TYPE)
                if hasattr(e, "blob_id")
            })

        remote = remote_files(target)
        todo = [f for f in files if not _same_content(f, remote.get(f.path))]
        sending = {f.path for f in todo}
        result.skipped = [f.path for f in files if f.path not in sending]
        # An earlier mix's shards that this one does not have would stay in the repo, and the card's configs are
        # globs over data/: every config would load both mixes, including rows a newer policy denies (review).
        # They are deleted in the last commit, with the card. Other files someone put in the repo are left alone.
        local_paths = {f.path for f in files}
        earlier = _remote_plan_shards(api, call, repo_id, target) if PLAN in remote else set()
        # only what an earlier mix wrote (its mix_plan.json lists it) is deleted (review: a data/LICENSE.txt someone
        # put in the repo was deleted too); a Parquet file under data/ that no mix listed would be loaded by the
        # card's configs: refused, not deleted, not left in silently
        # a shard an interrupted push of another mix left (named as mix build names shards, not yet in a plan on
        # the Hub) is an earlier mix's too
        stale = sorted(p for p in remote if p.startswith("data/") and p not in local_paths
                       and (p in earlier or _SHARD_NAME.fullmatch(p)))
        foreign = sorted(p for p in remote if p.startswith("data/") and p.endswith(".parquet") and p not in local_paths
                         and p not in stale)
        if foreign:
            raise PushError(f"{repo_id}@{target} holds Parquet files under data/ that no lucie-data mix wrote (its "
                            f"mix_plan.json does not list them): {_some(foreign)}. The card's configs would load them "
                            "with this mix. Remove them from the repository (or push to another repo); nothing was "
                            "uploaded.")
        others = sorted(p for p in remote if p not in local_paths and p not in stale and p != ".gitattributes")
        if others:
            say(f"{repo_id}@{target}: left as they are (not part of a mix): {_some(others)}")
        if not todo and not stale:
            say(f"{repo_id}: all {len(files)} files are already on the Hub at {target}; nothing to upload.")
            return result
        batches = plan_batches(todo, max_files_per_commit, max_bytes_per_commit) or [[]]
        total = sum(f.size for f in todo)
        say(f"{repo_id}@{target}: uploading {len(todo)} file(s), {_human(total)}, in {len(batches)} commit(s)"
            + (f"; {len(result.skipped)} unchanged file(s) skipped" if result.skipped else "")
            + (f"; deleting {len(stale)} file(s) under data/ of an earlier mix that this one does not have"
               if stale else "")
            + (" (as a pull request)" if create_pr else ""))

        # updating a published mix in several commits: until the last one (the card, the deletions), the branch
        # serves a blend of both mixes (trainer review: an interrupted update left main loading 2,263 rows of two)
        blending = PLAN in remote and len(batches) > 1 and not create_pr
        if blending:
            say(f"note: until the last commit lands, {repo_id}@{target} holds part of this mix beside the earlier one "
                "(its card still describes the earlier mix); to change it in one step, push with --create-pr and "
                "merge the pull request, or push to a new --revision")
        pr_revision: str | None = None
        for i, batch in enumerate(batches, 1):
            stage = f"committing part {i}/{len(batches)} to"
            opens_pr = create_pr and pr_revision is None
            commit_rev = pr_revision or target
            message = f"Upload mix part {i}/{len(batches)}" if len(batches) > 1 else "Upload mix"
            gone = stale if i == len(batches) else []
            description = "\n".join([f"- {f.path}" for f in batch] + [f"- deleted: {p}" for p in gone])

            def send(batch=batch, commit_rev=commit_rev, opens_pr=opens_pr, message=message, description=description,
                     gone=gone):
                # Fresh operations on every attempt: create_commit mutates them.
                ops = [CommitOperationAdd(path_in_repo=f.path, path_or_fileobj=str(f.abspath)) for f in batch]
                ops += [CommitOperationDelete(path_in_repo=p) for p in gone]
                return api.create_commit(repo_id, ops, commit_message=message, commit_description=description,
                                         repo_type=REPO_TYPE, revision=commit_rev, create_pr=opens_pr)

            def already_landed(batch=batch, commit_rev=commit_rev, opens_pr=opens_pr, gone=gone):
                # The previous attempt may have landed with its answer lost: re-check before re-sending,
                # so a retry never makes a duplicate commit (a PR-opening one cannot be checked this way).
                if opens_pr:
                    return None
                now = remote_files(commit_rev)
                return "landed" if (all(_same_content(f, now.get(f.path)) for f in batch)
                                    and not any(p in now for p in gone)) else None

            info = call(f"commit {i}/{len(batches)}", send, before_retry=already_landed)
            if info == "landed":
                say(f"  commit {i}/{len(batches)}: already on the Hub (an earlier attempt landed)")
            else:
                result.commits.append(info.oid)
                if opens_pr:
                    pr_revision = info.pr_revision
                    result.url = info.pr_url
                say(f"  commit {i}/{len(batches)}: {len(batch)} file(s), {_human(sum(f.size for f in batch))}"
                    + (f", {len(gone)} deleted" if gone else "")
                    + f" -> {info.oid[:12]}" + (f" ({pr_revision})" if pr_revision else ""))
            result.uploaded.extend(f.path for f in batch)
            result.deleted.extend(gone)
        if pr_revision:
            result.revision = pr_revision
        say(f"Done: {result.url}")
        return result
    except PushError:
        raise
    except Exception as err:  # noqa: BLE001 - turned into a message for the user
        done = f" ({len(result.commits)} commit(s) had landed)" if result.commits else ""
        if result.commits and blending:
            done += (f". Meanwhile {repo_id}@{target} holds part of this mix beside the earlier one, under the earlier "
                     "card: finish the push as soon as the Hub answers (it resumes), or publish updates with "
                     "--create-pr so the branch changes in one merge")
        if isinstance(err, HfHubHTTPError) and _status(err) in (400, 401, 403, 404):
            # the token, the namespace or the repo id to fix: pushing again would fail the same way (exit 2)
            raise PushError(redact(_explain(err, repo_id, revision, stage, retries).rstrip(".") + done + ".")) from None
        if isinstance(err, (HfHubHTTPError, OfflineModeIsEnabled)) or _is_transient(err):
            raise PushFailed(redact(_explain(err, repo_id, revision, stage, retries).rstrip(".") + done + ".")) from None
        if isinstance(err, ValueError):  # e.g. invalid README.md metadata, checked by the Hub before upload
            raise PushFailed(redact(f"The Hub rejected the upload to {repo_id}: {err}{done}")) from None
        if isinstance(err, OSError):
            raise PushFailed(f"Could not read a local file of {folder}: {err}") from None
        raise


def _dry_run(files: list[_LocalFile], repo_id: str, revision: str | None, create_pr: bool,
             max_files: int, max_bytes: int, log: Callable[[str], Any]) -> PushResult:
    """Print the plan; no HTTP call (not even to resolve the token)."""
    batches = plan_batches(files, max_files, max_bytes)
    target = revision or "main"
    log(f"[dry run] {repo_id}@{target}{' (as a pull request)' if create_pr else ''}: {len(files)} local file(s), "
        f"{_human(sum(f.size for f in files))}, in {len(batches)} commit(s); files already on the Hub with the "
        "same content would be skipped, and files under data/ on the Hub that this mix does not have (an earlier "
        "mix's) would be deleted in the last commit.")
    for i, batch in enumerate(batches, 1):
        log(f"  commit {i}/{len(batches)}: {len(batch)} file(s), {_human(sum(f.size for f in batch))}")
        for f in batch:
            log(f"    {f.path}  ({_human(f.size)})")
    return PushResult(repo_id=repo_id, revision=revision, uploaded=[f.path for f in sorted(files, key=_upload_order)],
                      dry_run=True)
