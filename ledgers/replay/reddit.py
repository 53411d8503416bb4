"""Reddit listings from real recordings (reddit-praw-cassettes, PROVENANCE.md there).

Source: every ``r_<subreddit>_<listing>_limit<N>_<date>.json`` under the data directory, the verbatim body of
``GET /r/<subreddit>/<listing>?limit=<N>&raw_json=1``. ``GET /r/<subreddit>/<listing>.json`` answers that body
whatever ``limit`` asks (a recording holds what it holds; the subreddit is matched without case, as Reddit
does), 404 for a listing not recorded (the recordings hold no crypto subreddit).

For PRAW (application-only OAuth), the recordings were made at ``GET https://oauth.reddit.com/r/<sub>/<listing>``:
``oauth_answer`` serves them at that path (no ``.json``) to a request bearing the token, and ``token_answer``
answers ``POST /api/v1/access_token`` (``grant_type=client_credentials`` with HTTP Basic client credentials) with
a fixed bearer token, in the shape Reddit documents. The token answers were not recorded (PROVENANCE.md), so this
one is the replay node's own; it carries no data.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

_LISTING = re.compile(r"^r_(?P<sub>[A-Za-z0-9_]+)_(?P<listing>hot|new|top|rising)_limit\d+_[0-9-]+\.json$")
_PATH = re.compile(r"^/r/(?P<sub>[A-Za-z0-9_]+)/(?P<listing>hot|new|top|rising)\.json$")
_OAUTH_PATH = re.compile(r"^/r/(?P<sub>[A-Za-z0-9_]+)/(?P<listing>hot|new|top|rising)/?$")
TOKEN = "replay-node-bearer-token"  # noqa: S105  (the offline node's own, guards nothing)
_UNAUTHORIZED = b'{"message": "Unauthorized", "error": 401}'


@dataclass
class RedditIndex:
    """``listings``: (subreddit lower-case, listing) -> the recorded file."""

    listings: dict[tuple[str, str], Path] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path) -> "RedditIndex":
        index = cls()
        for path in sorted(data_dir.rglob("r_*.json")):
            if (match := _LISTING.match(path.name)) is not None:
                index.listings.setdefault((match["sub"].lower(), match["listing"]), path)
        return index

    def answer(self, path: str) -> tuple[int, bytes]:
        """(status, body) of ``GET <path>`` (relative to ``/reddit``)."""
        match = _PATH.match(path)
        recorded = self.listings.get((match["sub"].lower(), match["listing"])) if match else None
        if recorded is None:
            return 404, b'{"message": "Not Found", "error": 404}'
        return 200, recorded.read_bytes()

    def token_answer(self, authorization: str, body: bytes) -> tuple[int, bytes]:
        """(status, body) of ``POST /api/v1/access_token``: the bearer token for a client-credentials grant with
        HTTP Basic credentials, else 401."""
        if not authorization.startswith("Basic ") or b"grant_type=client_credentials" not in body:
            return 401, _UNAUTHORIZED
        return 200, json.dumps({"access_token": TOKEN, "token_type": "bearer", "expires_in": 86400,
                                "scope": "*"}).encode()

    def oauth_answer(self, path: str, authorization: str) -> tuple[int, bytes]:
        """(status, body) of ``GET /r/<sub>/<listing>`` on the OAuth host: 401 without the token, else as
        ``answer``."""
        if authorization.lower() != f"bearer {TOKEN}":
            return 401, _UNAUTHORIZED
        match = _OAUTH_PATH.match(path)
        return self.answer(f"/r/{match['sub']}/{match['listing']}.json" if match else path)
