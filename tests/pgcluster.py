"""Throwaway PostgreSQL clusters for the test suite.

    with throwaway_cluster() as pg:
        pg.url                       # postgresql+asyncpg://postgres@127.0.0.1:PORT/civicnode_test
        pg.new_database("other")     # CREATE DATABASE, returns its SQLAlchemy URL
        pg.new_database("copy", template="other")   # cheap clone of a prepared database

The cluster is initdb'ed into a fresh temporary directory, listens only on 127.0.0.1 (on a
port the OS picked) and on a unix socket inside that directory, trusts loopback connections
only, and runs with fsync off. On exit it is stopped (``pg_ctl stop -m immediate``) and the
directory removed, also when the body raised.

PostgreSQL refuses to run as root: when we are root the server processes run as the
``postgres`` system user if there is one, else as ``nobody``.

No PostgreSQL installed -> RuntimeError (``scripts/test-setup`` installs it); whether that
means skip or fail is the caller's decision.

``python tests/pgcluster.py`` starts a cluster, prints its URL and ``SELECT version()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

SUPERUSER = "postgres"
DEFAULT_DATABASE = "civicnode_test"

_SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
_PORT_ATTEMPTS = 3
_READY_ATTEMPTS = 200  # with the waits below: at most ~35 s on a very slow machine
_READY_WAIT_MAX = 0.2
_BIND_FAILURE = re.compile(
    r"could not bind|address already in use|could not create any TCP/IP sockets", re.I
)
# Settings that only make sense for disposable test data.
_SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "logging_collector": "off",
}
_PG_HBA = """\
# throwaway test cluster: trust, loopback only
local   all             all                                     trust
host    all             all             127.0.0.1/32            trust
local   replication     all                                     trust
host    replication     all             127.0.0.1/32            trust
"""


# ---------------------------------------------------------------------------------------------
# Locating binaries and choosing the OS user


def find_pg_bindir(
    path: str | None = None, lib_glob: str = "/usr/lib/postgresql/*/bin"
) -> str:
    """Directory holding initdb, pg_ctl and postgres.

    PATH first (all three must be there and in one directory), else the newest
    ``/usr/lib/postgresql/<version>/bin``. Raises RuntimeError when there is none.
    """
    found = [shutil.which(name, path=path) for name in _SERVER_BINARIES]
    if all(found):
        dirs = {os.path.dirname(os.path.realpath(p)) for p in found}  # type: ignore[arg-type]
        if len(dirs) == 1:
            return dirs.pop()
        # e.g. initdb symlinked into /usr/bin but postgres elsewhere: trust initdb's real dir.
        real_initdb_dir = os.path.dirname(os.path.realpath(found[0]))  # type: ignore[arg-type]
        if _has_server_binaries(real_initdb_dir):
            return real_initdb_dir

    def version_key(bindir: str) -> tuple[int, ...]:
        version = os.path.basename(os.path.dirname(bindir))
        return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)

    candidates = [d for d in glob.glob(lib_glob) if _has_server_binaries(d)]
    if candidates:
        return max(candidates, key=version_key)
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH nor in "
        f"{lib_glob}. Install PostgreSQL: run scripts/test-setup (uses apt-get), or e.g. "
        "`apt-get install postgresql`."
    )


def _has_server_binaries(bindir: str) -> bool:
    return all(os.access(os.path.join(bindir, name), os.X_OK) for name in _SERVER_BINARIES)


@dataclass(frozen=True)
class _RunAs:
    """Keyword arguments for subprocess: empty when not root, else drop to an unprivileged user."""

    uid: int | None = None
    gid: int | None = None
    name: str = ""

    @classmethod
    def choose(cls) -> _RunAs:
        if os.geteuid() != 0:
            return cls(name=pwd.getpwuid(os.geteuid()).pw_name)
        for name in ("postgres", "nobody"):
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                continue
            return cls(uid=entry.pw_uid, gid=entry.pw_gid, name=name)
        raise RuntimeError(
            "running as root, and PostgreSQL refuses to run as root: "
            "need a 'postgres' or 'nobody' system user to run the test cluster as"
        )

    @property
    def popen_kwargs(self) -> dict:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def chown(self, path: str) -> None:
        if self.uid is not None:
            os.chown(path, self.uid, self.gid)  # type: ignore[arg-type]


def _make_tempdir(run_as: _RunAs) -> str:
    parent = tempfile.gettempdir()
    # The unprivileged server user must be able to reach the directory, and the unix socket
    # path must stay below the ~107 byte limit: fall back to /tmp when either fails.
    if (run_as.uid is not None and not _searchable_by_others(parent)) or len(parent) > 60:
        parent = "/tmp"
    tmp = tempfile.mkdtemp(prefix="civicnode-pg-", dir=parent)
    run_as.chown(tmp)
    return tmp


def _searchable_by_others(path: str) -> bool:
    path = os.path.realpath(path)
    while True:
        if not os.stat(path).st_mode & stat.S_IXOTH:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _quote_ident(name: str) -> str:
    if not name or "\x00" in name:
        raise ValueError(f"invalid database name: {name!r}")
    return '"' + name.replace('"', '""') + '"'


# ---------------------------------------------------------------------------------------------
# The cluster


@dataclass
class Cluster:
    bindir: str
    tmpdir: str
    run_as: _RunAs
    host: str = "127.0.0.1"
    port: int = 0
    database: str = DEFAULT_DATABASE
    user: str = SUPERUSER
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def datadir(self) -> str:
        return os.path.join(self.tmpdir, "data")

    @property
    def socket_dir(self) -> str:
        return os.path.join(self.tmpdir, "sock")

    @property
    def logfile(self) -> str:
        return os.path.join(self.tmpdir, "postgres.log")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def url(self) -> str:
        """SQLAlchemy URL (asyncpg driver) of the cluster's initial database."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{database}"

    def dsn_for(self, database: str) -> str:
        """Plain libpq/asyncpg DSN (no SQLAlchemy driver suffix)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def new_database(self, name: str, template: str | None = None) -> str:
        """CREATE DATABASE ``name`` (optionally cloned from ``template``), return its URL.

        A template database must have no open connections while it is copied (dispose
        SQLAlchemy engines on it first). Safe to call from sync code and from inside a
        running event loop (the statement runs on a short-lived thread of its own).
        """
        sql = f"CREATE DATABASE {_quote_ident(name)}"
        if template is not None:
            sql += f" TEMPLATE {_quote_ident(template)}"
        self.execute(sql)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one statement (as superuser, outside any transaction) via asyncpg."""
        import asyncpg

        async def run() -> None:
            conn = await asyncpg.connect(self.dsn_for(database), timeout=10)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        _run_coroutine_blocking(run())

    # -- lifecycle ---------------------------------------------------------------------------

    def _run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            args,
            cwd=self.tmpdir,
            env=_child_env(self.tmpdir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            **self.run_as.popen_kwargs,
        )

    def _bin(self, name: str) -> str:
        return os.path.join(self.bindir, name)

    def initdb(self) -> None:
        os.mkdir(self.socket_dir, 0o700)
        self.run_as.chown(self.socket_dir)
        result = self._run(
            [
                self._bin("initdb"),
                "-D", self.datadir,
                "-U", SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed (exit {result.returncode}):\n{result.stdout}")
        with open(os.path.join(self.datadir, "pg_hba.conf"), "w") as f:
            f.write(_PG_HBA)

    def start(self) -> None:
        last_log = ""
        for _ in range(_PORT_ATTEMPTS):
            self.port = _free_port()
            if self._start_on_port():
                return
            last_log = _tail(self.logfile)
            if not _BIND_FAILURE.search(last_log):
                break
        raise RuntimeError(f"PostgreSQL did not start; server log:\n{last_log}")

    def _start_on_port(self) -> bool:
        """Start postgres on self.port; True once ready, False if it died (e.g. port taken)."""
        args = [self._bin("postgres"), "-D", self.datadir, "-p", str(self.port),
                "-c", f"unix_socket_directories={self.socket_dir}"]
        for key, value in _SERVER_SETTINGS.items():
            args += ["-c", f"{key}={value}"]
        with open(self.logfile, "ab") as log:
            self.process = subprocess.Popen(
                args,
                cwd=self.tmpdir,
                env=_child_env(self.tmpdir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C aimed at pytest must not hit the server
                **self.run_as.popen_kwargs,
            )
        wait = 0.01
        for _ in range(_READY_ATTEMPTS):
            if self.process.poll() is not None:
                self.process = None
                return False
            if self._is_ready():
                return True
            time.sleep(wait)
            wait = min(wait * 1.5, _READY_WAIT_MAX)
        self.stop()
        raise RuntimeError(
            f"PostgreSQL did not become ready on 127.0.0.1:{self.port}; server log:\n"
            + _tail(self.logfile)
        )

    def _is_ready(self) -> bool:
        # Our own postmaster must say it accepts connections (so a stranger that grabbed the
        # port cannot look like us), then the TCP listener must answer.
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as f:
                lines = f.read().splitlines()
        except OSError:
            return False
        if len(lines) < 8 or lines[0].strip() != str(self.process.pid) or lines[7].strip() != "ready":
            return False
        pg_isready = self._bin("pg_isready")
        if not os.access(pg_isready, os.X_OK):
            pg_isready = shutil.which("pg_isready") or ""
        if pg_isready:
            result = subprocess.run(
                [pg_isready, "-q", "-h", self.host, "-p", str(self.port), "-U", SUPERUSER,
                 "-d", "postgres", "-t", "2"],
                env=_child_env(self.tmpdir),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            return result.returncode == 0
        try:
            socket.create_connection((self.host, self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            self._run([self._bin("pg_ctl"), "stop", "-D", self.datadir, "-m", "immediate", "-w",
                       "-t", "10"], timeout=20)
        except (OSError, subprocess.SubprocessError):
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _child_env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(HOME=home, LC_ALL="C", LANG="C")
    env.pop("LANGUAGE", None)
    return env


def _tail(path: str, lines: int = 40) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no server log)"


def _run_coroutine_blocking(coro):
    """asyncio.run(coro), also when the calling thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="pgcluster-sql")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


@contextlib.contextmanager
def throwaway_cluster(database: str = DEFAULT_DATABASE) -> Iterator[Cluster]:
    """Start a fresh PostgreSQL cluster with an empty ``database``; yield it; tear it all down.

    Raises RuntimeError when PostgreSQL is not installed or does not start.
    """
    bindir = find_pg_bindir()
    run_as = _RunAs.choose()
    cluster = Cluster(bindir=bindir, tmpdir=_make_tempdir(run_as), run_as=run_as,
                      database=database)
    try:
        cluster.initdb()
        cluster.start()
        cluster.new_database(database)
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(cluster.tmpdir, ignore_errors=True)


if __name__ == "__main__":

    async def _version(dsn: str) -> str:
        import asyncpg

        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetchval("SELECT version()")
        finally:
            await conn.close()

    started = time.monotonic()
    with throwaway_cluster() as pg:
        print(f"url:     {pg.url}")
        print(f"bindir:  {pg.bindir} (server runs as {pg.run_as.name})")
        print(f"version: {asyncio.run(_version(pg.dsn_for(pg.database)))}")
        print(f"started in {time.monotonic() - started:.2f}s")
    print("stopped; removed", pg.tmpdir)
