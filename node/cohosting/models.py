"""Tables of co-hosted consultations (docs/FEDERATION.md, "Co-hosted consultations").

Host side (a space of this node that partner nodes take part in):
- ``space_partners``: which nodes are partners of which space, under which conditions, and the
  state of the agreement (invited, active, declined, ended);
- ``remote_participants``: residents of partner nodes who took part, identified by their actor
  URI on their home node (one person, one support);
- ``participation_records``: every support and withdrawal, and every partner resident's comment,
  signed: a partner's resident's as received (their proof and their home node's attestation),
  with the answer given; a local resident's signed by this node when it happened. They are the public evidence behind the
  counts (``/spaces/<slug>/records``, ``civicnode recount``), written once, never deleted;
- ``remote_originals``: which comment or proposal here a partner's resident's Note or Article became,
  so that they can edit or delete it from their node.

Home side (a resident of this node takes part in a space of another node):
- ``partnerships``: the spaces of other nodes this node was invited to co-host;
- ``outgoing_participations``: what our residents sent and the host's answer, so that the
  resident sees "counted" or "refused: supports closed" on their own node.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from node.activitypub.models import URI
from node.db.base import Base, UTCDateTime, utcnow

PARTNER_STATES = ("invited", "active", "declined", "ended")
ANSWERS = ("pending", "accepted", "rejected")


class SpacePartner(Base):
    __tablename__ = "space_partners"
    # One open agreement (invited or active) per node and space; declined and ended ones stay as
    # history, so a node can be invited again later (a new row).
    __table_args__ = (Index("uq_space_partners_open", "space_id", "node_uri", unique=True,
                            sqlite_where=text("state IN ('invited', 'active')"),
                            postgresql_where=text("state IN ('invited', 'active')")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    node_uri: Mapped[str] = mapped_column(String(URI))  # the partner's Application actor
    host: Mapped[str] = mapped_column(String(255), index=True)
    inbox: Mapped[str] = mapped_column(String(URI))
    name: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[str] = mapped_column(String(16), default="invited")  # PARTNER_STATES
    # What the partner's node must vouch for: {"authorisations": [handler, …]} — any one of them
    # (empty: any resident with an account there).
    conditions: Mapped[dict] = mapped_column(JSON, default=dict)
    invite_activity_id: Mapped[str] = mapped_column(String(URI), unique=True)
    follow_activity_id: Mapped[str | None] = mapped_column(String(URI))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(16))  # "host" or "partner"


class Partnership(Base):
    __tablename__ = "partnerships"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_uri: Mapped[str] = mapped_column(String(URI), index=True)  # the host's Group
    host_node_uri: Mapped[str] = mapped_column(String(URI))
    host: Mapped[str] = mapped_column(String(255), default="")
    host_inbox: Mapped[str] = mapped_column(String(URI), default="")  # the host node's inbox
    # The Group as the Invite named it (name, slug@host), shown before the space is mirrored.
    space_name: Mapped[str] = mapped_column(Text, default="")
    space_handle: Mapped[str] = mapped_column(String(512), default="")
    remote_space_id: Mapped[int | None] = mapped_column(ForeignKey("remote_spaces.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default="invited")  # PARTNER_STATES
    conditions: Mapped[dict] = mapped_column(JSON, default=dict)
    invite_activity_id: Mapped[str] = mapped_column(String(URI), unique=True)
    invite: Mapped[dict] = mapped_column(JSON, default=dict)  # as received: Accept/Reject embed it
    follow_activity_id: Mapped[str | None] = mapped_column(String(URI), unique=True)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(16))  # "host" or "partner"


class RemoteParticipant(Base):
    __tablename__ = "remote_participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_uri: Mapped[str] = mapped_column(String(URI), unique=True)
    home_node_uri: Mapped[str] = mapped_column(String(URI))
    home_host: Mapped[str] = mapped_column(String(255), index=True)
    # The name their actor document gave when they last commented here (plain text), shown with
    # their comments: "Ana (town.example)".
    display_name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ParticipationRecord(Base):
    __tablename__ = "participation_records"
    # One chain per space: the constraint keeps two concurrent records from taking one place.
    __table_args__ = (UniqueConstraint("space_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    # A partner node's resident; None for this node's own residents (records signed by this node).
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("remote_participants.id", ondelete="CASCADE"),
                                                       index=True)
    actor_uri: Mapped[str] = mapped_column(String(URI), default="")
    # "support", "withdrawal", "comment", "proposal", "ballot", or a change of a comment or proposal
    # by its author (CHANGE_KINDS: node.cohosting.edits_host)
    kind: Mapped[str] = mapped_column(String(24))
    # What was supported or commented on; for a proposal, the one created (else the space).
    object_uri: Mapped[str] = mapped_column(String(URI))
    activity_id: Mapped[str] = mapped_column(String(URI), unique=True)
    activity: Mapped[dict] = mapped_column(JSON)  # as received: proof and attestation included
    answer: Mapped[str] = mapped_column(String(16))  # "accepted" or "rejected"
    reason: Mapped[str | None] = mapped_column(String(64))  # REASONS code when rejected
    informal: Mapped[bool] = mapped_column(default=False)  # an ``open`` space's non-partner: counted apart
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Its place in the space's chain (1, 2, …) and the chain's hash after it (node.cohosting.ledger).
    sequence: Mapped[int] = mapped_column()
    chain_hash: Mapped[str] = mapped_column(String(64))


class RemoteOriginal(Base):
    """A partner node's resident's Note or Article as their node names it (``object_uri``), and the
    comment or proposal it became here: what their later ``Update`` or ``Delete`` of it refers to
    (node.cohosting.edits_host). Their actor is the participant's: the author check."""
    __tablename__ = "remote_originals"

    id: Mapped[int] = mapped_column(primary_key=True)
    object_uri: Mapped[str] = mapped_column(String(URI), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("remote_participants.id", ondelete="CASCADE"))
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecordsHead(Base):
    """The end of a space's chain of records: how many, and the hash after the last. Its row is
    locked by each new record's transaction, so records of one space are chained one at a time."""
    __tablename__ = "records_heads"

    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True)
    size: Mapped[int] = mapped_column(default=0)
    chain_hash: Mapped[str] = mapped_column(String(64))


class WitnessedHead(Base):
    """A signed RecordsHead another node's space sent us (with its answers to our residents):
    kept so that anyone can check the host's records later still extend it
    (``civicnode recount --witness``). Never changed; duplicates are not kept."""
    __tablename__ = "witnessed_heads"
    __table_args__ = (UniqueConstraint("space_uri", "size", "chain_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_uri: Mapped[str] = mapped_column(String(URI), index=True)
    size: Mapped[int] = mapped_column()
    chain_hash: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict] = mapped_column(JSON)  # as received, with the host node's proof
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutgoingParticipation(Base):
    __tablename__ = "outgoing_participations"
    __table_args__ = (Index("ix_outgoing_participations_user_object", "user_id", "object_uri"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    space_uri: Mapped[str] = mapped_column(String(URI))
    object_uri: Mapped[str] = mapped_column(String(URI))
    # "support", "withdrawal", "comment", "proposal" (whose object_uri is the space), "ballot" (the
    # budget), or a change of the resident's comment or proposal (CHANGE_KINDS; object_uri: its id there)
    kind: Mapped[str] = mapped_column(String(24))
    activity_id: Mapped[str] = mapped_column(String(URI), unique=True)
    activity: Mapped[dict] = mapped_column(JSON)  # as sent: a withdrawal embeds the support it undoes
    # What the host made of it, named by its Accept (``result``): the published comment's or proposal's id.
    result_uri: Mapped[str | None] = mapped_column(String(URI))
    answer: Mapped[str] = mapped_column(String(16), default="pending")  # ANSWERS
    reason: Mapped[str | None] = mapped_column(String(64))
    reason_text: Mapped[str | None] = mapped_column(Text)  # the host's words, shown if the code is unknown
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


SHARE_STATES = ("pending", "accepted", "refused", "withdrawn")


class ProposalShare(Base):
    """Origin side: one of our proposals offered to a space of another node, and what that node
    reported back (its answer, the proposal's state and support count there)."""

    __tablename__ = "proposal_shares"
    __table_args__ = (UniqueConstraint("proposal_id", "target_space_uri", name="uq_proposal_shares_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    target_space_uri: Mapped[str] = mapped_column(String(URI))  # the other node's Group
    target_inbox: Mapped[str] = mapped_column(String(URI))
    target_name: Mapped[str] = mapped_column(Text, default="")
    target_host: Mapped[str] = mapped_column(String(255), default="")
    offer_activity_id: Mapped[str] = mapped_column(String(URI), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # SHARE_STATES
    remote_proposal_uri: Mapped[str | None] = mapped_column(String(URI), index=True)
    remote_state: Mapped[str | None] = mapped_column(String(16))
    remote_support_count: Mapped[int | None] = mapped_column()  # None: not published there now
    offered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProposalOffer(Base):
    """Receiving side: a proposal of another node offered to one of our spaces; once accepted,
    a local proposal (``proposal_id``) carries it, marked with its origin."""

    __tablename__ = "proposal_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    origin_uri: Mapped[str] = mapped_column(String(URI), index=True)  # the proposal's Article id there
    origin_space_uri: Mapped[str] = mapped_column(String(URI))  # the Group that offered it
    origin_inbox: Mapped[str] = mapped_column(String(URI))
    origin_host: Mapped[str] = mapped_column(String(255))
    offer_activity_id: Mapped[str] = mapped_column(String(URI), unique=True)
    article: Mapped[dict] = mapped_column(JSON)  # as offered, sanitised when shown
    state: Mapped[str] = mapped_column(String(16), default="pending")  # SHARE_STATES
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class InformalSupport(Base):
    """A support from a resident of a node that is not a partner, in a space whose policy is
    ``open``: kept and shown apart ("informal"), never in the official count, its thresholds or
    its per-person limits."""

    __tablename__ = "informal_supports"
    __table_args__ = (UniqueConstraint("proposal_id", "participant_id", name="uq_informal_supports_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("remote_participants.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
