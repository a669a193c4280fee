"""rv58 F7: a valid ``.jsonl.zst`` made with a window over 128 MiB (``zstd --long=31``, streamed) was quarantined as
``read_corrupt_file`` ("Frame requires too much memory for decoding"), which sends the user to fetch again a file
that is fine. It is now read, as ``zstd -d --long=31`` reads it.

Texts: the ELTeC French novel chapters of data/demo (CC-BY-4.0)."""
import json

import zstandard

from .test_inputs import make_build
from .test_review9_readers import _eltec_lines


def _long_window_zst(data: bytes) -> bytes:
    """``data`` as ``zstd --long=31`` streams it: a 2 GiB window, no content size in the frame header (which
    would let the decoder size its buffer from the content instead)."""
    params = zstandard.ZstdCompressionParameters(window_log=31, enable_ldm=True, write_content_size=False)
    c = zstandard.ZstdCompressor(compression_params=params).compressobj()
    return c.compress(data) + c.flush()


def test_a_zst_with_a_2_gib_window_is_read(tmp_path):
    data = _eltec_lines(5)
    blob = _long_window_zst(data)
    frame = zstandard.get_frame_parameters(blob)
    assert frame.window_size == 1 << 31 and frame.content_size == zstandard.CONTENTSIZE_UNKNOWN
    (tmp_path / "long.jsonl.zst").write_bytes(blob)
    led, kept, removed = make_build(tmp_path, """\
        name: z
        category: book
        languages: [fr]
        license: CC-BY-4.0
        input: {type: jsonl, paths: ["../long.jsonl.zst"]}
        """)
    assert removed.height == 0, removed["removal_reason"].to_list()
    assert not led["quarantined_files"]
    assert kept.height == 5 and led["records_read"] == 5
    assert sorted(kept["id"]) == sorted(f"z/{json.loads(x)['id']}" for x in data.splitlines())
