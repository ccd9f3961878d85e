"""The command line of ``civicnode recount`` (node.cohosting.recount does the work)."""
from __future__ import annotations

import json

from node import __version__


async def run_recount(url: str, *, allow_private: bool = False, as_json: bool = False,
                      witnesses: tuple[str, ...] = ()) -> int:
    """Exit 0 when every record verifies and every published count matches; 1 otherwise (each
    problem named on its own line); 2 when the space cannot be read at all."""
    from federation.fetch import FetchError, SafeFetcher
    from node.cohosting.recount import recount

    if not url.startswith(("https://", "http://")):
        print(f"civicnode recount: {url} is not the address of a space (https://node.example/spaces/SLUG)")
        return 2
    async with SafeFetcher(allow_private=allow_private, user_agent=f"civicnode/{__version__} recount") as fetcher:
        try:
            report = await recount(fetcher, url, tuple(witnesses))
        except FetchError as exc:
            print(f"civicnode recount: cannot read {url}: {exc}")
            return 2
    if as_json:
        print(json.dumps({"space": report.space, "ok": report.ok, "records": report.records,
                          "checked": report.checked, "proposals": report.proposals, "hidden": report.hidden,
                          "counts": report.counts, "problems": report.problems,
                          "budgets": [{"url": b.url, "title": b.title, "published": b.published, "ok": b.ok,
                                       "ballots": b.ballots, "selected": b.selected, "problems": b.problems}
                                      for b in report.budgets]}, indent=2, sort_keys=True))
    else:
        print(f"{report.space}: {report.records} records, {report.checked} accepted ones verified, "
              f"{report.proposals} proposals recounted"
              + (f" ({report.hidden} with counts not published now)" if report.hidden else ""))
        for budget in report.budgets:
            print(_budget_line(budget))
        for problem in report.problems:
            print(f"MISMATCH {problem}")
        print("OK: every published count matches the signed records" if report.ok else
              f"{len(report.problems)} problem(s)")
    return 0 if report.ok else 1


def _budget_line(budget) -> str:
    name = f"budget “{budget.title}” ({budget.url})"
    if not budget.published:
        return f"{name}: results not published yet (voting has not ended): nothing to compare"
    if not budget.ok:
        return f"{name}: MISMATCH ({len(budget.problems)} problem(s), below)"
    return (f"{name}: OK, {budget.ballots} public ballots recounted, selected: "
            + (", ".join(budget.selected) or "nothing"))
