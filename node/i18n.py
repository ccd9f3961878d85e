"""Languages: gettext catalogs (Babel) for UI strings, language negotiation, translated fields.

Catalogs are read from node/locale/<lang>/LC_MESSAGES/messages.po and compiled at start-up, so
a checkout runs without a separate compile step and a translator's edit to a .po file shows on
the next restart.  The compiled catalogue is kept in the node's cache directory under the .po
file's hash: parsing four .po files costs a serve process about a megabyte it never gives back
(the idle-memory goal), so only the first start after a change pays it.
"""
from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from pathlib import Path

from babel.support import NullTranslations, Translations

from node.config import LOCALES

def N_(message: str) -> str:
    """Marks a message for extraction (`make messages`); it is translated where it is shown."""
    return message


LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGE_NAMES = {"fr": "Français", "en": "English", "es": "Español", "ca": "Català"}


def _compile(po_bytes: bytes, lang: str) -> bytes:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    buffer = io.BytesIO()
    write_mo(buffer, read_po(io.BytesIO(po_bytes), locale=lang))
    return buffer.getvalue()


def _compiled(po: Path, lang: str, cache_dir: Path | None) -> bytes:
    po_bytes = po.read_bytes()
    if cache_dir is None:
        return _compile(po_bytes, lang)
    cached = cache_dir / f"messages-{lang}-{hashlib.sha256(po_bytes).hexdigest()[:20]}.mo"
    try:
        return cached.read_bytes()
    except OSError:
        pass
    mo = _compile(po_bytes, lang)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for old in cache_dir.glob(f"messages-{lang}-*.mo"):
            old.unlink(missing_ok=True)
        partial = cached.with_suffix(".partial")
        partial.write_bytes(mo)
        partial.replace(cached)  # atomic: a concurrent start never reads half a file
    except OSError:
        pass  # a read-only data directory: compile at every start, as without a cache
    return mo


class Catalogs(Mapping):
    """The catalogue of each language, read on first use: a node whose visitors all read one
    language does not hold the other three in memory (about 0.4 MB each).  The compiled files
    are made at start-up, so a broken .po file still stops the start, not a visitor's page."""

    def __init__(self, locale_dir: Path = LOCALE_DIR, cache_dir: Path | None = None):
        self._locale_dir, self._cache_dir = locale_dir, cache_dir
        self._loaded: dict[str, NullTranslations] = {}
        if cache_dir is not None:
            for lang in LOCALES:
                self._mo(lang)

    def _mo(self, lang: str) -> bytes | None:
        po = self._locale_dir / lang / "LC_MESSAGES" / "messages.po"
        return _compiled(po, lang, self._cache_dir) if po.is_file() else None

    def __getitem__(self, lang: str) -> NullTranslations:
        found = self._loaded.get(lang)
        if found is None:
            if lang not in LOCALES:
                raise KeyError(lang)
            mo = self._mo(lang)
            found = self._loaded[lang] = NullTranslations() if mo is None else Translations(fp=io.BytesIO(mo))
        return found

    def __iter__(self):
        return iter(LOCALES)

    def __len__(self) -> int:
        return len(LOCALES)


def load_catalogs(locale_dir: Path = LOCALE_DIR, cache_dir: Path | None = None) -> Catalogs:
    return Catalogs(locale_dir, cache_dir)


def parse_accept_language(header: str | None) -> list[str]:
    """Primary language tags from an Accept-Language header, best first ("fr-CA" -> "fr")."""
    if not header:
        return []
    weighted = []
    for index, part in enumerate(header.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag.split("-")[0]))
    return [tag for _q, _i, tag in sorted(weighted)]


def negotiate(user_choice: str | None, cookie_choice: str | None, accept_language: str | None,
              default: str) -> str:
    """User setting, then the visitor's explicit choice, then the browser's, then the node's."""
    for candidate in (user_choice, cookie_choice, *parse_accept_language(accept_language)):
        if candidate in LOCALES:
            return candidate
    return default


def pick(translated: dict | None, locale: str, default: str = "en") -> str:
    """The text of a translatable field in the wanted language, falling back sensibly."""
    if not translated:
        return ""
    for lang in (locale, default, *LOCALES):
        text = translated.get(lang)
        if text:
            return text
    return next((text for text in translated.values() if text), "")
