"""``python manage.py trading_rotate_credentials``: re-encrypt every stored exchange credential with the
first key of TRADING_CREDENTIALS_KEYS, bound to its row (``trading.crypto.credential_rotate``).

Rotation: put the new key first in TRADING_CREDENTIALS_KEYS (the old ones after it), restart, run this,
then remove the old keys.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trading.crypto import CredentialsKeyMissing, InvalidToken, credential_rotate


class Command(BaseCommand):
    help = "Re-encrypt every exchange credential with the newest TRADING_CREDENTIALS_KEYS key."

    def add_arguments(self, parser: CommandParser) -> None:
        pass

    def handle(self, *args: object, **options: object) -> None:
        try:
            count = credential_rotate()
        except CredentialsKeyMissing as exc:
            raise CommandError(str(exc)) from exc
        except InvalidToken as exc:
            raise CommandError("a credential does not decrypt with any configured key (or is bound to another "
                               "row); add its key to TRADING_CREDENTIALS_KEYS") from exc
        self.stdout.write(f"re-encrypted {count} credential(s) with the newest key")
