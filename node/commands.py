"""Implementations of the `civicnode` sub-commands (argument parsing lives in node.cli)."""
from __future__ import annotations

import asyncio
import shutil
import signal
from pathlib import Path

from aiohttp import web

from node import __version__
from node.accounts.service import AccountError, create_user
from node.app import SchemaMismatch, create_app
from node.cli import CLIError, port_in_use_message, read_password, settings_for
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


async def cmd_demo(args) -> int:
    from node.demo import DEMO_LOGINS, seed_demo

    data = Path(args.data)
    if args.reset and data.exists():
        shutil.rmtree(data)
    if not (data / "civicnode.toml").exists():
        settings = await initialise(data, node_name="Ville de Démo", default_locale="fr")
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine).begin() as db:
                await seed_demo(db)
        finally:
            await engine.dispose()
    settings = settings_for(str(data))
    try:
        runner = await start_server(settings, args.host, args.port)
    except CLIError as exc:
        if "already in use" not in str(exc):
            raise
        print(f"Port {args.port} is busy; using a free port instead.")
        runner = await start_server(settings, args.host, 0)
    print(f"\ncivicnode demo: {settings.node_name} at {settings.base_url}/")
    for role, username, password in DEMO_LOGINS:
        print(f"  {role:<14} {username:<12} password: {password}")
    print("Stop with Ctrl-C. Data is kept in", data, "(civicnode demo --reset starts afresh).", flush=True)
    try:
        await wait_for_stop()
    finally:
        await runner.cleanup()
    return 0
