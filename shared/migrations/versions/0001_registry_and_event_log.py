"""Tournament registry, per-tournament event log, global announcements.

Revision ID: 0001
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tournaments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("game", sa.String(50), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("max_teams", sa.Integer, nullable=False),
        sa.Column("min_teams", sa.Integer, nullable=False),
        sa.Column("best_of", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("starts_at", sa.DateTime(timezone=True)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("organizer_id", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("endpoint", sa.String(100)),
        sa.Column("server_pid", sa.Integer),
    )
    op.create_index("ix_tournaments_state_created", "tournaments", ["state", "created_at", "id"])
    op.create_index("ix_tournaments_created", "tournaments", ["created_at", "id"])
    op.create_table(
        "tournament_events",
        sa.Column("tournament_id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "announcements",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("tournament_id", sa.String(32)),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "channel_sequences",
        sa.Column("channel", sa.String(200), primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(
        sa.table("channel_sequences", sa.column("channel", sa.String), sa.column("last_seq", sa.BigInteger)),
        [{"channel": "global:announcements", "last_seq": 0}],
    )


def downgrade():
    op.drop_table("channel_sequences")
    op.drop_table("announcements")
    op.drop_table("tournament_events")
    op.drop_table("tournaments")
