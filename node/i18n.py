"""Languages: gettext catalogs (Babel) for UI strings, language negotiation, translated fields.

Catalogs are read from node/locale/<lang>/LC_MESSAGES/messages.po and compiled in memory at
start-up, so a checkout runs without a separate compile step and a translator's edit to a .po
file shows on the next restart.
"""
from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from node.config import LOCALES

def N_(message: str) -> str:
    """Marks a message for extraction (`make messages`); it is translated where it is shown."""
    return message


LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGE_NAMES = {"fr": "Français", "en": "English", "es": "Español", "ca": "Català"}


def load_catalogs(locale_dir: Path = LOCALE_DIR) -> dict[str, NullTranslations]:
    catalogs: dict[str, NullTranslations] = {}
    for lang in LOCALES:
        po = locale_dir / lang / "LC_MESSAGES" / "messages.po"
        if not po.is_file():
            catalogs[lang] = NullTranslations()
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        catalogs[lang] = Translations(fp=buffer)
    return catalogs


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
