"""Accounting and output steps shared by every stage.

Rule 1 of the product: per stage, ``in = kept + removed``. ``StageEnter``/``StageExit`` count what
enters and leaves a stage; removals are counted from the removed shards themselves, so a step that
drops a document without writing it to ``removed/`` makes the ledger fail instead of hiding it.
"""
from __future__ import annotations

import re
from collections import Counter

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.parquet import ParquetWriter

from .rows import KEPT_SCHEMA, REMOVED_SCHEMA, WORK_SCHEMA, doc_to_row, dumps


class StageEnter(PipelineStep):
    type = "📊 LEDGER"

    def __init__(self, stage_id: str):
        self.name = f"enter:{stage_id}"
        super().__init__()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        # counted locally and added to the stats in one call each (the ledger reads the totals):
        # two stat_update calls per document were a measurable share of a cheap stage's time
        docs = chars = 0
        try:
            for doc in data:
                docs += 1
                chars += len(doc.text) if isinstance(doc.text, str) else 0
                yield doc
        finally:
            if docs:
                self.stat_update("docs", value=docs)
                self.stat_update("chars", value=chars)


class ProgressMeter(PipelineStep):
    """Writes how many documents this task has read to ``<folder>/<rank>`` about once a second, so the
    CLI can show live counts and throughput while worker processes run (datatrove's stats only appear
    when a task ends)."""

    type = "📊 LEDGER"
    name = "⏱️ Progress"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def _write(self, rank: int, n: int) -> None:
        import os

        path = os.path.join(self.folder, f"{rank:05d}")
        with open(path + ".tmp", "w") as f:
            f.write(str(n))
        os.replace(path + ".tmp", path)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import os
        import time

        os.makedirs(self.folder, exist_ok=True)
        n, last = 0, time.monotonic()
        for doc in data:
            n += 1
            if not n & 255 and time.monotonic() - last > 1.0:
                self._write(rank, n)
                last = time.monotonic()
            yield doc
        self._write(rank, n)


class StageExit(StageEnter):
    def __init__(self, stage_id: str):
        super().__init__(stage_id)
        self.name = f"exit:{stage_id}"
        self.stats.name = str(self)


# The most bytes of string data (UTF-8) a batch of rows holds before it is written: a batch is one Parquet row group.
# datatrove's ParquetWriter counts its batches in rows (1,000), and converts one against the ``pa.string()`` schemas,
# whose offsets are 32-bit: 1,000 books of 2.2 MB (2.2 GB of text) failed the task with pyarrow's "TypeError: Cannot
# convert pyarrow.lib.ChunkedArray to pyarrow.lib.Array" (scale review), in the kept, removed and hand-off writers
# alike. Bounding the batch by bytes keeps the schema (a public contract) and every batch under 2 GiB; below this
# much, batches, and so row groups and shard bytes, are what they were. 256 MiB also keeps row groups under the
# 286 MiB the Hugging Face dataset viewer reads ("Rows from parquet row groups are too big to be read"). Tests set it
# small to build real shards through the same path.
MAX_BATCH_BYTES = 256 << 20


def _utf8_bytes(row: dict) -> int:
    """Bytes of a row's strings once UTF-8 encoded (what pyarrow stores); ASCII strings are not encoded to tell."""
    n = 0
    for v in row.values():
        if type(v) is str:
            n += len(v) if v.isascii() else len(v.encode("utf-8", "surrogatepass"))
    return n


class _NamedParquetWriter(ParquetWriter):
    """datatrove's ParquetWriter with the output name of a document computed from the template's own fields, and
    batches (row groups) bounded by bytes as well as rows.

    datatrove's ``_get_output_filename`` substitutes the template from a merged copy of every metadata field,
    twice per document written (once for the file, once for the stats key): 1-2 % of a quality build's CPU
    (py-spy). Same names and precedence as datatrove's: keyword arguments, then metadata, then ``rank`` (a
    template naming ``id`` has a name per document and is left to datatrove).

    A file's batch is written before a row that would take its strings past ``MAX_BATCH_BYTES`` (see there). The
    cheap test first: a row's characters, which UTF-8 encodes in at most 4 bytes each; the exact count only once
    the batch could be that large (never for ordinary documents: 1,000 rows of 64 KB).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._held: dict[str, int] = {}  # characters of the rows in each file's batch
        self._held_bytes: dict[str, int] = {}  # their UTF-8 bytes, once counted

    def _write(self, document: dict, file_handler, filename: str):
        chars = 0
        for v in document.values():
            if type(v) is str:
                chars += len(v)
        key = self._get_filename_with_file_id(filename) if self.max_file_size > 0 else filename  # (datatrove's)
        held = self._held.get(key, 0) + chars
        if 4 * held > MAX_BATCH_BYTES:  # the batch could pass the limit: count bytes
            batch = self._batches.get(key)
            nbytes = self._held_bytes.get(key)
            if nbytes is None:
                nbytes = sum(_utf8_bytes(r) for r in batch) if batch else 0
            size = _utf8_bytes(document)
            if batch and nbytes + size > MAX_BATCH_BYTES:
                self._write_batch(key)  # the batch so far becomes a row group; this row starts the next (whose
                held = chars  # bytes are counted from its rows when it could pass the limit in turn)
            else:
                self._held_bytes[key] = nbytes + size
        self._held[key] = held
        super()._write(document, file_handler, filename)

    def _write_batch(self, filename):
        self._held.pop(filename, None)
        self._held_bytes.pop(filename, None)
        super()._write_batch(filename)

    def _get_output_filename(self, document: Document, rank: int | str = 0, **kwargs) -> str:
        fields = self.__dict__.get("_fields")
        if fields is None:
            fields = self._fields = tuple(dict.fromkeys(self.output_filename.get_identifiers()))
            self._names: dict[tuple, str] = {}
        if "id" in fields:  # a name per document: nothing to remember
            return super()._get_output_filename(document, rank, **kwargs)
        meta = document.metadata
        # the values that make the name (rank is in the key already; a missing field raises, as datatrove's)
        key = (rank,) + tuple(kwargs[f] if f in kwargs else meta[f] if f in meta or f != "rank" else None
                              for f in fields)
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = super()._get_output_filename(document, rank, **kwargs)
        return name


class RemovedWriter(_NamedParquetWriter):
    """Writes dropped documents with ``removal_stage`` and ``removal_reason`` (datatrove's exclusion writer)."""

    name = "🗑️ Removed"

    def __init__(self, output_folder: str, stage_id: str, stage_type: str, tokenizer: str | None = None):
        super().__init__(output_folder, "${rank}.parquet", compression="zstd", schema=REMOVED_SCHEMA,
                         adapter=None, max_file_size=-1, use_content_defined_chunking=False)
        from ..tokens import TokenCounter

        self.token_counter = TokenCounter(tokenizer)
        self.stage_id = stage_id
        self.stage_type = stage_type
        self.adapter = self._removed_row

    def _removed_row(self, doc: Document) -> dict:
        reason = doc.metadata.pop("filter_reason", None) or f"{self.stage_type}_unspecified"
        row = doc_to_row(doc, self.token_counter)
        row["removal_stage"] = self.stage_id
        row["removal_reason"] = reason
        return row


class LucieFilter(BaseFilter):
    """A datatrove filter whose drops go to ``removed/<stage>/`` with a snake_case reason."""

    type = "🔻 - FILTER"

    def __init__(self, removed_dir: str | None = None, stage_id: str = "", stage_type: str = "",
                 tokenizer: str | None = None):
        writer = RemovedWriter(removed_dir, stage_id, stage_type, tokenizer) if removed_dir else None
        super().__init__(exclusion_writer=writer)
        self.stage_id = stage_id


# A kept shard holds ``max_rows_per_shard`` rows, or fewer where its documents' text would pass this many characters
# (at most 4 GiB of UTF-8, ~1 GiB for Latin-script prose): a `mix build` reads a shard it re-encodes (a fraction, a
# mixed-licence shard) whole and copies one it does not as one file, so 100,000 rows of books (~40 GB) made a mix
# need that much memory and a Hub file that size (left alone in the scale review, done 2026-11-28). Counted in
# characters, not compressed bytes (datatrove's ``max_file_size``): the same cut whatever the Parquet library or
# its compression, and ``len`` costs nothing. Tests set it small.
MAX_SHARD_CHARS = 1 << 30


class ShardedParquetWriter(_NamedParquetWriter):
    """Parquet writer that rolls to a new shard every ``max_rows`` rows per partition, or before a document whose
    text would take the shard past :data:`MAX_SHARD_CHARS` characters (a shard holds at least one document).

    datatrove's writer rolls on bytes (``max_file_size``); recipes speak in rows, which also makes shard
    boundaries independent of compression and so stable across library versions.
    """

    def __init__(self, output_folder: str, output_filename: str, schema, adapter, max_rows: int):
        super().__init__(output_folder, output_filename, compression="zstd", adapter=adapter, schema=schema,
                         batch_size=min(1000, max_rows), max_file_size=-1, use_content_defined_chunking=False)
        self.max_rows = max_rows
        self._rows: Counter = Counter()  # rows in each partition's current shard
        self._chars: Counter = Counter()  # their text's characters
        self._shard: Counter = Counter()  # each partition's current shard number

    def write(self, document: Document, rank: int = 0, **kwargs):
        key = self._get_output_filename(document, rank, shard="")
        rows, size, shard = self._rows[key], len(document.text), self._shard[key]
        if rows and (rows >= self.max_rows or self._chars[key] + size > MAX_SHARD_CHARS):
            self.close_file(self._get_output_filename(document, rank, shard=f"{shard:04d}"))
            shard = self._shard[key] = shard + 1
            rows = self._chars[key] = 0
        self._rows[key] = rows + 1
        self._chars[key] += size
        super().write(document, rank, shard=f"{shard:04d}", **kwargs)


def partition_of(doc: Document) -> str:
    """Folder name for a document's language: `fr`, `code-python`, `fr-en`, or `und` when unknown."""
    lang = doc.metadata.get("language") or "und"
    return str(lang).replace(":", "-").replace(",", "-").replace("/", "-")


class KeptWriter(ShardedParquetWriter):
    name = "📒 Kept"

    def __init__(self, output_folder: str, max_rows: int, tokenizer: str | None = None):
        super().__init__(output_folder, "${_partition}/${rank}-${shard}.parquet", KEPT_SCHEMA, None, max_rows)
        from ..tokens import TokenCounter

        self.token_counter = TokenCounter(tokenizer)
        self.adapter = self._kept_row

    def _kept_row(self, doc: Document) -> dict:
        return doc_to_row(doc, self.token_counter)

    def write(self, document: Document, rank: int = 0, **kwargs):
        document.metadata["_partition"] = partition_of(document)
        super().write(document, rank, **kwargs)
        document.metadata.pop("_partition", None)


_DIGITS = re.compile(r"\d+")  # (compiled once: the key is made for every document a dedup hands off)


def input_order_key(source_file) -> str | None:
    """An input file's lineage name as the dedup plans order it: its numbers compared as numbers (code review: a
    streamed dataset's "part 10/12" sorted before "part 2/12", so with 10 tasks or more the copy kept was another)."""
    if not isinstance(source_file, str):
        return None
    # (then the name as written: `p01` and `p1` pad alike, and a tie would be broken by task)
    return _DIGITS.sub(lambda m: m.group().zfill(20), source_file) + "\x00" + source_file


class WorkWriter(_NamedParquetWriter):
    """Hands documents from one segment of a source to the next (across a dedup barrier).

    Uncompressed: the hand-off lives only until the source is done (the runner deletes ``work/``), so the
    text that survives the filters is zstd-encoded once, in the final shards, instead of also being
    encoded for the hand-off and decoded again (~0.2 core-seconds of the 57 MB quality benchmark). The
    cost is disk while the source builds: about the survivors' plain UTF-8 size instead of ~40 % of it.
    """

    name = "📦 Work"

    def __init__(self, output_folder: str):
        super().__init__(output_folder, "${rank}.parquet", compression=None, schema=WORK_SCHEMA, adapter=None,
                         max_file_size=-1, use_content_defined_chunking=False)
        self.adapter = self._work_row

    def _work_row(self, doc: Document) -> dict:
        meta = dict(doc.metadata)
        sig = meta.pop("_sig", None)
        gate = meta.pop("_gate", None)
        record = meta.get("source_record")
        return {"id": doc.id, "text": doc.text, "metadata": dumps(meta), "sig": sig, "gate": gate,
                "in_file": input_order_key(meta.get("source_file")),  # where it was read: the dedup plans' order
                "in_record": record if isinstance(record, int) and not isinstance(record, bool) else None}


class WorkReader(PipelineStep):
    """Reads this rank's hand-off file; adds ``_pos`` (row index) so a barrier's plan can address rows."""

    name = "📦 Work reader"
    type = "📖 - READER"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import json
        import os

        import pyarrow.parquet as pq

        path = os.path.join(self.folder, f"{rank:05d}.parquet")
        if not os.path.exists(path):
            return
        pos = 0
        pf = pq.ParquetFile(path)
        # row group by row group: iter_batches fills a batch of 1,000 rows across row groups, so 1,000 books of
        # 2.2 MB, written in row groups under MAX_BATCH_BYTES, were read back as one batch of them all (scale review)
        for batch in (b for g in range(pf.num_row_groups)
                      for b in pf.iter_batches(batch_size=1000, row_groups=[g], columns=["id", "text", "metadata"])):
            for row in batch.to_pylist():
                meta = json.loads(row["metadata"])
                meta["_pos"] = pos
                pos += 1
                yield Document(text=row["text"], id=row["id"], metadata=meta)
