"""response templates in English too, and service names in Swedish and English

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    # Empty: the template has no English text (an English-speaking resident gets the
    # Finnish one) or the service is called by its Finnish name in every language.
    op.add_column("response_template", sa.Column("title_en", sa.String(length=200)))
    op.add_column("response_template", sa.Column("body_en", sa.Text()))
    op.add_column("digital_service", sa.Column("name_sv", sa.String(length=160)))
    op.add_column("digital_service", sa.Column("name_en", sa.String(length=160)))


def downgrade():
    with op.batch_alter_table("digital_service") as batch:
        batch.drop_column("name_en")
        batch.drop_column("name_sv")
    with op.batch_alter_table("response_template") as batch:
        batch.drop_column("body_en")
        batch.drop_column("title_en")
