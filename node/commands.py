"""Implementations of the `civicnode` sub-commands (argument parsing lives in node.cli)."""
from __future__ import annotations

import asyncio
import errno
import os
import shutil
import signal
import sys
from pathlib import Path

from aiohttp import web

from node import __version__
from node.accounts.service import AccountError, create_user
from node.app import SchemaMismatch, create_app
from node.cli import CLIError, log, port_in_use_message, read_password, settings_for
from node.config import Settings, load_settings, write_initial_config
from node.db import make_engine, make_sessionmaker
from node.db.schema import schema_status



async def upgrade(engine) -> None:
    # Alembic is imported only by the commands that migrate, not by `serve` (memory).
    from node.db.migrate import upgrade as alembic_upgrade

    await alembic_upgrade(engine)


async def initialise(data: Path, **config) -> Settings:
    """Create config, schema and node keys in `data` (created if missing)."""
    from node.keystore import ensure_node_keys

    data.mkdir(parents=True, exist_ok=True)
    write_initial_config(data, **config)
    settings = load_settings(data)
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with make_sessionmaker(engine).begin() as db:
            await ensure_node_keys(db)
    finally:
        await engine.dispose()
    return settings


async def cmd_init(args) -> int:
    settings = await initialise(Path(args.data), base_url=args.base_url, node_name=args.node_name,
                                database_url=args.database_url, default_locale=args.locale)
    print(f"Created {settings.data_dir}/civicnode.toml, the database and the node's keys.")
    print(f"Next: civicnode createadmin --data {args.data} --username NAME --email ADDRESS")
    print(f"Then: civicnode serve --data {args.data}")
    return 0


async def cmd_migrate(args) -> int:
    settings = settings_for(args.data)
    engine = make_engine(settings.database_url)
    try:
        before = await schema_status(engine)
        if before.newer_than_code:
            raise CLIError(before.problem())
        await upgrade(engine)
        from node.keystore import ensure_node_keys

        async with make_sessionmaker(engine).begin() as db:
            await ensure_node_keys(db)
        after = await schema_status(engine)
    finally:
        await engine.dispose()
    print(f"Database schema at {after.current} (was {before.current or 'empty'}).")
    return 0


async def cmd_createadmin(args) -> int:
    settings = settings_for(args.data)
    password = read_password(args.password_stdin)
    engine = make_engine(settings.database_url)
    try:
        problem = (await schema_status(engine)).problem()
        if problem:
            raise CLIError(problem)
        async with make_sessionmaker(engine).begin() as db:
            await create_user(db, username=args.username, email=args.email, password=password,
                              nickname=args.nickname, role="admin")
    except AccountError as exc:
        raise CLIError("; ".join(f"{field}: {message}" for field, message in exc.errors.items())) from None
    finally:
        await engine.dispose()
    print(f"Administrator {args.username.strip().lower()} created.")
    return 0


async def start_server(settings: Settings, host: str, port: int) -> web.AppRunner:
    """Bind and start serving; returns the runner (call .cleanup() to stop)."""
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
    try:
        await runner.setup()
    except SchemaMismatch as exc:
        await runner.cleanup()
        raise CLIError(str(exc)) from None
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        message = port_in_use_message(exc, host, port)
        if message:
            raise CLIError(message) from None
        raise
    bound_port = runner.addresses[0][1]
    if not settings.base_url:
        settings.base_url = f"http://{host}:{bound_port}"
    return runner


async def wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


async def cmd_serve(args) -> int:
    settings = settings_for(args.data)
    runner = await start_server(settings, args.host, args.port)
    print(f"civicnode {__version__}: {settings.node_name} is serving at {settings.base_url}", flush=True)
    try:
        await wait_for_stop()
    finally:
        await runner.cleanup()
    return 0


async def cmd_worker(args) -> int:
    from node.activitypub.worker import run_worker

    settings = settings_for(args.data)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    overrides = {"concurrency": args.concurrency} if args.concurrency else {}
    try:
        await run_worker(settings, stop, **overrides)
    except RuntimeError as exc:  # the schema check's message says what to run
        raise CLIError(str(exc)) from None
    return 0


# Written in the demo's data directory once node.demo_federation.federate_demo has run.
DEMO_FEDERATED = "federated"
LAN_NOTE = ("The nodes federate with each other over 127.0.0.1, so they run with allow_private_addresses = true\n"
            "and federation_mode = \"open\": LAN/test mode only. A public node keeps allow_private_addresses\n"
            "false, or anyone could make it fetch addresses inside its network.")


def _demo_environ() -> dict:
    # One CIVICNODE_DATABASE_URL or CIVICNODE_BASE_URL for three nodes would make them share a
    # database or an address: those come from each node's file only.
    return {key: value for key, value in os.environ.items()
            if key not in ("CIVICNODE_DATABASE_URL", "CIVICNODE_BASE_URL")}


def _demo_url(host: str, port: int) -> str:
    # Actor ids are built from this address: a wildcard address is not one other nodes can reach.
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _listen(host: str, port: int):
    """A listening socket, bound before anything is seeded so that a busy port costs nothing."""
    import socket

    family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _demo_sockets(args, data: Path, nodes) -> list:
    """One socket per demo node: its stored port, else `--port` + its rank (0: any free port)."""
    from urllib.parse import urlsplit

    sockets = []
    try:
        for rank, spec in enumerate(nodes):
            config = data / spec.key / "civicnode.toml"
            stored = load_settings(config.parent, environ=_demo_environ()).base_url if config.exists() else ""
            port = (urlsplit(stored).port or 80) if stored else (args.port + rank if args.port else 0)
            try:
                sockets.append(_listen(args.host, port))
                continue
            except OSError as exc:
                busy = exc.errno == errno.EADDRINUSE
                if busy and stored:
                    raise CLIError(f"port {port} of the demo's {spec.name} ({stored}, kept in {config}) is "
                                   f"busy; stop what uses it (an earlier civicnode demo?) or start afresh on "
                                   f"new ports with civicnode demo --reset --data {data}") from None
                if not busy or not port:
                    raise CLIError(port_in_use_message(exc, args.host, port)
                                   or f"cannot listen on {args.host} port {port}: {exc.strerror or exc}") from None
            print(f"Port {port} is busy; using a free port for {spec.name} instead.")
            sockets.append(_listen(args.host, 0))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


async def _create_demo_node(spec, directory: Path, base_url: str, served_at: str) -> None:
    """Config, schema, keys and demo data, built aside and renamed into place when complete, so
    that an interrupted first start leaves nothing half-seeded behind. The data names the node
    where it is ``served_at`` now (fingerprints, signed records), even when the config keeps no
    address (``base_url`` empty: ports picked anew at each start)."""
    from node.keystore import ensure_node_keys

    partial = directory.with_name(f".{directory.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    write_initial_config(partial, node_name=spec.name, default_locale=spec.locale, base_url=base_url,
                         allow_private_addresses=True, federation_mode="open")
    engine = make_engine(load_settings(partial, environ=_demo_environ()).database_url)
    try:
        await upgrade(engine)
        async with make_sessionmaker(engine).begin() as db:
            await ensure_node_keys(db)
            await spec.seed(db, served_at)
    finally:
        await engine.dispose()
    partial.rename(directory)


async def _serve_on(settings: Settings, sock) -> web.AppRunner:
    runner = web.AppRunner(create_app(settings), access_log=None, shutdown_timeout=5)
    try:
        await runner.setup()
    except SchemaMismatch as exc:
        await runner.cleanup()
        raise CLIError(f"{settings.data_dir}: {exc}") from None
    await web.SockSite(runner, sock).start()
    return runner


async def cmd_export(args) -> int:
    from node.opendata.command import run_export

    return await run_export(settings_for(args.data), space=args.space, fmt=args.format, output=args.output)


async def cmd_digest(args) -> int:
    from node.notifications.command import run_digest

    return await run_digest(settings_for(args.data))


async def cmd_keys(args) -> int:
    from node.activitypub.keys_rotation import run_keys_command

    return await run_keys_command(settings_for(args.data), args)


async def cmd_search(args) -> int:
    from node.search.command import run_search_command

    return await run_search_command(settings_for(args.data), args)


async def cmd_recount(args) -> int:
    from node.cohosting.recount_command import run_recount

    return await run_recount(args.url, allow_private=args.allow_private, as_json=args.json,
                             witnesses=tuple(args.witness or ()))


async def cmd_sortition(args) -> int:
    if args.sortition_command == "verify":
        from node.components.sortitions.verify_command import run_verify

        return await run_verify(args.url, allow_private=args.allow_private, as_json=args.json)
    from node.components.sortitions.command import run_sortition_command

    return run_sortition_command(args)


async def cmd_pb(args) -> int:
    from node.components.budgets.command import run_pb_command

    return run_pb_command(args)


async def cmd_demo(args) -> int:
    from node.demo import DEMO_NODES
    from node.demo_federation import RunningDemoNode, federate_demo

    data = Path(args.data)
    if args.reset and data.exists():
        shutil.rmtree(data)
    if (data / "civicnode.toml").exists():
        raise CLIError(f"{data} holds the one-node demo of an earlier version; start afresh with "
                       f"civicnode demo --reset --data {data}")
    sockets = _demo_sockets(args, data, DEMO_NODES)
    runners: list[web.AppRunner] = []
    nodes: dict[str, RunningDemoNode] = {}
    one_run = False
    try:
        for spec, sock in zip(DEMO_NODES, sockets):
            url = _demo_url(args.host, sock.getsockname()[1])
            directory = data / spec.key
            if not (directory / "civicnode.toml").exists():
                # With --port 0 the ports change at every start: keep no address in the config.
                await _create_demo_node(spec, directory, url if args.port else "", url)
            settings = load_settings(directory, environ=_demo_environ())
            one_run = one_run or not settings.base_url
            settings.base_url = settings.base_url or url
            runners.append(await _serve_on(settings, sock))
            nodes[spec.key] = RunningDemoNode(spec, settings, runners[-1].app)
        if not (data / DEMO_FEDERATED).exists():
            try:
                await federate_demo(nodes)
            except Exception as exc:  # the nodes still work on their own: serve them, retry next start
                log.exception("the demo's federation step failed")
                print(f"civicnode demo: the nodes could not federate ({exc}); they run unfederated and "
                      "the next start tries again.", file=sys.stderr)
            else:
                (data / DEMO_FEDERATED).write_text("node.demo_federation.federate_demo ran for these nodes.\n",
                                                   encoding="utf-8")
        # Listen for Ctrl-C and SIGTERM before saying "ready": a caller may stop us at once.
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        for node in nodes.values():
            print(f"\ncivicnode demo: {node.spec.name} at {node.settings.base_url}/")
            for role, username, password in node.spec.logins:
                print(f"  {role:<14} {username:<12} password: {password}")
        print("\n" + LAN_NOTE)
        if one_run:
            print("The ports were chosen by the system (--port 0) and are not kept: this data directory is "
                  "for one run, since federated addresses must not change.")
        print("Stop with Ctrl-C. Data is kept in", data, "(civicnode demo --reset starts afresh).", flush=True)
        await stop.wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
        for sock in sockets:
            sock.close()
    return 0
