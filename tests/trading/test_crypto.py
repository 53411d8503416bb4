"""Credential encryption (issue 14, item 12): key rotation with MultiFernet (TRADING_CREDENTIALS_KEYS,
``manage.py trading_rotate_credentials``) and each ciphertext bound to its row and field, so one copied
to another account's row (or swapped between fields) does not decrypt."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command

from tests.trading.factories import AccountFactory
from trading.crypto import credential_reveal, credential_store
from trading.models import ExchangeCredential

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def keys(settings):
    settings.TRADING_CREDENTIALS_KEY = OLD  # the single key of before; the list, when set, wins
    settings.TRADING_CREDENTIALS_KEYS = [OLD]
    return settings


def test_a_ciphertext_copied_to_another_accounts_row_does_not_decrypt(keys):
    victim, attacker = AccountFactory(), AccountFactory()
    stolen = credential_store(account=victim, exchange="binance", api_key="victim-key", secret="victim-secret")
    mine = credential_store(account=attacker, exchange="binance", api_key="my-key", secret="my-secret")
    ExchangeCredential.objects.filter(pk=mine.pk).update(api_key_encrypted=stolen.api_key_encrypted,
                                                         secret_encrypted=stolen.secret_encrypted)
    with pytest.raises(InvalidToken):
        credential_reveal(credential=ExchangeCredential.objects.get(pk=mine.pk))
    assert credential_reveal(credential=ExchangeCredential.objects.get(pk=stolen.pk)) == ("victim-key",
                                                                                          "victim-secret")


def test_swapping_the_key_and_secret_fields_does_not_decrypt(keys):
    row = credential_store(account=AccountFactory(), exchange="binance", api_key="k-1", secret="s-1")
    ExchangeCredential.objects.filter(pk=row.pk).update(api_key_encrypted=row.secret_encrypted,
                                                        secret_encrypted=row.api_key_encrypted)
    with pytest.raises(InvalidToken):
        credential_reveal(credential=ExchangeCredential.objects.get(pk=row.pk))


def test_rotation_re_encrypts_every_row_with_the_new_key(keys, capsys):
    rows = [credential_store(account=AccountFactory(), exchange=exchange, api_key=f"k-{exchange}",
                             secret=f"s-{exchange}") for exchange in ("binance", "kraken")]
    keys.TRADING_CREDENTIALS_KEYS = [NEW, OLD]  # new key first, the old one still opens the rows
    assert [credential_reveal(credential=r) for r in rows] == [("k-binance", "s-binance"), ("k-kraken", "s-kraken")]
    call_command("trading_rotate_credentials")
    assert capsys.readouterr().out == "re-encrypted 2 credential(s) with the newest key\n"
    keys.TRADING_CREDENTIALS_KEYS = [NEW]  # old key dropped: every row still opens
    fresh = list(ExchangeCredential.objects.order_by("pk"))
    assert [credential_reveal(credential=r) for r in fresh] == [("k-binance", "s-binance"), ("k-kraken", "s-kraken")]
    keys.TRADING_CREDENTIALS_KEYS = [OLD]  # and the old key alone opens none
    with pytest.raises(InvalidToken):
        credential_reveal(credential=fresh[0])


def test_a_row_written_before_binding_still_opens_and_rotation_binds_it(keys):
    account = AccountFactory()
    legacy = Fernet(OLD.encode())
    row = ExchangeCredential.objects.create(account=account, exchange="binance",
                                            api_key_encrypted=legacy.encrypt(b"old-key"),
                                            secret_encrypted=legacy.encrypt(b"old-secret"))
    assert credential_reveal(credential=row) == ("old-key", "old-secret")
    call_command("trading_rotate_credentials")
    row.refresh_from_db()
    assert Fernet(OLD.encode()).decrypt(bytes(row.api_key_encrypted)).startswith(b"wt1:")
    assert credential_reveal(credential=row) == ("old-key", "old-secret")
