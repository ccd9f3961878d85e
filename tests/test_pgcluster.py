"""The throwaway PostgreSQL cluster helper itself (tests/pgcluster.py).

Needs PostgreSQL installed (scripts/test-setup); without it these tests fail loudly, on purpose.
"""

import os
import socket

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.pgcluster import find_pg_bindir, throwaway_cluster


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _port_closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


async def _scalar(url: str, sql: str):
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar()
    finally:
        await engine.dispose()


async def test_databases_are_isolated_and_cluster_is_torn_down():
    with throwaway_cluster() as pg:
        assert pg.url.startswith("postgresql+asyncpg://")
        assert pg.host == "127.0.0.1"
        assert await _scalar(pg.url, "SELECT current_database()") == pg.database
        assert await _scalar(pg.url, "SHOW server_encoding") == "UTF8"
        assert await _scalar(pg.url, "SHOW listen_addresses") == "127.0.0.1"
        assert await _scalar(pg.url, "SHOW fsync") == "off"

        url_a = pg.new_database("alpha")
        url_b = pg.new_database("beta")

        engine_a = create_async_engine(url_a)
        try:
            async with engine_a.begin() as conn:
                await conn.execute(text("CREATE TABLE item (id int PRIMARY KEY, name text)"))
                await conn.execute(text("INSERT INTO item VALUES (1, 'only in alpha')"))
            async with engine_a.connect() as conn:
                assert (await conn.execute(text("SELECT count(*) FROM item"))).scalar() == 1
        finally:
            await engine_a.dispose()

        user_tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        assert await _scalar(url_b, user_tables) == 0
        assert await _scalar(pg.url, user_tables) == 0

        # Cloning a prepared database is the cheap way to a fresh copy per test.
        url_c = pg.new_database("gamma", template="alpha")
        assert await _scalar(url_c, "SELECT name FROM item") == "only in alpha"

        pid, port, tmpdir = pg.pid, pg.port, pg.tmpdir
        assert pid is not None and os.path.isdir(pg.datadir)
        if os.geteuid() == 0:
            assert os.stat(tmpdir).st_uid != 0  # server must not run as root

    assert _process_gone(pid)
    assert _port_closed(port)
    assert not os.path.exists(tmpdir)


async def test_teardown_happens_when_the_body_raises():
    with pytest.raises(ZeroDivisionError):
        with throwaway_cluster() as pg:
            pid, port, tmpdir = pg.pid, pg.port, pg.tmpdir
            assert await _scalar(pg.url, "SELECT 1") == 1
            1 / 0
    assert _process_gone(pid)
    assert _port_closed(port)
    assert not os.path.exists(tmpdir)


def test_missing_postgres_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="Install PostgreSQL.*scripts/test-setup"):
        find_pg_bindir(path=str(tmp_path), lib_glob=str(tmp_path / "*" / "bin"))


def test_newest_installed_version_wins(tmp_path):
    for version in ("9.6", "15", "13"):
        bindir = tmp_path / version / "bin"
        bindir.mkdir(parents=True)
        for name in ("initdb", "pg_ctl", "postgres"):
            (bindir / name).touch(mode=0o755)
    found = find_pg_bindir(path=str(tmp_path / "empty"), lib_glob=str(tmp_path / "*" / "bin"))
    assert found == str(tmp_path / "15" / "bin")
