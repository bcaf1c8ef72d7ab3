"""webhook events

Revision ID: 0005
Revises: 0004

The event types a lender's webhook subscribes to; null (every existing
lender) means all of them.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('lenders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_events', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('lenders', schema=None) as batch_op:
        batch_op.drop_column('webhook_events')
