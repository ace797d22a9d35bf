"""Final snapshot of an ended tournament's read models, served once its server is stopped.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tournaments") as batch:
        batch.add_column(sa.Column("final_snapshot", sa.Text))


def downgrade():
    with op.batch_alter_table("tournaments") as batch:
        batch.drop_column("final_snapshot")
