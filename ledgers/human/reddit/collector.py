"""Registers the Reddit collector (imported by RedditConfig.ready)."""

from ledgers.human.reddit.services import COLLECTOR_NAME, reddit_collect
from ledgers.registry import Collector, CollectorOption, Ledger, collector_register

collector_register(Collector(
    name=COLLECTOR_NAME,
    ledger=Ledger.HUMAN,
    run=reddit_collect,
    task="reddit.collect",
    description="Reddit listings of the followed subreddits -> posts with coins, engagement and VADER sentiment",
    stale_after_s=3600,
    reports_progress=True,
    options=(
        CollectorOption("--subreddit", "subreddit", str, "only this followed subreddit (without r/)"),
        CollectorOption("--api-url", "api_url", str, "Reddit URL instead of REDDIT_URL"),
    ),
))
