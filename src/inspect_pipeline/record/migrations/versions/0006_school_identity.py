"""school identity: a `schools` table and `school_id` in place of the text key; moments for comparing; snapshots

Until 0005 every table named a school by "its 学校标识码 if the roster had one, else its name", so filling in a code
or renaming a school cut it off from its history. Each distinct old key becomes one school (its code when the key is
one, its latest recorded name), and submissions, hazards and hazard_state refer to it by id. Hazard numbers are not
changed: they keep resolving through the school's ledger.

Also: submissions.received_epoch (the received moment as seconds since the epoch: ISO texts with different offsets
do not compare as text), runs.config_sha256 and reports.roster_sha256 (which snapshots in archive/_inputs a run and a
week's first report used).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 16:30:00
"""

import datetime as dt
import re

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_CODE = re.compile(r'^\d{10}$')


def upgrade() -> None:
    conn = op.get_bind()
    postgres = conn.dialect.name == 'postgresql'
    op.create_table(
        'schools',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.Text(), nullable=True),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('names', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code'),
    )
    ids = _schools_of_old_keys(conn)
    for table in ('submissions', 'hazards', 'hazard_state'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('school_id', sa.Integer(), nullable=True))
        for key, school_id in ids.items():
            conn.execute(sa.text(f'UPDATE {table} SET school_id = :id WHERE school_key = :key'),
                         {'id': school_id, 'key': key})
    if postgres:
        op.drop_index('uq_hazard_identity', table_name='hazards')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_school_key')
        batch_op.drop_column('school_key')
        batch_op.create_index('ix_submissions_school_id', ['school_id'], unique=False)
        batch_op.create_foreign_key('fk_submissions_school_id', 'schools', ['school_id'], ['id'])
        batch_op.add_column(sa.Column('received_epoch', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('hazards', schema=None) as batch_op:
        if not postgres:
            batch_op.drop_constraint('uq_hazard_identity', type_='unique')
        batch_op.drop_column('school_key')
        batch_op.alter_column('school_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_hazards_school_id', 'schools', ['school_id'], ['id'])
        if not postgres:
            batch_op.create_unique_constraint('uq_hazard_identity', ['school_id', 'identity'])
    if postgres:
        op.create_index('uq_hazard_identity', 'hazards', ['school_id', sa.text('md5(identity)')], unique=True)
    with op.batch_alter_table('hazard_state', schema=None) as batch_op:
        batch_op.drop_column('school_key')
        batch_op.alter_column('school_id', existing_type=sa.Integer(), nullable=False)
    rows = conn.execute(sa.text('SELECT id, received_at FROM submissions')).all()
    if rows:
        conn.execute(sa.text('UPDATE submissions SET received_epoch = :epoch WHERE id = :id'),
                     [{'id': sid, 'epoch': _epoch(at)} for sid, at in rows])
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.alter_column('received_epoch', existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_index('ix_submissions_received_epoch', ['received_epoch'], unique=False)
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('config_sha256', sa.Text(), nullable=True))
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('roster_sha256', sa.Text(), nullable=True))


def _epoch(text: str) -> int:
    """Seconds since the epoch of a recorded ISO time (0 for a text that is none: it sorts first)."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return 0
    return int((moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp())


def _schools_of_old_keys(conn) -> dict[str, int]:
    """One schools row per old key (in order of the school's first file), named by its latest recorded name."""
    keys: dict[str, tuple[str | None, str | None]] = {}
    for key, code, name in conn.execute(sa.text(
            'SELECT school_key, school_code, school_name FROM submissions '
            'WHERE school_key IS NOT NULL ORDER BY id')):
        earlier = keys.get(key, (None, None))
        keys[key] = (code or earlier[0], name or earlier[1])
    for (key,) in conn.execute(sa.text('SELECT DISTINCT school_key FROM hazards ORDER BY school_key')):
        keys.setdefault(key, (None, None))
    rows, ids = [], {}
    for n, (key, (code, name)) in enumerate(keys.items(), start=1):
        code = code if code and _CODE.match(code) else (key if _CODE.match(key) else None)
        name = name or key
        rows.append({'id': n, 'code': code, 'name': name,
                     'names': list(dict.fromkeys([name] + ([key] if key not in (code, name) else [])))})
        ids[key] = n
    table = sa.table('schools', sa.column('id', sa.Integer), sa.column('code', sa.Text), sa.column('name', sa.Text),
                     sa.column('names', sa.JSON))
    if rows:
        op.bulk_insert(table, rows)
    return ids


def downgrade() -> None:
    conn = op.get_bind()
    postgres = conn.dialect.name == 'postgresql'
    keys = {sid: code or name for sid, code, name in conn.execute(sa.text('SELECT id, code, name FROM schools'))}
    for table in ('submissions', 'hazards', 'hazard_state'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('school_key', sa.Text(), nullable=True))
        for sid, key in keys.items():
            conn.execute(sa.text(f'UPDATE {table} SET school_key = :key WHERE school_id = :id'), {'id': sid, 'key': key})
    if postgres:
        op.drop_index('uq_hazard_identity', table_name='hazards')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('roster_sha256')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('config_sha256')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_received_epoch')
        batch_op.drop_column('received_epoch')
        batch_op.drop_constraint('fk_submissions_school_id', type_='foreignkey')
        batch_op.drop_index('ix_submissions_school_id')
        batch_op.drop_column('school_id')
        batch_op.create_index('ix_submissions_school_key', ['school_key'], unique=False)
    with op.batch_alter_table('hazards', schema=None) as batch_op:
        if not postgres:
            batch_op.drop_constraint('uq_hazard_identity', type_='unique')
        batch_op.drop_constraint('fk_hazards_school_id', type_='foreignkey')
        batch_op.drop_column('school_id')
        batch_op.alter_column('school_key', existing_type=sa.Text(), nullable=False)
        if not postgres:
            batch_op.create_unique_constraint('uq_hazard_identity', ['school_key', 'identity'])
    if postgres:
        op.create_index('uq_hazard_identity', 'hazards', ['school_key', sa.text('md5(identity)')], unique=True)
    with op.batch_alter_table('hazard_state', schema=None) as batch_op:
        batch_op.drop_column('school_id')
        batch_op.alter_column('school_key', existing_type=sa.Text(), nullable=False)
    op.drop_table('schools')
