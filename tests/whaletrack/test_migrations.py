"""Every model change has its migration: ``makemigrations --check`` finds nothing to write (CI runs this)."""

from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_no_model_change_is_without_a_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # --check exits 1 when a migration would be written
        pytest.fail(f"makemigrations would write (exit {exc.code}):\n{out.getvalue()}")
    assert "No changes detected" in out.getvalue()
