"""monitor workers

Revision ID: 0006
Revises: 0005

Each monitor worker's partitions and when it last reported: which assets
nobody is watching.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'monitor_workers',
        sa.Column('client_id', sa.String(length=200), nullable=False),
        sa.Column('partitions', sa.JSON(), nullable=False),
        sa.Column('total_partitions', sa.Integer(), nullable=False),
        sa.Column('checkpoint_s', sa.Float(), nullable=False),
        sa.Column('watermark_ms', sa.BigInteger(), nullable=False),
        sa.Column('readings_seen', sa.BigInteger(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('client_id'),
    )


def downgrade() -> None:
    op.drop_table('monitor_workers')
