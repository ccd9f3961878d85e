"""Text people type -> safe HTML: Markdown (CommonMark via markdown-it-py) with raw HTML off,
then nh3 as a second line of defence. Everything user-written is shown through `render_text`.
"""
from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {"p", "br", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "a", "blockquote",
                "code", "pre", "hr"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


def _make_parser() -> MarkdownIt:
    # "js-default" is CommonMark without raw HTML; tables and images stay off on purpose (an
    # image would load a third-party URL in every reader's browser).
    parser = MarkdownIt("js-default", {"linkify": False, "typographer": False})
    parser.disable(["image", "table"])

    # The page title is the only h1: "#" and "##" both give h2, so no level is skipped.
    def level(token) -> int:
        return min(4, max(2, int(token.tag[1])))

    def heading_open(renderer, tokens, idx, options, env):
        return f"<h{level(tokens[idx])}>"

    def heading_close(renderer, tokens, idx, options, env):
        return f"</h{level(tokens[idx])}>\n"

    parser.add_render_rule("heading_open", heading_open)
    parser.add_render_rule("heading_close", heading_close)
    return parser


_PARSER = _make_parser()


def render_text(text: str | None, *, user_content: bool = True) -> Markup:
    """Markdown to sanitised HTML. Links in user content get rel="nofollow ugc" so that spam
    links gain nothing from being posted here."""
    if not text:
        return Markup("")
    return _render(text, user_content)


# A page shows the same texts to every reader, and rendering is pure: keep the HTML of recent
# texts, keyed by the text itself (an edit is a new key, never stale HTML).
@lru_cache(maxsize=512)
def _render(text: str, user_content: bool) -> Markup:
    html = _PARSER.render(text)
    rel = "nofollow ugc noopener" if user_content else "noopener"
    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                            link_rel=rel, url_schemes=URL_SCHEMES))
