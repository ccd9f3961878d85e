"""Every model, imported in one place so that Alembic and create_all see the whole schema.
A component names its models module in its ComponentKind (node.components.registry)."""
from node.accounts.models import LoginAttempt, PasswordResetToken, User, WebSession  # noqa: F401
from node.activitypub.delivery_models import Delivery, HostState, OutboxActivity  # noqa: F401
from node.activitypub.follow_models import (PublishedEvent, RemoteFollow, RemoteItem, RemoteSpace,  # noqa: F401
                                           SpaceFollower)
from node.activitypub.models import InboxActivity, InstancePolicy, RemoteActorRecord  # noqa: F401
from node.cohosting.models import (OutgoingParticipation, ParticipationRecord, Partnership,  # noqa: F401
                                   InformalSupport, ProposalOffer, ProposalShare, RemoteParticipant,
                                   SpacePartner)
from node.components.registry import import_component_models
from node.db.base import Base  # noqa: F401
from node.events import Event  # noqa: F401
from node.groups.models import GroupMembership, UserGroup  # noqa: F401
from node.moderation.models import AdminAction, Moderation, Report, UserBlock  # noqa: F401
from node.nodemodels import ActorKey, NodeSetting  # noqa: F401
from node.notifications.models import Follow, Notification, NotifiedEvent  # noqa: F401
from node.search.models import SearchDocument  # noqa: F401
from node.spaces.models import Component, Phase, Space  # noqa: F401
from node.verification.models import Authorisation, CensusEntry, VerificationAttempt  # noqa: F401

import_component_models()
