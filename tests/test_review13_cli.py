"""Review (datatrove user): `lucie-data stages` showed `default None` for every Gopher, C4 and FineWeb threshold, so
the values applied per language (some not datatrove's: English max_non_alpha_words_ratio 0.7, FineWeb-2's
short-line rule off for fr/de/es/it) were only in assets/quality/presets.yaml."""
import re

from lucie_data.cli import main
from lucie_data.steps.quality.base import preset_params


def _block(out: str, stage: str) -> str:
    m = re.search(rf"^{stage}  .*?(?=^\S)", out, re.S | re.M)
    assert m, stage
    return m.group(0)


def test_stages_prints_the_presets_each_language_applies(capsys):
    assert main(["stages"]) == 0
    out = capsys.readouterr().out
    for stage in ("gopher_quality", "gopher_repetition", "c4_quality", "fineweb_quality"):
        block = _block(out, stage)
        assert "presets: what a threshold left unset (None) is" in block, block
        for lang in ("en", "fr", "de", "es", "it"):
            line = next(x for x in block.splitlines() if x.strip().startswith(f"{lang}: "))
            for key, value in preset_params(stage, lang).items():
                if key != "stop_words" and not isinstance(value, list):
                    assert f"{key}={value}" in line, (stage, lang, key, line)
    gq = _block(out, "gopher_quality")
    assert "max_non_alpha_words_ratio=0.7" in gq and "stop_words: 18 words" in gq
    assert "short_line_thr=999" in _block(out, "fineweb_quality")
    assert "presets:" not in _block(out, "exact_dedup")  # stages without presets print none
