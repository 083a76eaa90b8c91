"""SMS replies received, by the gateway's message id

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 09:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_inbound",
        sa.Column("message_id", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("reading_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_sms_inbound_subject_id_subjects"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_sms_inbound")),
    )
    op.create_index("ix_sms_inbound_received_at", "sms_inbound", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_sms_inbound_received_at", table_name="sms_inbound")
    op.drop_table("sms_inbound")
