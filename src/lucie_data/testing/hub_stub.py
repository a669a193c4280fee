"""A stand-in for the Hugging Face Hub HTTP API, for tests on a machine that cannot reach the Hub.

Why: nothing here can reach huggingface.co, no pip-installable server accepts uploads, and
monkeypatching ``HfApi`` would test our mock rather than the client. This server answers the
endpoints the *real* ``huggingface_hub`` client calls (read from its source, v2.x), so the real
``HfApi.create_repo`` / ``create_branch`` / ``list_repo_tree`` / ``create_commit`` /
``upload_folder`` / ``hf_hub_download`` run unmodified against it::

    with HubStub(tmp_path) as hub:
        api = HfApi(endpoint=hub.endpoint, token="hf_test")
        ...
        hub.files("org/name")            # {path: bytes} at main
        hub.commits("org/name")          # commit log, oldest first
        hub.fail_next(r"/commit/", 500)  # failure injection
        hub.requests                     # what the client sent

Stdlib only (``http.server``); binds 127.0.0.1. Repos live on disk under ``root``:
``<root>/<type>s/<ns>/<name>/`` holds ``repo.json`` (refs, commits with full trees and the paths
each one touched), ``objects/<git-sha1>`` (content-addressed blobs) and ``refs/<quoted ref>/``
(a checkout of every branch / PR ref, for eyeballing). A new ``HubStub`` on the same root
reloads them.

Not faithful (on purpose, to stay small): preupload always answers ``uploadMode: "regular"``
(the real Hub says "lfs" for binary/large files and the client then uploads through Xet/LFS,
which this stub does not implement); no size limit on inline files; no LFS/Xet endpoints; any
token is accepted (unless ``token=`` is given) and every namespace is writable; no
discussions API beyond what ``create_pr=1`` commits create; no tags, no gated repos, no
rate-limit headers unless injected.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

__all__ = ["HubStub", "Request"]

REPO_TYPES = ("model", "dataset", "space", "kernel")
_URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/", "kernel": "kernels/"}
_LOGGED_HEADERS = ("authorization", "content-type", "content-length", "user-agent", "x-hf-download-counter")

# What the Hub puts in a new repo's first commit (shortened; the real one lists ~35 patterns).
_GITATTRIBUTES = (
    "*.arrow filter=lfs diff=lfs merge=lfs -text\n"
    "*.bin filter=lfs diff=lfs merge=lfs -text\n"
    "*.parquet filter=lfs diff=lfs merge=lfs -text\n"
    "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
    "*.zst filter=lfs diff=lfs merge=lfs -text\n"
).encode()


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob: what the Hub reports as ``oid`` for regular files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Request:
    """One request as the stub received it (``path`` is percent-decoded, without the query)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    files: list[str] = field(default_factory=list)  # paths named in a preupload / commit body
    ops: list[str] = field(default_factory=list)  # commit line keys: "file" (inline), "lfsFile", "deletedFile"...
    status: int | None = None  # None: connection dropped without a response

    def __iter__(self):  # so ``method, path, headers = req`` works
        return iter((self.method, self.path, self.headers))


@dataclass
class _Rule:
    pattern: re.Pattern
    method: str | None
    times: int
    skip: int
    status: int = 500
    body: bytes | None = None
    headers: dict[str, str] | None = None
    drop: bool = False
    after: bool = False  # drop the response *after* handling the request (the commit lands)


class _HttpError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra or {}


class _Repo:
    """One repo: refs -> commit oids, commits -> full trees. Trees map path -> blob entry."""

    def __init__(self, base: Path, repo_type: str, repo_id: str, private: bool):
        self.base = base
        self.type = repo_type
        self.id = repo_id
        self.private = private
        self.created_at = _now()
        self.refs: dict[str, str] = {}  # "main", "my-branch", "refs/pr/1" -> commit oid
        self.commits: dict[str, dict] = {}  # oid -> {oid, parents, title, message, date, ref, tree, added, deleted}
        self.log: list[str] = []  # commit oids in creation order
        self.next_pr = 1
        self.prs: dict[int, dict] = {}  # num -> {num, ref, target, title}

    # --- persistence -------------------------------------------------------------------
    def save(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        state = {k: getattr(self, k) for k in ("type", "id", "private", "created_at", "refs", "commits", "log", "next_pr")}
        state["prs"] = {str(k): v for k, v in self.prs.items()}
        tmp = self.base / "repo.json.tmp"
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(self.base / "repo.json")

    @classmethod
    def load(cls, base: Path) -> "_Repo":
        state = json.loads((base / "repo.json").read_text())
        repo = cls(base, state["type"], state["id"], state["private"])
        for k in ("created_at", "refs", "commits", "log", "next_pr"):
            setattr(repo, k, state[k])
        repo.prs = {int(k): v for k, v in state["prs"].items()}
        return repo

    def put_blob(self, data: bytes) -> dict:
        oid = git_blob_sha1(data)
        obj = self.base / "objects" / oid
        if not obj.exists():
            obj.parent.mkdir(parents=True, exist_ok=True)
            obj.write_bytes(data)
        return {"oid": oid, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    def blob(self, oid: str) -> bytes:
        return (self.base / "objects" / oid).read_bytes()

    # --- history -------------------------------------------------------------------------
    def resolve(self, rev: str) -> str:
        """A branch, ``refs/heads/x``, ``refs/pr/N`` or a (prefix of a) commit oid -> commit oid."""
        if rev.startswith("refs/heads/"):
            rev = rev[len("refs/heads/"):]
        if rev in self.refs:
            return self.refs[rev]
        if re.fullmatch(r"[0-9a-f]{7,40}", rev):
            hits = [oid for oid in self.commits if oid.startswith(rev)]
            if len(hits) == 1:
                return hits[0]
        raise _HttpError(404, f"Invalid rev id: {rev}", "RevisionNotFound")

    def tree(self, rev: str) -> dict[str, dict]:
        return self.commits[self.resolve(rev)]["tree"]

    def commit(self, ref: str, title: str, message: str, tree: dict, added: list, deleted: list, parent: str | None) -> str:
        payload = json.dumps([parent, title, message, sorted((p, e["oid"]) for p, e in tree.items()), time.time_ns()])
        oid = hashlib.sha1(payload.encode()).hexdigest()
        for path in added:
            tree[path] = dict(tree[path], last_commit=oid)
        self.commits[oid] = {
            "oid": oid, "parents": [parent] if parent else [], "title": title, "message": message,
            "date": _now(), "ref": ref, "tree": tree, "added": added, "deleted": deleted,
        }
        self.log.append(oid)
        self.refs[ref] = oid
        self._checkout(ref, tree)
        return oid

    def history(self, oid: str) -> list[dict]:
        """Commits reachable from ``oid``, newest first (first parent only: there are no merges)."""
        out = []
        while oid:
            c = self.commits[oid]
            out.append(c)
            oid = c["parents"][0] if c["parents"] else None
        return out

    def _checkout(self, ref: str, tree: dict) -> None:
        root = self.base / "refs" / quote(ref, safe="")
        wanted = {root / p for p in tree}
        if root.exists():
            for f in sorted(root.rglob("*"), reverse=True):
                if f.is_file() and f not in wanted:
                    f.unlink()
                elif f.is_dir() and not any(f.iterdir()):
                    f.rmdir()
        for path, entry in tree.items():
            dest = root / path
            if dest.is_file() and dest.stat().st_size == entry["size"] and git_blob_sha1(dest.read_bytes()) == entry["oid"]:
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(self.blob(entry["oid"]))


class HubStub:
    """Local HTTP server speaking the subset of the Hub API that ``huggingface_hub`` uses.

    ``token``: if given, only ``Bearer <token>`` is accepted (others get 401 like the Hub);
    if None, any bearer token is accepted. Writes always need one.
    ``lfs_pattern``: regex of paths the stub *reports* as LFS files (tree / paths-info / info
    carry ``lfs: {oid: sha256, size, pointerSize}`` and a pointer-file oid), as the Hub does for
    parquet files, so clients comparing sha256 against LFS entries can be tested. Uploads are
    still inline.
    ``page_size``: entries per page of tree / commit listings (the Hub uses 1000, with a
    ``Link: <...cursor=...>; rel="next"`` header).
    """

    def __init__(self, root: str | Path, *, token: str | None = None, user: str = "stub-user",
                 lfs_pattern: str | None = None, page_size: int = 1000):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.user = user
        self.lfs_pattern = re.compile(lfs_pattern) if lfs_pattern else None
        self.page_size = page_size
        self.requests: list[Request] = []
        self.errors: list[str] = []  # tracebacks of stub bugs (answered as 500 "stub internal error")
        self._rules: list[_Rule] = []
        self._lock = threading.RLock()
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        for state in self.root.glob("*s/*/*/repo.json"):
            repo = _Repo.load(state.parent)
            self._repos[(repo.type, repo.id)] = repo

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> "HubStub":
        stub = self

        class Handler(_Handler):
            hub = stub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="hub-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:  # wake keep-alive threads blocked on read
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server = None

    def __enter__(self) -> "HubStub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "HubStub is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- failure injection ---------------------------------------------------------------
    def fail_next(self, path_regex: str, status: int = 500, times: int = 1, *, method: str | None = None,
                  skip: int = 0, body: str | bytes | None = None, headers: dict[str, str] | None = None) -> None:
        """Answer the next ``times`` requests whose path matches (``re.search``) with ``status``.

        ``skip`` lets that many matching requests through first (e.g. fail after the first commit).
        ``body`` defaults to a JSON ``{"error": ...}``; pass HTML to mimic a proxy error page.
        """
        data = body.encode() if isinstance(body, str) else body
        self._rules.append(_Rule(re.compile(path_regex), method, times, skip, status, data, headers))

    def drop_next(self, path_regex: str, times: int = 1, *, method: str | None = None, skip: int = 0,
                  after: bool = False) -> None:
        """Close the connection without answering the next ``times`` matching requests.

        ``after=True`` handles the request first (a commit lands) and then drops the answer: the
        nastiest case for a client that retries.
        """
        self._rules.append(_Rule(re.compile(path_regex), method, times, skip, drop=True, after=after))

    def clear_failures(self) -> None:
        self._rules.clear()

    def _take_rule(self, method: str, path: str) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.times <= 0 or (rule.method and rule.method != method) or not rule.pattern.search(path):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                rule.times -= 1
                return rule
        return None

    # --- inspection (for tests) ----------------------------------------------------------------
    def _repo(self, repo_id: str, repo_type: str) -> _Repo:
        try:
            return self._repos[(repo_type, repo_id)]
        except KeyError:
            raise KeyError(f"no {repo_type} repo {repo_id!r} on the stub") from None

    def repo_exists(self, repo_id: str, repo_type: str = "dataset") -> bool:
        return (repo_type, repo_id) in self._repos

    def is_private(self, repo_id: str, repo_type: str = "dataset") -> bool:
        return self._repo(repo_id, repo_type).private

    def files(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> dict[str, bytes]:
        """Every file at ``revision`` (branch, ``refs/pr/N`` or commit oid) with its bytes."""
        with self._lock:
            repo = self._repo(repo_id, repo_type)
            return {p: repo.blob(e["oid"]) for p, e in sorted(repo.tree(revision).items())}

    def commits(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> list[dict]:
        """Commits reachable from ``revision``, oldest first: ``{oid, title, message, added, deleted, ref, date}``."""
        with self._lock:
            repo = self._repo(repo_id, repo_type)
            return [{k: v for k, v in c.items() if k != "tree"} for c in reversed(repo.history(repo.resolve(revision)))]

    def refs(self, repo_id: str, repo_type: str = "dataset") -> dict[str, str]:
        with self._lock:
            return dict(self._repo(repo_id, repo_type).refs)

    def pull_requests(self, repo_id: str, repo_type: str = "dataset") -> list[dict]:
        with self._lock:
            return [dict(pr) for _, pr in sorted(self._repo(repo_id, repo_type).prs.items())]

    def requests_to(self, path_regex: str, method: str | None = None) -> list[Request]:
        return [r for r in self.requests if re.search(path_regex, r.path) and (method is None or r.method == method)]

    # --- request handling ------------------------------------------------------------------------
    def _auth(self, headers) -> str | None:
        """The caller's user name, None when anonymous; raises 401 on a bad token."""
        value = headers.get("authorization")
        if not value:
            return None
        scheme, _, tok = value.partition(" ")
        if scheme.lower() != "bearer" or not tok or (self.token is not None and tok != self.token):
            raise _HttpError(401, "Invalid credentials in Authorization header")
        return self.user

    def _get_repo(self, repo_type: str, repo_id: str, user: str | None) -> _Repo:
        repo = self._repos.get((repo_type, repo_id))
        if repo is None or (repo.private and user is None):
            raise _HttpError(401 if user is None else 404, "Repository not found", "RepoNotFound")
        return repo

    def _url(self, repo: _Repo) -> str:
        return f"{self.endpoint}/{_URL_PREFIX[repo.type]}{repo.id}"

    def _entry(self, path: str, e: dict, expand: bool, repo: _Repo) -> dict:
        out = {"type": "file", "oid": e["oid"], "size": e["size"], "path": path}
        if self.lfs_pattern is not None and self.lfs_pattern.search(path):
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{e['sha256']}\nsize {e['size']}\n".encode()
            out["oid"] = git_blob_sha1(pointer)
            out["lfs"] = {"oid": e["sha256"], "size": e["size"], "pointerSize": len(pointer)}
        if expand and e.get("last_commit"):
            c = repo.commits[e["last_commit"]]
            out["lastCommit"] = {"id": c["oid"], "title": c["title"], "date": c["date"]}
        return out

    @staticmethod
    def _folder(path: str) -> dict:
        return {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0, "path": path}

    def handle(self, method: str, path: str, query: dict, headers, body: bytes) -> tuple[int, dict, bytes | dict | list | None]:
        """Route one request; returns (status, headers, body). Raises _HttpError for Hub-style errors."""
        seg = [unquote(s) for s in path.strip("/").split("/")] if path.strip("/") else []
        user = self._auth(headers)
        with self._lock:
            if seg[:2] == ["api", "whoami-v2"]:
                if user is None:
                    raise _HttpError(401, "Invalid username or password.")
                return 200, {}, {"type": "user", "id": "0" * 24, "name": user, "fullname": user, "orgs": [],
                                 "auth": {"type": "access_token", "accessToken": {"displayName": "stub", "role": "write"}}}
            if seg[:2] == ["api", "validate-yaml"] and method == "POST":
                return self._validate_yaml(json.loads(body or b"{}"))
            if seg[:3] == ["api", "repos", "create"] and method == "POST":
                return self._create_repo(json.loads(body or b"{}"), user)
            if seg[:3] == ["api", "repos", "delete"] and method == "DELETE":
                payload = json.loads(body or b"{}")
                repo_type = payload.get("type") or "model"
                repo = self._get_repo(repo_type, f"{payload.get('organization') or user}/{payload['name']}", user)
                del self._repos[(repo.type, repo.id)]
                (repo.base / "repo.json").unlink()
                return 200, {}, {}
            if len(seg) >= 4 and seg[0] == "api" and seg[1].endswith("s") and seg[1][:-1] in REPO_TYPES:
                return self._repo_api(method, seg[1][:-1], f"{seg[2]}/{seg[3]}", seg[4:], query, body, user)
            # file download: /{ns}/{name}/resolve/{rev}/{path}, /datasets/{ns}/{name}/resolve/...
            repo_type = "model"
            if seg and seg[0] in ("datasets", "spaces", "kernels"):
                repo_type, seg = seg[0][:-1], seg[1:]
            if len(seg) >= 5 and seg[2] == "resolve" and method in ("GET", "HEAD"):
                return self._resolve(repo_type, f"{seg[0]}/{seg[1]}", seg[3], "/".join(seg[4:]), user)
        raise _HttpError(404, f"Not handled by the Hub stub: {method} {path}")

    def _validate_yaml(self, payload: dict):
        content = payload.get("content", "")
        m = re.match(r"\A---\r?\n(.*?)\r?\n---\s*(\r?\n|\Z)", content, re.S)
        if m is None:
            return 200, {}, {"errors": [], "warnings": [{"message": "empty or missing yaml metadata in repo card"}]}
        try:
            import yaml  # optional: the project depends on it, the stub does not need it
        except ImportError:
            return 200, {}, {"errors": [], "warnings": []}
        try:
            meta = yaml.safe_load(m.group(1))
        except yaml.YAMLError as err:
            return 400, {}, {"errors": [{"message": f"Invalid YAML in README.md metadata: {err}"}]}
        if meta is not None and not isinstance(meta, dict):
            return 400, {}, {"errors": [{"message": '"metadata" must be an object'}]}
        configs = (meta or {}).get("configs", [])
        if not isinstance(configs, list) or any(not isinstance(c, dict) or "config_name" not in c for c in configs):
            return 400, {}, {"errors": [{"message": '"configs" must be a list of objects with a "config_name"'}]}
        return 200, {}, {"errors": [], "warnings": []}

    def _create_repo(self, payload: dict, user: str | None):
        if user is None:
            raise _HttpError(401, "You must be authenticated to create a repo")
        name, org = payload.get("name"), payload.get("organization") or user
        repo_type = payload.get("type") or "model"
        if repo_type not in REPO_TYPES or not name or not re.fullmatch(r"[\w.-]{1,96}", name) or not re.fullmatch(r"[\w.-]{1,96}", org):
            raise _HttpError(400, f"Invalid repo name or type: {org}/{name} ({repo_type})")
        repo_id = f"{org}/{name}"
        existing = self._repos.get((repo_type, repo_id))
        if existing is not None:
            raise _HttpError(409, f"You already created this {repo_type} repo", extra={"url": self._url(existing)})
        private = payload.get("visibility", "public") == "private" or bool(payload.get("private"))
        repo = _Repo(self.root / f"{repo_type}s" / org / name, repo_type, repo_id, private)
        repo.commit("main", "initial commit", "", {".gitattributes": repo.put_blob(_GITATTRIBUTES)}, [".gitattributes"], [], None)
        repo.save()
        self._repos[(repo_type, repo_id)] = repo
        return 200, {}, {"url": self._url(repo), "name": repo_id, "id": hashlib.sha1(repo_id.encode()).hexdigest()[:24]}

    def _repo_api(self, method, repo_type, repo_id, rest, query, body, user):
        repo = self._get_repo(repo_type, repo_id, user)
        action = rest[0] if rest else ""
        if method in ("POST", "PUT", "DELETE") and user is None:
            raise _HttpError(401, "You must be authenticated to write to a repo")
        if method == "GET" and action in ("", "revision"):
            rev = rest[1] if action == "revision" and len(rest) > 1 else "main"
            return 200, {}, self._info(repo, rev, blobs=query.get("blobs", [""])[0].lower() in ("1", "true"))
        if method == "GET" and action == "tree" and len(rest) >= 2:
            return self._tree(repo, rest[1], "/".join(rest[2:]), query)
        if method == "POST" and action == "paths-info" and len(rest) >= 2:
            form = parse_qs(body.decode())
            tree = repo.tree(rest[1])
            expand = form.get("expand", ["false"])[0].lower() == "true"
            out = []
            for p in form.get("paths", []):
                p = p.strip("/")
                if p in tree:
                    out.append(self._entry(p, tree[p], expand, repo))
                elif any(q.startswith(p + "/") for q in tree):
                    out.append(self._folder(p))
            return 200, {}, out
        if method == "POST" and action == "preupload" and len(rest) >= 2:
            payload = json.loads(body)
            tree = repo.tree(rest[1])
            files = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                      "oid": tree[f["path"]]["oid"] if f["path"] in tree else None} for f in payload["files"]]
            return 200, {}, {"files": files, "commitOid": repo.resolve(rest[1])}
        if method == "POST" and action == "commit" and len(rest) >= 2:
            return self._commit(repo, rest[1], query, body)
        if action == "branch" and len(rest) >= 2:
            branch = "/".join(rest[1:])
            if method == "POST":
                if branch in repo.refs:
                    raise _HttpError(409, f"Reference already exists: refs/heads/{branch}")
                if branch.startswith("refs/") or not re.fullmatch(r"[\w./-]+", branch):
                    raise _HttpError(400, f"Invalid branch name: {branch}")
                start = json.loads(body or b"{}").get("startingPoint") or "main"
                repo.refs[branch] = repo.resolve(start)
                repo._checkout(branch, repo.tree(branch))
                repo.save()
                return 200, {}, {}
            if method == "DELETE":
                if branch not in repo.refs or branch == "main":
                    raise _HttpError(404 if branch != "main" else 403, f"Cannot delete branch {branch}", "RevisionNotFound")
                del repo.refs[branch]
                repo.save()
                return 200, {}, {}
        if method == "GET" and action == "refs":
            branches = [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": oid}
                        for b, oid in sorted(repo.refs.items()) if not b.startswith("refs/")]
            out = {"branches": branches, "tags": [], "converts": []}
            if query.get("include_prs"):
                out["pullRequests"] = [{"name": r, "ref": r, "targetCommit": oid}
                                       for r, oid in sorted(repo.refs.items()) if r.startswith("refs/pr/")]
            return 200, {}, out
        if method == "GET" and action == "commits" and len(rest) >= 2:
            items = [{"id": c["oid"], "title": c["title"], "message": c["message"], "date": c["date"],
                      "authors": [{"user": self.user}]} for c in repo.history(repo.resolve(rest[1]))]
            return self._page(items, query, f"/api/{repo.type}s/{repo.id}/commits/{quote(rest[1], safe='')}")
        raise _HttpError(404, f"Not handled by the Hub stub: {method} /api/{repo_type}s/{repo_id}/{'/'.join(rest)}")

    def _info(self, repo: _Repo, rev: str, blobs: bool) -> dict:
        oid = repo.resolve(rev)
        tree = repo.commits[oid]["tree"]
        siblings = []
        for p, e in sorted(tree.items()):
            sib = {"rfilename": p}
            if blobs:
                entry = self._entry(p, e, False, repo)
                sib.update(size=e["size"], blobId=entry["oid"])
                if "lfs" in entry:
                    sib["lfs"] = {"sha256": e["sha256"], "size": e["size"], "pointerSize": entry["lfs"]["pointerSize"]}
            siblings.append(sib)
        author = repo.id.split("/")[0]
        info = {"_id": hashlib.sha1(repo.id.encode()).hexdigest()[:24], "id": repo.id, "author": author, "sha": oid,
                "lastModified": repo.commits[oid]["date"], "createdAt": repo.created_at, "private": repo.private,
                "gated": False, "disabled": False, "downloads": 0, "likes": 0, "tags": [], "siblings": siblings,
                "usedStorage": sum(e["size"] for e in tree.values())}
        if repo.type == "model":
            info["modelId"] = repo.id
        return info

    def _tree(self, repo: _Repo, rev: str, prefix: str, query: dict):
        tree = repo.tree(rev)
        recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
        expand = query.get("expand", ["false"])[0].lower() in ("1", "true")
        prefix = prefix.strip("/")
        base = prefix + "/" if prefix else ""
        if prefix and prefix not in tree and not any(p.startswith(base) for p in tree):
            raise _HttpError(404, f"Entry not found: {prefix}", "EntryNotFound")
        items: dict[str, dict] = {}
        for path, e in tree.items():
            if not path.startswith(base):
                continue
            parts = path[len(base):].split("/")
            for depth in range(1, len(parts)):  # folders on the way
                if depth > 1 and not recursive:
                    break
                folder = base + "/".join(parts[:depth])
                items.setdefault(folder, self._folder(folder))
            if recursive or len(parts) == 1:
                items[path] = self._entry(path, e, expand, repo)
        listing = [items[k] for k in sorted(items)]
        return self._page(listing, query, f"/api/{repo.type}s/{repo.id}/tree/{quote(rev, safe='')}"
                          + (f"/{quote(prefix, safe='')}" if prefix else ""))

    def _page(self, items: list, query: dict, path: str):
        start = int(query.get("cursor", ["0"])[0] or 0)
        page = items[start:start + self.page_size]
        headers = {}
        if start + self.page_size < len(items):
            q = {k: v[0] for k, v in query.items() if k != "cursor"}
            q["cursor"] = str(start + self.page_size)
            headers["Link"] = f'<{self.endpoint}{path}?{urlencode(q)}>; rel="next"'
        return 200, headers, page

    def _commit(self, repo: _Repo, rev: str, query: dict, body: bytes):
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise _HttpError(400, "First line of the commit payload must be the header")
        header = lines[0]["value"]
        if not header.get("summary"):
            raise _HttpError(400, "Commit summary is required")
        if rev.startswith("refs/heads/"):
            rev = rev[len("refs/heads/"):]
        if rev not in repo.refs:
            repo.resolve(rev)  # 404 RevisionNotFound if unknown
            raise _HttpError(400, f"Invalid rev id: {rev} is not a branch; cannot commit to it")
        head = repo.refs[rev]
        parent = header.get("parentCommit")
        if parent and not head.startswith(parent):
            raise _HttpError(412, "A commit has happened since. Please refresh and try again.")
        create_pr = query.get("create_pr", ["0"])[0] in ("1", "true")
        tree = {p: dict(e) for p, e in repo.commits[head]["tree"].items()}
        added, deleted = [], []
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value") or {}
            path = str(value.get("path", "")).strip("/") if key != "deletedFolder" else str(value.get("path", "")).rstrip("/")
            if not path or path.startswith("/") or ".." in path.split("/") or path.split("/")[0] == ".git":
                raise _HttpError(400, f"Invalid path in commit: {value.get('path')!r}")
            if key == "file":
                if value.get("encoding", "base64") != "base64":
                    raise _HttpError(400, f"Unsupported encoding {value.get('encoding')!r}")
                tree[path] = repo.put_blob(base64.b64decode(value["content"]))
                added.append(path)
            elif key == "lfsFile":
                known = [e for c in repo.commits.values() for e in c["tree"].values() if e["sha256"] == value.get("oid")]
                if not known:
                    raise _HttpError(422, f"LFS object {value.get('oid')} not found (the stub has no LFS/Xet storage)")
                tree[path] = dict(known[0])
                added.append(path)
            elif key == "deletedFile":
                if path not in tree:
                    raise _HttpError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                del tree[path]
                deleted.append(path)
            elif key == "deletedFolder":
                gone = [p for p in tree if p.startswith(path.strip("/") + "/")]
                if not gone:
                    raise _HttpError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                for p in gone:
                    del tree[p]
                deleted.extend(gone)
            else:
                raise _HttpError(400, f"Unknown commit operation {key!r}")
        pr_url = None
        target = rev
        if create_pr:
            num = repo.next_pr
            repo.next_pr += 1
            target = f"refs/pr/{num}"
            repo.prs[num] = {"num": num, "ref": target, "target": rev, "title": header["summary"]}
            pr_url = f"{self._url(repo)}/discussions/{num}"
        oid = repo.commit(target, header["summary"], header.get("description", ""), tree, added, deleted, head)
        repo.save()
        return 200, {}, {"success": True, "commitOid": oid, "commitUrl": f"{self._url(repo)}/commit/{oid}",
                         "pullRequestUrl": pr_url, "hookOutput": ""}

    def _resolve(self, repo_type: str, repo_id: str, rev: str, path: str, user: str | None):
        repo = self._get_repo(repo_type, repo_id, user)
        oid = repo.resolve(rev)
        tree = repo.commits[oid]["tree"]
        if path not in tree:
            raise _HttpError(404, f"Entry not found: {path}", "EntryNotFound")
        e = tree[path]
        entry = self._entry(path, e, False, repo)
        etag = e["sha256"] if "lfs" in entry else e["oid"]
        headers = {"X-Repo-Commit": oid, "ETag": f'"{etag}"', "Content-Type": "application/octet-stream",
                   "Accept-Ranges": "bytes"}
        if "lfs" in entry:
            headers["X-Linked-Etag"] = f'"{etag}"'
            headers["X-Linked-Size"] = str(e["size"])
        return 200, headers, repo.blob(e["oid"])


class _Handler(BaseHTTPRequestHandler):
    """Thin HTTP layer: logging, failure injection, body framing; the logic is in HubStub.handle."""

    hub: HubStub
    protocol_version = "HTTP/1.1"  # keep-alive, like the Hub (httpx reuses connections)
    timeout = 30  # idle keep-alive connections end on their own

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle + delayed ACK cost ~40 ms each.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.hub._lock:
            self.hub._conns.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.hub._lock:
                self.hub._conns.discard(self.connection)

    def log_message(self, format, *args):  # noqa: A002 - silence stderr access logs
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self):
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = parse_qs(split.query, keep_blank_values=True)
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(self.command, path, query, {k: headers[k] for k in _LOGGED_HEADERS if k in headers})
        if body and ("/preupload/" in path or "/commit/" in path):
            try:
                if "/preupload/" in path:
                    req.files = [f["path"] for f in json.loads(body)["files"]]
                else:
                    lines = [json.loads(line) for line in body.splitlines()[1:] if line.strip()]
                    req.files = [line["value"]["path"] for line in lines]
                    req.ops = [line["key"] for line in lines]
            except (ValueError, KeyError, TypeError):
                pass
        with self.hub._lock:
            self.hub.requests.append(req)

        rule = self.hub._take_rule(self.command, path)
        if rule is not None and rule.drop and not rule.after:
            self.close_connection = True
            return
        if rule is not None and not rule.drop:
            body_out = rule.body if rule.body is not None else json.dumps({"error": f"Injected failure ({rule.status})"}).encode()
            ctype = "text/html" if body_out.lstrip().startswith(b"<") else "application/json"
            return self._send(req, rule.status, {"Content-Type": ctype, **(rule.headers or {})}, body_out)

        try:
            status, out_headers, out = self.hub.handle(self.command, split.path, query, headers, body)
        except _HttpError as err:
            status = err.status
            out_headers = {"X-Error-Message": err.message}
            if err.code:
                out_headers["X-Error-Code"] = err.code
            out = {"error": err.message, **err.extra}
        except Exception:  # a stub bug: record it so tests can assert on it, answer like a 500
            self.hub.errors.append(traceback.format_exc())
            status, out_headers, out = 500, {"X-Error-Message": "stub internal error"}, {"error": "stub internal error"}
        if rule is not None and rule.after:  # the work is done, the answer is lost
            self.close_connection = True
            return
        if isinstance(out, (bytes, bytearray)):
            data = bytes(out)
        else:
            data = json.dumps(out).encode()
            out_headers.setdefault("Content-Type", "application/json; charset=utf-8")
        self._send(req, status, out_headers, data)

    def _send(self, req: Request, status: int, headers: dict, data: bytes):
        req.status = status
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("X-Request-Id", f"stub-{len(self.hub.requests)}")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _dispatch
