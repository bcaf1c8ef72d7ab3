"""spine schema

Revision ID: 0001
Revises: (none: the schema of the spine, before migrations)

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('checkpoints',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('dead_letters',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('topic', sa.String(length=300), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=True),
    sa.Column('replayed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dead_letters_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dead_letters_digest'), ['digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_dead_letters_reason'), ['reason'], unique=False)
        batch_op.create_index(batch_op.f('ix_dead_letters_received_at'), ['received_at'], unique=False)

    op.create_table('lenders',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('webhook_url', sa.String(length=2000), nullable=True),
    sa.Column('webhook_secret', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('loans',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('lender_id', sa.String(length=64), nullable=False),
    sa.Column('borrower', sa.String(length=200), nullable=False),
    sa.Column('principal', sa.Float(), nullable=True),
    sa.Column('currency', sa.String(length=8), nullable=True),
    sa.Column('warning_level', sa.String(length=16), nullable=False),
    sa.Column('warning_reason', sa.Text(), nullable=False),
    sa.Column('warning_changed_ms', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['lender_id'], ['lenders.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loans_lender_id'), ['lender_id'], unique=False)

    op.create_table('webhook_outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=80), nullable=False),
    sa.Column('lender_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['lender_id'], ['lenders.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('webhook_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_outbox_lender_id'), ['lender_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_outbox_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_outbox_status'), ['status'], unique=False)

    op.create_table('assets',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('site', sa.JSON(), nullable=False),
    sa.Column('cadence_s', sa.Float(), nullable=False),
    sa.Column('idle_after_s', sa.Float(), nullable=False),
    sa.Column('geofence_dwell_s', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assets_loan_id'), ['loan_id'], unique=False)

    op.create_table('warning_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('previous', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('warning_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_warning_history_loan_id'), ['loan_id'], unique=False)

    op.create_table('alerts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('asset_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('updated_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('resolved_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index('uq_alert_open', ['asset_id', 'kind'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('devices',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('asset_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_asset_id'), ['asset_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_asset_id'))

    op.drop_table('devices')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('uq_alert_open', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index(batch_op.f('ix_alerts_asset_id'))

    op.drop_table('alerts')
    with op.batch_alter_table('warning_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_warning_history_loan_id'))

    op.drop_table('warning_history')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assets_loan_id'))

    op.drop_table('assets')
    with op.batch_alter_table('webhook_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_outbox_status'))
        batch_op.drop_index(batch_op.f('ix_webhook_outbox_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_webhook_outbox_lender_id'))

    op.drop_table('webhook_outbox')
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loans_lender_id'))

    op.drop_table('loans')
    op.drop_table('lenders')
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dead_letters_received_at'))
        batch_op.drop_index(batch_op.f('ix_dead_letters_reason'))
        batch_op.drop_index(batch_op.f('ix_dead_letters_digest'))
        batch_op.drop_index(batch_op.f('ix_dead_letters_device_id'))

    op.drop_table('dead_letters')
    op.drop_table('checkpoints')
