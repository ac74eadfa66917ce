"""votes keyed by session item, stimulus and scale (several answers per item: P.835)

Every existing vote becomes the answer on its method's one scale (``acr``, ``ccr``,
``preference`` for A/B and ranking) about the item as a whole (stimulus ``""``).

Revision ID: 0006_answers_per_scale
Revises: 0005_sqa
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006_answers_per_scale'
down_revision = '0005_sqa'
branch_labels = None
depends_on = None

# The one scale of each method that existed before this revision.
SCALE_OF_METHOD = {'acr': 'acr', 'ccr': 'ccr', 'ab': 'preference', 'ranking': 'preference'}


def upgrade() -> None:
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stimulus', sa.String(length=20), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('scale', sa.String(length=20), nullable=False,
                                      server_default=''))
    cases = ' '.join(f"WHEN '{method}' THEN '{scale}'" for method, scale
                     in SCALE_OF_METHOD.items())
    op.execute(
        "UPDATE votes SET scale = (SELECT CASE listening_tests.method " + cases
        + " ELSE listening_tests.method END FROM rating_sessions JOIN listening_tests"
        " ON listening_tests.id = rating_sessions.test_id"
        " WHERE rating_sessions.id = votes.session_id)")
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.alter_column('stimulus', server_default=None)
        batch_op.alter_column('scale', server_default=None)
        batch_op.drop_constraint('uq_votes_session_id', type_='unique')
        batch_op.create_unique_constraint(
            'uq_votes_answer', ['session_id', 'session_item_id', 'stimulus', 'scale'])


def downgrade() -> None:
    # Only a database with one answer per item (no P.835 test) goes back; the unique
    # constraint below refuses the others rather than losing answers.
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.drop_constraint('uq_votes_answer', type_='unique')
        batch_op.create_unique_constraint('uq_votes_session_id',
                                          ['session_id', 'session_item_id'])
        batch_op.drop_column('scale')
        batch_op.drop_column('stimulus')
