"""doctor profile (languages, profile line) and the red-flag checklist

Revision ID: 7c1d2e3f4a5b
Revises: 555f09c15445
Create Date: 2026-12-02 07:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1d2e3f4a5b'
down_revision = '555f09c15445'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('languages', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('profile_line', sa.String(length=200), nullable=True))
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('red_flag', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('red_flags_encrypted', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.drop_column('red_flags_encrypted')
        batch_op.drop_column('red_flag')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('profile_line')
        batch_op.drop_column('languages')
