"""``python manage.py run_main``: the main job (DESIGN.md section 5), printing what it does.

Steps: migrate; create the admin user; import the label sets and the default whale list; import
prices; choose the sources (live endpoints when reachable, else the recordings served by the
replay node); collect Ethereum; then serve admin, API, dashboard and WebSockets with daphne on
127.0.0.1:8000 (``--no-serve`` stops after collecting). Re-running changes nothing already there:
every step is idempotent. With the live sources, the Ethereum collector keeps following the chain
in a background thread while the server runs (the embedded stand-in for Celery beat).
"""

import secrets
import threading
import time
from pathlib import Path

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from ledgers.ethereum.client import EthereumRpcClient, RpcError, RpcUnavailable
from ledgers.ethereum.services import blocks_collect
from ledgers.replay.services import start_replay_node
from whales.models import RunStatus, Trade, Whale, WhaleEvent

ADMIN_PASSWORD_FILE = Path(settings.BASE_DIR) / "var" / "admin-password.txt"
LIVE_PROBE_TIMEOUT_S = 3


class Command(BaseCommand):
    help = "Set up everything and run WhaleTrack (recorded data when the live endpoints are unreachable)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="stop after collecting")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        self.step("Database", self.migrate)
        self.step("Admin user", self.admin_user)
        self.step("Label sets and default whales", self.import_labels)
        self.step("Prices", self.import_prices)
        sources = self.choose_sources()
        self.step("Ethereum collector", lambda: self.collect_ethereum(sources))
        self.summary(sources, time.monotonic() - started, options)
        if options["no_serve"]:
            if "node" in sources:
                sources["node"].stop()
            return
        if sources["mode"] == "live":
            threading.Thread(target=self.follow_chain, args=(sources,), daemon=True).start()
        self.serve(options["host"], options["port"])

    # --- steps --------------------------------------------------------------------------------
    def step(self, title: str, fn) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"== {title}"))
        t0 = time.monotonic()
        fn()
        self.stdout.write(f"   done in {time.monotonic() - t0:.1f} s")

    def migrate(self) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"   database: {connection.vendor} ({settings.DATABASES['default']['NAME']})")

    def admin_user(self) -> None:
        username = settings.WHALETRACK_ADMIN_USER
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            known = ADMIN_PASSWORD_FILE.read_text().strip() if ADMIN_PASSWORD_FILE.exists() else None
            self.admin_credentials = (username, known or "(unchanged; set before)")
            self.stdout.write(f"   admin user {username!r} exists (kept as it is)")
            return
        password = settings.WHALETRACK_ADMIN_PASSWORD or secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=username, email="", password=password)
        if not settings.WHALETRACK_ADMIN_PASSWORD:
            ADMIN_PASSWORD_FILE.parent.mkdir(exist_ok=True)
            ADMIN_PASSWORD_FILE.write_text(password + "\n")
            ADMIN_PASSWORD_FILE.chmod(0o600)
        self.admin_credentials = (username, password)
        self.stdout.write(f"   created admin user {username!r}")

    def import_labels(self) -> None:
        call_command("import_labels", track_default_whales=True, stdout=self.stdout)

    def import_prices(self) -> None:
        call_command("import_prices", stdout=self.stdout)

    def choose_sources(self) -> dict:
        """Live endpoints when WHALETRACK_SOURCES allows and they answer, else the replay node."""
        mode = settings.WHALETRACK_SOURCES
        if mode not in ("auto", "live", "replay"):
            raise CommandError(f"WHALETRACK_SOURCES must be auto, live or replay, not {mode!r}")
        if mode in ("auto", "live"):
            try:
                EthereumRpcClient(settings.ETH_RPC_URL, timeout_s=LIVE_PROBE_TIMEOUT_S, retries=0).chain_id()
                self.stdout.write(self.style.SUCCESS(f"== Sources: live ({settings.ETH_RPC_URL})"))
                return {"mode": "live", "eth_url": settings.ETH_RPC_URL}
            except (RpcUnavailable, RpcError, requests.RequestException) as exc:
                if mode == "live":
                    raise CommandError(f"live source {settings.ETH_RPC_URL} unreachable: {exc}") from exc
                self.stdout.write(f"== Sources: {settings.ETH_RPC_URL} unreachable ({type(exc).__name__}); "
                                  "using the recordings")
        node = start_replay_node()
        self.stdout.write(self.style.SUCCESS(f"== Sources: replay node on {node.url} serving "
                                             f"{settings.REPLAY_DATA_DIR}"))
        return {"mode": "replay", "eth_url": node.eth_url, "node": node}

    def collect_ethereum(self, sources: dict) -> None:
        client = EthereumRpcClient.from_settings(sources["eth_url"])
        if sources["mode"] == "replay":
            # Recordings are final: no confirmations; walk the whole recorded run ending at the head.
            head = client.block_number()
            start = head
            while start > head - 100 and client.get_header(start - 1) is not None:
                start -= 1
            result = blocks_collect(client=client, from_block=start, to_block=head, confirmations=0,
                                    progress=self.progress)
        else:
            result = blocks_collect(client=client, progress=self.progress)
        line = (f"   ethereum: {result.status}, {result.blocks} blocks, {result.items_seen} transactions, "
                f"{result.items_written} new trades, {result.events_written} new events")
        self.stdout.write(line if result.status != RunStatus.FAILED else self.style.ERROR(f"{line}: {result.error}"))

    def progress(self, p) -> None:
        self.stdout.write(f"   block {p.block_number}: {p.trades_written} trades, {p.events_written} events so far")

    def follow_chain(self, sources: dict) -> None:
        client = EthereumRpcClient.from_settings(sources["eth_url"])
        while True:
            time.sleep(15)
            blocks_collect(client=client)
            connection.close()

    def summary(self, sources: dict, seconds: float, options: dict) -> None:
        base = f"http://{options['host']}:{options['port']}"
        username, password = self.admin_credentials
        self.stdout.write(self.style.MIGRATE_HEADING("== WhaleTrack is ready"))
        self.stdout.write(
            f"   {Whale.objects.filter(is_tracked=True).count()} tracked whales, {Trade.objects.count()} trades, "
            f"{WhaleEvent.objects.count()} whale events (set-up took {seconds:.1f} s)\n"
            f"   dashboard   {base}/\n"
            f"   admin       {base}/admin/   user {username!r} password {password!r}\n"
            f"   API         {base}/api/v1/whales   docs {base}/api/docs/   schema {base}/api/schema/\n"
            f"   health      {base}/health   collectors {base}/api/v1/collectors/health"
        )

    def serve(self, host: str, port: int) -> None:
        from daphne.cli import CommandLineInterface

        self.stdout.write(f"== Serving on http://{host}:{port} (Ctrl-C stops)")
        CommandLineInterface().run(["-b", host, "-p", str(port), "whaletrack.asgi:application"])
