"""`civicnode pb outcome FILE.pb [--rule RULE]`: the projects a rule selects, as a JSON list."""
from __future__ import annotations

import json

from node.cli import CLIError
from node.components.budgets.pabulib import PabulibError, load
from node.components.budgets.rules import RuleError, outcome


def run_pb_command(args) -> int:
    try:
        election = load(args.file)
    except OSError as exc:
        raise CLIError(f"{args.file}: {exc.strerror or exc}") from None
    except PabulibError as exc:
        raise CLIError(f"{args.file}: {exc}") from None
    try:
        result = outcome(election, args.rule)
    except RuleError as exc:
        raise CLIError(f"{args.file}: {exc}") from None
    print(json.dumps(result.selected))
    return 0
