"""Text folding, the query language and result snippets, the same on both database engines.

The query language is PostgreSQL's ``websearch_to_tsquery``: words (all must match),
"quoted phrases", ``-word`` to exclude, ``OR`` between alternatives. Anything else (``*``,
``NEAR``, parentheses, ``:``…) is ordinary text, so no input can reach FTS5's own syntax.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 32
# Letters and digits only: FTS5's unicode61 tokenizer and PostgreSQL's parser both split on
# everything else (underscore included), so a word here is a word to both.
WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


class QueryTooLong(ValueError):
    pass


def fold(text: str) -> str:
    """Lower case without accents: "Vélo" and "VELO" both become "velo"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    return WORD.findall(fold(text))


@dataclass
class Query:
    # All groups must match; a group matches when any of its phrases does (OR).
    groups: list[list[tuple[str, ...]]] = field(default_factory=list)
    excluded: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        # Only exclusions would list the whole node: treated as no query at all.
        return not self.groups

    def terms(self) -> set[str]:
        return {word for group in self.groups for phrase in group for word in phrase}

    def fts5(self) -> str:
        """An FTS5 MATCH expression: every phrase is quoted and holds letters and digits only."""
        def phrase(p: tuple[str, ...]) -> str:
            return '"' + " ".join(p) + '"'
        expr = " AND ".join("(" + " OR ".join(phrase(p) for p in group) + ")" for group in self.groups)
        for p in self.excluded:
            expr = f"({expr}) NOT {phrase(p)}"
        return expr

    def websearch(self) -> str:
        """The same query rebuilt for websearch_to_tsquery from folded words only."""
        def phrase(p: tuple[str, ...]) -> str:
            return '"' + " ".join(p) + '"'
        parts = [" OR ".join(phrase(p) for p in group) for group in self.groups]
        parts += ["-" + phrase(p) for p in self.excluded]
        return " ".join(parts)


def parse_query(raw: str) -> Query:
    if len(raw) > MAX_QUERY_CHARS:
        raise QueryTooLong(raw)
    query, or_pending, count = Query(), False, 0
    for match in _TOKEN.finditer(raw):
        negated, quoted, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None and bare.upper() == "OR":
            or_pending = bool(query.groups)
            continue
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            negated, bare = "-", bare[1:]
        phrase = tuple(words(quoted if quoted is not None else bare))
        if not phrase:
            continue
        count += len(phrase)
        if count > MAX_QUERY_WORDS:
            raise QueryTooLong(raw)
        if negated:
            query.excluded.append(phrase)
        elif or_pending:
            query.groups[-1].append(phrase)
        else:
            query.groups.append([phrase])
        or_pending = False
    return query


def highlight(text: str, terms: set[str]) -> list[tuple[str, bool]]:
    """`text` cut into (part, is_match) pieces; templates escape each part (no markup built here)."""
    pieces, last = [], 0
    for match in WORD.finditer(text):
        if fold(match.group()) in terms:
            if match.start() > last:
                pieces.append((text[last:match.start()], False))
            pieces.append((match.group(), True))
            last = match.end()
    if last < len(text):
        pieces.append((text[last:], False))
    return pieces


def snippet(text: str, terms: set[str], width: int = 240) -> list[tuple[str, bool]]:
    """About `width` characters of `text` around its first match, highlighted."""
    text = " ".join(text.split())
    first = next((m.start() for m in WORD.finditer(text) if fold(m.group()) in terms), 0)
    start = max(0, first - width // 3)
    if start:
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > first else end
    pieces = highlight(text[start:end], terms)
    if start:
        pieces.insert(0, ("… ", False))
    if end < len(text):
        pieces.append((" …", False))
    return pieces


def best_text(translated: dict, locale: str, terms: set[str]) -> str:
    """The reader's language when it matches, else the first language that does."""
    from node.i18n import pick

    preferred = pick(translated, locale)
    if any(fold(w) in terms for w in WORD.findall(preferred)):
        return preferred
    for value in translated.values():
        if value and any(fold(w) in terms for w in WORD.findall(value)):
            return value
    return preferred
