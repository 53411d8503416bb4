"""Seed the issuers followed by default and the coins each is exposed to (editable in the admin).

Issue 16's defaults (Coinbase, Strategy, MARA, Riot, Block) and the other issuers whose EDGAR submissions
are recorded under ../shared/data (sec-edgar-submissions-crypto, and Tesla in sec-edgar-edgartools-cassettes):
CIKs and names as EDGAR lists them. The coin of each is its public crypto exposure: bitcoin treasuries and
miners BTC, the spot ETFs their coin, exchanges and brokers BTC and ETH, Circle USDC. get_or_create keeps an
analyst's edits when the migration runs again; reversing deletes only untouched seeds' filings with them.
"""

from django.db import migrations

# (cik, name, tickers, coins)
ISSUERS = [
    (1679788, "Coinbase Global, Inc.", "COIN", "BTC,ETH"),
    (1050446, "Strategy Inc (MicroStrategy)", "MSTR,STRD,STRF,STRK", "BTC"),
    (1507605, "MARA Holdings, Inc.", "MARA", "BTC"),
    (1167419, "Riot Platforms, Inc.", "RIOT", "BTC"),
    (1512673, "Block, Inc.", "XYZ", "BTC"),
    (827876, "CleanSpark, Inc.", "CLSK", "BTC"),
    (1783879, "Robinhood Markets, Inc.", "HOOD", "BTC,ETH"),
    (1876042, "Circle Internet Group, Inc.", "CRCL", "USDC"),
    (1859392, "Galaxy Digital Inc.", "GLXY", "BTC,ETH"),
    (1588489, "Grayscale Bitcoin Trust ETF", "GBTC", "BTC"),
    (1852317, "Fidelity Wise Origin Bitcoin Fund", "FBTC", "BTC"),
    (1554859, "Semler Scientific, Inc.", "SMLR", "BTC"),
    (1725210, "Grayscale Ethereum Trust ETF", "ETHE", "ETH"),
    (1318605, "Tesla, Inc.", "TSLA", "BTC"),
]


def seed(apps, schema_editor):
    SecIssuer = apps.get_model("sec", "SecIssuer")
    for cik, name, tickers, coins in ISSUERS:
        SecIssuer.objects.get_or_create(cik=cik, defaults={"name": name, "tickers": tickers, "coins": coins})


def unseed(apps, schema_editor):
    apps.get_model("sec", "SecIssuer").objects.filter(cik__in=[cik for cik, *_ in ISSUERS]).delete()


class Migration(migrations.Migration):

    dependencies = [("sec", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
