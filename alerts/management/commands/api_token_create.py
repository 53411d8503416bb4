"""``manage.py api_token_create <username> [--name N] [--days D]``: make a personal API token for a user and print
it (once: only its digest is stored). For scripts and set-up; people make theirs on ``/account/tokens/``."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from alerts.tokens import api_token_create
from whales.errors import ApplicationError


class Command(BaseCommand):
    help = "Make a personal API token for a user and print it (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="What the token is for (default: cli).")
        parser.add_argument("--days", type=int, default=None, help="Expire after this many days (default: never).")

    def handle(self, *args, username: str, name: str, days: int | None, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        if days is not None and days < 1:
            raise CommandError("--days must be 1 or more.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            _, token = api_token_create(user_id=user.pk, name=name, expires_at=expires_at)
        except ApplicationError as exc:
            raise CommandError(str(exc.detail)) from exc
        self.stdout.write(token)
