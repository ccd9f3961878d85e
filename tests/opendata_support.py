"""Data for the open-data tests: a published space with proposals under each results-visibility
policy, an unpublished component, debates and comments, a second published space and an
unpublished one. Works on a sessionmaker, so the HTTP and the CLI tests share it."""
from __future__ import annotations

import csv
import io
import zipfile

from node.accounts.service import create_user
from node.components.comments.service import create_comment, delete_comment
from node.components.debates.service import close_debate, comment_target as debate_target, create_debate
from node.components.proposals.comments import load_proposal_target
from node.components.proposals.service import create_proposal, edit_proposal
from node.components.proposals.supports import add_support
from node.spaces.service import add_component, add_phase, create_space

PASSWORD = "correct horse battery"
EMAIL_DOMAIN = "private.example"
BODY = "A longer description of what we propose, where, and why it matters."


async def populate(sessionmaker, base_url: str) -> dict:
    async with sessionmaker.begin() as db:
        users = {name: await create_user(db, username=name, email=f"{name}@{EMAIL_DOMAIN}", password=PASSWORD,
                                         nickname=name.title())
                 for name in ("amelie", "jordi", "noor", "sam")}

        async def space(slug, published=True):
            return await create_space(db, {"slug": slug, "title": {"en": f"Space {slug}", "fr": f"Espace {slug}"},
                                           "description": {"en": "What this space is for."}, "published": published},
                                      default_locale="en")

        async def component(space_row, kind, name, published=True, **settings):
            return await add_component(db, space_row, kind, {"name": {"en": name}, "published": published,
                                                             "settings": settings})

        async def propose(space_row, component_row, title, author="amelie", body=BODY):
            return await create_proposal(db, space=space_row, component=component_row, author=users[author],
                                         values={"title": title, "body": body}, base_url=base_url)

        budget = await space("budget-2027")
        phase = await add_phase(db, budget, {"title": {"en": "Proposals", "fr": "Propositions"},
                                             "start_date": "2027-01-01", "end_date": "2027-03-31"})
        shown = await component(budget, "proposals", "Counts shown", results_visibility="always")
        hidden = await component(budget, "proposals", "Counts after supports", results_visibility="after_supports")
        admins = await component(budget, "proposals", "Counts for admins", results_visibility="admins")
        draft = await component(budget, "proposals", "Draft", published=False)
        debates = await component(budget, "debates", "Debates", users_can_create=True)
        neighbourhoods = await space("neighbourhoods")
        elsewhere = await component(neighbourhoods, "proposals", "Ideas")
        secret = await space("secret-space", published=False)
        secret_component = await component(secret, "proposals", "Secret ideas")

        p_shown = await propose(budget, shown, "Plant trees on the market square",
                                body="- twelve lime trees\n- benches\n\n=SUM(A1:A9) is not a formula here")
        await edit_proposal(db, p_shown, space=budget, component=shown, user=users["amelie"], base_url=base_url,
                            values={"title": "Plant trees and benches on the market square", "body": BODY})
        # The first has fewer supports than the second: an order by supports would swap them.
        p_few = await propose(budget, hidden, "Cycle lanes on the ring road", author="jordi")
        p_many = await propose(budget, hidden, "Night buses on weekdays", author="noor")
        p_admins = await propose(budget, admins, "A public library in the old station")
        p_draft = await propose(budget, draft, "Secret draft proposal")
        p_elsewhere = await propose(neighbourhoods, elsewhere, "Benches in every neighbourhood", author="sam")
        p_secret = await propose(secret, secret_component, "Proposal in a secret space")
        for proposal, supporters in ((p_shown, ("jordi", "noor")), (p_few, ("amelie",)),
                                     (p_many, ("amelie", "jordi", "sam")), (p_admins, ("jordi", "noor"))):
            for name in supporters:
                await add_support(db, proposal.id, users[name], phase.id)

        target = await load_proposal_target(db, p_shown.id)
        first = await create_comment(db, target, commentable_type="proposal", commentable_id=p_shown.id,
                                     author=users["jordi"], body="Yes, lime trees please.", alignment="in_favor")
        await create_comment(db, target, commentable_type="proposal", commentable_id=p_shown.id,
                             author=users["amelie"], body="@jordi they give shade.", parent_id=first.id)
        regret = await create_comment(db, target, commentable_type="proposal", commentable_id=p_shown.id,
                                      author=users["noor"], body="Something I regret writing.")
        await delete_comment(db, target, regret, users["noor"])
        for proposal in (p_draft, p_secret):
            await create_comment(db, await load_proposal_target(db, proposal.id), commentable_type="proposal",
                                 commentable_id=proposal.id, author=users["sam"], body="A comment nobody may export.")

        official = await create_debate(db, debates, {
            "title": {"en": "Should the market move?", "fr": "Déplacer le marché ?"},
            "description": {"en": "The square is rebuilt."}}, language="en")
        resident = await create_debate(db, debates, {"title": {"en": "More shade in summer"},
                                                     "description": {"en": "Trees or awnings?"}},
                                       author=users["noor"], language="en")
        await create_comment(db, debate_target(official, debates, budget), commentable_type="debate",
                             commentable_id=official.id, author=users["sam"], body="Keep it near the station.")
        await close_debate(db, resident, {"en": "Trees, mostly."}, actor_id=users["noor"].id, language="en")
    return {"users": users, "phase": phase, "shown": p_shown, "few": p_few, "many": p_many, "admins": p_admins,
            "draft": p_draft, "elsewhere": p_elsewhere, "secret": p_secret, "official": official,
            "resident": resident}


def read_zip(data: bytes) -> dict[str, tuple[list[str], list[dict]]]:
    """Every CSV of an export, read with the csv module: {name: (header, rows as dicts)}."""
    tables = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        for name in archive.namelist():
            if name.endswith(".csv"):
                text = archive.read(name).decode("utf-8")
                rows = list(csv.reader(io.StringIO(text, newline="")))
                assert rows and rows[0], f"{name} has no header row"
                assert all(len(row) == len(rows[0]) for row in rows), f"{name} has ragged rows"
                tables[name[:-4]] = (rows[0], [dict(zip(rows[0], row)) for row in rows[1:]])
    return tables
