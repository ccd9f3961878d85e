"""`civicnode createadmin`: the first administrator of a node, from the command line."""
from __future__ import annotations

import io
import sqlite3

import pytest

from node.accounts.passwords import verify_password
from node.cli import main

PASSWORD = "an admin passphrase"


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "node"
    assert main(["init", "--data", str(path)]) == 0
    return path


def createadmin(monkeypatch, data, *, username="root_admin", email="admin@example.org",
                password=PASSWORD) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(["createadmin", "--data", str(data), "--username", username, "--email", email,
                 "--password-stdin"])


def users(data):
    with sqlite3.connect(data / "civicnode.db") as conn:
        return conn.execute("SELECT username, email, role, password_hash FROM users").fetchall()


def test_createadmin_creates_an_administrator(data, monkeypatch, capsys):
    assert createadmin(monkeypatch, data, username="Mayor") == 0
    assert "Administrator mayor created." in capsys.readouterr().out
    [(username, email, role, password_hash)] = users(data)
    assert (username, email, role) == ("mayor", "admin@example.org", "admin")
    assert verify_password(password_hash, PASSWORD)


@pytest.mark.parametrize("kwargs, expected", [
    ({"email": "not-an-email"}, "email: Enter an email address like name@example.org."),
    ({"password": "short"}, "password: Use at least 10 characters"),
    ({"username": "No Spaces"}, "username: Use 3 to 30 lower-case letters"),
])
def test_createadmin_bad_input_is_a_one_line_error(data, monkeypatch, capsys, kwargs, expected):
    assert createadmin(monkeypatch, data, **kwargs) == 1
    err = capsys.readouterr().err
    assert err.startswith("civicnode: error: ") and expected in err
    assert err.count("\n") == 1
    assert users(data) == []


def test_createadmin_refuses_a_taken_name(data, monkeypatch, capsys):
    assert createadmin(monkeypatch, data) == 0
    assert createadmin(monkeypatch, data, email="other@example.org") == 1
    assert "already taken" in capsys.readouterr().err
    assert len(users(data)) == 1


def test_createadmin_needs_an_initialised_data_dir(tmp_path, monkeypatch, capsys):
    assert createadmin(monkeypatch, tmp_path / "missing") == 1
    assert "civicnode init" in capsys.readouterr().err
