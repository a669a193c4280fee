"""`lucie_data.hub.push` against a local stand-in Hub (no network here): the real huggingface_hub
client runs unmodified, only the server is ours (see lucie_data.testing.hub_stub)."""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import httpx2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import constants as hf_constants
from huggingface_hub.utils import _http as hf_http

from lucie_data.hub import PushError, PushResult, push
from lucie_data.steps.rows import KEPT_SCHEMA
from lucie_data.testing.hub_stub import HubStub

TOKEN = "hf_TESTtoken_s3cr3t_0123456789abcdef"
REPO = "OpenLLM-France/lucie-mix-test"
README = """---
license: other
configs:
- config_name: fr
  data_files:
  - split: train
    path: data/fr/*/*.parquet
---
# Lucie test mix
"""


class _InstantTime:
    """huggingface_hub retries some calls itself (preupload, tree listing) sleeping 1 s and more:
    tests must not wait on that."""

    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def sleep(_seconds):
        return None


@pytest.fixture(autouse=True)
def _hub_env(monkeypatch, tmp_path):
    # Writes must reach the stub: offline mode would block them (it is read into constants at import).
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    # No ambient credentials: the token a test means is the only one around.
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "no-token-here"))
    monkeypatch.setattr(hf_http, "time", _InstantTime())


@pytest.fixture
def hub(tmp_path):
    with HubStub(tmp_path / "hub", token=TOKEN) as stub:
        yield stub
    assert not stub.errors, stub.errors[0]


def make_mix(folder: Path, n_parquet: int = 5, license_check: dict | None = None, plan: bool = True) -> Path:
    """A small built mix: parquet shards under data/fr/Src/ (rows of one CC-BY-4.0 source), a card, and
    mix_plan.json with what push checks the rows against (the policy, the sources, the rows per licence) and the
    card's sha256, as `mix build` writes them."""
    src = folder / "data" / "fr" / "Src"
    src.mkdir(parents=True, exist_ok=True)
    for i in range(n_parquet):
        texts = [f"Texte {i}.{j} " * 5 for j in range(20)]
        rows = [{"id": f"doc-{i}-{j}", "text": t, "source": "Src", "language": "fr", "license": "CC-BY-4.0",
                 "n_tokens": len(t.split()), "chars": len(t)} for j, t in enumerate(texts)]
        pq.write_table(pa.Table.from_pylist(rows, schema=KEPT_SCHEMA), src / f"part-{i:05d}.parquet",
                       compression="none")  # (a test edits a text in place: same size, still Parquet)
    (folder / "README.md").write_text(README, encoding="utf-8")
    if plan:
        content = {"name": "test-mix", "sources": {"Src": {"redistributable": True, "license": "CC-BY-4.0"}}}
        if license_check is not False:
            content["license_check"] = {"passed": True, "violations": [], **(license_check or {}),
                                        "policy": {"allow": ["CC-BY-4.0"]}}
        (folder / "mix_plan.json").write_text(json.dumps(content), encoding="utf-8")
        replan(folder)
    return folder


def shard_list(folder: Path) -> list[dict]:
    import hashlib

    return [{"path": p.relative_to(folder).as_posix(), "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
            for p in sorted((folder / "data").rglob("*.parquet"))]


def replan(folder: Path) -> None:
    """What `lucie-data mix build` does when data or card change: the plan lists the new shards, their rows per
    licence and the card's sha256."""
    import hashlib

    plan = json.loads((folder / "mix_plan.json").read_text())
    plan["shards"] = shard_list(folder)
    counts: dict[str, int] = {}
    for p in sorted((folder / "data").rglob("*.parquet")):
        for lic in pq.read_table(p, columns=["license"])["license"].to_pylist():
            counts[lic] = counts.get(lic, 0) + 1
    plan["licenses"] = counts
    if (folder / "README.md").exists():
        plan["card_sha256"] = hashlib.sha256((folder / "README.md").read_bytes()).hexdigest()
    (folder / "mix_plan.json").write_text(json.dumps(plan))


def local_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def do_push(hub: HubStub, folder: Path, lines: list[str] | None = None, **kw) -> PushResult:
    kw.setdefault("token", TOKEN)
    kw.setdefault("backoff", 0.001)
    return push(folder, REPO, endpoint=hub.endpoint, log=(lines.append if lines is not None else lambda _m: None), **kw)


def commit_requests(hub: HubStub) -> list:
    return hub.requests_to(r"/commit/", "POST")


# --- the happy path ---------------------------------------------------------------------------

def test_push_uploads_every_file_in_several_commits_data_first_card_last(hub, tmp_path):
    mix = make_mix(tmp_path / "mix")
    result = do_push(hub, mix, max_files_per_commit=2, private=True)

    local = local_files(mix)
    remote = hub.files(REPO)
    assert {p: b for p, b in remote.items() if p != ".gitattributes"} == local
    assert sorted(result.uploaded) == sorted(local) and result.skipped == []
    assert hub.is_private(REPO)

    pushed = hub.commits(REPO)[1:]  # [0] is the repo's initial commit (.gitattributes)
    assert [c["oid"] for c in pushed] == result.commits
    assert len(pushed) == 4  # 7 files, at most 2 per commit
    assert all(len(c["added"]) <= 2 for c in pushed)
    # Data first, then mix_plan.json, the card last (alone here: 5 shards + plan fill 3 commits).
    assert [c["added"] for c in pushed] == [
        ["data/fr/Src/part-00000.parquet", "data/fr/Src/part-00001.parquet"],
        ["data/fr/Src/part-00002.parquet", "data/fr/Src/part-00003.parquet"],
        ["data/fr/Src/part-00004.parquet", "mix_plan.json"],
        ["README.md"],
    ]

    # Content went inline in the commits (preupload answered "regular"): no LFS / Xet traffic at all.
    assert all(op == "file" for r in commit_requests(hub) for op in r.ops)
    assert not [r for r in hub.requests if "lfs" in r.path or "xet" in r.path]
    # The token was sent on every request.
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in hub.requests)
    assert result.url.endswith(f"/datasets/{REPO}")


def test_max_bytes_per_commit_bounds_batches(hub, tmp_path):
    mix = make_mix(tmp_path / "mix")
    biggest = max(p.stat().st_size for p in mix.rglob("*.parquet"))
    result = do_push(hub, mix, max_bytes_per_commit=biggest * 2)
    sizes = {p: len(b) for p, b in local_files(mix).items()}
    for c in hub.commits(REPO)[1:]:
        assert len(c["added"]) == 1 or sum(sizes[p] for p in c["added"]) <= biggest * 2
    assert len(result.commits) >= 3


def test_repush_sends_nothing_and_makes_no_commit(hub, tmp_path):
    mix = make_mix(tmp_path / "mix")
    do_push(hub, mix, max_files_per_commit=3)
    n_commits = len(hub.commits(REPO))
    hub.requests.clear()

    lines: list[str] = []
    again = do_push(hub, mix, lines, max_files_per_commit=3)
    assert again.uploaded == [] and again.commits == []
    assert sorted(again.skipped) == sorted(local_files(mix))
    assert len(hub.commits(REPO)) == n_commits
    assert commit_requests(hub) == [] and hub.requests_to("/preupload/") == []
    assert any("nothing to upload" in line for line in lines)


@pytest.mark.parametrize("lfs_pattern", [None, r"\.parquet$"], ids=["regular-entries", "lfs-entries"])
def test_changed_file_of_same_size_is_detected(tmp_path, lfs_pattern):
    """Sizes are equal, so only the hash comparison (git sha1, or sha256 for LFS entries) can tell."""
    mix = make_mix(tmp_path / "mix")
    with HubStub(tmp_path / "hub", token=TOKEN, lfs_pattern=lfs_pattern) as hub:
        do_push(hub, mix)
        if lfs_pattern:
            from huggingface_hub import HfApi
            tree = HfApi(endpoint=hub.endpoint, token=TOKEN).list_repo_tree(REPO, repo_type="dataset", recursive=True)
            assert any(getattr(e, "lfs", None) for e in tree)
        target = mix / "data/fr/Src/part-00002.parquet"
        data = target.read_bytes().replace(b"Texte 2.1 ", b"Texte 2.9 ")
        assert data != target.read_bytes()
        target.write_bytes(data)
        with pytest.raises(PushError, match="changed since the licence check: data/fr/Src/part-00002.parquet"):
            do_push(hub, mix)  # edited by hand after the mix was built and checked: refused
        replan(mix)  # a rebuilt mix lists the new shard
        result = do_push(hub, mix)
        assert result.uploaded == ["data/fr/Src/part-00002.parquet", "mix_plan.json"]
        assert hub.files(REPO)["data/fr/Src/part-00002.parquet"] == bytes(data)
        assert not hub.errors


def test_a_listed_shard_that_does_not_read_is_refused_without_a_traceback(hub, tmp_path):
    """Read-through: a shard damaged after the build, its hash put in the plan, was reported as "its
    license_check.policy is not a licence policy" (rule 3: what is wrong and how to fix it)."""
    mix = make_mix(tmp_path / "mix")
    target = mix / "data/fr/Src/part-00002.parquet"
    data = bytearray(target.read_bytes())
    data[-20] ^= 0xFF  # inside the footer
    target.write_bytes(bytes(data))
    plan = json.loads((mix / "mix_plan.json").read_text())
    plan["shards"] = shard_list(mix)
    (mix / "mix_plan.json").write_text(json.dumps(plan))
    with pytest.raises(PushError, match=r"Refusing to push .*part-00002.parquet is damaged: not a readable Parquet "
                                        r"file .*Nothing was uploaded"):
        do_push(hub, mix)


def test_a_hand_made_plan_without_policy_or_sources_is_refused(hub, tmp_path):
    """Read-through: push returned quietly from its row and card checks on a plan without the licence policy or
    the sources (hand-made, or an older format): a "passed" flag alone got the mix published (rule 2)."""
    mix = make_mix(tmp_path / "mix")
    plan = json.loads((mix / "mix_plan.json").read_text())
    del plan["license_check"]["policy"], plan["sources"]
    (mix / "mix_plan.json").write_text(json.dumps(plan))
    with pytest.raises(PushError, match=r"has no license_check.policy and no sources: its rows cannot be checked"):
        do_push(hub, mix)


# --- interruptions and transient failures ---------------------------------------------------------

def test_interrupted_push_resumes_without_resending_finished_files(hub, tmp_path):
    mix = make_mix(tmp_path / "mix")
    hub.fail_next(r"/commit/", status=500, times=100, skip=1)  # the first commit lands, then the Hub breaks
    with pytest.raises(PushError) as exc:
        do_push(hub, mix, max_files_per_commit=2, retries=1)
    assert "Push again" in str(exc.value) and "1 commit(s) had landed" in str(exc.value)
    first = hub.commits(REPO)[1:]
    assert len(first) == 1
    landed = set(first[0]["added"])

    hub.clear_failures()
    hub.requests.clear()
    result = do_push(hub, mix, max_files_per_commit=2)
    sent = {p for r in commit_requests(hub) for p in r.files}
    assert sent == set(local_files(mix)) - landed
    assert set(result.skipped) == landed
    assert {p: b for p, b in hub.files(REPO).items() if p != ".gitattributes"} == local_files(mix)


def test_server_errors_and_dropped_connections_are_retried(hub, tmp_path):
    mix = make_mix(tmp_path / "mix")
    hub.fail_next(r"^/api/repos/create$", status=500, times=2)
    hub.fail_next(r"/tree/", status=502)  # huggingface_hub's own backoff answers this one
    hub.fail_next(r"/commit/", status=503)
    hub.fail_next(r"/commit/", status=429, skip=1)
    hub.drop_next(r"/commit/", skip=2)
    hub.drop_next(r"^/api/repos/create$")
    hub.fail_next(r"/validate-yaml", status=502, body="<html><body>502 Bad Gateway</body></html>")
    lines: list[str] = []
    result = do_push(hub, mix, lines, max_files_per_commit=3)

    assert {p: b for p, b in hub.files(REPO).items() if p != ".gitattributes"} == local_files(mix)
    assert len(hub.commits(REPO)) == 1 + 3 == 1 + len(result.commits)  # no duplicate commit
    assert len(hub.requests_to(r"^/api/repos/create$")) == 4
    yaml_checks = [r.status for r in hub.requests_to(r"/validate-yaml")]
    assert yaml_checks[0] == 502 and yaml_checks[-1] == 200  # an HTML error page is retried too
    assert None in [r.status for r in commit_requests(hub)]  # a dropped one
    assert sum("retry" in line for line in lines) >= 6


def test_lost_answer_to_a_landed_commit_does_not_duplicate_it(hub, tmp_path):
    mix = make_mix(tmp_path / "mix")
    hub.drop_next(r"/commit/", after=True)  # the commit lands, its answer never arrives
    lines: list[str] = []
    result = do_push(hub, mix, lines, max_files_per_commit=4)
    pushed = hub.commits(REPO)[1:]
    assert len(pushed) == 2  # 7 files / 4: the first commit is not made twice
    assert len(commit_requests(hub)) == 2
    assert sorted(result.uploaded) == sorted(local_files(mix))
    assert any("already on the Hub" in line for line in lines)


def test_retries_give_up_with_a_clear_error(hub, tmp_path):
    mix = make_mix(tmp_path / "mix")
    hub.fail_next(r"/commit/", status=500, times=100)
    with pytest.raises(PushError, match=r"kept failing .* after 2 retries") as exc:
        do_push(hub, mix, retries=2)
    assert len(commit_requests(hub)) == 3
    assert exc.value.exit_code == 1  # the Hub failed: pushing again resumes (a refusal is exit 2)


@pytest.mark.parametrize(
    "status, code, expected",
    [(403, None, "Permission denied"), (404, "RepoNotFound", "Not found"), (400, None, "refused")],
)
def test_client_errors_are_not_retried(hub, tmp_path, status, code, expected):
    mix = make_mix(tmp_path / "mix")
    hub.fail_next(r"/commit/", status=status, headers={"X-Error-Code": code} if code else None)
    with pytest.raises(PushError, match=expected) as exc:
        do_push(hub, mix, retries=5)
    assert len(commit_requests(hub)) == 1
    assert f"HTTP {status}" in str(exc.value) and REPO in str(exc.value)
    assert exc.value.exit_code == 2  # the token, namespace or repo id to fix: pushing again fails the same way
    assert exc.value.__traceback__ is not None and exc.value.__cause__ is None


def test_forbidden_repo_creation_is_not_retried(hub, tmp_path):
    hub.fail_next(r"^/api/repos/create$", status=403, times=10)
    with pytest.raises(PushError, match="Permission denied.*write access"):
        do_push(hub, make_mix(tmp_path / "mix"))
    assert len(hub.requests_to(r"^/api/repos/create$")) == 1


def test_bad_token_is_reported_and_not_leaked(hub, tmp_path, capsys):
    wrong = "hf_WRONGtoken_abcdefghijklmnop"
    with pytest.raises(PushError, match="Authentication failed") as exc:
        do_push(hub, make_mix(tmp_path / "mix"), token=wrong)
    assert wrong not in str(exc.value)
    out = capsys.readouterr()
    assert wrong not in out.out + out.err


def test_invalid_card_metadata_is_reported(hub, tmp_path):
    mix = make_mix(tmp_path / "mix")
    (mix / "README.md").write_text("---\nconfigs: [unclosed\n---\n# card\n", encoding="utf-8")
    with pytest.raises(PushError, match="README.md"):
        do_push(hub, mix)


# --- refusals that need no network --------------------------------------------------------------

def test_refuses_mix_whose_license_check_failed(hub, tmp_path):
    mix = make_mix(tmp_path / "mix", license_check={"passed": False, "violations": [
        {"source": "fr_ocr_newseye", "license": "CC-BY-NC-SA-4.0", "reason": "non-commercial"},
        "code_gpl: GPL-3.0 not allowed by policy 'permissive'",
    ]})
    with pytest.raises(PushError) as exc:
        do_push(hub, mix)
    msg = str(exc.value)
    assert "fr_ocr_newseye" in msg and "CC-BY-NC-SA-4.0" in msg and "code_gpl" in msg
    assert "rebuild them (`lucie-data build`), run `lucie-data mix build` again" in msg
    assert hub.requests == []
    assert exc.value.exit_code == 2  # refused input, as `validate` and `mix build` exit (it was 1, as a Hub failure)


def test_refuses_mix_without_license_check(hub, tmp_path):
    with pytest.raises(PushError, match="no license_check"):
        do_push(hub, make_mix(tmp_path / "mix", license_check=False))
    assert hub.requests == []


def test_refuses_folder_without_mix_plan(hub, tmp_path):
    with pytest.raises(PushError, match="no mix_plan.json"):
        do_push(hub, make_mix(tmp_path / "mix", plan=False))
    assert hub.requests == []


@pytest.mark.parametrize("bad", ["no-namespace", "a/b/c", "org/-name", "org/na--me", "org/name.", "/name", "org/"])
def test_rejects_malformed_repo_id(hub, tmp_path, bad):
    with pytest.raises(PushError, match="ORG/NAME"):
        push(make_mix(tmp_path / "mix"), bad, token=TOKEN, endpoint=hub.endpoint, log=lambda _m: None)
    assert hub.requests == []


def test_missing_token_is_a_clear_error(hub, tmp_path):
    with pytest.raises(PushError, match="HF_TOKEN"):
        do_push(hub, make_mix(tmp_path / "mix"), token=None)
    assert hub.requests == []


def test_token_from_environment_is_used(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    result = do_push(hub, make_mix(tmp_path / "mix"), token=None)
    assert result.commits and hub.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("end", ["\n", "\r\n", "\t", " "])
def test_a_token_with_its_line_end_is_trimmed_and_never_printed(hub, tmp_path, capsys, end):
    """rv58: `HF_TOKEN` with a trailing newline, CR or tab went into the Authorization header; http refused it quoting
    the header, so the token was printed in clear at each retry, and the push exited 1 as a network fault."""
    lines: list[str] = []  # (as `lucie-data push` passes HF_TOKEN: huggingface_hub's own get_token() trims it)
    result = do_push(hub, make_mix(tmp_path / "mix"), lines, token=TOKEN + end)
    assert result.commits and all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in hub.requests)
    out = capsys.readouterr()
    assert all(TOKEN not in text for text in (out.out, out.err, "\n".join(lines)))


def test_a_token_with_a_control_character_inside_is_refused_unprinted(hub, tmp_path):
    with pytest.raises(PushError, match="holds a space or a control character inside it") as exc:
        do_push(hub, make_mix(tmp_path / "mix"), token=TOKEN[:5] + "\n" + TOKEN[5:])
    assert hub.requests == [] and TOKEN[5:] not in str(exc.value)


def test_dry_run_makes_no_http_call(hub, tmp_path, monkeypatch):
    def no_http(*_a, **_k):
        raise AssertionError("dry run made an HTTP call")

    monkeypatch.setattr(httpx2.Client, "send", no_http)
    mix = make_mix(tmp_path / "mix")
    before = local_files(mix)
    lines: list[str] = []
    result = do_push(hub, mix, lines, dry_run=True, max_files_per_commit=3)
    assert hub.requests == []
    assert result.dry_run and result.commits == [] and sorted(result.uploaded) == sorted(before)
    assert result.uploaded[-1] == "README.md"
    text = "\n".join(lines)
    assert "3 commit(s)" in text and "commit 3/3" in text
    assert all(p in text for p in before)
    assert local_files(mix) == before and not hub.repo_exists(REPO)


# --- secrets ---------------------------------------------------------------------------------------

def test_token_is_sent_but_never_printed_logged_or_written(hub, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    mix = make_mix(tmp_path / "mix")
    hub.fail_next(r"/commit/", status=500)
    hub.drop_next(r"/preupload/")
    lines: list[str] = []
    do_push(hub, mix, lines, max_files_per_commit=3, private=True)
    hub.fail_next(r"/tree/", status=403)
    with pytest.raises(PushError) as exc:
        do_push(hub, mix, lines)

    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in hub.requests)
    out = capsys.readouterr()
    for text in (out.out, out.err, caplog.text, "\n".join(lines), str(exc.value), repr(exc.value)):
        assert TOKEN not in text
    for f in tmp_path.rglob("*"):  # the mix folder and the stub's store
        if f.is_file():
            assert TOKEN.encode() not in f.read_bytes(), f


# --- pull requests and branches ------------------------------------------------------------------

def test_create_pr_puts_all_commits_in_one_pull_request(hub, tmp_path):
    mix = make_mix(tmp_path / "mix")
    result = do_push(hub, mix, create_pr=True, max_files_per_commit=3)
    assert result.revision == "refs/pr/1"
    assert result.url.endswith(f"/datasets/{REPO}/discussions/1")
    assert len(hub.pull_requests(REPO)) == 1
    assert set(hub.files(REPO)) == {".gitattributes"}  # main untouched
    pr_commits = hub.commits(REPO, "refs/pr/1")[1:]
    assert [c["oid"] for c in pr_commits] == result.commits and len(pr_commits) == 3
    assert all(c["ref"] == "refs/pr/1" for c in pr_commits)
    assert {p: b for p, b in hub.files(REPO, "refs/pr/1").items() if p != ".gitattributes"} == local_files(mix)


def test_push_to_a_branch_creates_it_and_lands_there(hub, tmp_path):
    mix = make_mix(tmp_path / "mix")
    result = do_push(hub, mix, revision="v0.1", max_files_per_commit=4)
    assert "v0.1" in hub.refs(REPO)
    assert set(hub.files(REPO)) == {".gitattributes"}
    assert {p: b for p, b in hub.files(REPO, "v0.1").items() if p != ".gitattributes"} == local_files(mix)
    assert result.url.endswith("/tree/v0.1") and len(result.commits) == 2
    again = do_push(hub, mix, revision="v0.1")
    assert again.uploaded == [] and len(hub.requests_to(r"/branch/v0.1")) == 2  # exist_ok: 409 is fine


def test_private_push_refuses_an_existing_public_repo(hub, tmp_path):
    from huggingface_hub import HfApi

    HfApi(endpoint=hub.endpoint, token=TOKEN).create_repo(REPO, repo_type="dataset", private=False)
    with pytest.raises(PushError, match="already exists and is public"):
        do_push(hub, make_mix(tmp_path / "mix"), private=True)
    assert set(hub.files(REPO)) == {".gitattributes"} and commit_requests(hub) == []


# --- what trainers will do with it -------------------------------------------------------------------

def test_pushed_mix_loads_with_datasets(hub, tmp_path):
    """The real `datasets.load_dataset(repo_id, config)` reads the pushed card and shards back.

    Run in a subprocess: huggingface_hub and datasets read HF_ENDPOINT at import time.
    """
    import os
    import subprocess
    import sys

    mix = make_mix(tmp_path / "mix", n_parquet=3)
    do_push(hub, mix)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(HF_ENDPOINT=hub.endpoint, HF_TOKEN=TOKEN, HF_HOME=str(tmp_path / "hf_home"),
               HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    code = (
        "import datasets, sys\n"
        f"ds = datasets.load_dataset({REPO!r}, 'fr', split='train')\n"
        "print(ds.num_rows, sorted(ds.column_names))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split("\n")[-2] == f"60 {sorted(KEPT_SCHEMA.names)}"
    assert TOKEN not in proc.stdout + proc.stderr


# --- the stub itself, driven by the real client -----------------------------------------------------

def test_stub_speaks_the_client_protocol(tmp_path):
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    with HubStub(tmp_path / "hub", page_size=2) as hub:
        api = HfApi(endpoint=hub.endpoint, token=TOKEN)
        api.create_repo("org/r", repo_type="dataset", private=True)
        with pytest.raises(HfHubHTTPError) as exc:
            api.create_repo("org/r", repo_type="dataset")
        assert exc.value.response.status_code == 409
        ops = [CommitOperationAdd(f"d/{i}.txt", f"{i}".encode()) for i in range(5)] + [CommitOperationAdd("keep.txt", b"k")]
        api.create_commit("org/r", ops, commit_message="add", repo_type="dataset")
        assert len(api.list_repo_files("org/r", repo_type="dataset")) == 7  # paginated, 2 per page
        api.create_commit("org/r", [CommitOperationDelete("d/"), CommitOperationDelete("keep.txt")],
                          commit_message="rm", repo_type="dataset")
        assert set(hub.files("org/r", repo_type="dataset")) == {".gitattributes"}
        assert hub.commits("org/r", repo_type="dataset")[-1]["deleted"] == [f"d/{i}.txt" for i in range(5)] + ["keep.txt"]
        assert hub.files("org/r", hub.commits("org/r")[1]["oid"])["d/3.txt"] == b"3"  # history is kept

        with pytest.raises(RepositoryNotFoundError):  # private: invisible without a token
            HfApi(endpoint=hub.endpoint, token=False).repo_info("org/r", repo_type="dataset")
        info = api.create_commit("org/r", [CommitOperationAdd("x.bin", b"\0x")], commit_message="pr",
                                 repo_type="dataset", create_pr=True)
        assert info.pr_revision == "refs/pr/1"
        path = hf_hub_download("org/r", "x.bin", repo_type="dataset", revision="refs/pr/1", endpoint=hub.endpoint,
                               token=TOKEN, cache_dir=tmp_path / "cache")
        assert Path(path).read_bytes() == b"\0x"
        assert (tmp_path / "hub/datasets/org/r/refs/refs%2Fpr%2F1/x.bin").read_bytes() == b"\0x"  # checkout on disk
        assert api.whoami()["name"] == "stub-user"

    with HubStub(tmp_path / "hub") as again:  # the store survives a restart
        assert again.files("org/r", "refs/pr/1")["x.bin"] == b"\0x"
        assert again.is_private("org/r")


def test_refuses_files_not_checked_by_the_mix_build(hub, tmp_path):
    """A shard slipped into data/ after `mix build` (e.g. a removed document) never reaches the Hub."""
    mix = make_mix(tmp_path / "mix")
    (mix / "data" / "natural").mkdir(parents=True)
    (mix / "data" / "natural" / "extra.parquet").write_bytes((mix / "data/fr/Src/part-00000.parquet").read_bytes())
    with pytest.raises(PushError, match="not in mix_plan.json: data/natural/extra.parquet"):
        do_push(hub, mix, dry_run=True)
    assert hub.requests == []


def test_a_push_deletes_an_earlier_mixs_shards_it_does_not_have(hub, tmp_path):
    """Review: pushing a new mix into a repo holding an earlier one left the old shards there, and the card's
    glob configs loaded both (twice the rows, and rows a newer policy denies). Files outside data/ are left alone."""
    from huggingface_hub import HfApi

    old = make_mix(tmp_path / "old", n_parquet=4)
    do_push(hub, old)
    HfApi(endpoint=hub.endpoint, token=TOKEN).upload_file(path_or_fileobj=b"notes\n", path_in_repo="NOTES.md",
                                                          repo_id=REPO, repo_type="dataset")
    new = make_mix(tmp_path / "new", n_parquet=2)  # same first two shards, the other two gone
    lines: list[str] = []
    res = do_push(hub, new, lines, max_files_per_commit=1)
    assert res.deleted == ["data/fr/Src/part-00002.parquet", "data/fr/Src/part-00003.parquet"]
    remote = hub.files(REPO)
    assert sorted(p for p in remote if p.startswith("data/")) == sorted(p for p in local_files(new) if p.startswith("data/"))
    assert remote["NOTES.md"] == b"notes\n"
    assert any("left as they are (not part of a mix): NOTES.md" in line for line in lines)
    assert any("deleting 2 file(s) under data/" in line for line in lines)
    # nothing to upload but files to delete: one commit that deletes them
    (tmp_path / "new" / "data" / "fr" / "Src" / "part-00001.parquet").unlink()
    replan(new)
    res = do_push(hub, new)
    assert res.uploaded == ["mix_plan.json"] and res.deleted == ["data/fr/Src/part-00001.parquet"]
    assert "data/fr/Src/part-00001.parquet" not in hub.files(REPO)
    again = do_push(hub, new)
    assert again.commits == [] and again.deleted == []


def test_a_push_deletes_only_what_an_earlier_mix_listed(hub, tmp_path):
    """Review: push deleted data/LICENSE.txt, which no mix wrote. Only files the repo's own mix_plan.json listed are
    deleted; a Parquet file under data/ that no mix listed would be loaded by the card's configs: the push refuses."""
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub.endpoint, token=TOKEN)
    old = make_mix(tmp_path / "old", n_parquet=3)
    do_push(hub, old)
    api.upload_file(path_or_fileobj=b"terms\n", path_in_repo="data/LICENSE.txt", repo_id=REPO, repo_type="dataset")
    new = make_mix(tmp_path / "new", n_parquet=1)
    res = do_push(hub, new)
    assert res.deleted == ["data/fr/Src/part-00001.parquet", "data/fr/Src/part-00002.parquet"]
    assert hub.files(REPO)["data/LICENSE.txt"] == b"terms\n"
    api.upload_file(path_or_fileobj=(old / "data/fr/Src/part-00002.parquet").read_bytes(),
                    path_in_repo="data/fr/Other/x.parquet", repo_id=REPO, repo_type="dataset")
    n = len(hub.commits(REPO))
    with pytest.raises(PushError, match=r"holds Parquet files under data/ that no lucie-data mix wrote .*"
                                        r"data/fr/Other/x\.parquet.*nothing was uploaded"):
        do_push(hub, make_mix(tmp_path / "newer", n_parquet=2))
    assert len(hub.commits(REPO)) == n


def test_shards_an_interrupted_push_left_are_an_earlier_mixs(hub, tmp_path):
    """A push of mix B interrupted before its mix_plan.json, then mix C pushed: B's shards (named as mix build names
    them) are deleted, not refused as files no mix wrote."""
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub.endpoint, token=TOKEN)
    do_push(hub, make_mix(tmp_path / "a", n_parquet=1))
    api.upload_file(path_or_fileobj=(tmp_path / "a/data/fr/Src/part-00000.parquet").read_bytes(),
                    path_in_repo="data/natural/fr/Src/Src--fr--000-e2.parquet", repo_id=REPO, repo_type="dataset")
    res = do_push(hub, make_mix(tmp_path / "c", n_parquet=2))
    assert res.deleted == ["data/natural/fr/Src/Src--fr--000-e2.parquet"]


def test_an_interrupted_update_says_the_branch_holds_two_mixes(hub, tmp_path):
    """Trainer review: an update pushed in several commits failed after the first and main served rows of both mixes
    under the old card; the error said only "push again later"."""
    do_push(hub, make_mix(tmp_path / "old", n_parquet=2))
    new = make_mix(tmp_path / "new", n_parquet=5)  # three more shards: four files to send, one per commit
    hub.fail_next(r"/commit/", status=500, times=2, skip=1)  # the second commit and its one retry
    lines: list[str] = []
    with pytest.raises(PushError) as exc:
        do_push(hub, new, lines, max_files_per_commit=1, retries=1)
    msg = str(exc.value)
    assert exc.value.exit_code == 1
    assert "(1 commit(s) had landed)" in msg and f"Meanwhile {REPO}@main holds part of this mix beside the earlier one" in msg
    assert "--create-pr" in msg
    assert any(line.startswith(f"note: until the last commit lands, {REPO}@main holds part of this mix") for line in lines)
    # a first push, or a pull request, has nothing to blend: no note
    lines.clear()
    do_push(hub, new, lines, max_files_per_commit=1, create_pr=True)
    assert not any(line.startswith("note: until the last commit") for line in lines)
