"""The `civicnode` command: init, migrate, serve and their one-line errors."""
from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from node.cli import main
from node.db.schema import head_revision

CIVICNODE = [sys.executable, "-m", "node"]


def run_cli(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "CIVICNODE_LOG_LEVEL": "WARNING"}
    return subprocess.run([*CIVICNODE, *args], capture_output=True, text=True, input=stdin,
                          timeout=timeout, env=env, cwd=Path(__file__).resolve().parent.parent)


@pytest.fixture
def node_dir(tmp_path):
    data = tmp_path / "node"
    assert main(["init", "--data", str(data), "--node-name", "Clitown"]) == 0
    return data


def test_help_for_every_command():
    for command in ("init", "migrate", "serve", "createadmin", "demo"):
        result = run_cli(command, "--help")
        assert result.returncode == 0, result.stderr
        assert "--data" in result.stdout


def test_init_creates_config_database_and_node_keys(node_dir):
    config = (node_dir / "civicnode.toml").read_text()
    assert 'node_name = "Clitown"' in config and "secret_key" in config
    assert oct((node_dir / "civicnode.toml").stat().st_mode)[-3:] == "600"
    with sqlite3.connect(node_dir / "civicnode.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head_revision()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        owner, public_pem, multibase = conn.execute(
            "SELECT owner_type, rsa_public_pem, ed25519_public_multibase FROM actor_keys").fetchone()
    assert owner == "node" and public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert multibase.startswith("z6Mk")


def test_init_refuses_to_overwrite(node_dir, capsys):
    assert main(["init", "--data", str(node_dir)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_missing_data_dir_is_a_one_line_error(tmp_path):
    result = run_cli("serve", "--data", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "does not exist" in result.stderr and "civicnode init" in result.stderr


def test_environment_overrides_the_config_file(node_dir):
    from node.config import load_settings

    settings = load_settings(node_dir, environ={"CIVICNODE_NODE_NAME": "Envtown",
                                                "CIVICNODE_REGISTRATION_OPEN": "false"})
    assert settings.node_name == "Envtown" and settings.registration_open is False
    from node.config import ConfigError

    with pytest.raises(ConfigError, match="LOGIN_MAX_FAILURES must be a whole number"):
        load_settings(node_dir, environ={"CIVICNODE_LOGIN_MAX_FAILURES": "many"})
    with pytest.raises(ConfigError, match="federation_mode must be open or allowlist"):
        load_settings(node_dir, environ={"CIVICNODE_FEDERATION_MODE": "closed"})


def test_occupied_port_is_a_one_line_error(node_dir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("serve", "--data", str(node_dir), "--port", str(port))
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr


def _set_schema_revision(data: Path, revision: str) -> None:
    with sqlite3.connect(data / "civicnode.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def test_database_newer_than_the_code_is_refused(node_dir):
    _set_schema_revision(node_dir, "ffff_from_the_future")
    result = run_cli("serve", "--data", str(node_dir), "--port", "0")
    assert result.returncode == 1
    assert "newer than this civicnode" in result.stderr
    migrate = run_cli("migrate", "--data", str(node_dir))
    assert migrate.returncode == 1 and "newer than this civicnode" in migrate.stderr


def test_database_older_than_the_code_asks_for_migrate(node_dir):
    with sqlite3.connect(node_dir / "civicnode.db") as conn:
        conn.execute("DELETE FROM alembic_version")
    result = run_cli("serve", "--data", str(node_dir), "--port", "0")
    assert result.returncode == 1
    assert "civicnode migrate" in result.stderr


async def test_serve_answers_then_stops_on_sigterm(node_dir):
    process = await asyncio.create_subprocess_exec(
        *CIVICNODE, "serve", "--data", str(node_dir), "--port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "CIVICNODE_LOG_LEVEL": "WARNING"})
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert "is serving at http://127.0.0.1:" in line, line
        url = line.rsplit(" ", 1)[1].strip()
        async with aiohttp.ClientSession() as client:
            async with client.get(url + "/healthz") as response:
                assert response.status == 200
            async with client.get(url + "/") as response:
                assert "Clitown" in await response.text()
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_migrate_is_idempotent(node_dir):
    first = run_cli("migrate", "--data", str(node_dir))
    second = run_cli("migrate", "--data", str(node_dir))
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert f"Database schema at {head_revision()}" in second.stdout
    with sqlite3.connect(node_dir / "civicnode.db") as conn:
        assert conn.execute("SELECT count(*) FROM actor_keys").fetchone()[0] == 1
