"""Token counting for ledgers, reports and the mix.

With a tokenizer configured (a ``tokenizer.json`` path, or a Hub id such as ``OpenLLM-France/Lucie-7B``, pinned
with ``@<revision>``, when the network is there) counts are exact for that tokenizer. Without one, the documented fallback
counts pre-tokens: runs of letters/digits and single punctuation marks (regex ``\\w+|[^\\w\\s]``).
On French and English prose that is within ~15 % of a 65k BPE's count, enough to plan a mix, and it
is deterministic and needs no download; the manifest records which counter was used.
"""
from __future__ import annotations

import os
import re
from functools import lru_cache

from .fastpath import compiled

_PRETOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
FALLBACK = "regex-pretokens"


def count_pretokens_py(text: str) -> int:
    return len(_PRETOKEN.findall(text))


# the same count without building the list of matches, when the compiled module is there (tests compare both)
count_pretokens = getattr(compiled(), "count_pretokens", count_pretokens_py)


class TokenCounter:
    def __init__(self, tokenizer: str | None = None):
        self.tokenizer = tokenizer
        self._tok = None

    @property
    def name(self) -> str:
        return self.tokenizer or FALLBACK

    def _load(self):
        from tokenizers import Tokenizer

        spec = self.tokenizer
        if os.path.exists(spec):
            return Tokenizer.from_file(spec)
        return Tokenizer.from_file(hub_tokenizer_file(spec))


    def count(self, text: str) -> int:
        if not self.tokenizer:
            return count_pretokens(text)
        if self._tok is None:
            self._tok = self._load()
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def count_batch(self, texts: list[str]) -> list[int]:
        if not self.tokenizer:
            return [self.count(t) for t in texts]
        if self._tok is None:
            self._tok = self._load()
        return [len(e.ids) for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def __getstate__(self):  # picklable for datatrove's worker processes
        return {"tokenizer": self.tokenizer, "_tok": None}


@lru_cache(maxsize=8)
def shown_name(name: str) -> str:
    """A token counter's name as reports and cards show it: a local tokenizer.json by its file name, not the builder's
    path (a recipe resolves it to an absolute path; a Hub id is never absolute)."""
    import os

    local = os.path.isabs(name) or name.startswith(".")
    return name.replace("\\", "/").rsplit("/", 1)[-1] if local else name


def counter(tokenizer: str | None = None) -> TokenCounter:
    return TokenCounter(tokenizer)


def split_hub_id(spec: str) -> tuple[str, str | None]:
    """``ORG/NAME@REVISION`` -> (repo id, revision); without ``@``, the revision is None (the repo's main)."""
    repo, sep, rev = spec.partition("@")
    return repo, (rev if sep else None)


def hub_tokenizer_file(spec: str) -> str:
    """The local path of a Hub tokenizer's ``tokenizer.json``, downloaded once into the HF cache.

    ``ORG/NAME@REVISION`` pins it (a tag, branch or commit), as the data is pinned: without it the counts follow the
    repository's main branch. Fetched with huggingface_hub rather than ``Tokenizer.from_pretrained`` so that the
    endpoint (``HF_ENDPOINT``), token, offline mode and cache are the ones every other Hub access here uses."""
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    repo, rev = split_hub_id(spec)
    endpoint = os.environ.get("HF_ENDPOINT") or constants.ENDPOINT
    # A host whose name does not resolve is not coming back within huggingface_hub's retries (1+2+4+8+8 s: a build
    # waited 23 s on a machine without network before saying so; review): the cache, or its clear error, at once.
    unreachable = not constants.HF_HUB_OFFLINE and not _resolves(endpoint)
    try:
        return hf_hub_download(repo, "tokenizer.json", revision=rev, endpoint=endpoint,
                               local_files_only=constants.HF_HUB_OFFLINE or unreachable)
    except LocalEntryNotFoundError:
        if constants.HF_HUB_OFFLINE:  # (huggingface_hub's words: "set 'local_files_only' to False", not a CLI's)
            raise ConnectionError(f"HF_HUB_OFFLINE is set and the HF cache holds no tokenizer.json of {spec}") from None
        if unreachable:  # said as it is, not as huggingface_hub's "outgoing traffic has been disabled"
            raise ConnectionError(f"{endpoint} cannot be reached (its name does not resolve: no network?) and the HF "
                                  f"cache holds no tokenizer.json of {spec}") from None
        raise


def _resolves(url: str) -> bool:
    """Whether the host of ``url`` has an address (one name lookup, ~10 ms even when it fails)."""
    import socket
    from urllib.parse import urlparse

    host = urlparse(url).hostname
    if not host:
        return True  # not ours to judge: huggingface_hub reports it
    try:
        socket.getaddrinfo(host, None)
        return True
    except (socket.gaierror, UnicodeError):
        return False
