"""Every table of the platform, as SQLAlchemy Core tables on one MetaData.

The orchestrator writes `tournaments`; a tournament's server is the only writer of that tournament's
rows in `tournament_events`; announcements are appended by whichever process announces, with the
sequence allocated under a row lock in `channel_sequences` so they commit in `seq` order.
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
    # A mirror of the state the tournament's server holds; DRAFT lives only here.
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("organizer_id", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # Where its server answers (host:port) and which process it is; null when none runs.
    sa.Column("endpoint", sa.String(100)),
    sa.Column("server_pid", sa.Integer),
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

GLOBAL_SEQUENCE = "global:announcements"
