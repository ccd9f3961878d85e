"""The proposal list: filters, orders and pages in a constant number of SQL statements (one
count, one page; the random order reads ids only and sorts them in Python)."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace

from sqlalchemy import exists, func, select

from node.accounts.models import User
from node.components.proposals.models import STATES, Proposal, Support
from node.groups.models import UserGroup
from node.moderation.visibility import not_hidden

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


def _filters(component_id: int, lq: ListQuery, user_id: int | None) -> list:
    where = [Proposal.component_id == component_id, not_hidden("proposal", Proposal.id)]
    where.append(Proposal.state == lq.state if lq.state else Proposal.state != "withdrawn")
    if lq.category:
        where.append(Proposal.category == lq.category)
    if lq.mine and user_id is not None:
        where.append(Proposal.author_id == user_id)
    return where


COLUMNS = (Proposal.id, Proposal.title, func.substr(Proposal.body, 1, EXCERPT + 1).label("excerpt"),
           Proposal.category, Proposal.address, Proposal.state, Proposal.created_at, Proposal.support_count,
           Proposal.comments_count, Proposal.author_id, User.nickname.label("author_nickname"),
           User.username.label("author_username"), UserGroup.nickname.label("group_nickname"),
           UserGroup.name.label("group_name"))


def _rows_query(user_id: int | None):
    columns = COLUMNS
    if user_id is not None:
        # Whether the viewer supports each row, in the page's own query: one round trip fewer.
        columns = (*COLUMNS, exists().where(Support.proposal_id == Proposal.id, Support.user_id == user_id)
                   .label("supported"))
    return (select(*columns).select_from(Proposal).outerjoin(User, User.id == Proposal.author_id)
            .outerjoin(UserGroup, UserGroup.id == Proposal.user_group_id))


def random_key(seed: str, proposal_id: int) -> bytes:
    return hashlib.blake2b(f"{seed}:{proposal_id}".encode(), digest_size=8).digest()


async def list_page(db, component_id: int, lq: ListQuery, user_id: int | None) -> tuple[list, int]:
    where = _filters(component_id, lq, user_id)
    start = (lq.page - 1) * PER_PAGE
    if lq.order == "random":
        # Stable per seed: the same visitor pages through one shuffled order.
        ids = list((await db.scalars(select(Proposal.id).where(*where))).all())
        ids.sort(key=lambda i: random_key(lq.seed, i))
        page_ids = ids[start:start + PER_PAGE]
        if not page_ids:
            return [], len(ids)
        rows = {row.id: row for row in (await db.execute(_rows_query(user_id).where(Proposal.id.in_(page_ids)))).all()}
        return [rows[i] for i in page_ids if i in rows], len(ids)
    total = await db.scalar(select(func.count()).select_from(Proposal).where(*where))
    order = {
        "recent": (Proposal.created_at.desc(), Proposal.id.desc()),
        "most_supported": (Proposal.support_count.desc(), Proposal.id.desc()),
        "most_commented": (Proposal.comments_count.desc(), Proposal.id.desc()),
    }[lq.order]
    rows = (await db.execute(_rows_query(user_id).where(*where).order_by(*order).offset(start).limit(PER_PAGE))).all()
    return list(rows), total


async def categories_in_use(db, component_id: int) -> list[str]:
    return sorted(c for c in (await db.scalars(select(Proposal.category).where(
        Proposal.component_id == component_id, Proposal.category != "").distinct())).all())
