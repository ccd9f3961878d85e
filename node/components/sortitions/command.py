"""`civicnode sortition panel`: select a citizens' panel from two CSV files and print the JSON."""
from __future__ import annotations

import json
import sys


def run_sortition_command(args) -> int:
    from node.cli import CLIError
    from node.components.sortitions.panel import PanelError, select_panel

    try:
        result = select_panel(args.categories, args.respondents, args.size, algorithm=args.algorithm,
                              seed=args.seed, runs=args.runs)
    except PanelError as exc:
        raise CLIError(str(exc)) from None
    json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0
