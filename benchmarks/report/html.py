"""``report.html``: the Markdown report as one self-contained HTML file.

The Markdown report is the single source; this module renders the subset of Markdown it uses
(headings, paragraphs, pipe tables, lists, fenced code, images, inline code, bold, italic,
links) and embeds every image as a base64 PNG, so the file opens anywhere with no network and
no folder next to it. Heading ids follow GitHub's rule, so the same ``#anchor`` links work in
both renderings.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

_IMAGE_LINE = re.compile(r"^!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)\)\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^(\s*)([-*]|\d+\.)\s+(.*)$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")

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
"""


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


def inline(text: str) -> str:
    """Render inline Markdown (code, links, bold, italic) of one line to HTML."""
    codes: list[str] = []

    def keep_code(m: re.Match[str]) -> str:
        codes.append(f"<code>{html.escape(m.group(1))}</code>")
        return f"\x00{len(codes) - 1}\x00"

    text = re.sub(r"`([^`]+)`", keep_code, text)
    text = html.escape(text, quote=False).replace("\\|", "|")
    text = re.sub(
        r"\[([^\]]+)\]\(([^)\s]+)\)",
        lambda m: f'<a href="{html.escape(m.group(2))}">{m.group(1)}</a>',
        text,
    )
    text = re.sub(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])", r"<em>\1</em>", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: codes[int(m.group(1))], text)


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [c.strip() for c in _CELL_SPLIT.split(body)]


def markdown_to_html(markdown: str, base: Path) -> str:
    """Render the report's Markdown to an HTML body fragment; images come from ``base``."""
    lines = markdown.splitlines()
    out: list[str] = []
    used: dict[str, int] = {}
    para: list[str] = []
    i = 0

    def flush() -> None:
        if para:
            out.append("<p>" + inline(" ".join(s.strip() for s in para)) + "</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        if not line.strip():
            flush()
            i += 1
            continue
        if line.startswith("```"):
            flush()
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append("<pre><code>" + html.escape("\n".join(lines[i + 1 : j])) + "</code></pre>")
            i = j + 1
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            level, text = len(heading.group(1)), heading.group(2)
            out.append(f'<h{level} id="{github_slug(text, used)}">{inline(text)}</h{level}>')
            i += 1
            continue
        image = _IMAGE_LINE.match(line.strip())
        if image:
            flush()
            src = _image_src(image.group("src"), base)
            alt = html.escape(image.group("alt"))
            if src:
                out.append(
                    f'<figure><img src="{src}" alt="{alt}"><figcaption>{alt}</figcaption></figure>'
                )
            else:
                out.append(f"<p><em>missing figure: {html.escape(image.group('src'))}</em></p>")
            i += 1
            continue
        if line.lstrip().startswith("|") and i + 1 < len(lines) and _SEPARATOR.match(lines[i + 1]):
            flush()
            head = _cells(line)
            rows: list[list[str]] = []
            j = i + 2
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                rows.append(_cells(lines[j]))
                j += 1
            out.append(
                "<table><thead><tr>"
                + "".join(f"<th>{inline(c)}</th>" for c in head)
                + "</tr></thead><tbody>"
            )
            for row in rows:
                out.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>")
            out.append("</tbody></table>")
            i = j
            continue
        item = _ITEM.match(line)
        if item and not para:
            ordered = item.group(2)[0].isdigit()
            tag = "ol" if ordered else "ul"
            items: list[str] = []
            j = i
            while j < len(lines) and lines[j].strip():
                m = _ITEM.match(lines[j])
                if m and (m.group(2)[0].isdigit()) == ordered and not m.group(1):
                    items.append(m.group(3))
                elif items:
                    items[-1] += " " + lines[j].strip()  # continuation or nested: fold in
                else:
                    break
                j += 1
            out.append(f"<{tag}>" + "".join(f"<li>{inline(t)}</li>" for t in items) + f"</{tag}>")
            i = j
            continue
        para.append(line)
        i += 1
    flush()
    return "\n".join(out)


def render_html(markdown: str, base: Path, title: str) -> str:
    """A complete, self-contained HTML document for the Markdown report."""
    body = markdown_to_html(markdown, base)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )


def write_html(markdown: str, base: Path, title: str, path: Path) -> Path:
    """Write :func:`render_html` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(markdown, base, title), encoding="utf-8")
    return path
