"""What `civicnode serve` loads at start-up: the heavy libraries only some requests need stay
out of memory until then (the idle-RSS goal is measured by `make bench`, this guards its cause)."""
import subprocess
import sys

PROBE = """
import sys
from node.app import create_app
from node.config import Settings, finish
from pathlib import Path
app = create_app(finish(Settings(data_dir=Path(sys.argv[1]), secret_key='x',
                                 database_url='sqlite+aiosqlite:///:memory:')), check_schema=False)
heavy = ('alembic', 'mako', 'cryptography', 'nacl', 'httpsig', 'Crypto', 'asyncpg', 'argon2',
         'babel.messages.pofile', 'node.activitypub.mirror', 'node.components.proposals.publish',
         'smtplib', 'node.admin.spaces', 'node.moderation.views', 'node.search.views',
         'node.verification.admin_views', 'node.permissions.admin')
print(' '.join(sorted(name for name in heavy if name in sys.modules)))
"""


def start(data_dir) -> str:
    result = subprocess.run([sys.executable, "-c", PROBE, str(data_dir)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_serving_does_not_load_migration_or_key_libraries(tmp_path):
    # The first start compiles the translation catalogues (and caches them in the data directory).
    assert start(tmp_path) == "babel.messages.pofile"
    assert sorted(p.name.split("-")[1] for p in (tmp_path / "cache").glob("messages-*.mo")) == ["ca", "en", "es", "fr"]
    assert start(tmp_path) == "", "loaded at start-up"


def test_a_changed_catalogue_is_compiled_again(tmp_path):
    from node.i18n import LOCALE_DIR, load_catalogs

    locales = tmp_path / "locale"
    for lang in ("fr",):
        (locales / lang / "LC_MESSAGES").mkdir(parents=True)
        po = (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").read_text()
        (locales / lang / "LC_MESSAGES" / "messages.po").write_text(po)
    cache = tmp_path / "cache"
    assert load_catalogs(locales, cache)["fr"].gettext("Log in") == "Se connecter"
    po_file = locales / "fr" / "LC_MESSAGES" / "messages.po"
    po_file.write_text(po_file.read_text().replace('msgstr "Se connecter"', 'msgstr "Connexion"', 1))
    assert load_catalogs(locales, cache)["fr"].gettext("Log in") == "Connexion"
    assert len(list(cache.glob("messages-fr-*.mo"))) == 1  # the outdated one is gone
