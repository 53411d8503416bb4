"""Exchange credentials encrypted at rest with Fernet (``cryptography``).

Key: ``settings.TRADING_CREDENTIALS_KEY``, a urlsafe-base64 32-byte Fernet key from the environment
(generate with ``Fernet.generate_key()``). Without a key nothing is stored. Plaintexts are never
logged; ``credential_reveal`` is for the (future) live adapter only, never for the API or admin.
"""

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from trading.models import Account, ExchangeCredential
from whales.errors import Misconfigured


class CredentialsKeyMissing(Misconfigured):
    """503 ``misconfigured``: TRADING_CREDENTIALS_KEY is not set (or not a valid Fernet key)."""


def _fernet() -> Fernet:
    key = getattr(settings, "TRADING_CREDENTIALS_KEY", "")
    if not key:
        raise CredentialsKeyMissing("TRADING_CREDENTIALS_KEY is not set")
    try:
        return Fernet(key.encode() if isinstance(key, str) else key)
    except ValueError as exc:
        raise CredentialsKeyMissing("TRADING_CREDENTIALS_KEY is not a valid Fernet key") from exc


def encrypt(plaintext: str) -> bytes:
    """Fernet token of ``plaintext``. Raises CredentialsKeyMissing."""
    return _fernet().encrypt(plaintext.encode())


def decrypt(token: bytes) -> str:
    """Plaintext of a Fernet token. Raises CredentialsKeyMissing, or InvalidToken (wrong key / tampered)."""
    return _fernet().decrypt(bytes(token)).decode()


def credential_store(*, account: Account, exchange: str, api_key: str, secret: str) -> ExchangeCredential:
    """Store (or replace) the account's credentials for ``exchange``, encrypted. Returns the row (whose
    fields hold only ciphertext)."""
    with transaction.atomic():
        row, _ = ExchangeCredential.objects.update_or_create(
            account=account, exchange=exchange,
            defaults={"api_key_encrypted": encrypt(api_key), "secret_encrypted": encrypt(secret),
                      "created_at": timezone.now()})
    return row


def credential_reveal(*, credential: ExchangeCredential) -> tuple[str, str]:
    """(api_key, secret) in plaintext, for an exchange adapter only. Raises InvalidToken, CredentialsKeyMissing."""
    return decrypt(credential.api_key_encrypted), decrypt(credential.secret_encrypted)


__all__ = ["CredentialsKeyMissing", "InvalidToken", "credential_reveal", "credential_store", "decrypt", "encrypt"]
