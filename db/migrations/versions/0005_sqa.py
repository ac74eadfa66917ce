"""sqa models, predictions and public labels

Revision ID: 0005_sqa
Revises: 0004_comparison_tests
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005_sqa'
down_revision = '0004_comparison_tests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sqa_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('training_data', sa.JSON(), nullable=True),
    sa.Column('split_mode', sa.String(length=20), nullable=True),
    sa.Column('metrics', sa.JSON(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sqa_models')),
    sa.UniqueConstraint('name', name=op.f('uq_sqa_models_name'))
    )
    op.create_table('public_labels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset', sa.String(length=200), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=False),
    sa.Column('system_id', sa.String(length=200), nullable=False),
    sa.Column('sample_id', sa.String(length=500), nullable=False),
    sa.Column('listener_id', sa.String(length=500), nullable=True),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['clip_id'], ['clips.id'], name=op.f('fk_public_labels_clip_id_clips'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_labels'))
    )
    with op.batch_alter_table('public_labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_labels_clip_id'), ['clip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_labels_dataset'), ['dataset'], unique=False)

    op.create_table('sqa_predictions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=False),
    sa.Column('mos', sa.Double(), nullable=False),
    sa.Column('spread', sa.Double(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['clip_id'], ['clips.id'], name=op.f('fk_sqa_predictions_clip_id_clips'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_id'], ['sqa_models.id'], name=op.f('fk_sqa_predictions_model_id_sqa_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sqa_predictions')),
    sa.UniqueConstraint('model_id', 'clip_id', name=op.f('uq_sqa_predictions_model_id'))
    )
    with op.batch_alter_table('sqa_predictions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sqa_predictions_clip_id'), ['clip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sqa_predictions_model_id'), ['model_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sqa_predictions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sqa_predictions_model_id'))
        batch_op.drop_index(batch_op.f('ix_sqa_predictions_clip_id'))

    op.drop_table('sqa_predictions')
    with op.batch_alter_table('public_labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_labels_dataset'))
        batch_op.drop_index(batch_op.f('ix_public_labels_clip_id'))

    op.drop_table('public_labels')
    op.drop_table('sqa_models')
