"""Languages: the gettext catalogs are complete and sound, and pages really come out translated.

The catalog checks read node/locale/<lang>/LC_MESSAGES/messages.po the way node.i18n does. When a
check says a message is missing or untranslated, run `make messages` and translate the new
entries in the fr, es and ca catalogs (the English catalog stays empty: English is the msgid).
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import jinja2.ext
import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from node.config import LOCALES, load_settings
from node.i18n import LOCALE_DIR

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [lang for lang in LOCALES if lang != "en"]
# The keywords of `make messages` (Makefile): _(), N_() and the message of user_error(status, message).
KEYWORDS = {**DEFAULT_KEYWORDS, "_": None, "N_": None, "user_error": (2,)}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def load_catalog(lang: str):
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    assert po.is_file(), f"{po} is missing: run `make messages`"
    with po.open("rb") as handle:
        return read_po(handle, locale=lang)


def ids(message) -> tuple[str, ...]:
    return (message.id,) if isinstance(message.id, str) else tuple(message.id)


def forms(message) -> tuple[str, ...]:
    return (message.string,) if isinstance(message.string, str) else tuple(message.string)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def stray_percent(text: str) -> bool:
    """A % that is neither %(name)s nor %%: newstyle gettext %-formats every template string."""
    return "%" in re.sub(r"%\(\w+\)s|%%", "", text)


def messages_in_code() -> set[str]:
    """What `make messages` extracts from the code and templates today, read with babel.cfg."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


# -- the catalogs -------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LOCALES)
def test_catalog_parses_and_has_the_right_language(lang):
    catalog = load_catalog(lang)
    assert str(catalog.locale) == lang
    assert len([m for m in catalog if m.id]) > 100
    assert not catalog.obsolete, f"{lang}: obsolete entries left in the catalog"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_is_translated_with_the_same_placeholders(lang):
    catalog = load_catalog(lang)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        msgids = ids(message)
        expected = set().union(*(placeholders(text) for text in msgids))
        translations = forms(message)
        if message.fuzzy:
            problems.append(f"fuzzy: {msgids[0]!r}")
        if len(msgids) > 1 and len(translations) != catalog.num_plurals:
            problems.append(f"{len(translations)} plural forms instead of {catalog.num_plurals}: {msgids[0]!r}")
        for text in translations:
            if not text or not text.strip():
                problems.append(f"untranslated: {msgids[0]!r}")
            elif placeholders(text) != expected:
                problems.append(f"placeholders {sorted(placeholders(text))} instead of {sorted(expected)}: "
                                 f"{msgids[0]!r} -> {text!r}")
            elif stray_percent(text) and not any(stray_percent(m) for m in msgids):
                problems.append(f"a lone % breaks formatting (write %%): {msgids[0]!r} -> {text!r}")
    assert not problems, f"{lang}:\n" + "\n".join(problems)


def test_english_catalog_has_the_same_messages():
    english = {ids(m)[0] for m in load_catalog("en") if m.id}
    for lang in TRANSLATED:
        assert {ids(m)[0] for m in load_catalog(lang) if m.id} == english, lang


def test_catalogs_cover_every_string_in_the_code():
    """New UI strings must reach the catalogs: run `make messages`, then translate them."""
    in_code = messages_in_code()
    assert len(in_code) > 100
    for lang in LOCALES:
        in_catalog = {ids(m)[0] for m in load_catalog(lang) if m.id}
        missing = sorted(in_code - in_catalog)
        assert not missing, f"{lang}: {len(missing)} messages not in the catalog, e.g. {missing[:5]}"


def test_templates_are_extracted_as_the_running_node_reads_them(tmp_path):
    """`{% trans %}` msgids depend on trim_blocks/lstrip_blocks: extraction must match the node's
    Jinja environment, or multi-line trans blocks are looked up under another msgid."""
    from aiohttp import web

    from node.config import write_initial_config
    from node.web.render import setup_templates

    write_initial_config(tmp_path, node_name="Testville")
    settings = load_settings(tmp_path, environ={"CIVICNODE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"})
    env = setup_templates(web.Application(), settings)
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    pattern = next(p for p, method in method_map if method == "jinja2")
    templates = sorted(ROOT.glob("themes/*/templates/**/*.html"))
    assert templates
    for path in templates:
        source = path.read_text(encoding="utf-8")
        with path.open("rb") as handle:
            extracted = {m for _l, _f, m, _c in jinja2.ext.babel_extract(
                handle, KEYWORDS, [], {**options_map[pattern], "silent": "false"})}
        runtime = {m for _l, _f, m in env.extract_translations(source)}
        assert extracted == runtime, f"{path.relative_to(ROOT)}: extraction differs from the node's reading"


# -- pages over HTTP ----------------------------------------------------------------------------

# A few strings of each page, per language, as the visitor reads them (HTML entities decoded).
HOME = {
    "fr": ["Aller au contenu principal", "Se connecter", "S'inscrire", "Espaces participatifs",
           "Il n'y a pas encore d'espace ouvert.", "logiciel libre de participation citoyenne"],
    "es": ["Ir al contenido principal", "Iniciar sesión", "Registrarse", "Espacios participativos",
           "Todavía no hay espacios abiertos.", "software libre para la participación ciudadana"],
    "ca": ["Anar al contingut principal", "Iniciar la sessió", "Registrar-se", "Espais participatius",
           "Encara no hi ha espais oberts.", "programari lliure per a la participació ciutadana"],
}
LOGIN = {
    "fr": ["Nom d'utilisateur ou adresse e-mail", "Mot de passe", "Mot de passe oublié\u00a0?", "Créer un compte"],
    "es": ["Nombre de usuario o correo electrónico", "Contraseña", "¿Ha olvidado su contraseña?", "Crear una cuenta"],
    "ca": ["Nom d'usuari o adreça electrònica", "Contrasenya", "Ha oblidat la contrasenya?", "Crear un compte"],
}
NOT_FOUND = {
    "fr": ["Page introuvable", "L'adresse est peut-être mal saisie", "Retour à la page d'accueil", "Code d'erreur"],
    "es": ["Página no encontrada", "Puede que la dirección esté mal escrita", "Volver a la página de inicio",
           "Código de error"],
    "ca": ["No s'ha trobat la pàgina", "Potser l'adreça està mal escrita", "Tornar a la pàgina d'inici", "Codi d'error"],
}
ENGLISH = {"/": "Skip to main content", "/login": "Forgot your password?", "/no-such-page": "Back to the home page"}


def shown(page) -> str:
    return html.unescape(page.text)


def assert_in(page, fragments, lang):
    text = shown(page)
    missing = [fragment for fragment in fragments if fragment not in text]
    assert not missing, f"{lang} page {page.url} lacks {missing}"
    assert f'<html lang="{lang}">' in page.text


@pytest.mark.parametrize("lang", TRANSLATED)
async def test_pages_are_translated_from_the_browser_language(web, lang):
    home = await web.get("/", headers={"Accept-Language": f"{lang}-XX,{lang};q=0.9"})
    assert home.status == 200 and home.headers["Content-Language"] == lang
    assert_in(home, HOME[lang], lang)
    login = await web.get("/login", headers={"Accept-Language": lang})
    assert login.status == 200
    assert_in(login, LOGIN[lang], lang)
    missing = await web.get("/no-such-page", headers={"Accept-Language": lang})
    assert missing.status == 404
    assert_in(missing, NOT_FOUND[lang], lang)
    for path, english in ENGLISH.items():
        page = await web.get(path, headers={"Accept-Language": lang})
        assert english not in shown(page), f"{lang} {path} still shows {english!r}"


async def test_english_pages_show_the_msgids(web):
    for path, english in ENGLISH.items():
        page = await web.get(path, headers={"Accept-Language": "en"})
        assert english in shown(page) and '<html lang="en">' in page.text


async def test_error_messages_are_translated_in_json_too(web):
    api = await web.get("/no-such-page", headers={"Accept": "application/json", "Accept-Language": "es"})
    assert api.status == 404
    assert "Página no encontrada" in api.text or "P\\u00e1gina no encontrada" in api.text


async def test_language_switch_changes_the_pages(web):
    page = await web.post("/locale", {"locale": "fr", "next": "/login"})
    assert page.status == 200 and page.url.endswith("/login")
    assert_in(page, LOGIN["fr"], "fr")
    # The choice is remembered, and beats the browser's language.
    home = await web.get("/", headers={"Accept-Language": "en"})
    assert_in(home, HOME["fr"], "fr")
    page = await web.post("/locale", {"locale": "ca", "next": "/"}, headers={"Accept-Language": "fr"})
    assert_in(page, HOME["ca"], "ca")
    missing = await web.get("/no-such-page")
    assert_in(missing, NOT_FOUND["ca"], "ca")
    page = await web.post("/locale", {"locale": "es", "next": "/no-such-page"})
    assert page.status == 404
    assert_in(page, NOT_FOUND["es"], "es")
    page = await web.post("/locale", {"locale": "en", "next": "/"})
    assert "Skip to main content" in shown(page) and '<html lang="en">' in page.text


async def test_refused_language_choice_is_explained_in_the_visitors_language(web):
    await web.post("/locale", {"locale": "ca", "next": "/"})
    page = await web.post("/locale", {"locale": "xx", "next": "/"}, allow_redirects=False)
    assert page.status == 400
    assert "Triï un dels idiomes disponibles." in shown(page)
