"""The `civicnode` command: init, migrate, serve, worker, createadmin, export, keys, search, pb, demo."""
from __future__ import annotations

import argparse
import asyncio
import errno
import getpass
import logging
import os
import sys
from pathlib import Path

from node import __version__
from node.config import ConfigError, Settings, load_settings

log = logging.getLogger("civicnode")


class CLIError(Exception):
    """Printed as one line `civicnode: error: ...`, exit status 1."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="civicnode", description="A federated citizen-participation node.")
    parser.add_argument("--version", action="version", version=f"civicnode {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def with_data(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--data", default=os.environ.get("CIVICNODE_DATA", "var"),
                         help="data directory holding civicnode.toml (default: $CIVICNODE_DATA or ./var)")
        return sub

    init = with_data(commands.add_parser("init", help="create a data directory: config, database, keys"))
    init.add_argument("--base-url", help="public address, e.g. https://participa.example.org")
    init.add_argument("--node-name", help="name shown on every page")
    init.add_argument("--database-url", help="postgresql+asyncpg://... (default: SQLite in the data dir)")
    init.add_argument("--locale", choices=("fr", "en", "es", "ca"), help="default language")

    with_data(commands.add_parser("migrate", help="apply database migrations"))

    serve = with_data(commands.add_parser("serve", help="run the web server"))
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")

    admin = with_data(commands.add_parser("createadmin", help="create an administrator account"))
    admin.add_argument("--username", required=True)
    admin.add_argument("--email", required=True)
    admin.add_argument("--nickname", default="")
    admin.add_argument("--password-stdin", action="store_true",
                       help="read the password from standard input instead of prompting")

    worker = with_data(commands.add_parser(
        "worker", help="deliver outgoing federation activities (for delivery_in_process = false)"))
    worker.add_argument("--concurrency", type=int, help="POSTs in flight (default: delivery_concurrency)")

    export = with_data(commands.add_parser(
        "export", help="write the open data of a published space, or of the whole node, as JSON or CSV"))
    export.add_argument("--space", metavar="SLUG", help="the space's address (default: every published space)")
    export.add_argument("--format", choices=("csv", "json"), required=True,
                        help="json: one document; csv: a zip of one CSV file per kind of record")
    export.add_argument("--output", metavar="FILE", help="where to write (default: standard output)")

    with_data(commands.add_parser("digest", help="mail the daily digest of notifications now (run daily from cron)"))

    keys = commands.add_parser("keys", help="manage the keys of the node's actors")
    rotate = with_data(keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True).add_parser(
        "rotate", help="revoke an actor's keys and make new ones (a space's followers are sent an Update)"))
    rotate.add_argument("--node", action="store_true", help="the node actor")
    rotate.add_argument("--space", metavar="SLUG", help="the space with this address")
    rotate.add_argument("--user", metavar="NAME", help="the user with this name")

    search = commands.add_parser("search", help="manage the full-text search index")
    with_data(search.add_subparsers(dest="search_command", metavar="ACTION", required=True).add_parser(
        "reindex", help="rebuild the search index from the spaces, proposals, debates and comments"))

    recount = commands.add_parser("recount", help="recompute a space's published support counts from its public "
                                  "signed records, checking every signature and attestation")
    recount.add_argument("url", metavar="URL-OF-SPACE", help="the space's address, e.g. https://city.example/spaces/budget-2027")
    recount.add_argument("--allow-private", action="store_true",
                         help="allow nodes on private addresses (a LAN or a test setup)")
    recount.add_argument("--json", action="store_true", help="print the report as JSON")
    recount.add_argument("--witness", action="append", metavar="NODE-URL",
                         help="a partner node holding signed heads of the space's records (its "
                              "/witnessed-heads): the records must still extend them; repeatable")

    sortition = commands.add_parser("sortition", help="selection by lot: citizens' panels under quotas, "
                                    "verifiable draws of proposals")
    sortition_actions = sortition.add_subparsers(dest="sortition_command", metavar="ACTION", required=True)
    verify_draw = sortition_actions.add_parser(
        "verify", help="re-run a published draw of proposals from its public inputs and say whether its "
                       "result matches (exit 0: it matches, 1: it does not, 2: nothing to check)")
    verify_draw.add_argument("url", metavar="URL-OF-DRAW",
                             help="the draw's page, e.g. https://city.example/spaces/budget-2027/c/4/draws/1")
    verify_draw.add_argument("--allow-private", action="store_true",
                             help="allow nodes on private addresses (a LAN or a test setup)")
    verify_draw.add_argument("--json", action="store_true", help="print the report as JSON")
    panel = sortition_actions.add_parser(
        "panel", help="select a panel meeting the quotas and print it, with every respondent's selection "
                      "probability, as JSON")
    panel.add_argument("--categories", required=True, metavar="FILE",
                       help="CSV with the columns category, feature, min, max")
    panel.add_argument("--respondents", required=True, metavar="FILE",
                       help="CSV with one column per category (and an optional id column)")
    panel.add_argument("--size", required=True, type=int, metavar="K", help="number of panel members")
    panel.add_argument("--algorithm", choices=("leximin", "legacy"), default="leximin",
                       help="leximin (default): the fairest distribution of panels; legacy: the greedy "
                            "quota filling, for comparison")
    panel.add_argument("--seed", metavar="S", help="seed of the draw, e.g. a published lottery result "
                       "(default: a random one, printed in the output)")
    panel.add_argument("--runs", type=int, default=10_000, metavar="N",
                       help="legacy only: panels drawn to estimate the probabilities (default 10000)")

    pb = commands.add_parser("pb", help="participatory budgets in the Pabulib .pb format")
    outcome = pb.add_subparsers(dest="pb_command", metavar="ACTION", required=True).add_parser(
        "outcome", help="print the project ids a rule selects, as a JSON list (in the order of selection)")
    outcome.add_argument("file", metavar="FILE.pb", help="a Pabulib file (META, PROJECTS, VOTES)")
    outcome.add_argument("--rule", help="greedy, greedy-no-skip, greedy-threshold, equalshares, "
                         "equalshares/add1 or equalshares/add1-comparison (default: the file's META rule)")

    demo = commands.add_parser("demo", help="run three federated nodes with demonstration data")
    demo.add_argument("--data", default="var/demo",
                      help="where the demo keeps its nodes: city/, town/, collective/ (default var/demo)")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8080,
                      help="first of three consecutive ports, kept at first start (default 8080; "
                           "0 picks free ones anew at every start: a data directory for one run)")
    demo.add_argument("--reset", action="store_true", help="delete the demo data and start afresh")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("CIVICNODE_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    from node import commands

    handler = getattr(commands, f"cmd_{args.command}")
    try:
        return asyncio.run(handler(args)) or 0
    except (CLIError, ConfigError) as exc:
        print(f"civicnode: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def settings_for(data: str) -> Settings:
    return load_settings(Path(data))


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != first:
        raise CLIError("the two passwords differ")
    return first


def port_in_use_message(exc: OSError, host: str, port: int) -> str | None:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use; stop the other program or choose another with --port"
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {port}; use a port above 1024 or run behind a proxy"
    return None
