"""listening tests: tests, items, raters, sessions, checks, votes, QC overrides

Revision ID: 0003_listening_tests
Revises: 0002_scores
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003_listening_tests'
down_revision = '0002_scores'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('listening_tests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('completion_code', sa.String(length=100), nullable=False),
    sa.Column('redirect_url', sa.String(length=1000), nullable=True),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('sessions_started', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listening_tests'))
    )
    op.create_table('raters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('test_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('qualification', sa.JSON(), nullable=True),
    sa.Column('qualified', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['test_id'], ['listening_tests.id'], name=op.f('fk_raters_test_id_listening_tests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_raters')),
    sa.UniqueConstraint('test_id', 'external_id', name=op.f('uq_raters_test_id'))
    )
    with op.batch_alter_table('raters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_raters_test_id'), ['test_id'], unique=False)

    op.create_table('rating_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('test_id', sa.Integer(), nullable=False),
    sa.Column('rater_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('qc_status', sa.String(length=20), nullable=True),
    sa.Column('qc_reasons', sa.JSON(), nullable=True),
    sa.Column('setup', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_activity_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['rater_id'], ['raters.id'], name=op.f('fk_rating_sessions_rater_id_raters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['test_id'], ['listening_tests.id'], name=op.f('fk_rating_sessions_test_id_listening_tests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating_sessions')),
    sa.UniqueConstraint('token', name=op.f('uq_rating_sessions_token'))
    )
    with op.batch_alter_table('rating_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_sessions_rater_id'), ['rater_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rating_sessions_test_id'), ['test_id'], unique=False)

    op.create_table('test_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('test_id', sa.Integer(), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('expected_score', sa.Integer(), nullable=True),
    sa.Column('condition', sa.String(length=200), nullable=False),
    sa.Column('sample_id', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['clip_id'], ['clips.id'], name=op.f('fk_test_items_clip_id_clips')),
    sa.ForeignKeyConstraint(['test_id'], ['listening_tests.id'], name=op.f('fk_test_items_test_id_listening_tests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_test_items')),
    sa.UniqueConstraint('test_id', 'clip_id', 'role', name=op.f('uq_test_items_test_id'))
    )
    with op.batch_alter_table('test_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_test_items_test_id'), ['test_id'], unique=False)

    op.create_table('check_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('check_id', sa.String(length=40), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['rating_sessions.id'], name=op.f('fk_check_answers_session_id_rating_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_answers')),
    sa.UniqueConstraint('session_id', 'check_id', name=op.f('uq_check_answers_session_id'))
    )
    with op.batch_alter_table('check_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_answers_session_id'), ['session_id'], unique=False)

    op.create_table('qc_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('old_status', sa.String(length=20), nullable=True),
    sa.Column('new_status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=2000), nullable=False),
    sa.Column('admin', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['rating_sessions.id'], name=op.f('fk_qc_overrides_session_id_rating_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qc_overrides'))
    )
    with op.batch_alter_table('qc_overrides', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qc_overrides_session_id'), ['session_id'], unique=False)

    op.create_table('session_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('test_item_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('audio_fetched_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['rating_sessions.id'], name=op.f('fk_session_items_session_id_rating_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['test_item_id'], ['test_items.id'], name=op.f('fk_session_items_test_item_id_test_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_items')),
    sa.UniqueConstraint('public_id', name=op.f('uq_session_items_public_id')),
    sa.UniqueConstraint('session_id', 'test_item_id', name=op.f('uq_session_items_session_id'))
    )
    with op.batch_alter_table('session_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_items_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_items_test_item_id'), ['test_item_id'], unique=False)

    op.create_table('votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('session_item_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('played_to_end', sa.Boolean(), nullable=False),
    sa.Column('elapsed_ms', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['rating_sessions.id'], name=op.f('fk_votes_session_id_rating_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_item_id'], ['session_items.id'], name=op.f('fk_votes_session_item_id_session_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_votes')),
    sa.UniqueConstraint('session_id', 'session_item_id', name=op.f('uq_votes_session_id'))
    )
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_votes_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_votes_session_item_id'), ['session_item_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_votes_session_item_id'))
        batch_op.drop_index(batch_op.f('ix_votes_session_id'))

    op.drop_table('votes')
    with op.batch_alter_table('session_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_items_test_item_id'))
        batch_op.drop_index(batch_op.f('ix_session_items_session_id'))

    op.drop_table('session_items')
    with op.batch_alter_table('qc_overrides', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qc_overrides_session_id'))

    op.drop_table('qc_overrides')
    with op.batch_alter_table('check_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_answers_session_id'))

    op.drop_table('check_answers')
    with op.batch_alter_table('test_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_test_items_test_id'))

    op.drop_table('test_items')
    with op.batch_alter_table('rating_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rating_sessions_test_id'))
        batch_op.drop_index(batch_op.f('ix_rating_sessions_rater_id'))

    op.drop_table('rating_sessions')
    with op.batch_alter_table('raters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raters_test_id'))

    op.drop_table('raters')
    op.drop_table('listening_tests')
