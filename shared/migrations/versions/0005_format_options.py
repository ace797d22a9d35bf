"""Format options of a tournament (third-place match, grand final, points, tiebreaks, ...).

Stored as one JSON object of the options the organizer set; the defaults are filled in when the
tournament is published (shared/formats.py), so the registry keeps what was asked for.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tournaments") as batch:
        batch.add_column(sa.Column("options", sa.Text, nullable=False, server_default="{}"))


def downgrade():
    with op.batch_alter_table("tournaments") as batch:
        batch.drop_column("options")
