"""Proposals, debates and comments as ActivityStreams documents, and the activities that carry
them: pure mappings on in-memory ORM rows (no database), plus one pass through the real inbox
pipeline of a peer to show that the Group's Announce of a Create is accepted as built."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from urllib.parse import urldefrag

import pytest

from federation.actors import build_actor, parse_remote_actor
from federation.inbox import InboxPipeline, ResolvedActor
from federation.keys import NodeKeys
from federation.proofs import create_proof
from federation.signatures import sign_request
from federation.vocab import AS_CONTEXT, AS_PUBLIC, CIVICNODE_NS, same_origin
from node.components.comments.activities import announce, comment_to_note, wrap
from node.components.comments.models import Comment
from node.components.debates.activities import debate_to_note, debate_url
from node.components.debates.models import Debate
from node.components.proposals.activities import proposal_to_article, proposal_tombstone
from node.components.proposals.models import Proposal, ProposalVersion

BASE = "https://city.example"
SLUG = "budget-2027"
GROUP = f"{BASE}/spaces/{SLUG}"
ALICE = f"{BASE}/users/alice"
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
T1 = datetime(2026, 3, 4, 18, 0, tzinfo=timezone.utc)
EVIL = "Hello <script>alert('x')</script> **world** <img src=x onerror=alert(1)>"


def make_proposal(body: str = "A *bench* by the river.", **extra) -> tuple[Proposal, ProposalVersion]:
    proposal = Proposal(id=7, component_id=3, space_id=1, author_id=11, title="Benches", body=body,
                        category="parks", address="", state="evaluating", answer="", created_at=T0,
                        version_number=2, support_count=42, comments_count=0, **extra)
    version = ProposalVersion(id=70, proposal_id=7, number=2, title="Benches", body=body, category="parks",
                              address="", created_at=T1, author_id=11, canonical_json="{}", fingerprint="ab" * 32)
    return proposal, version


def article(counts_visible: bool = True, **kwargs) -> dict:
    proposal, version = make_proposal(**kwargs)
    return proposal_to_article(proposal, version, base_url=BASE, space_slug=SLUG, author_username="alice",
                               locale="en", counts_visible=counts_visible)


def make_comment(**extra) -> Comment:
    values = dict(id=91, commentable_type="proposal", commentable_id=7, space_id=1, component_id=3,
                  parent_id=None, depth=0, author_id=12, body="I *agree*", alignment="in_favor",
                  created_at=T0, edited_at=None, deleted_at=None, up_votes=0, down_votes=0)
    values.update(extra)
    return Comment(**values)


def note(comment: Comment, in_reply_to: str = f"{GROUP}/proposals/7") -> dict:
    return comment_to_note(comment, base_url=BASE, author_username="bob", in_reply_to_url=in_reply_to,
                           space_slug=SLUG, page_url=f"/spaces/{SLUG}/proposals/7", locale="en")


def make_debate(**extra) -> Debate:
    values = dict(id=5, component_id=4, space_id=1, author_id=12, title={"en": "Night buses?", "ca": "Busos?"},
                  description={"en": "Should we run *night* buses?"}, instructions={}, start_at=None,
                  end_at=None, closed_at=None, conclusion={}, created_at=T0, updated_at=T0, comments_count=0)
    values.update(extra)
    return Debate(**values)


def all_ids(document) -> list[str]:
    """Every id / actor reference inside a document (the node must only mint ids on its origin)."""
    found = []
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key in ("id", "actor", "attributedTo", "audience", "inReplyTo", "url"):
                if isinstance(item.get(key), str):
                    found.append(item[key])
            stack.extend(v for k, v in item.items() if k not in ("@context", "proof"))
        elif isinstance(item, list):
            stack.extend(item)
    return found


def assert_on_origin(document) -> None:
    ids = all_ids(document)
    assert ids
    for value in ids:
        assert same_origin(value, BASE), value


def assert_context(document) -> None:
    context = document["@context"]
    assert context[0] == AS_CONTEXT
    extension = context[-1]
    assert extension["cn"] == CIVICNODE_NS
    for key, value in document.items():
        if key in ("state", "fingerprint", "supportCount", "alignment", "category", "conclusion"):
            assert key in extension, f"{key} is not defined in the document's context"


# --- proposals ---------------------------------------------------------------------------------

def test_a_proposal_is_an_article_with_civicnode_terms():
    doc = article()
    assert doc["type"] == "Article"
    assert doc["id"] == doc["url"] == f"{GROUP}/proposals/7"
    assert doc["attributedTo"] == ALICE
    assert doc["audience"] == GROUP
    assert doc["name"] == "Benches"
    assert doc["mediaType"] == "text/html"
    assert doc["content"] == "<p>A <em>bench</em> by the river.</p>\n"
    assert doc["contentMap"] == {"en": doc["content"]}
    assert doc["source"] == {"content": "A *bench* by the river.", "mediaType": "text/markdown"}
    assert doc["published"] == "2026-03-01T09:30:00Z"
    assert doc["updated"] == "2026-03-04T18:00:00Z"
    assert doc["to"] == [AS_PUBLIC] and doc["cc"] == [f"{GROUP}/followers"]
    assert doc["state"] == "evaluating"
    assert doc["fingerprint"] == "ab" * 32
    assert doc["category"] == "parks"
    assert doc["supportCount"] == 42
    assert_context(doc)
    assert_on_origin(doc)
    assert json.loads(json.dumps(doc)) == doc


def test_support_count_stays_out_when_counts_are_not_visible():
    doc = article(counts_visible=False)
    assert "supportCount" not in doc
    assert "42" not in json.dumps(doc)  # not under another name either


def test_a_first_version_has_no_updated_and_a_deleted_author_falls_back_to_the_group():
    proposal, version = make_proposal()
    version.created_at = proposal.created_at
    doc = proposal_to_article(proposal, version, base_url=BASE, space_slug=SLUG, author_username=None,
                              locale="ca", counts_visible=True)
    assert "updated" not in doc
    assert doc["attributedTo"] == GROUP
    assert list(doc["contentMap"]) == ["ca"]


@pytest.mark.parametrize("mapping", ["article", "comment", "debate"])
def test_content_is_sanitised(mapping):
    if mapping == "article":
        doc = article(body=EVIL)
    elif mapping == "comment":
        doc = note(make_comment(body=EVIL))
    else:
        doc = debate_to_note(make_debate(description={"en": EVIL}, title={"en": "<script>t</script>"},
                                         closed_at=T1, conclusion={"en": EVIL}),
                             base_url=BASE, space_slug=SLUG, author_username="bob", locale="en")
    rendered = doc["content"] + doc.get("conclusion", "")
    assert "<script" not in rendered and "<img" not in rendered
    assert "<strong>world</strong>" in doc["content"]
    assert "&lt;script&gt;" in doc["content"]  # shown as text, never as a tag
    assert doc["source"]["content"].startswith("Hello <script>")  # the raw text is the author's own


# --- comments ----------------------------------------------------------------------------------

def test_a_comment_is_a_note_in_reply_to_its_commentable():
    doc = note(make_comment())
    assert doc["type"] == "Note"
    assert doc["id"] == f"{BASE}/comments/91"
    assert doc["url"] == f"{GROUP}/proposals/7#comment-91"
    assert doc["inReplyTo"] == f"{GROUP}/proposals/7"
    assert doc["attributedTo"] == f"{BASE}/users/bob"
    assert doc["audience"] == GROUP
    assert doc["alignment"] == "in_favor"
    assert doc["content"] == "<p>I <em>agree</em></p>\n"
    assert doc["source"] == {"content": "I *agree*", "mediaType": "text/markdown"}
    assert doc["to"] == [AS_PUBLIC] and doc["cc"] == [f"{GROUP}/followers"]
    assert "updated" not in doc
    assert_context(doc)
    assert_on_origin(doc)
    json.dumps(doc)


def test_a_reply_points_at_its_parent_and_a_debate_comment_has_no_alignment():
    doc = note(make_comment(parent_id=90, depth=1, alignment=None, edited_at=T1), f"{BASE}/comments/90")
    assert doc["inReplyTo"] == f"{BASE}/comments/90"
    assert "alignment" not in doc
    assert doc["updated"] == "2026-03-04T18:00:00Z"


def test_a_deleted_comment_is_a_tombstone_that_says_nothing():
    doc = note(make_comment(deleted_at=T1, body="secret words"))
    assert doc["type"] == "Tombstone"
    assert doc["id"] == f"{BASE}/comments/91"
    assert doc["formerType"] == "Note"
    assert doc["deleted"] == "2026-03-04T18:00:00Z"
    text = json.dumps(doc)
    assert "secret" not in text and "bob" not in text and "in_favor" not in text


# --- debates -----------------------------------------------------------------------------------

def test_an_open_debate_is_a_named_note():
    doc = debate_to_note(make_debate(), base_url=BASE, space_slug=SLUG, author_username="bob", locale="en")
    assert doc["type"] == "Note"
    assert doc["id"] == doc["url"] == debate_url(BASE, SLUG, 4, 5) == f"{GROUP}/c/4/debates/5"
    assert doc["name"] == "Night buses?"
    assert doc["nameMap"] == {"en": "Night buses?", "ca": "Busos?"}
    assert doc["content"].startswith("<p><strong>Night buses?</strong></p>")  # Mastodon ignores name
    assert "<em>night</em>" in doc["content"]
    assert "summary" not in doc  # Mastodon would show it as a content warning
    assert doc["attributedTo"] == f"{BASE}/users/bob"
    assert "closed" not in doc and "conclusion" not in doc
    assert_context(doc)
    assert_on_origin(doc)
    json.dumps(doc)


def test_a_closed_official_debate_carries_its_conclusion():
    debate = make_debate(author_id=None, closed_at=T1, updated_at=T1, conclusion={"en": "Yes, *from May*."})
    doc = debate_to_note(debate, base_url=BASE, space_slug=SLUG, author_username=None, locale="en")
    assert doc["attributedTo"] == GROUP
    assert doc["closed"] == "2026-03-04T18:00:00Z"
    assert doc["conclusion"] == "<p>Yes, <em>from May</em>.</p>\n"
    assert doc["updated"] == "2026-03-04T18:00:00Z"
    assert_context(doc)


# --- activities --------------------------------------------------------------------------------

def create_and_announce(obj: dict | None = None) -> tuple[dict, dict]:
    obj = obj or article()
    create = wrap("Create", ALICE, obj, activity_id=f"{BASE}/activities/1")
    return create, announce(GROUP, create, announce_id=f"{BASE}/activities/2", followers=f"{GROUP}/followers")


def test_create_wraps_the_object_with_its_addressing():
    obj = article()
    create, _ = create_and_announce(obj)
    assert create["type"] == "Create" and create["actor"] == ALICE
    assert create["object"] == {k: v for k, v in obj.items() if k != "@context"}
    assert create["to"] == obj["to"] and create["cc"] == obj["cc"]
    assert create["published"] == obj["published"]
    assert_context(create)
    assert_on_origin(create)
    json.dumps(create)


def test_update_and_delete():
    obj = article()
    update = wrap("Update", ALICE, obj, activity_id=f"{BASE}/activities/3")
    assert update["type"] == "Update" and update["published"] == obj["updated"]
    proposal, _ = make_proposal()
    gone = proposal_tombstone(proposal, base_url=BASE, space_slug=SLUG, deleted=T1)
    delete = wrap("Delete", ALICE, gone, activity_id=f"{BASE}/activities/4")
    assert delete["object"]["type"] == "Tombstone" and delete["object"]["formerType"] == "Article"
    assert delete["object"]["id"] == obj["id"]
    by_id = wrap("Delete", ALICE, obj["id"], activity_id=f"{BASE}/activities/5")
    assert by_id["object"] == obj["id"] and by_id["to"] == [AS_PUBLIC]
    for doc in (update, delete, by_id):
        assert_on_origin(doc)
        json.dumps(doc)
    with pytest.raises(ValueError):
        wrap("Like", ALICE, obj, activity_id=f"{BASE}/activities/6")


def test_the_group_announces_the_create():
    create, ann = create_and_announce()
    assert ann["type"] == "Announce"
    assert ann["actor"] == GROUP
    assert ann["object"] == {k: v for k, v in create.items() if k != "@context"}
    assert ann["object"]["type"] == "Create" and ann["object"]["object"]["type"] == "Article"
    assert ann["to"] == [AS_PUBLIC] and ann["cc"] == [f"{GROUP}/followers"]
    assert_context(ann)
    assert_on_origin(ann)
    assert json.loads(json.dumps(ann)) == ann


def test_a_comment_and_a_debate_wrap_and_announce_too():
    for obj in (note(make_comment()),
                debate_to_note(make_debate(), base_url=BASE, space_slug=SLUG, author_username="bob", locale="en")):
        create, ann = create_and_announce(obj)
        assert ann["object"]["object"]["id"] == obj["id"]
        assert_on_origin(ann)
        json.dumps(ann)


# --- a peer's inbox accepts the Announce --------------------------------------------------------

PEER_INBOX = "https://peer.example/inbox"


@pytest.fixture(scope="module")
def city_actors():
    keys = {"group": NodeKeys.generate(), "alice": NodeKeys.generate()}
    docs = {}
    for name, (kind, actor_id) in {"group": ("Group", GROUP), "alice": ("Person", ALICE)}.items():
        docs[actor_id] = build_actor(kind, id=actor_id, preferred_username=name, name=name, summary=None,
                                     inbox=actor_id + "/inbox", outbox=actor_id + "/outbox",
                                     followers=actor_id + "/followers", shared_inbox=BASE + "/inbox",
                                     url=actor_id, rsa_public_pem=keys[name].rsa_public_pem,
                                     ed25519_multibase=keys[name].ed25519_public_multibase)
    return keys, docs


def peer_pipeline(docs: dict) -> tuple[InboxPipeline, list]:
    stored = []

    async def resolve(url: str, refresh: bool) -> ResolvedActor:
        actor_id = urldefrag(url).url
        return ResolvedActor(parse_remote_actor(copy.deepcopy(docs[actor_id]), actor_id), fresh=refresh)

    async def store(received, context) -> bool:
        stored.append(received)
        return True

    async def finish(activity_id, status, error) -> None:
        return None

    async def host_refusal(host: str):
        return None

    pipeline = InboxPipeline(resolve_actor=resolve, store=store, finish=finish, host_refusal=host_refusal)
    handled = []

    async def on_announce(context, activity, author):
        handled.append((activity, author))

    pipeline.register("Announce", on_announce)
    return pipeline, handled


async def deliver(pipeline: InboxPipeline, document: dict, keys: NodeKeys, key_id: str):
    body = json.dumps(document).encode()
    headers = sign_request("POST", PEER_INBOX, {"Content-Type": "application/activity+json"}, body,
                           key_id, keys.rsa_private_pem)
    return await pipeline.process("POST", "/inbox", headers, body, scheme="https", host="peer.example")


async def test_a_peer_inbox_accepts_the_groups_announce_with_the_create_embedded(city_actors):
    keys, docs = city_actors
    pipeline, handled = peer_pipeline(docs)
    _, ann = create_and_announce()
    result = await deliver(pipeline, ann, keys["group"], GROUP + "#main-key")
    assert result.accepted and result.code not in ("duplicate", "ignored"), result
    activity, author = handled[0]
    # Same origin as the announcing Group: the Create stays embedded, no proof needed.
    assert isinstance(activity["object"], dict)
    assert activity["object"]["object"]["id"] == f"{GROUP}/proposals/7"
    assert author.id == GROUP


async def test_a_create_signed_by_its_author_stays_verifiable_when_announced(city_actors):
    keys, docs = city_actors
    create = wrap("Create", ALICE, article(), activity_id=f"{BASE}/activities/10")
    signed = create_proof(create, keys["alice"].ed25519_seed_hex, ALICE + "#ed25519-key")
    ann = announce(GROUP, signed, announce_id=f"{BASE}/activities/11", followers=f"{GROUP}/followers")
    assert ann["object"]["proof"] == signed["proof"] and ann["object"]["@context"] == signed["@context"]
    pipeline, handled = peer_pipeline(docs)
    result = await deliver(pipeline, ann, keys["group"], GROUP + "#main-key")
    assert result.accepted and result.code not in ("duplicate", "ignored"), result
    assert handled[0][0]["object"]["proof"]["verificationMethod"] == ALICE + "#ed25519-key"

    tampered = copy.deepcopy(ann)
    tampered["id"] = f"{BASE}/activities/12"
    tampered["object"]["object"]["supportCount"] = 9999
    result = await deliver(pipeline, tampered, keys["group"], GROUP + "#main-key")
    assert result.status == 401 and result.code == "bad_proof"
