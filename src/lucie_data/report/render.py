"""Render the report dict (``aggregate.build_report``) as JSON, Markdown and a self-contained HTML page.

The HTML page has no script, no external resource (inline CSS, inline SVG charts drawn here) and every
string that comes from documents, recipes or the build passes through ``html.escape``: a document
titled ``<script>…</script>`` shows as text.
"""
from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

# Okabe-Ito colour-blind-safe palette (Okabe & Ito 2008, "Color Universal Design"), then Tableau-20 tones
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
           "#8c564b", "#7f7f7f", "#bcbd22", "#17becf", "#9467bd", "#aec7e8", "#ffbb78", "#98df8a",
           "#ff9896", "#c5b0d5", "#c49c94", "#dbdb8d"]
KEPT, REMOVED = "#009E73", "#D55E00"


def _policy_brief(policy) -> str:
    from .aggregate import policy_brief

    return policy_brief(policy)


def _build_policy_brief(b: dict) -> str:
    """The policy a report states: "unknown" for a build without manifest.json (not "none, not enforced")."""
    return "unknown" if b.get("finished") is False else _policy_brief(b["license_policy"])


def _title(b: dict) -> str:
    return str(b["pipeline"]) if b.get("finished") is not False else "unfinished build (stopped before writing its manifest.json)"


def _recorded(v) -> str:
    """A value manifest.json records, or what a build without one shows in its place (not "None")."""
    return "not recorded" if v is None else str(v)


def _policy_text(policy) -> str:
    return "none" if policy is None else json.dumps(policy, sort_keys=True)


def to_json(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _n(v) -> str:
    return f"{v:,}" if isinstance(v, int) else str(v)


def policy_lines(b: dict) -> tuple[str, list[str]]:
    """(headline, details) stating the licence policy: the pipeline's current one (as its last build recorded it in
    manifest.json) and which sources were built under it or under another (left out of that build by --only)."""
    if b.get("finished") is False:
        return "Licence policy: not known (the build stopped before writing its manifest.json, where it records the policy):", []
    groups = b.get("license_policy_groups") or []
    current = next((g for g in groups if g["current"]), None)
    head = ("Licence policy: the pipeline's current one (as its last build recorded it in manifest.json)"
            + ("" if current is None or len(groups) > 1 else ", every source built under it") + ":")
    details = []
    if len(groups) > 1 or current is None:
        details.append("built under it: " + (", ".join(current["sources"]) if current else "no source"))
        fix = f"lucie-data build {b.get('pipeline_file') or 'PIPELINE'}"
        details += [f"built under another policy, by an earlier build (the last one ran with --only and left them out; "
                    f"`{fix}` without --only rebuilds them): {', '.join(g['sources'])}, under: {g['brief']}"
                    for g in groups if not g["current"]]
    return head, details


def totals_note(t: dict) -> str:
    """How the ``all`` row relates to the records read: a language_id split removes a document and adds its parts."""
    a = t["all"]
    if "records_read" not in a:
        return ""
    if a.get("docs_created"):
        split = a.get("split_into_parts") or {}
        again = (f"; the {split['docs']:,} split documents' {split['chars']:,} characters and {split['tokens']:,} "
                 "tokens are counted in `removed` and again in their parts, so `all` counts them twice"
                 if split.get("docs") else "")
        return (f"all: {a['docs']:,} documents = {a['records_read']:,} records read + {a['docs_created']:,} parts "
                "created by splits (a `language_id` split removes a document as `language_split_into_parts` and adds "
                f"its parts as new documents){again}")
    return f"all: {a['docs']:,} documents = the {a['records_read']:,} records read"


def _reasons(s: dict) -> str:
    """A funnel row's removal reasons, and the documents the stage kept without judging them: code a prose filter
    passed (filters review: only the ledger said so), texts a minhash_dedup could not sign."""
    said = [f"{k} × {v}" for k, v in s["reasons"].items()]
    if s.get("docs_skipped_code"):
        said.append(f"code passed unjudged × {s['docs_skipped_code']}")
    if s.get("docs_no_signature"):  # (dedup review: only datatrove's stats.json counted them)
        said.append(f"too short to compare, kept × {s['docs_no_signature']}")
    return ", ".join(said)


def _split_parts(stages: list[dict]) -> bool:
    return any(s.get("docs_created") for s in stages)


# ---------------------------------------------------------------------------------------- Markdown
def _md_plain(v) -> str:
    """A value from the build on one line, with HTML's ``&``, ``<`` and ``>`` as entities, which Markdown renderers
    pass through as HTML (auditor review: an id holding a newline added a fake "Reconciliation: OK" section,
    ``<img onerror=…>`` an element). Enough inside a code span, where nothing else is read as Markdown."""
    s = _n(v) if v is not None else ""
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r\n", " ").replace("\n", " ").replace("\r", " "))


_MD_INLINE = str.maketrans({c: "\\" + c for c in "\\`*[]~"})
# a run of `_` can open or close emphasis unless a letter or digit is on both sides (CommonMark's flanking rules):
# `fr_eltec_novels` stays as it is, `__init__` is escaped
_MD_UNDERSCORES = re.compile(r"_+")
_MD_ALNUM = re.compile(r"[^\W_]")


def _md_text(v) -> str:
    """A value from the build (an id, a file name, a licence string, a message quoting them) as inline Markdown
    text: :func:`_md_plain`, and the characters that start emphasis, code, links or strike-through escaped with a
    backslash (trainer review: ``src/click/__init__.py`` rendered as "src/click/**init**.py"). A message's own
    backticks show as backticks."""
    s = _md_plain(v).translate(_MD_INLINE)

    def run(m: re.Match) -> str:
        inside = (m.start() > 0 and _MD_ALNUM.match(s[m.start() - 1]) and m.end() < len(s)
                  and _MD_ALNUM.match(s[m.end()]))
        return m.group() if inside else "\\_" * len(m.group())
    return _MD_UNDERSCORES.sub(run, s)


_MD_CODE_SPAN = re.compile(r"`([^`]*)`")


def _md_message(v) -> str:
    """A message of the build as inline Markdown: its own `code spans` kept as such (their content shown as is),
    the rest as :func:`_md_text`; a message with an odd number of backticks is all text."""
    s = _n(v) if v is not None else ""
    if s.count("`") % 2:
        return _md_text(s)
    out, pos = [], 0
    for m in _MD_CODE_SPAN.finditer(s):
        # a code span's content as it is, on one line: Markdown shows it literally (entities too, so none here)
        code = " ".join(m.group(1).splitlines())
        out += [_md_text(s[pos:m.start()]), f"`{code}`" if code.strip() else _md_text(m.group())]
        pos = m.end()
    return "".join(out) + _md_text(s[pos:])


def _md_cell(v) -> str:
    return _md_text(v).replace("|", "\\|")


def _md_table(headers: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
    return out + [""]


def to_markdown(r: dict) -> str:
    b = r["build"]
    L = [f"# Provenance report: {_md_text(_title(b))}", "",
         f"lucie-data {_recorded(b['lucie_data_version'])} · seed {_recorded(b['seed'])} · tokens: {b['token_counter']}",
         ""]
    head, details = policy_lines(b)  # review: only HTML and JSON stated the policy
    L += [f"{head} `{_md_plain(_build_policy_brief(b))}`", ""]
    L += [f"- {d}" for d in details] + ([""] if details else [])
    L += [f"Reconciliation with ledgers and manifest: **{'OK' if r['reconciliation']['ok'] else 'FAILED'}**", ""]
    t = r["totals"]
    L += ["## Totals", ""] + _md_table(["", "documents", "characters", "tokens"],
                                       [[k, t[k]["docs"], t[k]["chars"], t[k]["tokens"]] for k in ("kept", "removed", "all")])
    if totals_note(t):
        L += [totals_note(t), ""]
    created = any(s.get("docs_created") for s in r["sources"])
    L += ["## Sources", ""] + _md_table(
        ["source", "licence (recipe)", "redistributable", "read", *(["parts created"] if created else []), "kept",
         "removed", "citation", "url"],
        [[s["name"], s["license"], "yes" if s["redistributable"] else "**no**", s["records_read"],
          *([s.get("docs_created", 0)] if created else []), s["docs_kept"],
          s["docs_removed"], s["provenance"].get("citation") or "", s["provenance"].get("url") or ""]
         for s in r["sources"]])
    L += ["## Licences", ""] + _md_table(
        ["licence", "class", "attribution", "kept docs", "kept tokens", "removed docs"],
        [[x["license"], x["class"], "yes" if x["needs_attribution"] else "no", x["kept"]["docs"], x["kept"]["tokens"],
          x["removed"]["docs"]] for x in r["licenses"]])
    L += ["## Composition (licence × language × source)", "",
          "Kept and removed documents (language `und`: unknown).", ""] + _md_table(
        ["status", "licence", "language", "source", "documents", "characters", "tokens"],
        [[c["status"], c["license"], c["language"], c["source"], c["docs"], c["chars"], c["tokens"]]
         for c in r["composition"]])
    L += ["## Funnel", ""]
    for src, stages in r["funnel"].items():
        split = _split_parts(stages)  # in + created = kept + removed
        L += [f"### {src}", ""] + _md_table(
            ["stage", "type", "in", *(["created (split parts)"] if split else []), "kept", "removed", "reasons"],
            [[s["stage"], s["type"], s["docs_in"], *([s.get("docs_created", 0)] if split else []), s["docs_kept"],
              s["docs_removed"], _reasons(s)] for s in stages])
    L += ["## Attribution", ""] + _md_table(
        ["source", "licences", "documents", "modified by lucie-data", "citation", "url"],
        [[a["source"], ", ".join(a["licenses"]) + (" (per document)" if a["per_document"] else ""), a["docs"],
          a.get("modified", 0), a["citation"], a["url"]] for a in r["attribution"]])
    L += ["A modified document's `metadata` names the stages that changed it (`modified_by`): say so where you credit "
          "it, as CC licences require.", ""]
    sa = r["share_alike"]
    L += ["## Share-alike obligations and the licence of the mix", "",
          f"Licence to declare for a published mix: **{sa['mix_license']}**", ""]
    L += [f"- {o}" for o in sa["obligations"]] or ["- none (no share-alike document in the output)"]
    if sa["excluded_sources"]:
        L += [f"- not redistributable, excluded from the mix: {', '.join(sa['excluded_sources'])}"]
    L += ["", "## Tools and models", ""] + _md_table(
        ["kind", "name", "version", "licence"],
        [["model", m.get("name"), m.get("version", m.get("sha256", "")) or "", m.get("license")]
         for m in r["tools_and_models"]["models"]]
        + [["library", x["name"], x["version"], x["license"]] for x in r["tools_and_models"]["tools"]])
    L += ["## Warnings", ""]
    L += [f"- **{w['severity']}** `{w['kind']}`{' (' + _md_text(w['source']) + ')' if w['source'] else ''}: "
          f"{_md_message(w['message'])}" + (f" — e.g. {', '.join(map(_md_text, w['ids'][:5]))}" if w["ids"] else "")
          for w in r["warnings"]] or ["- none"]
    L += ["", "## Removed documents (examples)", ""] + _md_table(
        ["source", "stage", "reason", "id", "title"],
        [[e["source"], e["stage"], e["reason"], e["id"], e["title"] or ""] for e in r["removed_examples"]])
    bad = [c for c in r["reconciliation"]["checks"] if not c["ok"]]
    L += ["## Reconciliation", "", f"{len(r['reconciliation']['checks'])} checks, {len(bad)} failed.", ""]
    L += [f"- FAILED {_md_text(c['check'])}: report {_md_text(c['report'])} vs {_md_text(c['expected'])}" for c in bad]
    return "\n".join(L) + "\n"


# ---------------------------------------------------------------------------------------- SVG charts
#: advance of a character at the charts' 12px, an upper bound for the wide sans fonts a browser may pick
#: (DejaVu Sans, Chromium's fallback on Linux, is the widest common one): labels are laid out with it so
#: that no label starts left of its SVG or runs off its right edge
_NARROW, _MEDIUM, _WIDE = frozenset("ijl.,:;'|!()[] "), frozenset("frt-/_"), frozenset("mwMW@%")
LABEL_MIN, LABEL_MAX = 190, 380  # the label column grows with its longest label up to LABEL_MAX px


def _text_width(s: str) -> float:
    return sum(3.8 if c in _NARROW else 5.2 if c in _MEDIUM else 12.0 if c in _WIDE else 9.0 if c.isupper()
               else 7.8 for c in s)


def _label_column(labels, pad: int = 14) -> int:
    """Width of a chart's label column: the longest label's, within [LABEL_MIN, LABEL_MAX]."""
    return int(min(LABEL_MAX, max([LABEL_MIN] + [_text_width(x) + pad for x in labels])))


def _label(text: str, x: float, y: float, max_w: float) -> str:
    """A right-aligned label ending at ``x``; one wider than ``max_w`` is cut with an ellipsis and keeps its
    full text in a ``<title>`` (the browser's tooltip; screen readers read it)."""
    shown = text
    if _text_width(text) > max_w:
        while shown and _text_width(shown + "…") > max_w:
            shown = shown[:-1]
        shown += "…"
    tip = f"<title>{escape(text)}</title>" if shown != text else ""
    return f'<text x="{x}" y="{y:.1f}" text-anchor="end">{tip}{escape(shown)}</text>'


def _svg_composition(r: dict, width: int = 900) -> str:
    """Stacked horizontal bars: kept tokens per licence, one segment per language."""
    rows: dict[str, dict[str, int]] = {}
    for c in r["composition"]:
        if c["status"] == "kept":
            rows.setdefault(c["license"], {}).setdefault(c["language"], 0)
            rows[c["license"]][c["language"]] += c["tokens"]
    if not rows:
        return "<p>No kept documents.</p>"
    langs = sorted({lang for d in rows.values() for lang in d})
    color = {lang: PALETTE[i % len(PALETTE)] for i, lang in enumerate(langs)}
    label_w, bar_h, gap, top = _label_column(rows), 22, 8, 10
    maxv = max(sum(d.values()) for d in rows.values()) or 1
    right = max(90, 10 + max(_text_width(f"{sum(d.values()):,}") for d in rows.values()))  # the totals' column
    scale = (width - label_w - right) / maxv
    legend, lx, ly = [], label_w, 0
    for lang in langs:  # legend entries wrap onto as many rows as needed
        w = 30 + _text_width(lang)
        if lx + w > width:
            lx, ly = label_w, ly + 18
        legend.append((lang, lx, ly))
        lx += w
    h = top + len(rows) * (bar_h + gap) + 30 + ly
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" role="img" '
             f'aria-label="kept tokens per licence and language" class="chart">']
    y = top
    for lic in sorted(rows, key=lambda k: -sum(rows[k].values())):
        parts.append(_label(lic, label_w - 6, y + bar_h * 0.7, label_w - 8))
        x = float(label_w)
        for lang in langs:
            v = rows[lic].get(lang, 0)
            if not v:
                continue
            w = v * scale
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{bar_h}" fill="{color[lang]}">'
                         f'<title>{escape(lic)} · {escape(lang)}: {v:,} tokens</title></rect>')
            x += w
        parts.append(f'<text x="{x + 5:.1f}" y="{y + bar_h * 0.7:.1f}">{sum(rows[lic].values()):,}</text>')
        y += bar_h + gap
    for lang, lx, ly in legend:
        parts.append(f'<rect x="{lx}" y="{y + 8 + ly}" width="12" height="12" fill="{color[lang]}"/>'
                     f'<text x="{lx + 16}" y="{y + 18 + ly}">{escape(lang)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _svg_funnel(src: str, stages: list[dict], width: int = 900) -> str:
    """One bar per stage: documents entering it, split into kept and removed."""
    label_w, bar_h, gap = _label_column(s["stage"] for s in stages), 18, 6
    # a split stage's kept + removed exceed what came in by the parts it created
    maxv = max((max(s["docs_in"], s["docs_kept"] + s["docs_removed"]) for s in stages), default=0) or 1

    def text(s: dict) -> str:
        created = f' (+{s["docs_created"]:,} created)' if s.get("docs_created") else ""
        return f'{s["docs_kept"]:,} kept · {s["docs_removed"]:,} removed{created}'
    right = max([160] + [12 + _text_width(text(s)) for s in stages])
    scale = (width - label_w - right) / maxv
    h = len(stages) * (bar_h + gap) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" role="img" '
             f'aria-label="funnel of {escape(src)}" class="chart">']
    y = 4
    for s in stages:
        kw, rw = s["docs_kept"] * scale, s["docs_removed"] * scale
        parts.append(_label(s["stage"], label_w - 6, y + bar_h * 0.75, label_w - 8))
        parts.append(f'<rect x="{label_w}" y="{y}" width="{kw:.1f}" height="{bar_h}" fill="{KEPT}">'
                     f'<title>kept {s["docs_kept"]:,}</title></rect>')
        if s["docs_removed"]:
            parts.append(f'<rect x="{label_w + kw:.1f}" y="{y}" width="{max(rw, 2):.1f}" height="{bar_h}" fill="{REMOVED}">'
                         f'<title>removed {s["docs_removed"]:,}</title></rect>')
        parts.append(f'<text x="{label_w + kw + max(rw, 2) + 5:.1f}" y="{y + bar_h * 0.75:.1f}">'
                     f'{escape(text(s))}</text>')
        y += bar_h + gap
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------- HTML
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{border-bottom:3px solid #0072B2;padding-bottom:.2em} h2{margin-top:2em;color:#0b4f7c}
nav.toc ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3em 1.2em} nav.toc a{color:#0b4f7c}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em} th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#eef4f8} td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#007a4d;font-weight:bold} .bad{color:#b00020;font-weight:bold}
.warning{background:#fff4e0} .info{background:#eef6ff} .chart text{font-size:12px;fill:#222}
caption{text-align:left;font-weight:bold;padding:.3em 0} .pill{display:inline-block;padding:0 .5em;border-radius:1em;background:#eee;font-size:.85em}
code{background:#f4f4f4;padding:0 .2em}
"""


# the Markdown report's order (review: the HTML's differed)
_SECTIONS = [("totals", "Totals"), ("sources", "Sources"), ("licences", "Licences"), ("composition", "Composition"),
             ("funnel", "Funnel"), ("attribution", "Attribution"),
             ("share-alike", "Share-alike obligations and the licence of the mix"), ("tools", "Tools and models"),
             ("warnings", "Warnings"), ("removed", "Removed documents (examples)"), ("reconciliation", "Reconciliation")]


def _inline(text: str) -> str:
    """Escaped text whose Markdown code spans (`like this`, as the messages shared with the Markdown report write
    them) become <code> (review: literal backticks in the HTML)."""
    import re

    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _link(url) -> str:
    """An http(s) URL as a link (escaped, opened as a plain navigation), anything else as text."""
    u = str(url or "")
    if u.startswith(("http://", "https://")):
        return f'<a href="{escape(u, quote=True)}" rel="noopener noreferrer">{escape(u)}</a>'
    return escape(u)


def _cell(v, numeric: bool = False) -> str:
    if v is None:
        v = ""
    return f'<td class="n">{escape(_n(v))}</td>' if numeric else f"<td>{escape(_n(v))}</td>"


def _table(headers: list[str], rows: list[list], numeric: set[int] = frozenset(), cls: str = "",
           caption: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(c, i in numeric) for i, c in enumerate(row)) + "</tr>" for row in rows)
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f'<table class="{escape(cls)}">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _html_policy(b: dict) -> str:
    head, details = policy_lines(b)
    out = (f'<p class="policy">{escape(head)} {escape(_build_policy_brief(b))} '
           f'<code>{escape(_policy_text(b["license_policy"]))}</code></p>')
    if details:
        out += '<ul class="policy">' + "".join(f"<li>{escape(d)}</li>" for d in details) + "</ul>"
    return out


def _sources_table(sources: list[dict]) -> str:
    created = any(s.get("docs_created") for s in sources)
    extra = ["parts created"] if created else []
    return _table(["source", "recipe", "recipe sha256", "licence", "redistributable", "read", *extra, "kept", "removed"],
                  [[s["name"], s["recipe_file"], (s["recipe_sha256"] or "")[:16], s["license"],
                    "yes" if s["redistributable"] else "NO", s["records_read"],
                    *([s.get("docs_created", 0)] if created else []), s["docs_kept"], s["docs_removed"]]
                   for s in sources], set(range(5, 9 if created else 8)), "sources")


def to_html(r: dict) -> str:
    b = r["build"]
    ok = r["reconciliation"]["ok"]
    t = r["totals"]
    H = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
         f"<title>Provenance report: {escape(_title(b))}</title>",
         '<meta name="viewport" content="width=device-width, initial-scale=1">',
         f"<style>{CSS}</style></head><body>",
         f"<h1>Provenance report: {escape(_title(b))}</h1>",
         f"<p>lucie-data {escape(_recorded(b['lucie_data_version']))} · seed {escape(_recorded(b['seed']))} · tokens: "
         f"{escape(str(b['token_counter']))}</p>",
         _html_policy(b),
         f'<p>Reconciliation with ledgers and manifest: <span class="{"ok" if ok else "bad"}">'
         f'{"OK" if ok else "FAILED"}</span> ({len(r["reconciliation"]["checks"])} checks)</p>',
         # the sections, in order, as links (review: eleven sections with ids and nothing pointing to them)
         '<nav class="toc"><ul>' + "".join(f'<li><a href="#{i}">{escape(t)}</a></li>' for i, t in _SECTIONS)
         + "</ul></nav>",
         '<h2 id="totals">Totals</h2>',
         _table(["", "documents", "characters", "tokens"],
                [[k, t[k]["docs"], t[k]["chars"], t[k]["tokens"]] for k in ("kept", "removed", "all")], {1, 2, 3}, "totals"),
         f'<p class="totals-note">{escape(totals_note(t))}</p>' if totals_note(t) else "",
         '<h2 id="sources">Sources</h2>',
         _sources_table(r["sources"]),
         '<h2 id="licences">Licences</h2>',
         _table(["licence", "class", "attribution", "kept docs", "kept tokens", "removed docs", "removed tokens"],
                [[x["license"], x["class"], "yes" if x["needs_attribution"] else "no", x["kept"]["docs"],
                  x["kept"]["tokens"], x["removed"]["docs"], x["removed"]["tokens"]] for x in r["licenses"]],
                {3, 4, 5, 6}, "licences"),
         # the chart counts kept tokens only; the table has the removed rows too (review: one caption said
         # "kept tokens" over both)
         '<h2 id="composition">Composition</h2><p>Chart: kept tokens per licence, by language.</p>',
         _svg_composition(r),
         _table(["status", "licence", "class", "language", "source", "documents", "characters", "tokens"],
                [[c["status"], c["license"], c["license_class"], c["language"], c["source"], c["docs"], c["chars"],
                  c["tokens"]] for c in r["composition"]], {5, 6, 7}, "composition",
                caption="Documents, characters and tokens per licence × language × source, kept and removed "
                        "(language und: unknown)"),
         '<h2 id="funnel">Funnel</h2>']
    for src, stages in r["funnel"].items():
        H.append(f"<h3>{escape(src)}</h3>")
        H.append(_svg_funnel(src, stages))
        split = _split_parts(stages)  # in + created = kept + removed
        H.append(_table(["stage", "type", "in", *(["created (split parts)"] if split else []), "kept", "removed",
                         "tokens removed", "reasons"],
                        [[s["stage"], s["type"], s["docs_in"], *([s.get("docs_created", 0)] if split else []),
                          s["docs_kept"], s["docs_removed"], s["tokens_removed"],
                          _reasons(s)] for s in stages],
                        set(range(2, 7 if split else 6)), "funnel"))
    H += ['<h2 id="attribution">Attribution</h2>',
          '<table class="attribution"><thead><tr><th>source</th><th>licences</th><th>documents</th>'
          "<th>modified by lucie-data</th><th>citation</th><th>url</th></tr></thead><tbody>"
          + "".join(f"<tr>{_cell(a['source'])}"
                    f"{_cell(', '.join(a['licenses']) + (' (per document)' if a['per_document'] else ''))}"
                    f"{_cell(a['docs'], True)}{_cell(a.get('modified', 0), True)}{_cell(a['citation'])}"
                    f"<td>{_link(a['url'])}</td></tr>" for a in r["attribution"])
          + "</tbody></table>",
          "<p>A modified document's <code>metadata</code> names the stages that changed it (<code>modified_by</code>): "
          "say so where you credit it, as CC licences require.</p>"]
    sa = r["share_alike"]
    H += ['<h2 id="share-alike">Share-alike obligations and the licence of the mix</h2>',
          f'<p>Licence to declare for a published mix: <span class="pill">{escape(sa["mix_license"])}</span></p><ul>']
    H += [f"<li>{escape(o)}</li>" for o in sa["obligations"]] or ["<li>No share-alike document in the output.</li>"]
    if sa["excluded_sources"]:
        H.append(f"<li>Not redistributable, excluded from the mix: {escape(', '.join(sa['excluded_sources']))}</li>")
    H.append("</ul>")
    tm = r["tools_and_models"]
    H += ['<h2 id="tools">Tools and models</h2>',
          _table(["kind", "name", "version", "licence", "note"],
                 [["model", m.get("name"), m.get("version", "") or m.get("sha256", "") or "", m.get("license"),
                   m.get("url", m.get("path", ""))] for m in tm["models"]]
                 + [["library", x["name"], x["version"], x["license"], x.get("note", "")] for x in tm["tools"]],
                 cls="tools")]
    H.append('<h2 id="warnings">Warnings</h2>')
    if r["warnings"]:
        H.append('<table class="warnings"><thead><tr><th>severity</th><th>kind</th><th>source</th><th>count</th>'
                 "<th>message</th><th>documents</th></tr></thead><tbody>")
        for w in r["warnings"]:
            H.append(f'<tr class="{escape(w["severity"])}"><td>{escape(w["severity"])}</td><td>{escape(w["kind"])}</td>'
                     f'<td>{escape(w["source"] or "")}</td><td class="n">{w["count"]:,}</td><td>{_inline(w["message"])}</td>'
                     f'<td>{escape(", ".join(w["ids"][:10]))}</td></tr>')
        H.append("</tbody></table>")
    else:
        H.append("<p>None.</p>")
    H += ['<h2 id="removed">Removed documents (examples)</h2>',
          _table(["source", "stage", "reason", "id", "title", "licence", "duplicate of"],
                 [[e["source"], e["stage"], e["reason"], e["id"], e["title"], e["license"], e["duplicate_of"]]
                  for e in r["removed_examples"]], cls="removed")]
    bad = [c for c in r["reconciliation"]["checks"] if not c["ok"]]
    H += ['<h2 id="reconciliation">Reconciliation</h2>',
          _table(["check", "ok"], [[c["check"], "yes" if c["ok"] else "NO"] for c in r["reconciliation"]["checks"]],
                 cls="reconciliation")]
    if bad:
        H.append(f'<p class="bad">{len(bad)} check(s) failed.</p>')
    H.append("</body></html>")
    return "\n".join(H) + "\n"


def write_reports(report: dict, out_dir: Path) -> dict[str, Path]:
    """Write provenance.{json,md,html} into ``out_dir``, the three or none (rv57 F6: a full disk left new JSON and
    Markdown beside an earlier HTML), and return their paths."""
    from ..writes import replace_files

    out_dir.mkdir(parents=True, exist_ok=True)
    texts = {ext: text for ext, text in (("json", to_json(report)), ("md", to_markdown(report)),
                                         ("html", to_html(report)))}
    paths = {ext: out_dir / f"provenance.{ext}" for ext in texts}
    replace_files({paths[ext]: text for ext, text in texts.items()})
    return paths
