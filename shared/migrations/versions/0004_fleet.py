"""The supervisor's view of each tournament server, and the lease that elects one supervisor.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tournament_servers",
        sa.Column("tournament_id", sa.String(32), sa.ForeignKey("tournaments.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("host", sa.String(100)),
        sa.Column("port", sa.Integer),
        sa.Column("pid", sa.Integer),
        sa.Column("token", sa.String(64)),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("restarts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failure_times", sa.Text, nullable=False, server_default="[]"),
        sa.Column("next_start_at", sa.DateTime(timezone=True)),
        sa.Column("health_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_check_at", sa.DateTime(timezone=True)),
        sa.Column("last_check_ok", sa.Boolean),
        sa.Column("last_error", sa.Text),
    )
    op.create_table(
        "supervisor_lease",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("holder", sa.String(100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


    # Which process serves a tournament is the fleet's business now (tournament_servers.pid).
    with op.batch_alter_table("tournaments") as batch:
        batch.drop_column("server_pid")


def downgrade():
    with op.batch_alter_table("tournaments") as batch:
        batch.add_column(sa.Column("server_pid", sa.Integer))
    op.drop_table("supervisor_lease")
    op.drop_table("tournament_servers")
