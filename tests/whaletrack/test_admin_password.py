"""The main job's admin user: the generated password is shown once and its file is never readable by others."""

import io
import os
import stat

import pytest
from django.contrib.auth import get_user_model

from whaletrack.management.commands import run_main

pytestmark = pytest.mark.django_db


@pytest.fixture
def command(tmp_path, monkeypatch, settings):
    settings.WHALETRACK_ADMIN_USER = "admin"
    settings.WHALETRACK_ADMIN_PASSWORD = ""
    monkeypatch.setattr(run_main, "ADMIN_PASSWORD_FILE", tmp_path / "var" / "admin-password.txt")

    def make() -> run_main.Command:
        return run_main.Command(stdout=io.StringIO())

    return make


def test_the_generated_password_is_printed_only_by_the_run_that_creates_it(command):
    first = command()
    first.admin_user()
    username, password = first.admin_credentials
    assert username == "admin"
    assert len(password) == 16  # secrets.token_urlsafe(12)
    assert get_user_model().objects.get(username="admin").check_password(password)
    assert run_main.ADMIN_PASSWORD_FILE.read_text() == password + "\n"

    second = command()
    second.admin_user()
    assert second.admin_credentials == ("admin", f"(in {run_main.ADMIN_PASSWORD_FILE})")
    assert password not in second.stdout.getvalue()


def test_the_password_file_is_created_owner_only_without_a_later_chmod(command, monkeypatch):
    # The mode must come from the creation itself: with chmod doing nothing and a permissive umask, a file
    # written first and restricted after would be left readable by everyone.
    monkeypatch.setattr(type(run_main.ADMIN_PASSWORD_FILE), "chmod", lambda self, mode: None)

    old = os.umask(0o000)
    try:
        command().admin_user()
    finally:
        os.umask(old)
    assert stat.S_IMODE(run_main.ADMIN_PASSWORD_FILE.stat().st_mode) == 0o600
    assert [p.name for p in run_main.ADMIN_PASSWORD_FILE.parent.iterdir()] == ["admin-password.txt"]
