"""Clear start times the database drivers cannot read back.

Before input was bounded, a `starts_at` such as `9999-12-31T23:59:59-01:00` was stored as a UTC
year of 10000 (or a year before 1), which PostgreSQL keeps but psycopg2 and Python's datetime
cannot read: every later list of tournaments failed. Such a value was never a real start time, so
it becomes "no start time"; every value a driver can read is kept as it is.

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE tournaments SET starts_at = NULL "
                   "WHERE starts_at >= '10000-01-01 00:00:00+00' OR starts_at < '0001-01-01 00:00:00+00'")
    else:
        # SQLite keeps ISO text: a readable one starts with a four-digit year and a dash.
        op.execute("UPDATE tournaments SET starts_at = NULL "
                   "WHERE starts_at IS NOT NULL AND starts_at NOT GLOB '[0-9][0-9][0-9][0-9]-*'")


def downgrade():
    pass  # the cleared values were unreadable; there is nothing to restore
