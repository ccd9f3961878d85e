"""Budgets of a budgets component, their projects, and ballots with their items.

A ballot is one row per voter and budget from the first project put in the basket: while
`checked_out_at` is empty it is the voter's basket (changeable), afterwards it is final. So
"one ballot per person per budget" is a unique constraint, for baskets and ballots alike.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from node.db.base import Base, ExactDecimal, Translated, UTCDateTime, utcnow

FEASIBILITY = ("pending", "feasible", "unfeasible")


# Exact amounts (money, points): decimal text on both engines, Decimal in Python.
Amount = ExactDecimal


class Budget(Base):
    __tablename__ = "budgets"
    __table_args__ = (Index("ix_budgets_component", "component_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id", ondelete="CASCADE"))
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[dict] = mapped_column(Translated)
    description: Mapped[dict] = mapped_column(Translated, default=dict)
    total: Mapped[Decimal] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # Only voters with an active verification holding one of these postal codes may vote
    # (e.g. one budget per district); empty: everyone the component's permissions admit.
    postal_codes: Mapped[list] = mapped_column(JSON, default=list)
    # A Pabulib file imported as a record of a past vote: its META, column orders and vote type
    # are kept for export, and it takes no new ballots. None for budgets made here.
    source: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def imported(self) -> bool:
        return self.source is not None


class BudgetProject(Base):
    __tablename__ = "budget_projects"
    __table_args__ = (Index("ix_budget_projects_budget", "budget_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("budgets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[dict] = mapped_column(Translated)
    description: Mapped[dict] = mapped_column(Translated, default=dict)
    cost: Mapped[Decimal] = mapped_column(Amount)
    category: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    # Ids of proposals (of this space) the project comes from.
    proposal_ids: Mapped[list] = mapped_column(JSON, default=list)
    feasibility: Mapped[str] = mapped_column(String(16), default="pending")  # FEASIBILITY
    feasibility_reason: Mapped[str] = mapped_column(Text, default="")
    # Imported from Pabulib: the file's project_id and its other columns, for export.
    source_id: Mapped[str | None] = mapped_column(String(100))
    source_fields: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Ballot(Base):
    __tablename__ = "budget_ballots"
    # NULLs never collide: imported ballots have neither a user nor a participant.
    __table_args__ = (
        UniqueConstraint("budget_id", "user_id", name="uq_budget_ballots_user"),
        UniqueConstraint("budget_id", "participant_id", name="uq_budget_ballots_participant"),
        CheckConstraint("user_id IS NULL OR participant_id IS NULL", name="one_voter"),
        Index("ix_budget_ballots_budget_receipt", "budget_id", "receipt"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("budgets.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # A partner node's resident (node.cohosting.models.RemoteParticipant), for cross-node ballots.
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("remote_participants.id", ondelete="CASCADE"))
    # None: still a basket. Set once, at checkout; the ballot is final from then on.
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SHA-256 (hex) of the ballot's canonical JSON with a salt only the voter was shown.
    receipt: Mapped[str | None] = mapped_column(String(64))
    # Imported from Pabulib: the file's voter_id and other VOTES columns (for export).
    source_voter_id: Mapped[str | None] = mapped_column(String(100))
    source_fields: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def imported(self) -> bool:
        return self.source_voter_id is not None


class BallotItem(Base):
    __tablename__ = "budget_ballot_items"
    __table_args__ = (UniqueConstraint("ballot_id", "project_id"),
                      Index("ix_budget_ballot_items_project", "project_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("budget_ballots.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("budget_projects.id", ondelete="CASCADE"))
    # Cumulative (and imported scoring) ballots: the points given; None otherwise.
    points: Mapped[Decimal | None] = mapped_column(Amount)
    # Imported ordinal ballots: 1 for the voter's first choice; None otherwise.
    rank: Mapped[int | None] = mapped_column(Integer)
