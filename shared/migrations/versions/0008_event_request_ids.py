"""The request id each tournament event was caused by (null: the server, the supervisor or a timer).

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    # Nullable, no default: adding it rewrites no row, and older events simply have none.
    op.add_column("tournament_events", sa.Column("request_id", sa.String(64)))


def downgrade():
    with op.batch_alter_table("tournament_events") as batch:
        batch.drop_column("request_id")
