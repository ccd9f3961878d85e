"""What is searchable in each kind of item; registered with node.search.indexer."""
from __future__ import annotations

import re

from node.components.comments.models import Comment
from node.components.debates.models import Debate
from node.components.proposals.models import Proposal
from node.search.indexer import Source, register_source
from node.search.text import fold
from node.spaces.models import Space

# Markdown punctuation, quote marks and link targets: not words anyone searches for, noise in
# snippets. Anything else stays as typed (snippets are escaped when shown).
_MARKUP = re.compile(r"\]\([^)]*\)|[*_#`\[\]]|(?m:^\s*>+)")


def plain(text: str | None) -> str:
    return " ".join(_MARKUP.sub(" ", text or "").split())


def _translated(*fields: dict | None) -> dict:
    """Several translated fields joined per language, markup removed."""
    out: dict[str, str] = {}
    for value in fields:
        for lang, text in (value or {}).items():
            if text:
                out[lang] = (out.get(lang, "") + " " + plain(text)).strip()
    return out


def _folded(value: dict) -> str:
    return fold(" ".join(value.values()))


def _document(*, space_id, component_id=None, title: dict, body: dict, state: str = "",
              parent=(None, None)) -> dict:
    return {"space_id": space_id, "component_id": component_id, "title": title, "body": body,
            "title_text": _folded(title), "body_text": _folded(body), "state": state,
            "parent_type": parent[0], "parent_id": parent[1]}


def space_document(space: Space) -> dict:
    return _document(space_id=space.id, title=_translated(space.title),
                     body=_translated(space.subtitle, space.description))


def proposal_document(proposal: Proposal) -> dict:
    # Written in one language, which the proposal does not record: "und" (BCP 47: undetermined).
    return _document(space_id=proposal.space_id, component_id=proposal.component_id,
                     title={"und": plain(proposal.title)}, body={"und": plain(proposal.body)},
                     state="withdrawn" if proposal.state == "withdrawn" else "")


def debate_document(debate: Debate) -> dict:
    return _document(space_id=debate.space_id, component_id=debate.component_id,
                     title=_translated(debate.title),
                     body=_translated(debate.description, debate.instructions, debate.conclusion),
                     state="closed" if debate.closed_at else "")


def comment_document(comment: Comment) -> dict | None:
    if comment.deleted_at is not None:
        return None  # the body of a deleted comment is never shown again, nor found
    return _document(space_id=comment.space_id, component_id=comment.component_id, title={},
                     body={"und": plain(comment.body)}, parent=(comment.commentable_type, comment.commentable_id))


register_source(Space, Source("space", ("title", "subtitle", "description"), space_document))
register_source(Proposal, Source("proposal", ("title", "body", "state"), proposal_document))
register_source(Debate, Source("debate", ("title", "description", "instructions", "conclusion", "closed_at"),
                               debate_document))
register_source(Comment, Source("comment", ("body", "deleted_at"), comment_document))
