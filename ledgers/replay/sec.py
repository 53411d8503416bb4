"""SEC EDGAR answers from real recordings: issuers' submissions and the latest-filings Atom feed.

Source (under the data directory, read in place; each folder's PROVENANCE.md says what the files are):
- every ``CIK##########.json`` and ``CIK##########-submissions-###.json`` (the names the SEC's URLs use), in
  ``sec-edgar-submissions-crypto/submissions/`` and ``sec-edgar-edgartools-cassettes/submissions-paged/``:
  ``GET /submissions/<name>`` answers the file's bytes (the first found, by sorted path, when two folders
  hold one name), 404 for a name not recorded, as data.sec.gov does for an unknown CIK;
- ``getcurrent_count<C>_start<S>.atom.xml``: the pages of ``GET /cgi-bin/browse-edgar?action=getcurrent``
  for that ``count`` and ``start``, verbatim; and the recorded 503 page EDGAR answers past the feed's end
  (``*_HTTP503.html``). The recorded pages are treated as the whole feed: a ``start`` beyond the last
  recorded page gets that 503 page. (EDGAR's crawl had about 50 pages; 3 were kept, PROVENANCE.md.)
"""

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

logger = logging.getLogger(__name__)

_SUBMISSIONS_NAME = re.compile(r"^CIK\d{10}(-submissions-\d{3})?\.json$")
_FEED_PAGE = re.compile(r"^getcurrent_count(\d+)_start(\d+)\.atom\.xml$")
ATOM = "application/atom+xml"
HTML = "text/html; charset=utf-8"
JSON = "application/json"


@dataclass(frozen=True)
class SecAnswer:
    """One answer: HTTP status, body bytes and content type."""

    status: int
    body: bytes
    content_type: str


@dataclass
class SecIndex:
    """Paths of the recorded files: ``submissions`` (file name -> path), ``feed_pages`` ((count, start) ->
    path) and ``past_end`` (the recorded 503 page, or None)."""

    submissions: dict[str, Path] = field(default_factory=dict)
    feed_pages: dict[tuple[int, int], Path] = field(default_factory=dict)
    past_end: Path | None = None

    @classmethod
    def load(cls, data_dir: Path) -> "SecIndex":
        """Find the recordings under ``data_dir`` (by file name, recursively)."""
        index = cls()
        for path in sorted(data_dir.rglob("*")):
            if not path.is_file():
                continue
            if _SUBMISSIONS_NAME.match(path.name):
                index.submissions.setdefault(path.name, path)
            elif (match := _FEED_PAGE.match(path.name)) is not None:
                index.feed_pages[(int(match[1]), int(match[2]))] = path
            elif path.name.startswith("getcurrent_") and path.name.endswith("_HTTP503.html"):
                index.past_end = path
        return index

    def submissions_answer(self, name: str) -> SecAnswer:
        """``GET /submissions/<name>``."""
        path = self.submissions.get(name)
        if path is None:
            return SecAnswer(404, b'{"error": "not recorded"}', JSON)
        return SecAnswer(200, path.read_bytes(), JSON)

    def feed_answer(self, query: str) -> SecAnswer:
        """``GET /cgi-bin/browse-edgar?<query>``: a recorded feed page, the 503 page past the last one, or 400
        for another question (not ``action=getcurrent`` with ``output=atom``, or a malformed count/start)."""
        params = {name: values[-1] for name, values in parse_qs(query, keep_blank_values=True).items()}
        if params.get("action") != "getcurrent" or params.get("output") != "atom":
            return SecAnswer(400, b"only action=getcurrent&output=atom is recorded", "text/plain")
        try:
            count, start = int(params.get("count", "40")), int(params.get("start", "0"))
        except ValueError:
            return SecAnswer(400, b"count and start must be integers", "text/plain")
        path = self.feed_pages.get((count, start))
        if path is not None:
            return SecAnswer(200, path.read_bytes(), ATOM)
        recorded = [s for c, s in self.feed_pages if c == count]
        if self.past_end is not None and recorded and start > max(recorded):
            return SecAnswer(503, self.past_end.read_bytes(), HTML)
        return SecAnswer(404, f"no page recorded for count={count} start={start}".encode(), "text/plain")
