"""report revisions; observations.counted, the state index and the hazard_state table

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 08:08:48.655115
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('generated_at', sa.String(length=40), nullable=False),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.Column('last_submission_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('week', 'revision', name='uq_report_revision')
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_week'), ['week'], unique=False)
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counted', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.execute(
        "UPDATE observations SET counted = (SELECT outcome = 'accepted' FROM submissions"
        " WHERE submissions.id = observations.submission_id)"
    )
    op.create_index('ix_observations_state', 'observations', ['hazard_id', 'week', 'status', 'counted'])
    op.create_table('hazard_state',
    sa.Column('hazard_id', sa.Integer(), nullable=False),
    sa.Column('school_key', sa.String(length=200), nullable=False),
    sa.Column('first_week', sa.String(length=8), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('observation_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('prev_status', sa.String(length=8), nullable=True),
    sa.ForeignKeyConstraint(['hazard_id'], ['hazards.id'], ),
    sa.ForeignKeyConstraint(['observation_id'], ['observations.id'], ),
    sa.PrimaryKeyConstraint('hazard_id')
    )
    op.create_index('ix_hazard_state_first_week', 'hazard_state', ['first_week'])
    op.execute(
        """
        INSERT INTO hazard_state (hazard_id, school_key, first_week, week, observation_id, status, prev_status)
        SELECT r.hazard_id, h.school_key, r.first_week, r.week, r.id, r.status, r.prev_status
        FROM (
            SELECT hazard_id, week, id, status,
                   ROW_NUMBER() OVER (PARTITION BY hazard_id ORDER BY week DESC) AS rn,
                   LEAD(status) OVER (PARTITION BY hazard_id ORDER BY week DESC) AS prev_status,
                   MIN(week) OVER (PARTITION BY hazard_id) AS first_week
            FROM observations WHERE counted
        ) AS r JOIN hazards AS h ON h.id = r.hazard_id
        WHERE r.rn = 1
        """
    )


def downgrade() -> None:
    op.drop_table('hazard_state')
    op.drop_index('ix_observations_state', table_name='observations')
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.drop_column('counted')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_week'))

    op.drop_table('reports')
