"""hazard_spans: the runs of weeks each hazard kept a status, so the rate trend is a count over them, not a pass
over the history (filled here from the counted observations; the ledger keeps it from now on)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# each counted observation that changed its hazard's status (or is its first) starts a span; the next one ends it
FILL = """
INSERT INTO hazard_spans (hazard_id, school_id, first_week, status, week_from, week_to)
SELECT t.hazard_id, h.school_id, t.first_week, t.status, t.week,
       LEAD(t.week) OVER (PARTITION BY t.hazard_id ORDER BY t.week)
FROM (
    SELECT o.hazard_id, o.week, o.status,
           LAG(o.status) OVER (PARTITION BY o.hazard_id ORDER BY o.week) AS before,
           MIN(o.week) OVER (PARTITION BY o.hazard_id) AS first_week
    FROM observations AS o WHERE o.counted = :yes
) AS t JOIN hazards AS h ON h.id = t.hazard_id
WHERE t.before IS NULL OR t.before <> t.status
"""


def upgrade() -> None:
    op.create_table(
        'hazard_spans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hazard_id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('first_week', sa.Text(), nullable=False),
        sa.Column('status', sa.Text(), nullable=False),
        sa.Column('week_from', sa.Text(), nullable=False),
        sa.Column('week_to', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['hazard_id'], ['hazards.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('hazard_spans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hazard_spans_hazard_id'), ['hazard_id'], unique=False)
    op.get_bind().execute(sa.text(FILL), {"yes": True})


def downgrade() -> None:
    with op.batch_alter_table('hazard_spans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hazard_spans_hazard_id'))
    op.drop_table('hazard_spans')
