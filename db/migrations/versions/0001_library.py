"""library: systems, datasets, clips, dataset membership

Revision ID: 0001_library
Revises: (none, first revision)
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001_library'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('datasets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('source', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datasets')),
    sa.UniqueConstraint('name', name=op.f('uq_datasets_name'))
    )
    op.create_table('systems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_systems')),
    sa.UniqueConstraint('name', name=op.f('uq_systems_name'))
    )
    op.create_table('clips',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('sample_rate', sa.Integer(), nullable=False),
    sa.Column('num_frames', sa.Integer(), nullable=False),
    sa.Column('duration_seconds', sa.Double(), nullable=False),
    sa.Column('source_channels', sa.Integer(), nullable=False),
    sa.Column('source_format', sa.String(length=40), nullable=False),
    sa.Column('peak_dbfs', sa.Double(), nullable=False),
    sa.Column('rms_dbfs', sa.Double(), nullable=False),
    sa.Column('origin', sa.String(length=20), nullable=False),
    sa.Column('system_id', sa.Integer(), nullable=True),
    sa.Column('parent_clip_id', sa.Integer(), nullable=True),
    sa.Column('reference_clip_id', sa.Integer(), nullable=True),
    sa.Column('condition', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['parent_clip_id'], ['clips.id'], name=op.f('fk_clips_parent_clip_id_clips')),
    sa.ForeignKeyConstraint(['reference_clip_id'], ['clips.id'], name=op.f('fk_clips_reference_clip_id_clips')),
    sa.ForeignKeyConstraint(['system_id'], ['systems.id'], name=op.f('fk_clips_system_id_systems')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clips')),
    sa.UniqueConstraint('sha256', name=op.f('uq_clips_sha256'))
    )
    with op.batch_alter_table('clips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clips_origin'), ['origin'], unique=False)
        batch_op.create_index(batch_op.f('ix_clips_parent_clip_id'), ['parent_clip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clips_system_id'), ['system_id'], unique=False)

    op.create_table('dataset_clips',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['clip_id'], ['clips.id'], name=op.f('fk_dataset_clips_clip_id_clips'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_dataset_clips_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_clips')),
    sa.UniqueConstraint('dataset_id', 'name', name=op.f('uq_dataset_clips_dataset_id'))
    )
    with op.batch_alter_table('dataset_clips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dataset_clips_clip_id'), ['clip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dataset_clips_dataset_id'), ['dataset_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('dataset_clips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dataset_clips_dataset_id'))
        batch_op.drop_index(batch_op.f('ix_dataset_clips_clip_id'))

    op.drop_table('dataset_clips')
    with op.batch_alter_table('clips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clips_system_id'))
        batch_op.drop_index(batch_op.f('ix_clips_parent_clip_id'))
        batch_op.drop_index(batch_op.f('ix_clips_origin'))

    op.drop_table('clips')
    op.drop_table('systems')
    op.drop_table('datasets')
