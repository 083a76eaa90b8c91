"""video check-ins, their snapshots and calls

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-28 15:30:04.371814
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = '0003'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calls',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('joined_at', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_calls_grid_id_grids')),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_calls_requested_by_users')),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_calls_subject_id_subjects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index('ix_calls_subject_created', ['subject_id', 'created_at'], unique=False)

    op.create_table('checkins',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('frames_received', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('snapshots_count', sa.Integer(), nullable=False),
    sa.Column('faces_seen', sa.Integer(), nullable=False),
    sa.Column('face_seen_ratio', sa.Float(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('recording_path', sa.String(length=500), nullable=True),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_checkins_call_id_calls'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_checkins_grid_id_grids')),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_checkins_subject_id_subjects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkins'))
    )
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_index('ix_checkins_subject_created', ['subject_id', 'created_at'], unique=False)

    op.create_table('checkin_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkin_id', sa.Uuid(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('taken_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('face_detected', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkins.id'], name=op.f('fk_checkin_snapshots_checkin_id_checkins'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_snapshots')),
    sa.UniqueConstraint('checkin_id', 'index', name=op.f('uq_checkin_snapshots_checkin_id_index'))
    )


def downgrade() -> None:
    op.drop_table('checkin_snapshots')
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_index('ix_checkins_subject_created')

    op.drop_table('checkins')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_subject_created')

    op.drop_table('calls')
