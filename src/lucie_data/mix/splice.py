"""Replace one column of a Parquet file without re-encoding the others: their column chunks are copied byte for byte.

Why: a mix with ``repeat_ids: suffix`` (the default) renames the ids of whole-epoch repeats (``id#k``), so a
repeat differs from its first copy in the ``id`` column only. Re-encoding the repeat decodes and zstd-encodes
its text again, which alone costs ~5-40 % of a plain copy's throughput (benchmarks/results/mix*.md, "floor of
a re-encode"); pyarrow has no way to write a file from existing column chunks. Here only the new column is
encoded (by pyarrow, into a one-column file); the file is then assembled from the original's column chunks and
that one, in the original's column order, with a new footer. Readers (pyarrow, polars, ``datasets``) find
column chunks through the footer's offsets, so those are rewritten, and so are the page locations of the offset
index (the only absolute offsets inside the page index). Nothing else of the original changes: its schema, its
key-value metadata (``ARROW:schema``), ``created_by``, the other columns' statistics and column indexes.

Parquet's footer is a Thrift struct (``FileMetaData``, apache/parquet-format ``parquet.thrift``) in the compact
protocol. :func:`_read_struct` / :func:`_write_struct` decode and re-encode it generically (field ids, types,
values; unknown fields are kept as they are), so decoding then encoding gives back the same bytes (a test checks
it on every shard of the test builds); only the few fields below are touched, by their ids in ``parquet.thrift``.

Anything this does not handle (nested columns, encryption, bloom filters, column chunks in other files, row
groups pyarrow would cut differently) raises :class:`SpliceUnsupported` before anything is written; the caller
then re-encodes the file as before.
"""
from __future__ import annotations

import io
import struct
from typing import Any

__all__ = ["SpliceUnsupported", "ColumnSplicer", "read_footer", "encode_struct"]

MAGIC = b"PAR1"

# Thrift compact protocol type ids (thrift/doc/specs/thrift-compact-protocol.md)
_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(13)

# field ids of parquet.thrift (apache/parquet-format)
FMD_ROW_GROUPS, FMD_ENCRYPTION = 4, 8  # FileMetaData
RG_COLUMNS, RG_TOTAL_BYTE_SIZE, RG_NUM_ROWS, RG_FILE_OFFSET, RG_TOTAL_COMPRESSED = 1, 2, 3, 5, 6  # RowGroup
(CC_FILE_PATH, CC_FILE_OFFSET, CC_META, CC_OFFSET_INDEX_OFFSET, CC_OFFSET_INDEX_LENGTH, CC_COLUMN_INDEX_OFFSET,
 CC_COLUMN_INDEX_LENGTH, CC_CRYPTO, CC_ENCRYPTED_META) = range(1, 10)  # ColumnChunk
(CMD_CODEC, CMD_UNCOMPRESSED, CMD_COMPRESSED, CMD_DATA_PAGE, CMD_INDEX_PAGE, CMD_DICT_PAGE, CMD_STATISTICS,
 CMD_BLOOM_OFFSET) = 4, 6, 7, 9, 10, 11, 12, 14  # ColumnMetaData
OI_PAGE_LOCATIONS, PL_OFFSET = 1, 1  # OffsetIndex, PageLocation
_CODECS = {0: "none", 1: "snappy", 2: "gzip", 4: "brotli", 6: "zstd", 7: "lz4"}  # CompressionCodec -> pyarrow


class SpliceUnsupported(ValueError):
    """The file has a layout the splice does not handle; re-encode it instead."""


# --------------------------------------------------------------------------------------- Thrift compact codec
# A struct is a list of [field id, compact type, value]; a list/set is (element type, [values]); a map is
# (key type, value type, [(k, v), ...]). Booleans inside lists are kept as their raw byte (implementations write
# 1 or 2, or 0 for false), so re-encoding returns the same bytes.


def _varint(buf, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise SpliceUnsupported("malformed Parquet footer (varint too long)")


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _list_header(buf, pos: int) -> tuple[int, int, int]:
    """(size, element type, position after) of a list or set header: the size in the high nibble up to 14,
    else 15 there and the size as a varint after."""
    head = buf[pos]
    n, et = head >> 4, head & 0x0F
    if n == 15:
        n, pos = _varint(buf, pos + 1)
        return n, et, pos
    return n, et, pos + 1


class _Raw(bytes):
    """A value kept as its encoded bytes (a field the splice never edits): re-encoding writes them back as they are."""


def _skip(buf, pos: int, t: int) -> int:
    """The position after a value of type ``t``, without building it (integers skipped inline: the statistics
    and level histograms of a footer are mostly varints, and this walk is most of decoding a footer)."""
    if t == _STRUCT:
        while True:
            head = buf[pos]
            pos += 1
            if head == _STOP:
                return pos
            if not head >> 4:  # long form: the field id follows as a varint
                while buf[pos] & 0x80:
                    pos += 1
                pos += 1
            ft = head & 0x0F
            if _I16 <= ft <= _I64:
                while buf[pos] & 0x80:
                    pos += 1
                pos += 1
            elif ft == _BINARY:
                n, pos = _varint(buf, pos)
                pos += n
            elif ft not in (_TRUE, _FALSE):
                pos = _skip(buf, pos, ft)
    if _I16 <= t <= _I64:
        while buf[pos] & 0x80:
            pos += 1
        return pos + 1
    if t == _BINARY:
        n, pos = _varint(buf, pos)
        return pos + n
    if t in (_LIST, _SET):
        n, et, pos = _list_header(buf, pos)
        if et in (_TRUE, _FALSE, _BYTE):
            return pos + n
        if et == _DOUBLE:
            return pos + 8 * n
        if _I16 <= et <= _I64:
            for _ in range(n):
                while buf[pos] & 0x80:
                    pos += 1
                pos += 1
            return pos
        for _ in range(n):
            pos = _skip(buf, pos, et)
        return pos
    if t == _BYTE:
        return pos + 1
    if t == _DOUBLE:
        return pos + 8
    if t == _MAP:
        n, pos = _varint(buf, pos)
        if n:
            kv = buf[pos]
            pos += 1
            for _ in range(n):
                pos = _skip(buf, _skip(buf, pos, kv >> 4), kv & 0x0F)
        return pos
    raise SpliceUnsupported(f"malformed Parquet footer (Thrift type {t})")


def _read_value(buf, pos: int, t: int, spec: dict | None = None) -> tuple[Any, int]:
    if t in (_I16, _I32, _I64):
        v, pos = _varint(buf, pos)
        return _zigzag(v), pos
    if t == _BINARY:
        n, pos = _varint(buf, pos)
        if pos + n > len(buf):
            raise SpliceUnsupported("malformed Parquet footer (binary past the end)")
        return bytes(buf[pos:pos + n]), pos + n
    if t == _STRUCT:
        return _read_struct(buf, pos, spec)
    if t in (_LIST, _SET):
        n, et, pos = _list_header(buf, pos)
        items = []
        for _ in range(n):
            if et in (_TRUE, _FALSE):
                items.append(buf[pos])
                pos += 1
            else:
                v, pos = _read_value(buf, pos, et, spec)
                items.append(v)
        return (et, items), pos
    if t == _BYTE:
        return buf[pos], pos + 1
    if t == _DOUBLE:
        return bytes(buf[pos:pos + 8]), pos + 8
    if t == _MAP:
        n, pos = _varint(buf, pos)
        if n == 0:
            return (0, 0, []), pos
        kv = buf[pos]
        pos += 1
        kt, vt = kv >> 4, kv & 0x0F
        items = []
        for _ in range(n):
            k, pos = _read_value(buf, pos, kt)
            v, pos = _read_value(buf, pos, vt)
            items.append((k, v))
        return (kt, vt, items), pos
    raise SpliceUnsupported(f"malformed Parquet footer (Thrift type {t})")


def _read_struct(buf, pos: int = 0, spec: dict | None = None) -> tuple[list, int]:
    """Decode a struct. With ``spec`` (field id -> spec of that field's struct, or of its list's structs), only
    the struct, list and map fields it names are decoded; the others are kept as :class:`_Raw` bytes (what the
    splice never edits: schema, key-value metadata, statistics...), which makes decoding and copying cheap."""
    fields: list = []
    fid = 0
    while True:
        head = buf[pos]
        pos += 1
        if head == _STOP:
            return fields, pos
        t, delta = head & 0x0F, head >> 4
        if delta:
            fid += delta
        else:
            raw, pos = _varint(buf, pos)
            fid = _zigzag(raw)
        if t in (_TRUE, _FALSE):
            fields.append([fid, t, t == _TRUE])
        elif spec is not None and t in (_STRUCT, _LIST, _SET, _MAP) and fid not in spec:
            end = _skip(buf, pos, t)
            fields.append([fid, t, _Raw(buf[pos:end])])
            pos = end
        else:
            v, pos = _read_value(buf, pos, t, None if spec is None else spec.get(fid))
            fields.append([fid, t, v])


def _w_varint(out: bytearray, n: int) -> None:
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _w_int(out: bytearray, n: int) -> None:
    _w_varint(out, (n << 1) ^ (n >> 63))


def _write_value(out: bytearray, t: int, v: Any) -> None:
    if isinstance(v, _Raw):
        out += v
    elif t in (_I16, _I32, _I64):
        _w_int(out, v)
    elif t == _BINARY:
        _w_varint(out, len(v))
        out += v
    elif t == _STRUCT:
        _write_struct(out, v)
    elif t in (_LIST, _SET):
        et, items = v
        if len(items) < 15:
            out.append(len(items) << 4 | et)
        else:
            out.append(0xF0 | et)
            _w_varint(out, len(items))
        for item in items:
            if et in (_TRUE, _FALSE):
                out.append(item)
            else:
                _write_value(out, et, item)
    elif t == _BYTE:
        out.append(v)
    elif t == _DOUBLE:
        out += v
    elif t == _MAP:
        kt, vt, items = v
        _w_varint(out, len(items))
        if items:
            out.append(kt << 4 | vt)
            for k, val in items:
                _write_value(out, kt, k)
                _write_value(out, vt, val)
    else:
        raise SpliceUnsupported(f"cannot encode Thrift type {t}")


def _write_struct(out: bytearray, fields: list) -> None:
    last = 0
    for fid, t, v in fields:
        if t in (_TRUE, _FALSE):
            t = _TRUE if v else _FALSE
        delta = fid - last
        if 0 < delta <= 15:
            out.append(delta << 4 | t)
        else:
            out.append(t)
            _w_int(out, fid)
        if t not in (_TRUE, _FALSE):
            _write_value(out, t, v)
        last = fid
    out.append(_STOP)


def encode_struct(fields: list) -> bytes:
    out = bytearray()
    _write_struct(out, fields)
    return bytes(out)


def _get(fields: list, fid: int, default: Any = None) -> Any:
    for f in fields:
        if f[0] == fid:
            return f[2]
    return default


def _set(fields: list, fid: int, t: int, value: Any) -> None:
    """Set a field, keeping the fields in ascending id order (as every Thrift writer emits them)."""
    for i, f in enumerate(fields):
        if f[0] == fid:
            f[1], f[2] = t, value
            return
        if f[0] > fid:
            fields.insert(i, [fid, t, value])
            return
    fields.append([fid, t, value])


_CMD_SPEC: dict = {}  # ColumnMetaData: offsets and sizes are scalars (always decoded); its lists/structs stay raw
FOOTER_SPEC = {FMD_ROW_GROUPS: {RG_COLUMNS: {CC_META: _CMD_SPEC}}}
_OFFSET_INDEX_SPEC = {OI_PAGE_LOCATIONS: {}}


def _clone(fields: list) -> list:
    """A copy of a decoded struct deep enough to edit its decoded parts (raw parts are immutable bytes)."""
    out = []
    for fid, t, v in fields:
        if t == _STRUCT and not isinstance(v, _Raw):
            v = _clone(v)
        elif t in (_LIST, _SET) and not isinstance(v, _Raw):
            v = (v[0], [_clone(x) if v[0] == _STRUCT else x for x in v[1]])
        out.append([fid, t, v])
    return out


def read_footer(data, spec: dict | None = FOOTER_SPEC) -> tuple[list, bytes]:
    """(decoded FileMetaData, its raw bytes) of a whole Parquet file held in memory; ``spec``: see
    :func:`_read_struct` (``None`` decodes everything)."""
    n = len(data)
    if n < 12 or bytes(data[:4]) != MAGIC or bytes(data[n - 4:]) != MAGIC:
        raise SpliceUnsupported("not a Parquet file (no PAR1 magic at both ends)")
    (size,) = struct.unpack("<I", data[n - 8:n - 4])
    if size + 12 > n:
        raise SpliceUnsupported("malformed Parquet footer (length past the start of the file)")
    raw = bytes(data[n - 8 - size:n - 8])
    try:
        fmd, end = _read_struct(raw, 0, spec)
    except IndexError:
        raise SpliceUnsupported("malformed Parquet footer (truncated)") from None
    if end != size:
        raise SpliceUnsupported("malformed Parquet footer (trailing bytes)")
    return fmd, raw


# --------------------------------------------------------------------------------------------- the splice


def _chunk_range(meta: list) -> tuple[int, int]:
    """(first byte, length) of a column chunk: its pages start at the dictionary page when there is one."""
    starts = [o for o in (_get(meta, CMD_DICT_PAGE), _get(meta, CMD_DATA_PAGE), _get(meta, CMD_INDEX_PAGE))
              if o]  # 0 is "absent" for some writers
    length = _get(meta, CMD_COMPRESSED)
    if not starts or length is None:
        raise SpliceUnsupported("column chunk without page offsets")
    return min(starts), length


def _columns(fmd: list) -> list[list]:
    """The row groups' ColumnChunk lists, after checking the layout is one the splice handles."""
    if _get(fmd, FMD_ENCRYPTION) is not None:
        raise SpliceUnsupported("encrypted file")
    out = []
    for rg in _get(fmd, FMD_ROW_GROUPS, (0, []))[1]:
        cols = _get(rg, RG_COLUMNS, (0, []))[1]
        for cc in cols:
            if any(_get(cc, f) is not None for f in (CC_FILE_PATH, CC_CRYPTO, CC_ENCRYPTED_META)):
                raise SpliceUnsupported("column chunk stored in another file or encrypted")
            meta = _get(cc, CC_META)
            if meta is None:
                raise SpliceUnsupported("column chunk without metadata")
            if _get(meta, CMD_BLOOM_OFFSET) is not None:
                raise SpliceUnsupported("bloom filters are not spliced")
        out.append(cols)
    return out


def _shift(meta: list, delta: int) -> None:
    for fid in (CMD_DATA_PAGE, CMD_INDEX_PAGE, CMD_DICT_PAGE):
        v = _get(meta, fid)
        if v:
            _set(meta, fid, _I64, v + delta)


class ColumnSplicer:
    """A Parquet file held in memory whose column ``name`` is to be replaced, possibly several times.

    The footer is decoded once; :meth:`splice` builds each new file from it. The new column is encoded by pyarrow
    with the original chunk's codec, statistics and page index, one row group per original row group (same row
    counts), so every row keeps its other columns.
    """

    def __init__(self, data, name: str):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.data = memoryview(data)
        fmd, self.raw_footer = read_footer(self.data)
        self.fmd = fmd
        try:
            reader = pq.ParquetFile(pa.BufferReader(pa.py_buffer(self.data)))
        except (pa.ArrowException, OSError) as err:
            raise SpliceUnsupported(f"malformed Parquet file ({err})") from None
        # the leaves from pyarrow's own decoding of the schema (the footer's schema stays raw bytes here)
        arrow_schema = reader.schema_arrow
        if any(pa.types.is_nested(f.type) for f in arrow_schema) or len(arrow_schema) != reader.metadata.num_columns:
            raise SpliceUnsupported("nested columns are not spliced")
        names = arrow_schema.names
        if names.count(name) != 1:
            raise SpliceUnsupported(f"no single column {name!r}")
        self.index = names.index(name)
        self.name = name
        cols = _columns(fmd)
        self.row_counts = [_get(rg, RG_NUM_ROWS) for rg in _get(fmd, FMD_ROW_GROUPS, (0, []))[1]]
        self.footer_end = len(self.data) - 8 - len(self.raw_footer)
        for rg in cols:
            if len(rg) != len(names):
                raise SpliceUnsupported("row group with another column count than the schema")
            for cc in rg:
                start, length = _chunk_range(_get(cc, CC_META))
                if start < 4 or start + length > self.footer_end:
                    raise SpliceUnsupported("column chunk outside the file's data")
        meta0 = _get(cols[0][self.index], CC_META) if cols else None
        self.codec = _CODECS.get(_get(meta0, CMD_CODEC, 6) if meta0 else 6)
        if self.codec is None:
            raise SpliceUnsupported("codec pyarrow cannot write")
        self.statistics = bool(meta0 is None or _get(meta0, CMD_STATISTICS) is not None)
        self.page_index = bool(cols and any(_get(cols[0][self.index], f) is not None
                                            for f in (CC_OFFSET_INDEX_OFFSET, CC_COLUMN_INDEX_OFFSET)))
        self.field = arrow_schema.field(name)
        self.column = reader.read(columns=[name], use_threads=False).column(0)

    def _encode_column(self, values) -> tuple[memoryview, list]:
        """The new column alone, in a file of the same row groups: (its bytes, its decoded footer)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if len(values) != sum(self.row_counts):
            raise SpliceUnsupported("the new column has another row count")
        table = pa.table([values], schema=pa.schema([self.field]))
        buf = io.BytesIO()
        with pq.ParquetWriter(buf, table.schema, compression=self.codec, write_statistics=self.statistics,
                              write_page_index=self.page_index, store_schema=False) as w:
            offset = 0
            for n in self.row_counts:
                w.write_table(table.slice(offset, n), row_group_size=max(n, 1))
                offset += n
        data = buf.getbuffer()
        fmd, _raw = read_footer(data)
        if [_get(rg, RG_NUM_ROWS) for rg in _get(fmd, FMD_ROW_GROUPS, (0, []))[1]] != self.row_counts:
            raise SpliceUnsupported("pyarrow cut the new column into other row groups")
        return data, fmd

    def splice(self, values) -> list:
        """The new file, as a list of buffers to write in order (the other columns' bytes are not copied here)."""
        try:
            return self._splice(values)
        except IndexError:  # a page index pointing past its bytes, a truncated struct
            raise SpliceUnsupported("malformed page index") from None

    def _splice(self, values) -> list:
        new_data, new_fmd = self._encode_column(values)
        new_cols = _columns(new_fmd)
        fmd = _clone(self.fmd)  # a copy to edit
        parts: list = [MAGIC]
        pos = len(MAGIC)
        placed = []  # (ColumnChunk, source buffer, delta) in file order
        for r, (rg, cols) in enumerate(zip(_get(fmd, FMD_ROW_GROUPS, (0, []))[1], _columns(fmd))):
            old_meta = _get(cols[self.index], CC_META)
            first = pos
            for c in range(len(cols)):
                src = self.data
                if c == self.index:
                    cols[c] = new_cols[r][0]
                    src = new_data
                cc = cols[c]
                meta = _get(cc, CC_META)
                start, length = _chunk_range(meta)
                delta = pos - start
                _shift(meta, delta)
                fo = _get(cc, CC_FILE_OFFSET)
                if fo:
                    _set(cc, CC_FILE_OFFSET, _I64, fo + delta)
                parts.append(src[start:start + length])
                pos += length
                placed.append((cc, src, delta))
            new_meta = _get(cols[self.index], CC_META)
            for fid, mfid in ((RG_TOTAL_BYTE_SIZE, CMD_UNCOMPRESSED), (RG_TOTAL_COMPRESSED, CMD_COMPRESSED)):
                v = _get(rg, fid)
                if v is not None:
                    _set(rg, fid, _I64, v - _get(old_meta, mfid, 0) + _get(new_meta, mfid, 0))
            if _get(rg, RG_FILE_OFFSET) is not None:
                _set(rg, RG_FILE_OFFSET, _I64, first)
        # page index: column indexes copied as they are (no offsets inside), then offset indexes with their
        # page locations moved by the chunk's shift (pyarrow's order: all column indexes, then all offset indexes)
        for cc, src, _delta in placed:
            off, n = _get(cc, CC_COLUMN_INDEX_OFFSET), _get(cc, CC_COLUMN_INDEX_LENGTH)
            if off is not None and n is not None:
                if off < 4 or n < 0 or off + n > len(src):
                    raise SpliceUnsupported("column index outside the file")
                parts.append(src[off:off + n])
                _set(cc, CC_COLUMN_INDEX_OFFSET, _I64, pos)
                pos += n
        for cc, src, delta in placed:
            off, n = _get(cc, CC_OFFSET_INDEX_OFFSET), _get(cc, CC_OFFSET_INDEX_LENGTH)
            if off is not None and n is not None:
                if off < 4 or n < 0 or off + n > len(src):
                    raise SpliceUnsupported("offset index outside the file")
                index, end = _read_struct(src[off:off + n], 0, _OFFSET_INDEX_SPEC)
                if end != n:
                    raise SpliceUnsupported("malformed offset index")
                for loc in _get(index, OI_PAGE_LOCATIONS, (0, []))[1]:
                    _set(loc, PL_OFFSET, _I64, _get(loc, PL_OFFSET) + delta)
                raw = encode_struct(index)
                parts.append(raw)
                _set(cc, CC_OFFSET_INDEX_OFFSET, _I64, pos)
                _set(cc, CC_OFFSET_INDEX_LENGTH, _I32, len(raw))
                pos += len(raw)
        footer = encode_struct(fmd)
        parts += [footer, struct.pack("<I", len(footer)), MAGIC]
        return parts
