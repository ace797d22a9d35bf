"""A tournament's chat: logged-in users post, everyone reads, the organizer (or an admin) deletes.

Every message and every deletion is a row of `chat_messages` with its own seq on the tournament's
chat feed (shared.feeds.append_chat), committed first and then published on
`tournament:{id}:chat`; the relay passes a message on only when it is that row's payload. A deleted
message's row keeps its seq but loses its text: its payload is rewritten without the body, so
neither the history nor a replay shows it again.
"""
from datetime import datetime, timezone

import sqlalchemy as sa

from orchestrator.auth import is_organizer
from orchestrator.extensions import db
from shared import events
from shared import state_machine as sm
from shared.db.tables import chat_messages
from shared.errors import APIError
from shared.feeds import append_chat
from shared.text import check_text
from shared.validation import counter

MAX_LENGTH = 500
HISTORY_LIMIT = 50
# A DRAFT has no audience yet; an ARCHIVED or CANCELLED tournament's chat is kept, read-only.
OPEN_STATES = frozenset({sm.REGISTRATION, sm.ACTIVE, sm.COMPLETED})
POST_ACTION = "post_chat_message"


def check_body(value):
    """A message's text as stored: the rules of every text (shared/text.py), line ends as `\\n`,
    no blank lines around it, 1 to MAX_LENGTH characters. :raise ValueError: otherwise."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    text = check_text(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    if not 1 <= len(text) <= MAX_LENGTH:
        raise ValueError(f"must be 1 to {MAX_LENGTH} characters (not counting spaces around it)")
    return text


def parse_cursor(raw):
    """The seq a `?cursor=` names (None when absent). :raise 400: for anything history() did not return."""
    if raw is None:
        return None
    seq = counter(raw)
    if seq is None:
        raise APIError(400, "invalid_input", "The query has invalid parameters.",
                       {"cursor": "is not a cursor this API returned"})
    return seq


def _as_message(row):
    return {"seq": row.seq, "author": {"id": row.author_id, "username": row.author_name}, "body": row.body,
            "created_at": row.created_at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")}


def history(tournament_id, limit=HISTORY_LIMIT, before=None):
    """(the newest `limit` messages not deleted, newest first; the cursor of the older ones, or None).

    `before`: only messages with a smaller seq (the cursor of the previous page).
    """
    columns = chat_messages.c
    query = (sa.select(columns.seq, columns.author_id, columns.author_name, columns.body, columns.created_at)
             .where(columns.tournament_id == tournament_id, columns.type == events.CHAT_MESSAGE,
                    columns.deleted_at.is_(None))
             .order_by(columns.seq.desc()).limit(limit + 1))
    if before is not None:
        query = query.where(columns.seq < before)
    rows = db.session.execute(query).all()
    page = [_as_message(row) for row in rows[:limit]]
    return page, (str(page[-1]["seq"]) if len(rows) > limit else None)


def check_open(tournament):
    """:raise IllegalAction (409): when the tournament's chat takes no messages in its state."""
    if tournament.state not in OPEN_STATES:
        raise sm.IllegalAction(POST_ACTION, tournament.state)


def post_message(tournament, author, body, publish, rate_limit):
    """Store `author`'s message (a checked body, see check_body), then `publish(JSON text)` it.

    `rate_limit(key)` counts the attempt and raises 429 once the author has used up their share
    of this tournament's chat. :raise IllegalAction (409): when the chat is closed (check_open).
    """
    check_open(tournament)
    rate_limit(f"chat:{tournament.id}:{author.id}")
    event = events.make_event(events.CHAT_MESSAGE, tournament.id,
                              author={"id": author.id, "username": author.username}, body=body)
    seq, text = append_chat(db.session.connection(), event, author.id, author.username, body)
    db.session.commit()
    publish(text)
    row = db.session.execute(sa.select(chat_messages).where(
        chat_messages.c.tournament_id == tournament.id, chat_messages.c.seq == seq)).one()
    return _as_message(row)


def delete_message(tournament, actor, seq, publish):
    """Remove message `seq`'s text for everyone: its row keeps the seq, loses the body (in the
    column and in the payload), and a `chat_message_deleted` event naming it is stored and
    published. Allowed in every state, so abuse can be removed from an ended tournament's chat.

    :raise 403: unless `actor` organizes the tournament or is an admin.
    :raise 404: for a seq that is not a message of this chat, or one already deleted.
    """
    if not is_organizer(actor, tournament):
        raise APIError(403, "forbidden", f"Only the organizer of {tournament.id} can delete its chat messages.")
    columns = chat_messages.c
    row = None
    if 0 < seq < 2 ** 63:  # beyond the column's range there is nothing, and nothing to ask for
        row = db.session.execute(sa.select(columns.payload, columns.deleted_at).where(
            columns.tournament_id == tournament.id, columns.seq == seq, columns.type == events.CHAT_MESSAGE)
            .with_for_update()).first()
    if row is None or row.deleted_at is not None:
        db.session.rollback()
        raise APIError(404, "chat_message_not_found", f"No message {seq} in this chat (or it was deleted already).")
    redacted = {key: value for key, value in events.decode(row.payload).items() if key != "body"}
    db.session.execute(sa.update(chat_messages).where(columns.tournament_id == tournament.id, columns.seq == seq)
                       .values(body=None, deleted_at=datetime.now(timezone.utc),
                               payload=events.encode(dict(redacted, deleted=True))))
    event = events.make_event(events.CHAT_MESSAGE_DELETED, tournament.id, message_seq=seq)
    _seq, text = append_chat(db.session.connection(), event, actor.id, actor.username)
    db.session.commit()
    publish(text)
