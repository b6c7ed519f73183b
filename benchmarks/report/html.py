"""``report.html``: the Markdown report as one self-contained HTML file.

The Markdown report is the single source. ``markdown-it-py`` renders it (CommonMark plus GitHub's
pipe tables; raw HTML in the Markdown is escaped, never passed through); this module adds what a
single offline file needs: every local image embedded as a base64 data URI (an image alone in
its paragraph becomes a captioned figure), and heading ids that follow GitHub's rule, so the
report's ``#anchor`` contents links work in both renderings. For navigation it adds a link
back to the contents after each section heading, a fixed "↑ contents" corner link, and folds
the long appendix sections (``folded``) into ``<details>``; all CSS, no script.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from benchmarks.results import write_atomic

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; line-height: 1.5;
       color: #1f2328; max-width: 1180px; margin: 2em auto; padding: 0 1.5em; }
h1, h2, h3, h4 { line-height: 1.25; margin-top: 1.6em; }
h1, h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .3em; }
code { background: #f2f4f6; padding: .1em .35em; border-radius: 4px; font-size: 90%; }
pre { background: #f6f8fa; padding: 1em; overflow-x: auto; border-radius: 6px; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; margin: 1em 0; font-size: 90%; display: block;
        overflow-x: auto; }
th, td { border: 1px solid #d0d7de; padding: .35em .7em; text-align: left;
         vertical-align: top; }
th { background: #f6f8fa; }
tr:nth-child(even) td { background: #fafbfc; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { color: #59636e; font-size: 90%; }
a { color: #0969da; text-decoration: none; }
a:hover { text-decoration: underline; }
html { scroll-padding-top: 1em; }
#contents + ul { columns: 2 22em; column-gap: 2.5em; }
#contents + ul > li { break-inside: avoid; }
a.back { font-size: 55%; font-weight: normal; margin-left: .8em; color: #59636e;
         vertical-align: middle; white-space: nowrap; }
#to-top { position: fixed; right: 1.2em; bottom: 1.2em; background: #fff; padding: .35em .7em;
          border: 1px solid #d0d7de; border-radius: 6px; font-size: 90%;
          box-shadow: 0 1px 3px rgba(0,0,0,.12); }
details.fold { margin: 1.6em 0; border: 1px solid #d0d7de; border-radius: 6px;
               padding: 0 1em; }
details.fold > summary { cursor: pointer; list-style-position: outside; margin-left: 1em; }
details.fold > summary > h2 { display: inline-block; border: none; margin: .6em 0;
                              vertical-align: middle; }
details.fold > summary .hint { color: #59636e; font-size: 85%; margin-left: .6em; }
details.fold[open] > summary .hint { display: none; }
"""

#: The id of the report's contents heading, the target of every "back to contents" link.
CONTENTS_ID = "contents"


def github_slug(text: str, used: dict[str, int]) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens,
    ``-1``, ``-2``... appended to repeats."""
    plain = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", text).strip().lower()
    slug = re.sub(r"[^\w\- ]", "", plain).replace(" ", "-")
    n = used.get(slug, 0)
    used[slug] = n + 1
    return slug if n == 0 else f"{slug}-{n}"


def _image_src(src: str, base: Path) -> str:
    """A data URI for a local PNG; anything else is left as text (never fetched)."""
    path = base / src
    if src.startswith(("http://", "https://", "//")) or not path.is_file():
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    mime = "image/png" if path.suffix.lower() == ".png" else "image/svg+xml"
    return f"data:{mime};base64,{data}"


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def _prepare(tokens: Sequence[Token], base: Path) -> None:
    """Give headings their GitHub ids and images their data URIs; mark lone images as figures."""
    used: dict[str, int] = {}
    for k, token in enumerate(tokens):
        if token.type == "heading_open":
            token.attrSet("id", github_slug(tokens[k + 1].content, used))
        children = token.children or []
        for child in children:
            if child.type == "image":
                child.meta["data_uri"] = _image_src(str(child.attrGet("src") or ""), base)
        lone = len(children) == 1 and children[0].type == "image" and children[0].meta["data_uri"]
        if token.type == "inline" and lone and tokens[k - 1].type == "paragraph_open":
            children[0].meta["figure"] = True
            tokens[k - 1].tag = tokens[k + 1].tag = "figure"


def _render_image(
    renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    """A local image inline as a data URI (captioned when alone); a missing one says so."""
    token = tokens[idx]
    alt = html.escape(renderer.renderInlineAsText(token.children or [], options, env))
    src = token.meta.get("data_uri", "")
    if not src:
        return f"<em>missing figure: {html.escape(str(token.attrGet('src') or ''))}</em>"
    caption = f"<figcaption>{alt}</figcaption>" if token.meta.get("figure") else ""
    return f'<img src="{src}" alt="{alt}">{caption}'


def markdown_to_html(markdown: str, base: Path) -> str:
    """Render the report's Markdown to an HTML body fragment; images come from ``base``."""
    parser = _parser()
    parser.add_render_rule("image", _render_image)
    tokens = parser.parse(markdown)
    _prepare(tokens, base)
    return str(parser.renderer.render(tokens, parser.options, {}))


_HEADING = re.compile(r'<h([23]) id="([^"]*)">(.*?)</h\1>', re.S)


def _navigable(body: str, folded: Sequence[str]) -> str:
    """Add a way back to the contents after every ``##``/``###`` heading and fold the ``##``
    sections titled in ``folded`` into closed ``<details>`` (their heading stays visible as the
    summary, so a contents link to it still lands on it). CSS only, no script."""
    has_contents = f'id="{CONTENTS_ID}"' in body
    wanted = set(folded)

    def back(match: re.Match[str]) -> str:
        level, slug, inner = match.groups()
        if slug == CONTENTS_ID or not has_contents:
            return match.group(0)
        link = f'<a class="back" href="#{CONTENTS_ID}" title="back to the contents">↑ contents</a>'
        return f'<h{level} id="{slug}">{inner}{link}</h{level}>'

    out: list[str] = []
    pos = 0
    starts = [m for m in _HEADING.finditer(body) if m.group(1) == "2"]
    for k, match in enumerate(starts):
        plain = html.unescape(re.sub(r"<[^>]+>", "", match.group(3))).strip()
        if plain not in wanted:
            continue
        end = starts[k + 1].start() if k + 1 < len(starts) else len(body)
        out.append(_HEADING.sub(back, body[pos : match.start()]))
        section = _HEADING.sub(back, body[match.end() : end])
        out.append(
            f'<details class="fold"><summary>{back(match)}'
            '<span class="hint">(folded: click to open)</span></summary>\n'
            f"{section}</details>\n"
        )
        pos = end
    out.append(_HEADING.sub(back, body[pos:]))
    return "".join(out)


def render_html(markdown: str, base: Path, title: str, folded: Sequence[str] = ()) -> str:
    """A complete, self-contained HTML document for the Markdown report.

    Args:
        markdown: the report.
        base: the folder its image paths are relative to.
        title: the document's title.
        folded: titles of ``##`` sections to fold into closed ``<details>`` (long appendices).
    """
    body = _navigable(markdown_to_html(markdown, base), folded)
    top = (
        f'<a id="to-top" href="#{CONTENTS_ID}">↑ contents</a>\n'
        if f'id="{CONTENTS_ID}"' in body
        else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"{body}\n{top}</body>\n</html>\n"
    )


def write_html(
    markdown: str, base: Path, title: str, path: Path, folded: Sequence[str] = ()
) -> Path:
    """Write :func:`render_html` to ``path``, whole or not at all."""
    return write_atomic(path, render_html(markdown, base, title, folded))
