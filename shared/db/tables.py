"""Every table of the platform, as SQLAlchemy Core tables on one MetaData.

The orchestrator writes `tournaments` and `chat_messages`; a tournament's server is the only writer
of that tournament's rows in `tournament_events`; announcements are appended by whichever process
announces. Announcements and chat messages take their `seq` under a row lock in `channel_sequences`,
so they commit in `seq` order.
"""
import sqlalchemy as sa

metadata = sa.MetaData()

tournaments = sa.Table(
    "tournaments",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("game", sa.String(50), nullable=False),
    sa.Column("format", sa.String(32), nullable=False),
    sa.Column("max_teams", sa.Integer, nullable=False),
    sa.Column("min_teams", sa.Integer, nullable=False),
    sa.Column("best_of", sa.Integer, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("starts_at", sa.DateTime(timezone=True)),
    # The format options the organizer set, as a JSON object (shared/formats.py has the defaults).
    sa.Column("options", sa.Text, nullable=False, server_default="{}"),
    # A mirror of the state the tournament's server holds; DRAFT lives only here.
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("organizer_id", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # Where the gateway routes (host:port): set only while its server answers health checks.
    sa.Column("endpoint", sa.String(100)),
    # ARCHIVED/CANCELLED: the server's read models as they were when it stopped (JSON).
    sa.Column("final_snapshot", sa.Text),
    sa.Index("ix_tournaments_state_created", "state", "created_at", "id"),
    sa.Index("ix_tournaments_created", "created_at", "id"),
)

tournament_events = sa.Table(
    "tournament_events",
    metadata,
    sa.Column("tournament_id", sa.String(32), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("type", sa.String(40), nullable=False),
    # The event exactly as it is published: JSON text with its own seq and timestamp.
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # The X-Request-ID of the request that caused it (shared/logs.py), beside the payload so what
    # is published and relayed stays byte for byte the payload; null when no request did.
    sa.Column("request_id", sa.String(64)),
)

announcements = sa.Table(
    "announcements",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("tournament_id", sa.String(32)),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

channel_sequences = sa.Table(
    "channel_sequences",
    metadata,
    sa.Column("channel", sa.String(200), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(30), nullable=False),
    # Usernames are unique regardless of case; this is the lower-cased form the index holds.
    sa.Column("username_key", sa.String(30), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    # Only a SHA-256 of the token is kept: a leaked table does not let anyone in.
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tournament_id", sa.String(32), sa.ForeignKey("tournaments.id", ondelete="CASCADE"),
              primary_key=True, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("user_id", sa.Integer, primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("tournament_id", sa.String(32)),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

chat_messages = sa.Table(
    "chat_messages",
    metadata,
    sa.Column("tournament_id", sa.String(32), sa.ForeignKey("tournaments.id", ondelete="CASCADE"),
              primary_key=True),
    # Per tournament, reserved on the counter `chat:{tournament_id}` (shared.feeds.append_chat).
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("type", sa.String(40), nullable=False),  # chat_message or chat_message_deleted
    # Who posted the message (or deleted one); the name as it was then.
    sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("author_name", sa.String(30), nullable=False),
    # NULL once deleted, and for a deletion: a deleted message's text is kept nowhere.
    sa.Column("body", sa.Text),
    # The event as published (JSON text); a deleted message's is rewritten without its body.
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("deleted_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

tournament_servers = sa.Table(
    "tournament_servers",
    metadata,
    sa.Column("tournament_id", sa.String(32), sa.ForeignKey("tournaments.id", ondelete="CASCADE"), primary_key=True),
    # STARTING, RUNNING, UNHEALTHY, BACKOFF, FAILED (crash loop: only a person restarts it), STOPPED
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("host", sa.String(100)),
    sa.Column("port", sa.Integer),
    sa.Column("pid", sa.Integer),
    # Handed to the server at start and reported back by /api/health: proof of identity for adoption.
    sa.Column("token", sa.String(64)),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("restarts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failure_times", sa.Text, nullable=False, server_default="[]"),  # JSON epoch seconds
    sa.Column("next_start_at", sa.DateTime(timezone=True)),
    sa.Column("health_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_check_at", sa.DateTime(timezone=True)),
    sa.Column("last_check_ok", sa.Boolean),
    sa.Column("last_error", sa.Text),
)

supervisor_lease = sa.Table(
    "supervisor_lease",
    metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("holder", sa.String(100), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

GLOBAL_SEQUENCE = "global:announcements"
