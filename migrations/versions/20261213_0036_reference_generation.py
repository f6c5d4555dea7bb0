"""the reference tables' generation: a value that moves with every change to them

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-13 09:00:00

Every process keeps what it read of the reference tables (queues, municipalities, outcome
codes, instructions, the service matrix, response templates: desk.kept) while this value
stands. Triggers on those tables give it a new value with every statement that changes them,
in the changing transaction: from any process, the command line or SQL typed by hand alike.

The value is never one used before, even after a rollback: on PostgreSQL it comes from a
sequence (which a rollback does not take back), on SQLite it is random. So what a process
read inside a transaction that was rolled back is never taken for what a later change made.
"""

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

#: what desk.kept keeps, and the tables it reads them with
TABLES = (
    "municipality",
    "system_area",
    "system_area_membership",
    "service_area",
    "queue",
    "outcome_code",
    "instruction",
    "instruction_version",
    "digital_service",
    "response_template",
)


def upgrade():
    op.create_table(
        "reference_generation",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO reference_generation (id, n) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE reference_generation_n")
        op.execute(
            """
            CREATE FUNCTION reference_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE reference_generation SET n = nextval('reference_generation_n')
                WHERE id = 1;
                RETURN NULL;
            END $$
            """
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_reference_changed "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION reference_changed()"
            )
    else:
        for table in TABLES:
            for operation in ("INSERT", "UPDATE", "DELETE"):
                name = f"{table}_{operation.lower()}_reference_changed"
                bump = "UPDATE reference_generation SET n = random() WHERE id = 1;"
                op.execute(f"CREATE TRIGGER {name} AFTER {operation} ON {table} BEGIN {bump} END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_reference_changed ON {table}")
        op.execute("DROP FUNCTION reference_changed()")
        op.execute("DROP SEQUENCE reference_generation_n")
    else:
        for table in TABLES:
            for operation in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_{operation}_reference_changed")
    op.drop_table("reference_generation")
