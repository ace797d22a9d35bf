"""Who follows which tournament: the audience of its `tournament_starting` notifications."""
from datetime import datetime, timezone

import sqlalchemy as sa

from orchestrator.extensions import db
from orchestrator.models import Subscription
from orchestrator.services.registry import get_visible_tournament
from shared.errors import APIError


def list_subscriptions(user_id):
    return db.session.execute(sa.select(Subscription).where(Subscription.user_id == user_id)
                              .order_by(Subscription.created_at, Subscription.tournament_id)).scalars().all()


def subscribe(user, tournament_id):
    """(subscription, created?) — subscribing twice is not an error.

    :raise 404: unknown tournament, or someone else's draft.
    """
    get_visible_tournament(tournament_id, user)
    user_id = user.id
    existing = db.session.get(Subscription, (user_id, tournament_id))
    if existing is not None:
        return existing, False
    subscription = Subscription(user_id=user_id, tournament_id=tournament_id, created_at=datetime.now(timezone.utc))
    db.session.add(subscription)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:  # the same user subscribed from two requests at once
        db.session.rollback()
        return db.session.get(Subscription, (user_id, tournament_id)), False
    return subscription, True


def unsubscribe(user_id, tournament_id):
    """:raise 404: when the user does not follow that tournament."""
    subscription = db.session.get(Subscription, (user_id, tournament_id))
    if subscription is None:
        raise APIError(404, "subscription_not_found", f"You are not subscribed to {tournament_id!r}.")
    db.session.delete(subscription)
    db.session.commit()
