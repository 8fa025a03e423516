"""unbounded text: every String(n) column becomes Text; submissions.limit_hit; the identity index on PostgreSQL

A school types what it likes: no length of a field may fail the run's transaction. On PostgreSQL the columns become
`text` (no table rewrite: varchar to text is binary coercible), and the unique (school_key, identity) constraint becomes
a unique index on (school_key, md5(identity)), as a b-tree entry holds at most ~2.7 kB. SQLite never enforced the
lengths (VARCHAR(n) and TEXT are the same there), so its tables are left as they are: the change is the model's.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# the String(n) columns of revisions 0001-0004
BOUNDED = {
    'runs': {'started_at': 40, 'now': 40, 'roster_sha256': 64},
    'submissions': {'file_name': 400, 'inbox_path': 1000, 'sha256': 64, 'received_at': 40, 'arrival_week': 8,
                    'week': 8, 'school_key': 200, 'school_code': 10, 'school_name': 200, 'format': 8, 'sheet': 200,
                    'outcome': 12, 'unit_name_raw': 400, 'reporter': 200, 'phone': 100, 'approver': 200,
                    'note': 1000, 'archive_path': 400, 'receipt_path': 1000},
    'hazards': {'school_key': 200, 'code': 260, 'identity': 2000, 'first_week': 8},
    'observations': {'week': 8, 'source': 40, 'location': 1000, 'category': 40, 'description': 4000, 'level': 8,
                     'mode': 8, 'measures': 4000, 'owner': 200, 'interim_control': 4000, 'status': 8,
                     'verifier': 200, 'remarks': 4000},
    'hazard_state': {'school_key': 200, 'first_week': 8, 'week': 8, 'status': 8, 'prev_status': 8, 'level': 8,
                     'mode': 8, 'code': 260},
    'reports': {'week': 8, 'generated_at': 40, 'path': 400},
    'deliveries': {'key': 400, 'kind': 20, 'week': 8, 'recipient': 320, 'subject': 1000, 'status': 8,
                   'first_tried_at': 40, 'last_tried_at': 40, 'sent_at': 40},
}


def upgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('limit_hit', sa.Text(), nullable=True))
    if op.get_context().dialect.name != 'postgresql':
        return
    for table, columns in BOUNDED.items():
        for column, length in columns.items():
            op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(length=length))
    op.drop_constraint('uq_hazard_identity', 'hazards', type_='unique')
    op.create_index('uq_hazard_identity', 'hazards', ['school_key', sa.text('md5(identity)')], unique=True)


def downgrade() -> None:
    if op.get_context().dialect.name == 'postgresql':  # fails, as it should, where a longer value was recorded
        op.drop_index('uq_hazard_identity', table_name='hazards')
        op.create_unique_constraint('uq_hazard_identity', 'hazards', ['school_key', 'identity'])
        for table, columns in BOUNDED.items():
            for column, length in columns.items():
                op.alter_column(table, column, type_=sa.String(length=length), existing_type=sa.Text())
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('limit_hit')
