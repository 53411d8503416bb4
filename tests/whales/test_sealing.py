"""The sealing kit (whales.sealing): MultiFernet with rotation, and ciphertexts bound to their row."""

import pytest
from cryptography.fernet import Fernet, InvalidToken

from whales.errors import Misconfigured
from whales.sealing import BOUND_PREFIX, fernet_build, seal, unseal

OLD, NEW = Fernet.generate_key(), Fernet.generate_key()
ROW = ["app.Model", 7, "secret"]


class KeyMissing(Misconfigured):
    pass


def build(*keys):
    return fernet_build(list(keys), error=KeyMissing, missing="KEYS is not set", invalid="KEYS is not valid")


def test_a_sealed_value_opens_for_its_row_only():
    token = seal("s3cret", fernet=build(NEW), binding=ROW)

    assert b"s3cret" not in token
    assert unseal(token, fernet=build(NEW), binding=ROW) == "s3cret"
    for other in (["app.Model", 8, "secret"], ["app.Model", 7, "other"], ["other.Model", 7, "secret"]):
        with pytest.raises(InvalidToken):
            unseal(token, fernet=build(NEW), binding=other)


def test_the_newest_key_seals_and_every_key_opens():
    old_token = seal("v", fernet=build(OLD), binding=ROW)
    both = build(NEW, OLD)

    resealed = seal(unseal(old_token, fernet=both, binding=ROW), fernet=both, binding=ROW)

    assert unseal(resealed, fernet=build(NEW), binding=ROW) == "v"
    with pytest.raises(InvalidToken):
        unseal(old_token, fernet=build(NEW), binding=ROW)


def test_an_unbound_token_opens_only_where_allowed():
    bare = Fernet(NEW).encrypt(b"legacy")

    assert unseal(bare, fernet=build(NEW), binding=ROW, allow_unbound=True) == "legacy"
    with pytest.raises(InvalidToken):
        unseal(bare, fernet=build(NEW), binding=ROW)
    with pytest.raises(InvalidToken):  # the prefix with no JSON after it
        unseal(Fernet(NEW).encrypt(BOUND_PREFIX + b"{"), fernet=build(NEW), binding=ROW)


@pytest.mark.parametrize(("keys", "detail"), [([], "KEYS is not set"), (["", None], "KEYS is not set"),
                                              (["not-a-key"], "KEYS is not valid")])
def test_missing_or_invalid_keys_are_the_callers_misconfigured_error(keys, detail):
    with pytest.raises(KeyMissing) as raised:
        build(*keys)

    assert (raised.value.detail, raised.value.code, raised.value.status_code) == (detail, "misconfigured", 503)
