"""enhancement runs and objective scores

Revision ID: 0002_scores
Revises: 0001_library
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002_scores'
down_revision = '0001_library'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('enhancement_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('input_clip_id', sa.Integer(), nullable=False),
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.Column('output_clip_id', sa.Integer(), nullable=False),
    sa.Column('processing_seconds', sa.Double(), nullable=False),
    sa.Column('real_time_factor', sa.Double(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['input_clip_id'], ['clips.id'], name=op.f('fk_enhancement_runs_input_clip_id_clips'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['output_clip_id'], ['clips.id'], name=op.f('fk_enhancement_runs_output_clip_id_clips'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['system_id'], ['systems.id'], name=op.f('fk_enhancement_runs_system_id_systems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enhancement_runs')),
    sa.UniqueConstraint('input_clip_id', 'system_id', name=op.f('uq_enhancement_runs_input_clip_id'))
    )
    with op.batch_alter_table('enhancement_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enhancement_runs_input_clip_id'), ['input_clip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enhancement_runs_system_id'), ['system_id'], unique=False)

    op.create_table('objective_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=40), nullable=False),
    sa.Column('reference_clip_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Double(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['clip_id'], ['clips.id'], name=op.f('fk_objective_scores_clip_id_clips'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objective_scores')),
    sa.UniqueConstraint('clip_id', 'metric', 'reference_clip_id', name=op.f('uq_objective_scores_clip_id'))
    )
    with op.batch_alter_table('objective_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objective_scores_clip_id'), ['clip_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('objective_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objective_scores_clip_id'))

    op.drop_table('objective_scores')
    with op.batch_alter_table('enhancement_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enhancement_runs_system_id'))
        batch_op.drop_index(batch_op.f('ix_enhancement_runs_input_clip_id'))

    op.drop_table('enhancement_runs')
