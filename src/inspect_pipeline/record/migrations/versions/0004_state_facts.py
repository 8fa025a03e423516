"""hazard_state carries the facts of its observation and hazard (level, mode, deadline, funds, code, found date)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:35:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

FACTS = {"level": "observations", "mode": "observations", "deadline": "observations", "funds_wan": "observations",
         "code": "hazards", "found_date": "hazards"}


def upgrade() -> None:
    with op.batch_alter_table('hazard_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('level', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('mode', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('deadline', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('funds_wan', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('code', sa.String(length=260), nullable=True))
        batch_op.add_column(sa.Column('found_date', sa.Date(), nullable=True))
    key = {"observations": "hazard_state.observation_id", "hazards": "hazard_state.hazard_id"}
    sets = ", ".join(f"{column} = (SELECT t.{column} FROM {table} AS t WHERE t.id = {key[table]})"
                     for column, table in FACTS.items())
    op.execute(f"UPDATE hazard_state SET {sets}")


def downgrade() -> None:
    with op.batch_alter_table('hazard_state', schema=None) as batch_op:
        for column in reversed(list(FACTS)):
            batch_op.drop_column(column)
