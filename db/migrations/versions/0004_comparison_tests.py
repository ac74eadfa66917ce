"""comparison tests: pair items, A/B order and side fetches, choice votes

Revision ID: 0004_comparison_tests
Revises: 0003_listening_tests
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004_comparison_tests'
down_revision = '0003_listening_tests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('session_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audio_b_fetched_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('swapped', sa.Boolean(), nullable=True))

    with op.batch_alter_table('test_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pair_clip_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pair_condition', sa.String(length=200), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_test_items_test_id'), type_='unique')
        batch_op.create_unique_constraint('uq_test_items_pair', ['test_id', 'clip_id', 'pair_clip_id', 'role'])
        batch_op.create_foreign_key(batch_op.f('fk_test_items_pair_clip_id_clips'), 'clips', ['pair_clip_id'], ['id'])

    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('choice', sa.String(length=10), nullable=True))
        batch_op.alter_column('score',
               existing_type=sa.INTEGER(),
               nullable=True)



def downgrade() -> None:
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.alter_column('score',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('choice')

    with op.batch_alter_table('test_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_test_items_pair_clip_id_clips'), type_='foreignkey')
        batch_op.drop_constraint('uq_test_items_pair', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_test_items_test_id'), ['test_id', 'clip_id', 'role'])
        batch_op.drop_column('pair_condition')
        batch_op.drop_column('pair_clip_id')

    with op.batch_alter_table('session_items', schema=None) as batch_op:
        batch_op.drop_column('swapped')
        batch_op.drop_column('audio_b_fetched_at')

