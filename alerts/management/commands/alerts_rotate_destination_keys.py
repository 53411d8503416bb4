"""``python manage.py alerts_rotate_destination_keys``: re-seal every alert destination's Apprise URL with the
first key of ALERT_DESTINATION_KEYS, bound to its row (``alerts.destinations.destination_keys_rotate``).

Rotation: put the new key first in ALERT_DESTINATION_KEYS (the old ones after it), restart, run this, then
remove the old keys.
"""

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError

from alerts.destinations import DestinationKeyMissing, destination_keys_rotate


class Command(BaseCommand):
    help = "Re-seal every alert destination URL with the newest ALERT_DESTINATION_KEYS key."

    def handle(self, *args: object, **options: object) -> None:
        try:
            count = destination_keys_rotate()
        except DestinationKeyMissing as exc:
            raise CommandError(str(exc)) from exc
        except InvalidToken as exc:
            raise CommandError("a destination URL does not open with any configured key (or is bound to another "
                               "row); add its key to ALERT_DESTINATION_KEYS") from exc
        self.stdout.write(f"re-sealed {count} destination URL(s) with the newest key")
