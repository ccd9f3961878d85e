"""Plain text with a little Markdown (paragraphs, headings, lists, bold, italic, links) -> safe
HTML. Admins type text, not HTML: everything is escaped first, the few constructs are added
back, and nh3 cleans the result as a second line of defence."""
from __future__ import annotations

import re

import nh3
from markupsafe import Markup, escape

ALLOWED_TAGS = {"p", "br", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "a"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+|/[^\s)]*)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])")
_BULLET = re.compile(r"^\s*[-*]\s+")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+")


def _inline(text: str) -> str:
    html = str(escape(text))
    html = _LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', html)
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    return _ITALIC.sub(r"<em>\1</em>", html)


def _block(lines: list[str]) -> str:
    first = lines[0]
    heading = re.match(r"^(#{1,4})\s+(.*)$", first)
    if heading:
        # The page title is the h1, so "#" and "##" both give h2 and no heading level is skipped.
        level = max(2, len(heading.group(1)))
        html = f"<h{level}>{_inline(heading.group(2))}</h{level}>"
        return html + (_block(lines[1:]) if len(lines) > 1 else "")
    for pattern, tag in ((_BULLET, "ul"), (_NUMBERED, "ol")):
        if all(pattern.match(line) for line in lines):
            items = "".join(f"<li>{_inline(pattern.sub('', line))}</li>" for line in lines)
            return f"<{tag}>{items}</{tag}>"
    return "<p>" + "<br>".join(_inline(line.strip()) for line in lines) + "</p>"


def render_text(text: str | None) -> Markup:
    if not text:
        return Markup("")
    blocks, current = [], []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    html = "\n".join(_block(block) for block in blocks)
    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                            link_rel="noopener nofollow", url_schemes={"http", "https"}))
