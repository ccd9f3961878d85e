"""The budgets part of ``civicnode recount``: count each budget of the space again from its public
ballot list, with the budget's rule, and compare with the results the host publishes.

For each budget of ``<space>/budgets.json`` (node.components.budgets.public):

1. ``…/results.json``: before voting has ended the host publishes no results (and no ballots):
   there is nothing to compare, and the report says so.
2. ``…/ballots.json``: every cast ballot, receipt and choices, no identity. The ballots are
   counted with the budget's rule and ballot type (``rule``, ``voteType`` of budgets.json), the
   unfeasible projects left out as the host does (node.components.budgets.results).
3. Compared with the published results: the number of ballots (the list's own total, the list,
   the results), the budget, the selected projects, each project's votes or points (``score``),
   and the ballots per home node (``turnout_by_node``) with the signed ballot records of partner
   residents read by the recount (node.cohosting.recount): a partner node's turnout is exactly its
   residents' accepted records; all turnout together is every ballot not imported from a file.

Any difference is a problem naming the budget and, where it is about one, the project.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from urllib.parse import urlsplit

JSON = "application/json"


@dataclass
class BudgetRecount:
    url: str
    title: str
    published: bool = False  # the host publishes results (voting has ended)
    ballots: int = 0
    selected: list[str] = field(default_factory=list)  # project titles, in the order of selection
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _title(value) -> str:
    if isinstance(value, dict):
        return str(value.get("en") or next(iter(value.values()), "") or "")
    return str(value or "")


def _number(value) -> Fraction | None:
    try:
        return Fraction(str(value)) if value is not None else None
    except (ValueError, ZeroDivisionError):
        return None


def _election(budget: dict, listed: dict, published: dict):
    """The public ballots as a Pabulib election, as the host builds it from its database."""
    from node.components.budgets.pabulib import Election, Project, Vote

    vote_type = budget.get("voteType") or published.get("vote_type") or "approval"
    meta = {"budget": str(budget.get("total")), "vote_type": vote_type, "rule": budget.get("rule") or ""}
    threshold = (published.get("details") or {}).get("threshold")
    if threshold is not None:  # a parameter of greedy-threshold, not an outcome
        meta["min_project_score_threshold"] = str(threshold)
    keys = {p["id"]: str(p["pabulib_id"]) for p in listed.get("projects") or []}
    on_ballot = {p["id"] for p in listed.get("projects") or [] if p.get("feasibility") != "unfeasible"}
    projects = {keys[p["id"]]: Project(keys[p["id"]], Fraction(str(p["cost"])), {})
                for p in listed.get("projects") or [] if p["id"] in on_ballot}
    votes = []
    for n, ballot in enumerate(listed.get("ballots") or []):
        kept = [c for c in ballot.get("choices") or [] if c.get("project") in on_ballot]
        points = (tuple(Fraction(str(c.get("points"))) for c in kept)
                  if vote_type in ("cumulative", "scoring") else None)
        voter = ballot.get("voter_id") or ballot.get("receipt") or f"ballot-{n}"
        votes.append(Vote(voter, tuple(keys[c["project"]] for c in kept), points))
    return Election(meta, projects, votes)


async def recount_budget(fetcher, budget: dict, records: Counter, own_host: str) -> BudgetRecount:
    """``records``: accepted ballot records of partner residents in this budget, per home node."""
    from federation.fetch import FetchError
    from node.components.budgets import rules

    url = str(budget.get("url") or budget.get("id"))
    found = BudgetRecount(url, _title(budget.get("title")))
    name = f"budget “{found.title}” ({url})"
    try:
        published = await fetcher.get_json(f"{url}/results.json", accept=JSON)
    except FetchError as exc:
        if exc.status == 403:  # results and ballots wait for the end of voting
            return found
        found.problems.append(f"{name}: cannot read its results ({exc})")
        return found
    found.published = True
    try:
        listed = await fetcher.get_json(f"{url}/ballots.json", accept=JSON)
        election = _election(budget, listed, published)
        outcome = rules.outcome(election)
    except FetchError as exc:
        found.problems.append(f"{name}: cannot read its public ballots ({exc})")
        return found
    except (KeyError, TypeError, ValueError, rules.RuleError) as exc:
        found.problems.append(f"{name}: its public ballots cannot be counted ({exc})")
        return found
    problems = found.problems
    ballots = listed.get("ballots") or []
    found.ballots = len(ballots)
    if listed.get("ballots_count") != len(ballots):
        problems.append(f"{name}: the ballot list says {listed.get('ballots_count')} ballots and lists {len(ballots)}")
    if published.get("ballots") != len(ballots):
        problems.append(f"{name}: the results count {published.get('ballots')} ballots, "
                        f"the public list has {len(ballots)}")
    if _number(published.get("budget")) != _number(budget.get("total")):
        problems.append(f"{name}: the results are for a budget of {published.get('budget')}, "
                        f"the budget is {budget.get('total')}")
    if published.get("rule") != election.rule:
        problems.append(f"{name}: the results use the rule {published.get('rule')}, the budget's is {election.rule}")
    titles = {str(p["pabulib_id"]): f"project “{p.get('title')}” ({p['id']})" for p in listed.get("projects") or []}
    given = {str(p.get("id")): p for p in published.get("projects") or []}
    for key, result in outcome.projects.items():
        shown = given.get(key)
        if shown is None:
            problems.append(f"{name}: {titles[key]} is on the ballot but not in the results")
            continue
        if _number(shown.get("score")) != result.score:
            problems.append(f"{name}: {titles[key]}: the host publishes {shown.get('score')} votes or points, "
                            f"the public ballots give {_text(result.score)}")
        if bool(shown.get("selected")) != result.selected:
            problems.append(f"{name}: {titles[key]}: the host says {'' if shown.get('selected') else 'not '}selected, "
                            f"the recount says {'' if result.selected else 'not '}selected")
    if list(map(str, published.get("selected") or [])) != outcome.selected:
        problems.append(f"{name}: the host selects {_names(published.get('selected'), titles)}, "
                        f"the recount selects {_names(outcome.selected, titles)}")
    found.selected = [titles.get(key, key) for key in outcome.selected]
    _turnout(found, name, published.get("turnout_by_node"), records, own_host,
             sum(1 for b in ballots if not b.get("imported")))
    return found


def _turnout(found: BudgetRecount, name: str, turnout, records: Counter, own_host: str, local_and_partner: int):
    if not isinstance(turnout, dict):
        found.problems.append(f"{name}: the results publish no turnout by node")
        return
    for host in sorted(set(turnout) | set(records)):
        if host == own_host:
            continue
        if turnout.get(host, 0) != records.get(host, 0):
            found.problems.append(f"{name}: the host publishes {turnout.get(host, 0)} ballots from {host}, "
                                  f"the signed ballot records give {records.get(host, 0)}")
    if sum(turnout.values()) != local_and_partner:
        found.problems.append(f"{name}: the turnout by node adds up to {sum(turnout.values())} ballots, "
                              f"the public list has {local_and_partner} (not imported)")


def _text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _names(keys, titles: dict) -> str:
    return ", ".join(titles.get(str(k), str(k)) for k in keys or []) or "nothing"


async def recount_budgets(fetcher, space_url: str, records: dict[str, Counter],
                          claims: dict[str, list] | None = None) -> list[BudgetRecount]:
    """Every budget of the space; ``records``: budget URI -> {home node: accepted ballot records};
    ``claims``: budget URI -> [(record sequence, postal codes attested or None)]."""
    from federation.fetch import FetchError

    own_host = urlsplit(space_url).netloc.lower()
    try:
        document = await fetcher.get_json(f"{space_url}/budgets.json", accept=JSON)
    except FetchError as exc:
        if exc.status == 404:  # a node without the budgets component
            return []
        raise
    found = []
    for budget in document.get("budgets") or []:
        if isinstance(budget, dict):
            uri = str(budget.get("id"))
            counted = await recount_budget(fetcher, budget, records.get(uri, Counter()), own_host)
            _residence(counted, budget, (claims or {}).get(uri, []))
            found.append(counted)
    return found


def _residence(found: BudgetRecount, budget: dict, claims: list) -> None:
    """A budget restricted to postal codes (``postalCodes``) counts a partner resident's ballot
    only if their node attested they live in one of them: every accepted ballot record carries
    such a claim, within the budget's codes as published now (a code removed since the vote
    shows here: the record is the evidence of what was accepted then)."""
    from node.permissions.rules import postal_key

    codes = budget.get("postalCodes")
    if not budget.get("restricted") or not isinstance(codes, list):
        return
    allowed = {postal_key(c) for c in codes if isinstance(c, str)}
    name = f"budget “{found.title}” ({found.url})"
    for sequence, claimed in claims:
        if claimed is None:
            found.problems.append(f"{name}: record {sequence} is a partner resident's ballot in a budget restricted "
                                  "to postal codes, without its node's residesIn claim")
        elif not claimed <= allowed:
            found.problems.append(f"{name}: record {sequence} attests postal codes {sorted(claimed - allowed)} "
                                  "the budget does not list")
