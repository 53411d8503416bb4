"""Seed the assets WhaleTrack prices or recognises (data migration; schema is in 0001).

get_or_create on the natural key (chain, contract_address): re-running keeps analysts' admin edits
and never duplicates a row. Reversing is a no-op: the rows may already be referenced by prices and
edited in the admin, so they are left in place.

Where each entry comes from:
- ETH, BTC: the chains' native coins (contract ""); coingecko_id matches the daily CSVs in
  ../shared/data/prices-coingecko-daily-csv (eth-usd-max.csv, btc-usd-max*.csv).
- The ERC-20s are the well-known tokens among the contracts that emit ERC-20 Transfer logs
  (topic0 0xddf252ad..., 3 topics) in the recorded mainnet blocks 19,433,902-19,433,903
  (../shared/data/ethereum-mainnet-trin/eth_getBlockReceipts_*.json, 258 transfers from 86 contracts);
  the number after "blocks:" is that count. Address and decimals are the canonical mainnet
  deployments; "etherscan:" quotes the name etherscan_combinedAccountLabels.json
  (../shared/data/labels-etherscan-brianleect) gives the address, where it has one.
- UNI, stETH and DAI do not occur in those two blocks; they are seeded because they are among the
  largest ERC-20s whales hold (stETH and DAI are named in the Etherscan label file).
- The other contracts seen in the blocks (e.g. 0x85e0b9d3..., 12 transfers) are left out: their
  identity or decimals could not be confirmed offline. Adding one later is an admin edit.
- Stablecoins are priced at exactly 1 USD and wrapped tokens through price_reference
  (ledgers/market/selectors.py states both assumptions); the other tokens stay unpriced
  (value_usd None) until a price series exists for their coingecko_id.
"""

from django.db import migrations

NATIVE = [
    # (symbol, name, chain, decimals, coingecko_id)
    ("ETH", "Ether", "ethereum", 18, "ethereum"),
    ("BTC", "Bitcoin", "bitcoin", 8, "bitcoin"),
]

# (symbol, name, contract (lowercase), decimals, coingecko_id, is_stablecoin, price_reference symbol)
ERC20 = [
    # blocks: 60. Canonical WETH9.
    ("WETH", "Wrapped Ether", "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", 18, "weth", False, "ETH"),
    # etherscan: "Wrapped BTC: WBTC Token".
    ("WBTC", "Wrapped BTC", "0x2260fac5e5542a773aa44fbcfedf7c193bc2c599", 8, "wrapped-bitcoin", False, "BTC"),
    # blocks: 13; etherscan: "Centre: USD Coin".
    ("USDC", "USD Coin", "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", 6, "usd-coin", True, None),
    # blocks: 54; etherscan: "Tether: USDT Stablecoin".
    ("USDT", "Tether USD", "0xdac17f958d2ee523a2206206994597c13d831ec7", 6, "tether", True, None),
    # etherscan: "Maker: Dai Stablecoin".
    ("DAI", "Dai Stablecoin", "0x6b175474e89094c44da98b954eedeac495271d0f", 18, "dai", True, None),
    # blocks: 3; etherscan: "Shiba Inu: SHIB Token".
    ("SHIB", "Shiba Inu", "0x95ad61b0a150d79219dcf64e1e6cc01f0b64c4ce", 18, "shiba-inu", False, None),
    # blocks: 2.
    ("PEPE", "Pepe", "0x6982508145454ce325ddbe47a25d4ec3d2311933", 18, "pepe", False, None),
    # blocks: 2; etherscan: "Fantom: FTM Token".
    ("FTM", "Fantom", "0x4e15361fd6b4bb609fa63c81a2be19d873717870", 18, "fantom", False, None),
    # blocks: 2; etherscan: "Loopring: LRC Token".
    ("LRC", "Loopring", "0xbbbbca6a901c926f240b89eacb641d8aec7aeafd", 18, "loopring", False, None),
    # blocks: 1.
    ("LINK", "Chainlink", "0x514910771af9ca656af840dff83e8264ecf986ca", 18, "chainlink", False, None),
    # blocks: 1; etherscan: "Polygon (Matic): Matic Token".
    ("MATIC", "Polygon (Matic)", "0x7d1afa7b718fb893db30a3abc0cfc608aacfebb0", 18, "matic-network", False, None),
    # blocks: 1; etherscan: "Lido: LDO Token".
    ("LDO", "Lido DAO", "0x5a98fcbea516cf06857215779fd812ca3bef1b32", 18, "lido-dao", False, None),
    # blocks: 1; etherscan: "Basic Attention: BAT Token".
    ("BAT", "Basic Attention Token", "0x0d8775f648430679a709e98d2b0cb6250d2887ef", 18, "basic-attention-token",
     False, None),
    # blocks: 1; etherscan: "Axie Infinity: AXS Token".
    ("AXS", "Axie Infinity", "0xbb0e17ef65f82ab018d8edd776e8dd940327b28b", 18, "axie-infinity", False, None),
    # blocks: 1; etherscan: "Illuvium: ILV Token".
    ("ILV", "Illuvium", "0x767fe9edc9e0df98e07454847909b5e959d7ca0e", 18, "illuvium", False, None),
    # blocks: 1; etherscan: "OMG Network: OMG Token".
    ("OMG", "OMG Network", "0xd26114cd6ee289accf82350c8d8487fedb8a0c07", 18, "omisego", False, None),
    # blocks: 1; etherscan: "Cronos Coin: CRO Token". CRO has 8 decimals.
    ("CRO", "Cronos", "0xa0b73e1ff0b80914ab6fe0444e65848c4c34450b", 8, "crypto-com-chain", False, None),
    # blocks: 1. Not priced as a stablecoin: FRAX has traded off its peg.
    ("FRAX", "Frax", "0x853d955acef822db058eb8505911ed77f175b99e", 18, "frax", False, None),
    # Not in the two blocks (see the module docstring).
    ("UNI", "Uniswap", "0x1f9840a85d5af5bf1d1762f925bdaddc4201f984", 18, "uniswap", False, None),
    # etherscan: "Lido: Staked ETH Token". Not priced as ETH: stETH has traded below 1 ETH.
    ("stETH", "Lido Staked Ether", "0xae7ab96520de3a18e5e111b5eaab095312d7fe84", 18, "staked-ether", False, None),
]


def seed_assets(apps, schema_editor):
    Asset = apps.get_model("market", "Asset")
    native = {}
    for symbol, name, chain, decimals, coingecko_id in NATIVE:
        native[symbol], _ = Asset.objects.get_or_create(
            chain=chain, contract_address="",
            defaults={"symbol": symbol, "name": name, "decimals": decimals, "coingecko_id": coingecko_id},
        )
    for symbol, name, contract, decimals, coingecko_id, is_stablecoin, reference in ERC20:
        Asset.objects.get_or_create(
            chain="ethereum", contract_address=contract,
            defaults={
                "symbol": symbol, "name": name, "decimals": decimals, "coingecko_id": coingecko_id,
                "is_stablecoin": is_stablecoin, "price_reference": native[reference] if reference else None,
            },
        )


class Migration(migrations.Migration):

    dependencies = [
        ("market", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(seed_assets, migrations.RunPython.noop),
    ]
