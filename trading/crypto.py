"""Exchange credentials encrypted at rest with Fernet (``cryptography``), with key rotation and each
ciphertext bound to its row.

Keys: ``settings.TRADING_CREDENTIALS_KEYS``, a list of urlsafe-base64 32-byte Fernet keys (generate with
``Fernet.generate_key()``), newest first; the first encrypts, every one decrypts (``MultiFernet``). The
single ``TRADING_CREDENTIALS_KEY`` is still read when the list is empty. Without a key nothing is stored.

Rotation: put the new key first in the list (keep the old ones after it), run
``manage.py trading_rotate_credentials`` (``credential_rotate``: every row re-encrypted with the new key),
then drop the old keys.

Binding: the plaintext sealed is ``wt1:`` + JSON of the value and the row it belongs to (account id,
exchange, field), so a ciphertext copied to another account's row, or swapped between the key and the
secret field, does not decrypt (``InvalidToken``). Rows written before binding (a bare token of the value)
still decrypt until ``credential_rotate`` rewrites them bound.

The mechanism (MultiFernet, the ``wt1:`` binding) is the shared kit ``whales.sealing``; this module owns the
settings, the error and the rows.

Plaintexts are never logged; ``credential_reveal`` is for the (future) live adapter only, never for the
API or admin.
"""

from cryptography.fernet import InvalidToken, MultiFernet
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from trading.models import Account, ExchangeCredential
from whales.errors import Misconfigured
from whales.sealing import BOUND_PREFIX, Binding, fernet_build, seal, unseal

FIELDS = ("api_key_encrypted", "secret_encrypted")


class CredentialsKeyMissing(Misconfigured):
    """503 ``misconfigured``: no TRADING_CREDENTIALS_KEYS / TRADING_CREDENTIALS_KEY (or not valid Fernet keys)."""


def _keys() -> list[str | bytes]:
    listed: list[str | bytes] = list(getattr(settings, "TRADING_CREDENTIALS_KEYS", None) or [])
    keys = [k for k in listed if k]
    single = getattr(settings, "TRADING_CREDENTIALS_KEY", "")
    return keys or ([single] if single else [])


def _fernet() -> MultiFernet:
    return fernet_build(
        _keys(), error=CredentialsKeyMissing,
        missing="TRADING_CREDENTIALS_KEYS (or TRADING_CREDENTIALS_KEY) is not set",
        invalid="TRADING_CREDENTIALS_KEYS holds a value that is not a valid Fernet key")


RowKey = tuple[int, str]
"""(account id, exchange): the unique key of an ExchangeCredential row, what a ciphertext is bound to."""


def _binding(row_key: RowKey, field: str) -> Binding:
    return ["trading.ExchangeCredential", row_key[0], row_key[1], field]


def encrypt(plaintext: str, *, row_key: RowKey, field: str) -> bytes:
    """Fernet token (newest key) of ``plaintext`` bound to the row ``row_key`` and ``field``.
    Raises CredentialsKeyMissing."""
    return seal(plaintext, fernet=_fernet(), binding=_binding(row_key, field))


def decrypt(token: bytes, *, row_key: RowKey, field: str) -> str:
    """Plaintext of a token made by ``encrypt`` for this row and field (or an unbound one written before
    binding). Raises CredentialsKeyMissing, or InvalidToken (no key fits, tampered, or bound to another row
    or field)."""
    # A bare token was written before binding: credential_rotate rewrites it bound.
    return unseal(token, fernet=_fernet(), binding=_binding(row_key, field), allow_unbound=True)


def credential_store(*, account: Account, exchange: str, api_key: str, secret: str) -> ExchangeCredential:
    """Store (or replace) the account's credentials for ``exchange``, encrypted and bound to the row. Returns
    the row (whose fields hold only ciphertext)."""
    row_key = (account.pk, exchange)
    with transaction.atomic():
        row, _ = ExchangeCredential.objects.update_or_create(
            account=account, exchange=exchange,
            defaults={"api_key_encrypted": encrypt(api_key, field="api_key_encrypted", row_key=row_key),
                      "secret_encrypted": encrypt(secret, field="secret_encrypted", row_key=row_key),
                      "created_at": timezone.now()})
    return row


def credential_reveal(*, credential: ExchangeCredential) -> tuple[str, str]:
    """(api_key, secret) in plaintext, for an exchange adapter only. Raises InvalidToken, CredentialsKeyMissing."""
    row_key = (credential.account_id, credential.exchange)
    return (decrypt(credential.api_key_encrypted, field="api_key_encrypted", row_key=row_key),
            decrypt(credential.secret_encrypted, field="secret_encrypted", row_key=row_key))


def credential_rotate() -> int:
    """Re-encrypt every stored credential with the newest key, bound to its row; return how many rows.

    One transaction per row (locked). Idempotent: a second run rewrites the same plaintexts again.
    Raises: CredentialsKeyMissing; InvalidToken for a row no configured key opens (rows before it are done)."""
    done = 0
    for pk in ExchangeCredential.objects.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            row = ExchangeCredential.objects.select_for_update().get(pk=pk)
            row_key = (row.account_id, row.exchange)
            for field in FIELDS:
                plaintext = decrypt(getattr(row, field), field=field, row_key=row_key)
                setattr(row, field, encrypt(plaintext, field=field, row_key=row_key))
            row.save(update_fields=list(FIELDS))
        done += 1
    return done


__all__ = ["BOUND_PREFIX", "CredentialsKeyMissing", "InvalidToken", "credential_reveal", "credential_rotate",
           "credential_store", "decrypt", "encrypt"]
