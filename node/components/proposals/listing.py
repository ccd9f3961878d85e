"""The proposal list: filters, orders and pages in a constant number of SQL statements (one: the
page, with the count and the space's active phase as columns; the random order reads ids only,
sorts them in Python, then reads the page)."""
from __future__ import annotations

import hashlib
import secrets
from collections import namedtuple
from dataclasses import dataclass, replace
from functools import lru_cache

from sqlalchemy import Integer, bindparam, exists, func, select

from node.accounts.models import User
from node.cohosting.models import RemoteParticipant
from node.components.proposals.models import STATES, Proposal, Support
from node.groups.models import UserGroup
from node.moderation.models import Moderation
from node.moderation.visibility import not_hidden
from node.spaces.models import Phase

PER_PAGE = 20
EXCERPT = 280
SEED_COOKIE = "civicnode_seed"


@dataclass(frozen=True)
class ListQuery:
    state: str = ""          # "" = every state but withdrawn
    category: str = ""
    mine: bool = False
    order: str = "recent"
    seed: str = ""
    page: int = 1

    def params(self, **changes) -> dict:
        """Query parameters of this list (with changes), for links that keep the filters."""
        q = replace(self, **changes)
        params = {"state": q.state, "category": q.category, "mine": "1" if q.mine else "",
                  "order": q.order, "seed": q.seed if q.order == "random" else "",
                  "page": str(q.page) if q.page > 1 else ""}
        return {key: value for key, value in params.items() if value}


def allowed_orders(counts_shown: bool) -> list[str]:
    # Sorting by supports while counts are hidden would leak them through the order.
    orders = ["recent", "random", "most_commented"]
    return ["most_supported", *orders] if counts_shown else orders


def parse_list_query(query, cookies, settings: dict, counts_shown: bool, logged_in: bool) -> ListQuery:
    orders = allowed_orders(counts_shown)
    order = query.get("order") or settings["default_order"]
    if order not in orders:
        order = "recent"
    state = query.get("state", "")
    state = state if state in STATES else ""
    seed = (query.get("seed") or cookies.get(SEED_COOKIE) or "")[:32]
    if not seed.isalnum():
        seed = secrets.token_hex(8)
    try:
        page = max(1, min(int(query.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    return ListQuery(state=state, category=str(query.get("category", ""))[:100],
                     mine=logged_in and query.get("mine") == "1", order=order, seed=seed, page=page)


# The statements are built once for each shape of query (their values are bound parameters):
# building one and computing its cache key costs more than running it, on the busiest page.
_COMPONENT, _STATE, _CATEGORY, _AUTHOR, _VIEWER = (bindparam(name) for name in (
    "component_id", "state", "category", "author_id", "viewer_id"))
_OFFSET = bindparam("offset", type_=Integer)
_IDS = bindparam("ids", expanding=True)


def _filters(lq: ListQuery, *, counting: bool = False) -> list:
    if counting:
        # The same rows as not_hidden, but the hidden ids are read once rather than looked up
        # for each of the component's proposals: half the time of the count on 5,000 of them.
        hidden = select(Moderation.subject_id).where(Moderation.subject_type == "proposal",
                                                     Moderation.hidden_at.is_not(None))
        where = [Proposal.component_id == _COMPONENT, Proposal.id.not_in(hidden)]
    else:
        where = [Proposal.component_id == _COMPONENT, not_hidden("proposal", Proposal.id)]
    where.append(Proposal.state == _STATE if lq.state else Proposal.state != _STATE)
    if lq.category:
        where.append(Proposal.category == _CATEGORY)
    if lq.mine:
        where.append(Proposal.author_id == _AUTHOR)
    return where


def _values(component_id: int, lq: ListQuery, user_id: int | None) -> dict:
    return {"component_id": component_id, "state": lq.state or "withdrawn", "category": lq.category,
            "author_id": user_id, "viewer_id": user_id, "offset": (lq.page - 1) * PER_PAGE}


COLUMNS = (Proposal.id, Proposal.title, func.substr(Proposal.body, 1, EXCERPT + 1).label("excerpt"),
           Proposal.category, Proposal.address, Proposal.state, Proposal.created_at, Proposal.support_count,
           Proposal.comments_count, Proposal.author_id, User.nickname.label("author_nickname"),
           User.username.label("author_username"), UserGroup.nickname.label("group_nickname"),
           UserGroup.name.label("group_name"), Proposal.origin_uri,
           # A partner node's resident's proposal: part of the row, hence of its card's key.
           RemoteParticipant.actor_uri.label("remote_actor"), RemoteParticipant.display_name.label("remote_name"),
           RemoteParticipant.home_host.label("remote_host"))
ORDERS = {
    "recent": (Proposal.created_at.desc(), Proposal.id.desc()),
    "most_supported": (Proposal.support_count.desc(), Proposal.id.desc()),
    "most_commented": (Proposal.comments_count.desc(), Proposal.id.desc()),
}


def _rows_query(logged_in: bool):
    columns = COLUMNS
    if logged_in:
        # Whether the viewer supports each row, in the page's own query: one round trip fewer.
        columns = (*COLUMNS, exists().where(Support.proposal_id == Proposal.id, Support.user_id == _VIEWER)
                   .label("supported"))
    return (select(*columns).select_from(Proposal).outerjoin(User, User.id == Proposal.author_id)
            .outerjoin(UserGroup, UserGroup.id == Proposal.user_group_id)
            .outerjoin(RemoteParticipant, RemoteParticipant.id == Proposal.remote_participant_id))


@lru_cache(maxsize=256)
def _statements(shape: ListQuery, logged_in: bool) -> dict:
    """The statements of a list of this shape (`shape`: a ListQuery with only what changes the SQL).

    The space's active phase and the count ride along as columns of the page (uncorrelated
    subqueries: computed once) to save two round trips; when there is no row to carry them
    (a page past the end), the count statement asks for both."""
    phase = (select(Phase.id).where(Phase.space_id == bindparam("space_id"), Phase.active.is_(True))
             .limit(1).scalar_subquery())
    count = select(func.count()).select_from(Proposal).where(*_filters(shape, counting=True))
    counted = count.add_columns(phase)
    if shape.order == "random":
        return {"count": counted, "ids": select(Proposal.id, phase).where(*_filters(shape)),
                "rows": _rows_query(logged_in).where(Proposal.id.in_(_IDS))}
    return {"count": counted, "page": _rows_query(logged_in).add_columns(count.correlate(None).scalar_subquery(), phase)
            .where(*_filters(shape)).order_by(*ORDERS[shape.order]).offset(_OFFSET).limit(PER_PAGE)}


def random_key(seed: str, proposal_id: int) -> bytes:
    return hashlib.blake2b(f"{seed}:{proposal_id}".encode(), digest_size=8).digest()


async def list_page(db, space_id: int, component_id: int, lq: ListQuery,
                    user_id: int | None) -> tuple[list, int, int | None]:
    """(the page's rows, how many proposals match, the id of the space's active phase)."""
    shape = ListQuery(state="x" if lq.state else "", category="x" if lq.category else "",
                      mine=lq.mine and user_id is not None, order=lq.order)
    statements = _statements(shape, user_id is not None)
    values = {**_values(component_id, lq, user_id), "space_id": space_id}
    if lq.order == "random":
        # Stable per seed: the same visitor pages through one shuffled order.
        found = (await db.execute(statements["ids"], values)).all()
        if not found:
            return [], 0, (await db.execute(statements["count"], values)).one()[1]
        ids = sorted((row[0] for row in found), key=lambda i: random_key(lq.seed, i))
        start = values["offset"]
        page_ids = ids[start:start + PER_PAGE]
        if not page_ids:
            return [], len(ids), found[0][1]
        rows = {row.id: row for row in (await db.execute(statements["rows"], {**values, "ids": page_ids})).all()}
        return [rows[i] for i in page_ids if i in rows], len(ids), found[0][1]
    rows = (await db.execute(statements["page"], values)).all()
    if not rows:
        total, phase_id = (await db.execute(statements["count"], values)).one()
        return [], total, phase_id
    # Without the count and the phase: a row is also the key of its card's kept HTML
    # (node.web.render.fragment), the same whatever else changed.
    shown = _row_type(rows[0]._fields[:-2])
    return [shown._make(row[:-2]) for row in rows], rows[0][-2], rows[0][-1]


@lru_cache(maxsize=8)
def _row_type(fields: tuple[str, ...]):
    return namedtuple("ListRow", fields)


async def categories_in_use(db, component_id: int) -> list[str]:
    return sorted(c for c in (await db.scalars(select(Proposal.category).where(
        Proposal.component_id == component_id, Proposal.category != "").distinct())).all())
