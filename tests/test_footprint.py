"""What `civicnode serve` loads at start-up: the heavy libraries only some requests need stay
out of memory until then (the idle-RSS goal is measured by `make bench`, this guards its cause)."""
import subprocess
import sys

PROBE = """
import sys
from node.app import create_app
from node.config import Settings, finish
from pathlib import Path
app = create_app(finish(Settings(data_dir=Path('.'), secret_key='x',
                                 database_url='sqlite+aiosqlite:///:memory:')), check_schema=False)
heavy = ('alembic', 'mako', 'cryptography', 'nacl', 'httpsig', 'Crypto', 'asyncpg')
print(' '.join(sorted(name for name in heavy if name in sys.modules)))
"""


def test_serving_does_not_load_migration_or_key_libraries():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"loaded at start-up: {result.stdout.strip()}"
