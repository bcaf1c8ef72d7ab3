"""tenancy, access and pledge terms

Revision ID: 0002
Revises: 0001

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=32), nullable=False),
    sa.Column('target_id', sa.String(length=200), nullable=False),
    sa.Column('lender_id', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_lender_id'), ['lender_id'], unique=False)

    op.create_table('borrowers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('lender_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('contact', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['lender_id'], ['lenders.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('borrowers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_borrowers_lender_id'), ['lender_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('lender_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['lender_id'], ['lenders.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_lender_id'), ['lender_id'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('alert_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_history_alert_id'), ['alert_id'], unique=False)

    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('operating_area', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('duty_schedule', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('planned_downtime', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('approved_moves', sa.JSON(), nullable=False, server_default='[]'))

    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mqtt_password_hash', sa.String(length=300), nullable=True))

    with op.batch_alter_table('lenders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('webhook_previous_secret', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('webhook_previous_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_lenders_organisation'), ['organisation'], unique=False)

    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('borrower_id', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_loans_borrower_id'), ['borrower_id'], unique=False)
        batch_op.create_foreign_key('fk_loans_borrower_id_borrowers', 'borrowers', ['borrower_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_constraint('fk_loans_borrower_id_borrowers', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_loans_borrower_id'))
        batch_op.drop_column('borrower_id')

    with op.batch_alter_table('lenders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lenders_organisation'))
        batch_op.drop_column('webhook_previous_until')
        batch_op.drop_column('webhook_previous_secret')
        batch_op.drop_column('organisation')

    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('mqtt_password_hash')

    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_column('approved_moves')
        batch_op.drop_column('planned_downtime')
        batch_op.drop_column('duty_schedule')
        batch_op.drop_column('operating_area')

    with op.batch_alter_table('alert_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_history_alert_id'))

    op.drop_table('alert_history')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_lender_id'))

    op.drop_table('users')
    with op.batch_alter_table('borrowers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_borrowers_lender_id'))

    op.drop_table('borrowers')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_lender_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_actor'))

    op.drop_table('audit_log')
