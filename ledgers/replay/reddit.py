"""Reddit listings from real recordings (reddit-praw-cassettes, PROVENANCE.md there).

Source: every ``r_<subreddit>_<listing>_limit<N>_<date>.json`` under the data directory, the verbatim body of
``GET /r/<subreddit>/<listing>?limit=<N>&raw_json=1``. ``GET /r/<subreddit>/<listing>.json`` answers that body
whatever ``limit`` asks (a recording holds what it holds; the subreddit is matched without case, as Reddit
does), 404 for a listing not recorded (the recordings hold no crypto subreddit).
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

_LISTING = re.compile(r"^r_(?P<sub>[A-Za-z0-9_]+)_(?P<listing>hot|new|top|rising)_limit\d+_[0-9-]+\.json$")
_PATH = re.compile(r"^/r/(?P<sub>[A-Za-z0-9_]+)/(?P<listing>hot|new|top|rising)\.json$")


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
