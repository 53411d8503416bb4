"""What the recordings under ``REPLAY_DATA_DIR`` hold that code relies on: one catalogue.

The main job tracks these accounts offline, the replay node derives the mempool whales from these
transactions, and the tests read the same names. Each entry says which recording it comes from (each
folder's ``PROVENANCE.md`` says what the files are).
"""

from decimal import Decimal

# --- Bitcoin (bitcoin-mempool-space-am-i-exposed, bitcoin-mempool-space-fixtures) -------------------
# Addresses whose history the recordings hold: address -> (display name, the tx_hash of a recorded tx it is in).
RECORDED_BITCOIN_WHALES: dict[str, tuple[str, str]] = {
    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa": (
        "Genesis address", "c2e051f86e90589c99668e0ec0b94b1c9d97fdcf4ed88ffd3ee1879b5d9a2d3a"),
    "1K8YYAJJN3E3KD9FFPUXGAxQEVbt2hVj1M": (
        "829.7 BTC sender (2016)", "0b6461de422c46a221db99608fcbe0326e4f2325ebf2a47c9faf660ed61ee6a4"),
    "18p3G8gQ3oKy4U9EqnWs7UZswdqAMhE3r8": (
        "829.7 BTC receiver (2016)", "0b6461de422c46a221db99608fcbe0326e4f2325ebf2a47c9faf660ed61ee6a4"),
    "bc1q4gjc6kfhlksw9x64vsxf5jpjpx598rr5dz5trm": (
        "143-output batch payer (2022)", "3d81a6b95903dd457d45a2fc998acc42fe96f59ef01157bdcbc331fe451c8d9e"),
    "1stAprEZapjCYGUACUcXohQqSHF9MU5Kj": (
        "RBF sender (2025)", "b6a53d8a8025c0c5b194345925a99741b645cae0b1f180f0613273029f2bf698"),
}

# The recorded RBF pair of mempool.space's fixtures (details_rbf/tx01_*, tx02_*).
REPLACED_TX_HASH = "242f3fff9ca7d5aea7a7a57d886f3fa7329e24fac948598a991b3a3dd631cd29"
REPLACEMENT_TX_HASH = "b6a53d8a8025c0c5b194345925a99741b645cae0b1f180f0613273029f2bf698"
# DERIVED whale-sized variants: the recordings hold no unconfirmed transaction of 100 BTC or more, so the
# replay node's WebSocket adds this much to the ``value`` of these recorded unconfirmed transactions
# (fee, size, rate and time stay the recorded ones; REST answers stay verbatim).
WHALE_VARIANT_BOOST_SAT = 15_000_000_000  # 150 BTC
WHALE_VARIANT_TX_HASHES = frozenset({
    "e88521600e3c8348d0534777ca6490091cb3cdd1fac8a2abe95123f7cef319e5",  # INIT transactions, rate 12.33
    "17a9e5194345d8da287d49c0bf595474e08fc81434646925d6640964929aa7f9",  # frame 0 transactions, rate 60.16
    REPLACED_TX_HASH,  # frame 3
    REPLACEMENT_TX_HASH,  # frame 6
    "21518a98d1aa9df524865d2f88c578499f524eb1d0c4d3e70312ab863508692f",  # frame 12 (mainnet_tx_cached.json)
})

# --- Hyperliquid (hyperliquid-python-sdk-cassettes, rotki-test-caching-cassettes) --------------------
# Accounts whose Info API answers are recorded: address -> (display name, the recorded request type).
RECORDED_HYPERLIQUID_WHALES: dict[str, tuple[str, str]] = {
    "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2": ("Hyperliquid trader (500 recorded fills)", "userFills"),
    "0x5e9ee1089755c3435139848e47e6635505d5a13a": ("Hyperliquid trader (12 recorded positions)",
                                                   "clearinghouseState"),
    "0x2ba553d9f990a3b66b03b2dc0d030dfc1c061036": ("Hyperliquid depositor (2.7M USDC recorded)",
                                                   "userNonFundingLedgerUpdates"),
}
# The trader with the recorded fills: the main job backtests following it.
RECORDED_TRADER = "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"
# The recorded bridge deposits on Arbitrum are in blocks 311,103,061 and 311,535,537, of 500.59 and
# 303.14 USDC: discovery scans from just before the first and counts deposits from 100 USDC offline, so
# both depositors become whales (live: HYPERLIQUID_BRIDGE_MIN_USD).
RECORDED_BRIDGE_FROM_BLOCK = 311_103_000
RECORDED_BRIDGE_MIN_USD = Decimal(100)

# --- Reddit (reddit-praw-cassettes) ------------------------------------------------------------------
# The subreddits whose listings are recorded: name -> the recorded listings. Neither is about crypto (no crypto
# subreddit is recorded); the main job follows them offline so the collector runs on real posts of both schemas.
RECORDED_SUBREDDITS: dict[str, str] = {"popular": "hot", "askreddit": "hot,new"}
