"""Secrets sealed at rest with Fernet (``cryptography``): key rotation and each ciphertext bound to its row.

The shared kit of every app that stores a secret (``trading.crypto`` for exchange credentials,
``alerts.destinations`` for Apprise URLs); ``whales`` is the bottom of the import graph, so every app may
import it. Each caller owns its settings and its ``Misconfigured`` subclass; this module holds the mechanism.

Keys: a list of urlsafe-base64 32-byte Fernet keys (``Fernet.generate_key()``), newest first: the first
encrypts, every one decrypts (``MultiFernet``). Rotation: put the new key first (keep the old ones after
it), re-seal every row (``unseal`` then ``seal``: each caller has a rotate command), then drop the old keys.

Binding: the plaintext sealed is ``wt1:`` + JSON ``{"v": value, "row": binding}``, where ``binding`` is a
JSON list naming the row and field (e.g. ``["alerts.AlertDestination", 7, "url"]``). A ciphertext copied to
another row or field does not open (``InvalidToken``). A bare token (the value alone, sealed before binding
existed) opens only where the caller allows it (``allow_unbound``).
"""

import json
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from whales.errors import Misconfigured

BOUND_PREFIX = b"wt1:"

Binding = list[str | int]
"""What a ciphertext is bound to: JSON-safe parts naming the row and field."""


def fernet_build(keys: Sequence[str | bytes], *, error: type[Misconfigured], missing: str,
                 invalid: str) -> MultiFernet:
    """A MultiFernet of ``keys`` (newest first; empty entries skipped).

    Raises: ``error(missing)`` when no key is left; ``error(invalid)`` when one is not a valid Fernet key
    (the messages name the setting, never a key)."""
    usable = [key for key in keys if key]
    if not usable:
        raise error(missing)
    try:
        return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in usable])
    except ValueError as exc:
        raise error(invalid) from exc


def seal(plaintext: str, *, fernet: MultiFernet, binding: Binding) -> bytes:
    """Fernet token (newest key) of ``plaintext`` bound to ``binding``."""
    sealed = BOUND_PREFIX + json.dumps({"v": plaintext, "row": list(binding)}).encode()
    return fernet.encrypt(sealed)


def unseal(token: bytes, *, fernet: MultiFernet, binding: Binding, allow_unbound: bool = False) -> str:
    """Plaintext of a token made by ``seal`` for ``binding`` (or, with ``allow_unbound``, a bare token of the
    value written before binding). Raises: InvalidToken (no key fits, tampered, bound elsewhere, or unbound
    where that is not allowed)."""
    sealed = fernet.decrypt(bytes(token))
    if not sealed.startswith(BOUND_PREFIX):
        if allow_unbound:
            return sealed.decode()
        raise InvalidToken
    try:
        payload = json.loads(sealed[len(BOUND_PREFIX):])
    except ValueError as exc:
        raise InvalidToken from exc
    if not isinstance(payload, dict) or payload.get("row") != list(binding):
        raise InvalidToken  # a ciphertext copied from another row or field
    return str(payload["v"])


__all__ = ["BOUND_PREFIX", "Binding", "InvalidToken", "fernet_build", "seal", "unseal"]
