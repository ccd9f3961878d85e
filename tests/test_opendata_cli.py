"""`civicnode export`, run as a subprocess against a data directory made by `civicnode init`."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from node.config import load_settings
from node.db import make_engine, make_sessionmaker
from tests.opendata_support import EMAIL_DOMAIN, populate, read_zip

BASE_URL = "https://city.example"


def civicnode(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CIVICNODE_LOG_LEVEL": "WARNING"}
    env.pop("CIVICNODE_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "node", *args], capture_output=True, timeout=120, env=env,
                          cwd=Path(__file__).resolve().parent.parent)


@pytest.fixture
def node(tmp_path, database_url):
    """An initialised node (SQLite or PostgreSQL) with the open-data test records."""
    data = tmp_path / "node"
    result = civicnode("init", "--data", str(data), "--base-url", BASE_URL, "--database-url", database_url)
    assert result.returncode == 0, result.stderr.decode()

    async def seed():
        engine = make_engine(load_settings(data).database_url)
        try:
            return await populate(make_sessionmaker(engine), BASE_URL)
        finally:
            await engine.dispose()

    return data, asyncio.run(seed())


def test_json_of_a_space_goes_to_stdout(node):
    data, records = node
    result = civicnode("export", "--data", str(data), "--space", "budget-2027", "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    export = json.loads(result.stdout)
    assert export["space"] == "budget-2027" and export["node"] == BASE_URL
    assert [s["slug"] for s in export["spaces"]] == ["budget-2027"]
    proposals = {p["id"]: p for p in export["proposals"]}
    assert proposals[records["shown"].id]["support_count"] == 2
    assert proposals[records["shown"].id]["url"] == f"{BASE_URL}/spaces/budget-2027/proposals/{records['shown'].id}"
    assert all("support_count" not in proposals[records[k].id] for k in ("few", "many", "admins"))
    assert len(export["debates"]) == 2 and len(export["comments"]) == 4
    assert EMAIL_DOMAIN.encode() not in result.stdout


def test_csv_of_the_whole_node_to_a_file(node, tmp_path):
    data, records = node
    target = tmp_path / "out" / "node.zip"
    target.parent.mkdir()
    result = civicnode("export", "--data", str(data), "--format", "csv", "--output", str(target))
    assert result.returncode == 0, result.stderr.decode()
    assert f"to {target}".encode() in result.stdout and b"proposals: 5" in result.stdout
    assert [p.name for p in target.parent.iterdir()] == ["node.zip"]  # no partial file left
    tables = read_zip(target.read_bytes())
    header, rows = tables["proposals"]
    assert header[:3] == ["id", "url", "space"] and "support_count" in header
    assert {r["space"] for r in rows} == {"budget-2027", "neighbourhoods"}
    assert {int(r["id"]): r["support_count"] for r in rows}[records["many"].id] == ""
    assert EMAIL_DOMAIN.encode() not in b"".join(
        ",".join(r.values()).encode() for _header, table in tables.values() for r in table)


def test_csv_to_a_pipe_is_a_zip(node):
    data, _records = node
    result = civicnode("export", "--data", str(data), "--space", "neighbourhoods", "--format", "csv")
    assert result.returncode == 0, result.stderr.decode()
    assert len(read_zip(result.stdout)["proposals"][1]) == 1


@pytest.mark.parametrize("args, message", [
    (("--space", "secret-space", "--format", "json"),
     "no published space has the address 'secret-space' (unpublished spaces are not exported)"),
    (("--space", "nowhere", "--format", "csv"),
     "no published space has the address 'nowhere' (unpublished spaces are not exported)"),
    (("--format", "json", "--output", "/nonexistent-dir/x.json"),
     "cannot write /nonexistent-dir/x.json: the directory /nonexistent-dir does not exist"),
])
def test_bad_requests_are_one_line_errors(node, args, message):
    data, _records = node
    result = civicnode("export", "--data", str(data), *args)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().strip() == f"civicnode: error: {message}"


def test_format_is_required_and_checked(node):
    data, _records = node
    for args in ((), ("--format", "xml")):
        result = civicnode("export", "--data", str(data), *args)
        assert result.returncode == 2 and b"--format" in result.stderr


def test_a_zip_is_not_written_to_a_terminal(node):
    import pty

    data, _records = node
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run([sys.executable, "-m", "node", "export", "--data", str(data), "--format", "csv"],
                                stdout=terminal, stderr=subprocess.PIPE, timeout=120,
                                cwd=Path(__file__).resolve().parent.parent,
                                env={**os.environ, "CIVICNODE_LOG_LEVEL": "WARNING"})
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 1
    assert b"a zip archive is not written to a terminal; give --output FILE or redirect stdout" in result.stderr
