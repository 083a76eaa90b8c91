"""the course of a case: sites and rooms, public-health actions, tests, outcomes, release certificates,
and erasure of personal data after the retention period

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 07:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("name", name=op.f("uq_sites_name")),
    )
    # Plain ALTER TABLE … ADD COLUMN on both databases (no table copy: the roster-count triggers stay);
    # SQLite takes the foreign key inline (REFERENCES) on a nullable column.
    if op.get_context().dialect.name == "sqlite":
        op.execute("ALTER TABLE subjects ADD COLUMN site_id INTEGER REFERENCES sites (id)")
    else:
        op.add_column("subjects", sa.Column("site_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_subjects_site_id_sites", "subjects", "sites", ["site_id"], ["id"])
    op.create_index("ix_subjects_site", "subjects", ["site_id"], postgresql_where=sa.text("site_id IS NOT NULL"),
                    sqlite_where=sa.text("site_id IS NOT NULL"))
    op.add_column("subjects", sa.Column("room", sa.String(length=50), nullable=True))
    op.add_column("subjects", sa.Column("case_flag", sa.String(length=16), nullable=True))
    op.add_column("subjects", sa.Column("test_state", sa.String(length=16), nullable=True))
    op.add_column("subjects", sa.Column("outcome", sa.String(length=32), nullable=True))
    op.add_column("subjects", sa.Column("closed_at", server.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column("subjects", sa.Column("erased_at", server.db.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "certificates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=False),
        sa.Column("issued_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_certificates_subject_id_subjects"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_certificates_token_hash")),
    )
    op.create_index("ix_certificates_subject", "certificates", ["subject_id", "issued_at"])
    op.create_table(
        "case_actions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name=op.f("fk_case_actions_recorded_by_users")),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_case_actions_subject_id_subjects"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_actions")),
    )
    op.create_index("ix_case_actions_subject_at", "case_actions", ["subject_id", "at"])
    op.create_table(
        "lab_tests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sampled_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("resulted_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lab", sa.String(length=100), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name=op.f("fk_lab_tests_recorded_by_users")),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_lab_tests_subject_id_subjects"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_tests")),
    )
    op.create_index("ix_lab_tests_subject_sampled", "lab_tests", ["subject_id", "sampled_at"])


def downgrade() -> None:
    op.drop_index("ix_lab_tests_subject_sampled", table_name="lab_tests")
    op.drop_table("lab_tests")
    op.drop_index("ix_case_actions_subject_at", table_name="case_actions")
    op.drop_table("case_actions")
    op.drop_index("ix_certificates_subject", table_name="certificates")
    op.drop_table("certificates")
    op.drop_column("subjects", "erased_at")
    op.drop_column("subjects", "closed_at")
    op.drop_column("subjects", "outcome")
    op.drop_column("subjects", "test_state")
    op.drop_column("subjects", "case_flag")
    op.drop_column("subjects", "room")
    op.drop_index("ix_subjects_site", table_name="subjects")
    if op.get_context().dialect.name != "sqlite":
        op.drop_constraint("fk_subjects_site_id_sites", "subjects", type_="foreignkey")
    op.drop_column("subjects", "site_id")
    op.drop_table("sites")
