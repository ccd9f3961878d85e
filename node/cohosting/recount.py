"""``civicnode recount URL-of-space``: recompute a space's published support counts from its public
signed records, as anyone can, with no access to the host's database.

0. Read the host's signed head of the records (and, with ``--witness``, the heads partner nodes
   received earlier); the records must form an unbroken hash chain that reaches each of them
   (node.cohosting.ledger), so that no record was removed or changed after a head was signed.
1. Read every record of ``<space>/records`` and check it: a partner resident's record carries the
   resident's proof (a key of their actor) and their home node's attestation (a key of that
   node's Application actor, for this space, unexpired when received); a local resident's record
   carries the host node's proof. Keys are fetched from the actors' documents, so a key revoked
   since still verifies what it signed before its revocation. A partner resident's comment
   (``Create{Note}``) or proposal (``Create{Article}``) is checked the same way, and counts nothing.
   A ballot in a budget (``Create{Ballot}``, published without its choices) is checked likewise
   and counted in its budget's turnout per node (step 5); in a budget restricted to postal codes, its attestation
   must say the voter lives in one of the budget's codes (``residesIn``, signed by their node).
2. Replay the accepted records in order: a support adds the person to the proposal, a withdrawal
   removes them; a person is their actor URI.
3. Apply each component's minimum supports per person, then count per proposal, per home node.
4. Compare with what the host publishes (``/api/spaces/<slug>/proposals``: ``support_count`` and
   ``supports_by_origin``). Any bad record or different count is a problem, named.
5. Count each budget of the space again from its public ballot list and compare with its
   published results, its turnout by node with the ballot records of step 1
   (node.cohosting.recount_budgets).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from federation.actors import ActorCache, fetch_actor
from federation.proofs import ProofError, verify_proof
from federation.vocab import id_of, moment_of, same_origin, types_of

MAX_PAGES = 10_000  # 2 million records: a bound, not a limit anyone should meet


@dataclass
class RecountReport:
    space: str
    records: int = 0
    checked: int = 0
    proposals: int = 0
    problems: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # proposal url -> {host: n}
    hidden: int = 0  # proposals whose counts the host does not publish now
    budgets: list = field(default_factory=list)  # node.cohosting.recount_budgets.BudgetRecount

    @property
    def ok(self) -> bool:
        return not self.problems


def _host(url: str) -> str:
    return urlsplit(url).netloc.lower()


class _Keys:
    def __init__(self, fetcher):
        self.fetcher, self.cache = fetcher, ActorCache()

    async def check(self, document: dict, owner: str, kinds: tuple[str, ...] = ()) -> None:
        """``document``'s proof is made with an assertion key of ``owner`` (ProofError if not)."""
        proof = document.get("proof")
        method = proof.get("verificationMethod") if isinstance(proof, dict) else None
        if not isinstance(method, str) or not same_origin(method, owner) or method.split("#")[0] != owner:
            raise ProofError(f"the proof is not made with a key of {owner}")
        actor = await fetch_actor(self.fetcher, owner, cache=self.cache)
        if kinds and actor.kind not in kinds:
            raise ProofError(f"{owner} is a {actor.kind}, not a {' or '.join(kinds)}")
        verify_proof(document, lambda m: actor.multikeys.get(m))


async def _pages(fetcher, first: str):
    page: Any = first
    for _ in range(MAX_PAGES):
        if not isinstance(page, str):
            return
        document = await fetcher.get_json(page)
        yield document
        page = document.get("next")
        if isinstance(page, str) and not same_origin(page, first):
            return


async def _check(keys: _Keys, item: dict, space: str, host_node: str) -> tuple[str, str, str]:
    """(kind, person, object) of a well-signed record, else ProofError/ValueError."""
    activity = item.get("activity")
    if not isinstance(activity, dict):
        raise ValueError("the record holds no activity")
    person = id_of(activity.get("actor"))
    kinds = types_of(activity)
    kind = item.get("kind")
    like = activity.get("object") if "Undo" in kinds else activity
    if not isinstance(like, dict) or "Like" not in types_of(like) or id_of(like.get("actor")) != person:
        raise ValueError("the record is neither a Like nor the Undo of the person's own Like")
    if (kind == "support") != ("Like" in kinds):
        raise ValueError(f"the record says {kind!r} but holds a {kinds[0]}")
    target = id_of(like.get("object"))
    if not person or not target:
        raise ValueError("the record names no person or no proposal")
    if same_origin(person, space):
        await keys.check(activity, host_node, ("Application",))
        return kind, person, target
    await keys.check(activity, person)
    if kind == "support":
        await _check_attestation(keys, item, activity, person, space)
    return kind, person, target


async def _check_attestation(keys: _Keys, item: dict, activity: dict, person: str, space: str) -> None:
    attestation = activity.get("attestation")
    if not isinstance(attestation, dict):
        raise ValueError(f"a partner resident's {item.get('kind')} without an attestation")
    node = id_of(attestation.get("attributedTo")) or ""
    if not same_origin(node, person) or id_of(attestation.get("subject")) != person:
        raise ValueError("the attestation is not made by the resident's own node about them")
    if id_of(attestation.get("eligibleFor")) != space:
        raise ValueError("the attestation is for another space")
    until, received = moment_of(attestation.get("validUntil")), moment_of(item.get("received"))
    if until is None or received is None or until < received:
        raise ValueError(f"the attestation had expired when the {item.get('kind')} was received")
    await keys.check(attestation, node, ("Application",))


CREATED = {"comment": "Note", "proposal": "Article"}  # record kind -> the object its Create holds


async def _check_comment(keys: _Keys, item: dict, space: str) -> None:
    """A partner resident's comment (node.cohosting.comments_host) or proposal
    (node.cohosting.proposals_host): counted nowhere, but evidence like a support: their own
    signed Create{Note} or Create{Article}, with their node's attestation."""
    kind = item.get("kind")
    activity = item.get("activity")
    if not isinstance(activity, dict) or "Create" not in types_of(activity):
        raise ValueError(f"the {kind} record holds no Create")
    person = id_of(activity.get("actor"))
    created = activity.get("object")
    if (not person or not isinstance(created, dict) or CREATED[kind] not in types_of(created)
            or id_of(created.get("attributedTo")) != person):
        raise ValueError(f"the {kind} record holds no {CREATED[kind]} of its actor")
    await keys.check(activity, person)
    await _check_attestation(keys, item, activity, person, space)


# Record kind -> (activity type, the object an Update holds): a resident's change of their own
# comment or proposal (node.cohosting.edits_host), evidence like the Create, counted nowhere.
CHANGED = {"comment_edit": ("Update", "Note"), "proposal_edit": ("Update", "Article"),
           "comment_delete": ("Delete", None), "proposal_withdraw": ("Delete", None)}


async def _check_change(keys: _Keys, item: dict, space: str) -> None:
    """Their own signed Update of their Note or Article, or Delete of it (its id, at their node),
    with their node's attestation."""
    kind = item.get("kind")
    verb, object_type = CHANGED[kind]
    activity = item.get("activity")
    if not isinstance(activity, dict) or verb not in types_of(activity):
        raise ValueError(f"the {kind} record holds no {verb}")
    person = id_of(activity.get("actor"))
    changed = activity.get("object")
    if object_type is not None and (not isinstance(changed, dict) or object_type not in types_of(changed)
                                    or id_of(changed.get("attributedTo")) != person):
        raise ValueError(f"the {kind} record holds no {object_type} of its actor")
    if not person or not same_origin(id_of(changed) or "", person):
        raise ValueError(f"the {kind} record is not about an object of its actor")
    await keys.check(activity, person)
    await _check_attestation(keys, item, activity, person, space)


async def _check_ballot(keys: _Keys, item: dict, space: str) -> tuple[str, str, frozenset | None]:
    """A partner resident's ballot in a budget (node.cohosting.ballots_host): published without
    its choices and receipt (a ballot is secret): the budget's public ballot list is what a
    budgets recount counts, and this is evidence of who voted: their own signed Ballot naming a
    budget of this space, with their node's attestation. Returns (budget, person, the postal
    codes attested or None): the budget's published turnout per node must match them, and a
    restricted budget's codes cover the claims (node.cohosting.recount_budgets)."""
    activity = item.get("activity")
    if not isinstance(activity, dict) or "Create" not in types_of(activity):
        raise ValueError("the ballot record holds no Create")
    person = id_of(activity.get("actor"))
    ballot = activity.get("object")
    if (not person or not isinstance(ballot, dict) or "Ballot" not in types_of(ballot)
            or id_of(ballot.get("attributedTo")) != person):
        raise ValueError("the ballot record holds no Ballot of its actor")
    budget = id_of(ballot.get("context")) or ""
    if not budget.startswith(f"{space}/c/"):
        raise ValueError(f"the ballot is for {budget!r}, not a budget of this space")
    if "selection" in activity or "receipt" in activity:
        raise ValueError("the ballot record publishes the voter's choices")
    await keys.check(ballot, person)
    await _check_attestation(keys, item, activity, person, space)
    return budget, person, _claim(activity["attestation"], budget)


def _claim(attestation: dict, budget: str) -> frozenset | None:
    """The postal codes the voter's node attests they live in one of (``residesIn``) for the
    ballot's budget, else None; a claim about anything else is a bad record. Whether the budget
    needed it is for node.cohosting.recount_budgets, which reads the budget's codes."""
    from node.cohosting.attestation import claimed_codes

    if attestation.get("residesIn") is None:
        return None
    codes = claimed_codes(attestation, budget)
    if codes is None:
        raise ValueError(f"the attestation's residesIn is not a list of postal codes for {budget}")
    return frozenset(codes)


async def _head(keys: _Keys, document, space_url: str, where: str) -> tuple[int, str]:
    """(size, chain hash) of a RecordsHead signed by the space's node, else ValueError/ProofError."""
    if not isinstance(document, dict) or id_of(document.get("space")) != space_url:
        raise ValueError(f"{where} is not a head of the records of {space_url}")
    node = id_of(document.get("attributedTo")) or ""
    if not same_origin(node, space_url):
        raise ValueError(f"{where} is not signed by the node of {space_url}")
    size, chain_hash = document.get("totalItems"), document.get("chainHash")
    if not isinstance(size, int) or size < 0 or not isinstance(chain_hash, str):
        raise ValueError(f"{where} has no totalItems or chainHash")
    await keys.check(document, node, ("Application",))
    return size, chain_hash


async def _witnessed(fetcher, keys: _Keys, witness: str, space_url: str, report) -> list[tuple[int, str, str]]:
    """The heads of this space another node holds: [(size, chain hash, where)]."""
    from urllib.parse import urlencode

    url = f"{witness.rstrip('/')}/witnessed-heads?{urlencode({'space': space_url})}"
    try:
        document = await fetcher.get_json(url)
    except Exception as exc:
        report.problems.append(f"witness {witness}: cannot read its heads ({exc})")
        return []
    found = []
    for n, head in enumerate(document.get("orderedItems") or []):
        where = f"the head {n + 1} held by {witness}"
        try:
            size, chain_hash = await _head(keys, head, space_url, where)
        except (ProofError, ValueError) as exc:
            report.problems.append(f"{where}: {exc}")
            continue
        found.append((size, chain_hash, where))
    return found


async def recount(fetcher, space_url: str, witnesses: tuple[str, ...] = ()) -> RecountReport:
    """``witnesses``: nodes that received signed heads of this space's records (its partners):
    the records must still extend every head they hold, else the history was rewritten."""
    from node.cohosting.ledger import ZERO, verify_chain

    space_url = space_url.rstrip("/")
    report = RecountReport(space_url)
    keys = _Keys(fetcher)
    supporters: dict[str, set[str]] = defaultdict(set)  # proposal -> people
    informal: dict[str, set[str]] = defaultdict(set)  # an open space's non-partners, counted apart
    minimum: dict[int, int] = {}
    voted: dict[str, Counter] = defaultdict(Counter)  # budget -> {home node: ballot records}
    claims: dict[str, list] = defaultdict(list)  # budget -> [(record sequence, postal codes attested)]
    host_node = None
    # The head first: records added while we read are past it, and checked by the chain alone.
    try:
        heads = [(*await _head(keys, await fetcher.get_json(f"{space_url}/records/head"), space_url,
                               "the host's signed head"), "the host's signed head")]
    except (ProofError, ValueError) as exc:
        report.problems.append(str(exc))
        heads = []
    for witness in witnesses:
        heads += await _witnessed(fetcher, keys, witness, space_url, report)
    wanted = {size for size, _, _ in heads}
    chain_at: dict[int, str] = {0: ZERO}
    chained, chain_ok = (0, ZERO), True
    async for page in _pages(fetcher, f"{space_url}/records"):
        host_node = host_node or id_of(page.get("node"))
        for component in page.get("components") or []:
            if isinstance(component, dict) and isinstance(component.get("id"), int):
                minimum[component["id"]] = int(component.get("minimumSupportsPerPerson") or 0)
        for item in page.get("orderedItems") or []:
            report.records += 1
            if chain_ok:
                size, chain, problem = verify_chain([item] if isinstance(item, dict) else [{}], chained)
                if problem:
                    report.problems.append(f"the chain of records breaks: {problem}")
                    chain_ok = False
                else:
                    chained = (size, chain)
                    if size in wanted:
                        chain_at[size] = chain
            if not isinstance(item, dict) or item.get("answer") != "accepted":
                continue
            try:
                if item.get("kind") == "ballot":
                    budget, person, codes = await _check_ballot(keys, item, space_url)
                    voted[budget][_host(person)] += 1
                    claims[budget].append((item.get("sequence"), codes))
                    report.checked += 1
                    continue
                if item.get("kind") in CREATED:
                    await _check_comment(keys, item, space_url)
                    report.checked += 1
                    continue
                if item.get("kind") in CHANGED:
                    await _check_change(keys, item, space_url)
                    report.checked += 1
                    continue
                kind, person, target = await _check(keys, item, space_url, host_node or "")
            except (ProofError, ValueError) as exc:
                report.problems.append(f"record {item.get('sequence')}: {exc}")
                continue
            except Exception as exc:  # an actor that cannot be fetched: the record cannot be checked
                report.problems.append(f"record {item.get('sequence')}: cannot check its signature ({exc})")
                continue
            report.checked += 1
            tally = informal if item.get("informal") else supporters
            (tally[target].add if kind == "support" else tally[target].discard)(person)

    if chain_ok:
        for size, chain_hash, where in heads:
            if size > chained[0]:
                report.problems.append(f"{where} says {size} records, the host publishes {chained[0]}: "
                                       "records were removed")
            elif chain_at.get(size) != chain_hash:
                report.problems.append(f"{where} (record {size}) does not match the published records: "
                                       "the history was rewritten")
    published = await _published(fetcher, space_url)
    given: dict[tuple[int, str], int] = defaultdict(int)  # (component, person) -> supports
    for url, (component_id, _, _, _) in published.items():
        for person in supporters.get(url, ()):
            given[(component_id, person)] += 1
    for url, (component_id, total, by_origin, informal_total) in published.items():
        report.proposals += 1
        counted = [p for p in supporters.get(url, ()) if given[(component_id, p)] >= minimum.get(component_id, 0)]
        mine: dict[str, int] = defaultdict(int)
        for person in counted:
            mine[_host(person)] += 1
        report.counts[url] = dict(mine)
        if total is None:
            report.hidden += 1
            continue
        if total != len(counted):
            report.problems.append(f"{url}: the host publishes {total} supports, the records give {len(counted)}")
        if by_origin is not None and {k: v for k, v in by_origin.items() if v} != dict(mine):
            report.problems.append(f"{url}: the host publishes {by_origin} by node, the records give {dict(mine)}")
        if informal_total is not None and informal_total != len(informal.get(url, ())):
            report.problems.append(f"{url}: the host publishes {informal_total} informal supports, the records "
                                   f"give {len(informal.get(url, ()))}")
    unknown = set(supporters) - set(published)
    for url in sorted(unknown):
        if supporters[url] and same_origin(url, space_url):
            report.problems.append(f"{url}: records support it but the host does not publish it")
    from node.cohosting.recount_budgets import recount_budgets

    report.budgets = await recount_budgets(fetcher, space_url, voted, claims)
    for budget in report.budgets:
        report.problems.extend(budget.problems)
    return report


async def _published(fetcher, space_url: str) -> dict[str, tuple]:
    """{proposal url: (component id, support_count or None when hidden, supports_by_origin,
    informal_support_count)}."""
    parts = urlsplit(space_url)
    slug = parts.path.rstrip("/").rsplit("/", 1)[-1]
    api = f"{parts.scheme}://{parts.netloc}/api/spaces/{slug}/proposals"
    found: dict[str, tuple] = {}
    for number in range(1, MAX_PAGES):
        page = await fetcher.get_json(f"{api}?page={number}&per_page=100", accept="application/json")
        items = page.get("items") or []
        for item in items:
            found[item["url"]] = (item.get("component_id"), item.get("support_count"), item.get("supports_by_origin"),
                                  item.get("informal_support_count"))
        if len(items) < 100:
            break
    return found
