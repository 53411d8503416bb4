"""Credentials out of error text: what a collector stores in its run log or shows on the health pages.

Node providers put the API key in the URL (``https://user:key@host``, Infura ``/v3/<key>``, Alchemy
``/v2/<key>``, QuickNode ``/<token>/``, ``?apikey=``), and ``requests``/``urllib3`` errors quote the URL
or its path (``... with url: /v3/<key>``). ``error_redact`` removes them before any error text is stored
or logged; ``error_for_viewer`` hides the (already redacted) detail from anyone but staff.
"""

import re

REDACTED = "***"
ERROR_HIDDEN = "failed (the detail is shown to staff only)"
"""What non-staff viewers see in place of a non-empty error."""

# scheme://userinfo@  ->  scheme://***@
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@'\"]+@")
# ?apikey=... &token=... (any parameter whose name says key, token, secret, password, auth or signature)
_QUERY_SECRET = re.compile(
    r"(?P<name>[?&;](?:[A-Za-z0-9_.-]*(?:key|token|secret|passw|pwd|auth|sig|credential)[A-Za-z0-9_.-]*))=[^&#\s'\"]*",
    re.IGNORECASE)
# A path segment long and random enough to be a key: 20+ of [A-Za-z0-9_-] (Infura's 32 hex, Alchemy's 32,
# QuickNode's 40, Ankr's 64). 0x-prefixed hex (EVM addresses and hashes) is public data and kept.
_PATH_KEY = re.compile(r"/(?!0x[0-9a-fA-F]+(?:[/?#\s'\"]|$))[A-Za-z0-9_-]{20,}(?=[/?#:;\s'\",)]|$)")


def error_redact(text: str) -> str:
    """``text`` with credentials in any URL or URL path replaced by ``***``.

    Shape: userinfo (``https://***@host``), secret-looking query values (``?apikey=***``) and path segments of
    20 or more key characters (``/v3/***``) are replaced; everything else is unchanged. Idempotent.
    """
    text = _USERINFO.sub(rf"\g<scheme>{REDACTED}@", text)
    text = _QUERY_SECRET.sub(rf"\g<name>={REDACTED}", text)
    return _PATH_KEY.sub(f"/{REDACTED}", text)


def error_for_viewer(error: str, *, staff: bool) -> str:
    """The error text a viewer may see: staff the stored (redacted) text, anyone else ``ERROR_HIDDEN`` when
    there is an error and "" when there is none."""
    if staff or not error:
        return error
    return ERROR_HIDDEN
