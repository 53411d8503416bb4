"""WhaleTrack settings: one module, every environment difference read by django-environ.

The real environment beats ``.env``; ``.env.example`` lists every variable with its default.
Embedded default: SQLite, in-memory channel layer, local-memory cache, collectors in-process.
``DATABASE_URL`` switches to PostgreSQL and ``REDIS_URL`` to channels-redis, Redis cache and the
Celery broker (DESIGN.md section 4).
"""

import ipaddress
import os
import re
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Django core -----------------------------------------------------------------------------
# development: `make run` on one machine (the key below may stay); production: behind HTTPS, every
# setting of the "Production" block of .env.example, and the process refuses to start with the public key.
WHALETRACK_ENV = env.str("WHALETRACK_ENV", default="development")
if WHALETRACK_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"WHALETRACK_ENV must be development or production, not {WHALETRACK_ENV!r}")
PRODUCTION = WHALETRACK_ENV == "production"
DEV_SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105  (public on purpose; production refuses it)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)
if PRODUCTION and (SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured(
        "WHALETRACK_ENV=production needs DJANGO_SECRET_KEY: 50 or more random characters, not the public default "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))')")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# HTTPS. Each defaults to on in production and off in development (plain http://127.0.0.1:8000).
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=PRODUCTION)
# Liveness probes (load balancers, orchestrators) often speak plain HTTP to the process: /health answers them.
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = env.str("DJANGO_SECURE_REFERRER_POLICY", default="same-origin")
X_FRAME_OPTIONS = "DENY"
# Behind a TLS-terminating proxy: the header it sets and the value meaning HTTPS, e.g.
# "HTTP_X_FORWARDED_PROTO,https" (only if the proxy overwrites a client's own header). Empty = none.
_proxy_ssl_header = env.list("DJANGO_SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_ssl_header and len(_proxy_ssl_header) != 2:
    raise ImproperlyConfigured("DJANGO_SECURE_PROXY_SSL_HEADER takes two values: header,value")
SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header[0], _proxy_ssl_header[1]) if _proxy_ssl_header else None
# Reverse proxies in front of the app that append to X-Forwarded-For. 0: the client is REMOTE_ADDR and the
# header is ignored (a client can write anything in it). Throttles and login lockout identify clients so.
NUM_PROXIES = env.int("DJANGO_NUM_PROXIES", default=0)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",  # personal API tokens, stored hashed: the model is alerts.ApiToken (KNOX_TOKEN_MODEL)
    "allauth",
    "allauth.account",  # sign-up, e-mail verification, password reset and change
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "channels",
    "axes",
    "csp",
    "whales",
    "ledgers",  # the collector kit: registry, cursors, run log, transports, budgets (beside the ledgers)
    "alerts",
    "ledgers.exchange.market",
    "ledgers.glass.ethereum",
    "ledgers.glass.bitcoin",
    "ledgers.glass.hyperliquid",
    "ledgers.glass.defillama",
    "ledgers.catalyst.sec",
    "ledgers.catalyst.announcements",
    "ledgers.human.reddit",
    "ledgers.human.cryptopanic",
    "trading",
    "whaletrack",  # composition root: hosts the main-job command only (no models, no domain code)
]

MIDDLEWARE = [
    "whales.logcontext.CorrelationIdMiddleware",  # first: every log line of the request carries its id
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # An ETag on every GET answer (a hash of its body) and 304 Not Modified when the client's If-None-Match still
    # matches: a poller of an unchanged read gets no body. WhiteNoise above answers static files itself.
    "django.middleware.http.ConditionalGetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires: answers a locked-out login with 429
]

ROOT_URLCONF = "whaletrack.urls"
WSGI_APPLICATION = "whaletrack.wsgi.application"
ASGI_APPLICATION = "whaletrack.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "alerts.accounts.account_context",
            ],
        },
    },
]

DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded worker, beat and the web server share one file. WAL lets readers go on while one
    # connection writes; IMMEDIATE takes the write lock when a transaction begins, so two writers queue
    # (up to ``timeout`` s) instead of one failing with "database is locked" when it upgrades a read lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "timeout": env.float("SQLITE_BUSY_TIMEOUT_S", default=20.0),
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    })
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# SQLite (the main job's default) has no covering indexes: Django builds whales_trade's trade_time there without
# its INCLUDE columns, which is what we want; its warning about it is not shown.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6 default, adopted now (evidence URLs in the admin)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": env.int("AUTH_PASSWORD_MIN_LENGTH", default=10)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Content-Security-Policy (django-csp) of every page: scripts, styles, images and sockets from this origin
# only; no inline script or style (the templates have none). The API docs page widens it for its CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Login lockout (django-axes): the first backend refuses a locked-out client before the password is checked.
AUTHENTICATION_BACKENDS = [
    "whaletrack.auth.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",  # the admin's sign-in
    "allauth.account.auth_backends.AuthenticationBackend",  # the site's: username or e-mail address
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
# Failures counted per client IP and, separately, per username: guessing from one address, or one account
# from many addresses, both lock (a username locked so is unlocked by the cool-off or `axes_reset_username`).
AXES_LOCKOUT_PARAMETERS = env.list("AXES_LOCKOUT_PARAMETERS", default=["ip_address", "username"])
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "whaletrack.auth.client_ip"
# The admin's form names the account "username", the site's (allauth) "login" and may pass an e-mail address.
AXES_USERNAME_CALLABLE = "whaletrack.auth.login_name"

# --- Accounts (django-allauth) and personal API tokens (django-rest-knox) -----------------------------------
# Sign-up can be closed for private installs: staff then create accounts in the admin.
ACCOUNT_SIGNUP_OPEN = env.bool("ACCOUNT_SIGNUP_OPEN", default=True)
ACCOUNT_ADAPTER = "alerts.accounts.AccountAdapter"
ACCOUNT_FORMS = {"login": "alerts.accounts.LoginForm"}
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
# "mandatory": an address given at sign-up must be confirmed before its account signs in ("optional", "none").
# Accounts staff create in the admin have no address on record and sign in directly (alerts.accounts.LoginForm).
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
# Failed sign-ins are counted and locked out by django-axes alone (429, AXES_* above), on the admin's form too;
# allauth's own rate limits (sign-up, password reset, e-mail confirmation...) stay, kept in the cache.
ACCOUNT_RATE_LIMITS = {"login_failed": None}
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = env.str("ACCOUNT_EMAIL_SUBJECT_PREFIX", default="[WhaleTrack] ")
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env.str("ACCOUNT_DEFAULT_HTTP_PROTOCOL", default="http")
KNOX_TOKEN_MODEL = "alerts.ApiToken"  # noqa: S105  # a model label, not a secret
# knox's own migrations would create its unused default table (they do not mark the model swappable).
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_PREFIX": "wt_",  # recognisable in a leaked config or a secret scanner
    "TOKEN_TTL": None,  # each token's own expiry, chosen when it is created (alerts.tokens)
    "AUTH_HEADER_PREFIX": "Token",
}
API_TOKENS_MAX_PER_USER = env.int("API_TOKENS_MAX_PER_USER", default=20)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=366)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
# collectstatic writes here and WhiteNoise serves from here (make serve collects first).
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default="") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]

# Logs: one JSON object per line with every extra= field and the request's or collector run's correlation id
# (whales.logcontext), or the plain one-line format (which drops the extra fields).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "whales.logcontext.plain_formatter"},
        "json": {"()": "whales.logcontext.json_formatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="WARNING")},
}

# --- Redis: channel layer, cache, Celery broker --------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Both layers drop group messages silently past `capacity` (STACK.md pitfall 2): set it deliberately.
CHANNEL_LAYER_CAPACITY = env.int("CHANNEL_LAYER_CAPACITY", default=1000)
# A consumer waits for its messages in blocking reads of 5 s (channels-redis); redis-py 8 ends any socket read
# after 5 s by default, which closed every idle WebSocket with 1011: the layer's reads may take this long.
CHANNEL_LAYER_SOCKET_TIMEOUT_S = env.float("CHANNEL_LAYER_SOCKET_TIMEOUT_S", default=15.0)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT_S,
                                  "socket_connect_timeout": 5}],
                       "capacity": CHANNEL_LAYER_CAPACITY},
        }
    }
    # Django's Redis backend, reusing one client per pool (whaletrack/cache.py).
    CACHES = {"default": {"BACKEND": "whaletrack.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {
        "default": {
            # channels' in-memory layer, safe for sends from the embedded collectors' threads.
            "BACKEND": "alerts.layers.EmbeddedChannelLayer",
            "CONFIG": {"capacity": CHANNEL_LAYER_CAPACITY},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://localhost/")
# Request budgets of the upstream sources (ledgers.budget, "limits" storage): shared through Redis by
# every process, or per process without Redis.
REQUEST_BUDGET_STORAGE_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "whaletrack.beat:DatabaseScheduler"  # django-celery-beat's, see whaletrack/beat.py
# Beat looks at the PeriodicTask rows at least this often (s): a row an analyst disables or re-times in the
# admin takes effect within this interval, in every mode.
CELERY_BEAT_MAX_LOOP_INTERVAL = 5
# Beat writes each row's last_run_at and total_run_count after every dispatch (default: every 3 minutes),
# so the admin shows when a job last ran.
CELERY_BEAT_SYNC_EVERY = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
if CELERY_BROKER_URL.startswith("memory://"):
    # kombu's in-memory transport polls its queues; the default second would add up to 1 s to every task.
    # 10 ms: a task starts ~5 ms after it is sent, for ~100 cheap wake-ups a second.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"polling_interval": 0.01}

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous call of an owner-scoped endpoint then gets 401 with WWW-Authenticate.
        "alerts.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    # DRF's JSON renderer, sending a cached read's stored body as is (whales.readcache), and the browsable API.
    "DEFAULT_RENDERER_CLASSES": ["whales.readcache.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle",
                                 "rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"anon": env.str("API_ANON_RATE", default="600/minute"),
                               "user": env.str("API_USER_RATE", default="1200/minute")},
    "NUM_PROXIES": NUM_PROXIES,
    "EXCEPTION_HANDLER": "whaletrack.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "WhaleTrack API",
    "DESCRIPTION": "Whale wallets, their trades and events, valued in USD.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Whale.type and WhaleEvent.type are both called "type": give their enums distinct names.
    "ENUM_NAME_OVERRIDES": {
        "WhaleTypeEnum": "whales.models.WhaleType",
        "EventTypeEnum": "whales.models.EventType",
        "ScoreConfidenceEnum": "whales.models.ScoreConfidence",
        "LabelConfidenceEnum": "whales.models.LabelConfidence",
        "RunStatusEnum": "whales.models.RunStatus",
        "ChainEnum": "whales.chains.Chain",
        "OrderTypeEnum": "trading.models.OrderType",
        "StrategyKindEnum": "trading.models.StrategyKind",
        "DestinationStatusEnum": "alerts.models.DestinationStatus",
        "PriceVenueEnum": "trading.models.Venue",
        "LiveVenueEnum": "trading.models.LiveVenue",
        "OrderVenueEnum": "trading.models.OrderVenue",
    },
}

# --- Data sources -----------------------------------------------------------------------------
# auto: probe the live endpoints and fall back to the recordings when they cannot be reached;
# live: live endpoints only; replay: the recordings served by ledgers.replay (DESIGN.md section 6).
WHALETRACK_SOURCES = env.str("WHALETRACK_SOURCES", default="auto")
REPLAY_DATA_DIR = Path(env.str("REPLAY_DATA_DIR", default=str(BASE_DIR.parent / "shared" / "data")))
REPLAY_HOST = env.str("REPLAY_HOST", default="127.0.0.1")
# 0: any free port. The main job hands the node's URLs to the sources in-process, so it need not hold the
# well-known Ethereum JSON-RPC port (8545) that a local node, e.g. make demo-chain, listens on.
REPLAY_PORT = env.int("REPLAY_PORT", default=0)

ETH_RPC_URL = env.str("ETH_RPC_URL", default="https://ethereum-rpc.publicnode.com")
ETH_RPC_TIMEOUT_S = env.float("ETH_RPC_TIMEOUT_S", default=20.0)
ETH_RPC_RETRIES = env.int("ETH_RPC_RETRIES", default=5)
# First block when no cursor exists yet; None = start at the confirmed head.
ETH_START_BLOCK = env.int("ETH_START_BLOCK", default=None)
ETH_CONFIRMATIONS = env.int("ETH_CONFIRMATIONS", default=2)
ETH_MAX_BLOCKS_PER_RUN = env.int("ETH_MAX_BLOCKS_PER_RUN", default=50)
# How many recent block hashes are kept to find the common ancestor after a reorg.
ETH_REORG_DEPTH = env.int("ETH_REORG_DEPTH", default=64)
# Holdings: balances through Multicall3 aggregate3 where the node has it at its canonical address (else, or
# when off, batched eth_getBalance / eth_call). Whales whose trades a collected batch stored get their
# holdings refreshed ETH_HOLDINGS_DEBOUNCE_S after the batch commits (one refresh per window, all of them);
# a node that answers that it serves no account state is remembered for ETH_HOLDINGS_NO_STATE_TTL_S, and
# no per-batch refresh is queued for it meanwhile (the beat row's full refresh still tries).
ETH_MULTICALL3 = env.bool("ETH_MULTICALL3", default=True)
ETH_HOLDINGS_DEBOUNCE_S = env.float("ETH_HOLDINGS_DEBOUNCE_S", default=10.0)
ETH_HOLDINGS_NO_STATE_TTL_S = env.int("ETH_HOLDINGS_NO_STATE_TTL_S", default=3600)

# --- Bitcoin ----------------------------------------------------------------------------------
# Esplora REST (a mempool.space instance or your own esplora/electrs) and mempool.space's WebSocket.
BITCOIN_API_URL = env.str("BITCOIN_API_URL", default="https://mempool.space/api")
BITCOIN_WS_URL = env.str("BITCOIN_WS_URL", default="wss://mempool.space/api/v1/ws")
BITCOIN_API_TIMEOUT_S = env.float("BITCOIN_API_TIMEOUT_S", default=15.0)
BITCOIN_API_RETRIES = env.int("BITCOIN_API_RETRIES", default=4)
# Request budget per source (public mempool.space answers 429 and bans heavy users). Shared by every
# process through Redis when REDIS_URL is set ("limits" rate-limit notation, e.g. "60/minute").
BITCOIN_API_BUDGET = env.str("BITCOIN_API_BUDGET", default="60/minute")
# How long a request may wait for budget before the run stops (the next run continues with the
# addresses it did not reach). Over a minute, so a run proceeds at the budget's pace.
BITCOIN_API_BUDGET_MAX_WAIT_S = env.float("BITCOIN_API_BUDGET_MAX_WAIT_S", default=65.0)
# Address history: pages of /txs/chain read per address and run (first sync of a busy address).
BITCOIN_MAX_PAGES_PER_ADDRESS = env.int("BITCOIN_MAX_PAGES_PER_ADDRESS", default=4)
# Mempool whale monitor.
BITCOIN_MEMPOOL_WHALE_MIN_BTC = Decimal(env.str("BITCOIN_MEMPOOL_WHALE_MIN_BTC", default="100"))
BITCOIN_MEMPOOL_LRU_SIZE = env.int("BITCOIN_MEMPOOL_LRU_SIZE", default=10_000)
BITCOIN_MEMPOOL_DROP_AFTER_S = env.int("BITCOIN_MEMPOOL_DROP_AFTER_S", default=6 * 3600)
BITCOIN_WS_OPEN_TIMEOUT_S = env.float("BITCOIN_WS_OPEN_TIMEOUT_S", default=10.0)
BITCOIN_WS_BACKOFF_MIN_S = env.float("BITCOIN_WS_BACKOFF_MIN_S", default=1.0)
BITCOIN_WS_BACKOFF_MAX_S = env.float("BITCOIN_WS_BACKOFF_MAX_S", default=30.0)
# The websockets library reads its reconnect backoff from these variables when it is first imported
# (its documented configuration); settings load before any app imports it.
os.environ.setdefault("WEBSOCKETS_BACKOFF_INITIAL_DELAY", str(BITCOIN_WS_BACKOFF_MIN_S))
os.environ.setdefault("WEBSOCKETS_BACKOFF_MIN_DELAY", str(BITCOIN_WS_BACKOFF_MIN_S))
os.environ.setdefault("WEBSOCKETS_BACKOFF_MAX_DELAY", str(BITCOIN_WS_BACKOFF_MAX_S))
os.environ.setdefault("WEBSOCKETS_BACKOFF_FACTOR", "2")

# --- Hyperliquid and its bridge on Arbitrum ----------------------------------------------------
# Info API (POST {HYPERLIQUID_API_URL}/info). Hyperliquid allows 1,200 weight per minute per IP; the
# budget is shared through Redis by every process when REDIS_URL is set ("limits" notation).
HYPERLIQUID_API_URL = env.str("HYPERLIQUID_API_URL", default="https://api.hyperliquid.xyz")
HYPERLIQUID_TIMEOUT_S = env.float("HYPERLIQUID_TIMEOUT_S", default=15.0)
HYPERLIQUID_RETRIES = env.int("HYPERLIQUID_RETRIES", default=4)
# 1,100 of the 1,200 allowed: the margin covers the latency between spending and the exchange counting,
# and the per-item weight of list answers, which is only known (and spent) after the answer.
HYPERLIQUID_WEIGHT_BUDGET = env.str("HYPERLIQUID_WEIGHT_BUDGET", default="1100/minute")
HYPERLIQUID_BUDGET_MAX_WAIT_S = env.float("HYPERLIQUID_BUDGET_MAX_WAIT_S", default=65.0)
# Arbitrum One JSON-RPC (bridge deposit discovery) and the bridge / USDC contracts there.
ARBITRUM_RPC_URL = env.str("ARBITRUM_RPC_URL", default="https://arb1.arbitrum.io/rpc")
ARBITRUM_RPC_TIMEOUT_S = env.float("ARBITRUM_RPC_TIMEOUT_S", default=20.0)
ARBITRUM_RPC_RETRIES = env.int("ARBITRUM_RPC_RETRIES", default=5)
HYPERLIQUID_BRIDGE_ADDRESS = env.str("HYPERLIQUID_BRIDGE_ADDRESS", default="0x2df1c51e09aecf9cacb7bc98cb1742757f163df7")
ARBITRUM_USDC_ADDRESS = env.str("ARBITRUM_USDC_ADDRESS", default="0xaf88d065e77c8cc2239327c5edb3a432268e5831")
# A deposit of at least this much USDC makes the depositor a Hyperliquid whale.
HYPERLIQUID_BRIDGE_MIN_USD = Decimal(env.str("HYPERLIQUID_BRIDGE_MIN_USD", default="100000"))
# Blocks per eth_getLogs request, and where discovery starts without a cursor (None = head - 10,000).
ARBITRUM_LOGS_BLOCK_RANGE = env.int("ARBITRUM_LOGS_BLOCK_RANGE", default=2_000)
HYPERLIQUID_BRIDGE_START_BLOCK = env.int("HYPERLIQUID_BRIDGE_START_BLOCK", default=None)

# --- Prices ---------------------------------------------------------------------------------
COINGECKO_API_URL = env.str("COINGECKO_API_URL", default="https://api.coingecko.com/api/v3")
COINGECKO_API_KEY = env.str("COINGECKO_API_KEY", default="")
COINGECKO_TIMEOUT_S = env.float("COINGECKO_TIMEOUT_S", default=15.0)
MARKET_PRICE_UPDATES_ENABLED = env.bool("MARKET_PRICE_UPDATES_ENABLED", default=True)  # kill switch of the task
# price_at() refuses prices older than this (the recorded CoinGecko series is daily).
PRICE_MAX_AGE_HOURS = env.int("PRICE_MAX_AGE_HOURS", default=48)

# --- Catalyst ledger: SEC EDGAR ---------------------------------------------------------------
# The SEC's fair-access rules: a User-Agent naming the operator ("Jane Doe jane@example.com"; the collectors
# refuse to run without one) and at most 10 requests/s for the whole deployment (a budget shared in Redis).
SEC_USER_AGENT = env.str("SEC_USER_AGENT", default="")
SEC_DATA_URL = env.str("SEC_DATA_URL", default="https://data.sec.gov")
SEC_WWW_URL = env.str("SEC_WWW_URL", default="https://www.sec.gov")
SEC_TIMEOUT_S = env.float("SEC_TIMEOUT_S", default=15.0)
SEC_API_BUDGET = env.str("SEC_API_BUDGET", default="10/second")
SEC_API_BUDGET_MAX_WAIT_S = env.float("SEC_API_BUDGET_MAX_WAIT_S", default=30.0)
# The form types stored (exact EDGAR form names; amendments such as 8-K/A are other forms).
SEC_FORMS = env.list("SEC_FORMS", default=["4", "8-K", "10-K", "10-Q", "S-1", "144", "424B5"])
# Pages of 100 entries of the latest-filings feed read per run at most (EDGAR keeps about 50).
SEC_FEED_MAX_PAGES = env.int("SEC_FEED_MAX_PAGES", default=10)

# --- Catalyst ledger: exchange announcements (the feeds are rows in the admin) -------------------------
ANNOUNCEMENTS_TIMEOUT_S = env.float("ANNOUNCEMENTS_TIMEOUT_S", default=15.0)

# Catalysts shown beside a whale move: those within this many hours either side of it (1-168).
CONTEXT_WINDOW_HOURS = env.int("CONTEXT_WINDOW_HOURS", default=24)
if not 1 <= CONTEXT_WINDOW_HOURS <= 168:
    raise ImproperlyConfigured(f"CONTEXT_WINDOW_HOURS must be 1 to 168, not {CONTEXT_WINDOW_HOURS}")

# --- Human ledger: CryptoPanic news (off unless an API key is set; then enable its beat row in the admin) -------
CRYPTOPANIC_API_KEY = env.str("CRYPTOPANIC_API_KEY", default="")
CRYPTOPANIC_URL = env.str("CRYPTOPANIC_URL", default="https://cryptopanic.com/api/developer/v2")
CRYPTOPANIC_TIMEOUT_S = env.float("CRYPTOPANIC_TIMEOUT_S", default=15.0)
CRYPTOPANIC_API_BUDGET = env.str("CRYPTOPANIC_API_BUDGET", default="5/minute")
CRYPTOPANIC_API_BUDGET_MAX_WAIT_S = env.float("CRYPTOPANIC_API_BUDGET_MAX_WAIT_S", default=65.0)
CRYPTOPANIC_KIND = env.str("CRYPTOPANIC_KIND", default="news")
if CRYPTOPANIC_KIND not in ("news", "media", "all"):
    raise ImproperlyConfigured(f"CRYPTOPANIC_KIND must be news, media or all, not {CRYPTOPANIC_KIND!r}")
CRYPTOPANIC_CURRENCIES = env.list("CRYPTOPANIC_CURRENCIES", default=[])
if len(CRYPTOPANIC_CURRENCIES) > 50 or not all(re.fullmatch(r"[A-Za-z0-9]{1,20}", c) for c in CRYPTOPANIC_CURRENCIES):
    raise ImproperlyConfigured("CRYPTOPANIC_CURRENCIES: at most 50 coin codes of letters and digits")

# High-impact catalysts on the live feed: a new catalyst scoring at least this (0-100), that occurred within the last
# CATALYST_FEED_MAX_AGE_H hours, becomes a "catalyst" event.
CATALYST_FEED_MIN_IMPACT = env.int("CATALYST_FEED_MIN_IMPACT", default=60)
CATALYST_FEED_MAX_AGE_H = env.int("CATALYST_FEED_MAX_AGE_H", default=24)
if not (0 <= CATALYST_FEED_MIN_IMPACT <= 101 and 1 <= CATALYST_FEED_MAX_AGE_H <= 720):
    raise ImproperlyConfigured("CATALYST_FEED_MIN_IMPACT must be 0-101 (101: none) and CATALYST_FEED_MAX_AGE_H 1-720")

# --- Human ledger: Reddit (the subreddits are rows in the admin) ------------------------------------------
REDDIT_URL = env.str("REDDIT_URL", default="https://www.reddit.com")
REDDIT_USER_AGENT = env.str("REDDIT_USER_AGENT", default="python:whaletrack:1.0 (self-hosted whale tracker)")
REDDIT_TIMEOUT_S = env.float("REDDIT_TIMEOUT_S", default=15.0)
# With both set, listings are read through PRAW (application-only OAuth at REDDIT_OAUTH_URL) instead of the public JSON.
REDDIT_CLIENT_ID = env.str("REDDIT_CLIENT_ID", default="")
REDDIT_CLIENT_SECRET = env.str("REDDIT_CLIENT_SECRET", default="")
REDDIT_OAUTH_URL = env.str("REDDIT_OAUTH_URL", default="https://oauth.reddit.com")
# Reddit allows about 10 unauthenticated requests a minute per client.
REDDIT_API_BUDGET = env.str("REDDIT_API_BUDGET", default="10/minute")
REDDIT_API_BUDGET_MAX_WAIT_S = env.float("REDDIT_API_BUDGET_MAX_WAIT_S", default=65.0)
# Posts read per listing (hot, new) of each subreddit.
REDDIT_LISTING_LIMIT = env.int("REDDIT_LISTING_LIMIT", default=25)
if not 1 <= REDDIT_LISTING_LIMIT <= 100:
    raise ImproperlyConfigured(f"REDDIT_LISTING_LIMIT must be 1 to 100, not {REDDIT_LISTING_LIMIT}")

# --- E-mail: account mail, alert mail and staff alerts (ADMINS). The console backend prints them (the default);
# for SMTP set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and the EMAIL_* below.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)  # STARTTLS (port 587)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)  # implicit TLS (port 465)
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT_S", default=10.0)
# The file backend's folder (EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend): one file per message.
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
SERVER_EMAIL = env.str("SERVER_EMAIL", default="whaletrack@localhost")
# The sender of account e-mail (verification, password reset) and of alert e-mail.
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="WhaleTrack <whaletrack@localhost>")
ADMINS = [("", address) for address in env.list("STAFF_ALERT_EMAILS", default=[])]

# --- Data-quality monitor (ledgers.quality): a run's report is kept this many days ---------------------------
QUALITY_REPORT_KEEP_DAYS = env.int("QUALITY_REPORT_KEEP_DAYS", default=30)

# --- Prometheus /metrics (off by default; when on, a token or an address allow-list is required) -----------
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=False)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
for _network in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_network!r} is not an address or network") from _exc

# --- Glass ledger: DeFiLlama --------------------------------------------------------------------------------
DEFILLAMA_API_URL = env.str("DEFILLAMA_API_URL", default="https://api.llama.fi")
DEFILLAMA_STABLECOINS_URL = env.str("DEFILLAMA_STABLECOINS_URL", default="https://stablecoins.llama.fi")
DEFILLAMA_TIMEOUT_S = env.float("DEFILLAMA_TIMEOUT_S", default=20.0)
# Protocols whose daily TVL is kept (the largest by TVL).
DEFILLAMA_TOP_PROTOCOLS = env.int("DEFILLAMA_TOP_PROTOCOLS", default=100)
# A stablecoin whose supply moved by at least this many percent in a week becomes a catalyst of its coin.
STABLECOIN_SUPPLY_CHANGE_PERCENT = Decimal(env.str("STABLECOIN_SUPPLY_CHANGE_PERCENT", default="1.0"))

# --- Whale events ----------------------------------------------------------------------------
# Defaults for the per-type thresholds; the live values are whales.EventThreshold rows that
# analysts edit in the admin (seeded from these by a data migration).
WHALE_EVENT_MIN_USD = {
    "large_transfer": env.str("LARGE_TRANSFER_MIN_USD", default="100000"),
    "large_swap": env.str("LARGE_SWAP_MIN_USD", default="50000"),
    "exchange_flow": env.str("EXCHANGE_FLOW_MIN_USD", default="100000"),
    "perp_trade": env.str("PERP_TRADE_MIN_USD", default="100000"),
}
WHALE_EVENT_MIN_USD = {k: Decimal(v) for k, v in WHALE_EVENT_MIN_USD.items()}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# --- Wallet metrics ----------------------------------------------------------------------------
# Kill switch of the scheduled recomputation tasks (whales.analytics.tasks).
WHALE_METRICS_ENABLED = env.bool("WHALE_METRICS_ENABLED", default=True)
# A whale whose trades changed is recomputed on the worker once its first pending mark is this old (s):
# changes within the window are coalesced into one recompute.
WHALE_METRICS_DEBOUNCE_S = env.float("WHALE_METRICS_DEBOUNCE_S", default=30.0)

# --- Classification and smart money ------------------------------------------------------------
# Whale type (whales/analytics/classification.py): trader = trades_30d >= N or 30-day turnover >= X;
# holder = no sale for D days; too little history -> unclassified. Daily task.
WHALE_TRADER_MIN_TRADES_30D = env.int("WHALE_TRADER_MIN_TRADES_30D", default=20)
WHALE_TRADER_MIN_TURNOVER = env.str("WHALE_TRADER_MIN_TURNOVER", default="1.0")
WHALE_HOLDER_MIN_HOLD_DAYS = env.int("WHALE_HOLDER_MIN_HOLD_DAYS", default=90)
WHALE_CLASSIFY_MIN_HISTORY_DAYS = env.int("WHALE_CLASSIFY_MIN_HISTORY_DAYS", default=30)
WHALE_CLASSIFICATION_ENABLED = env.bool("WHALE_CLASSIFICATION_ENABLED", default=True)
# Smart-money score v1 (whales/analytics/scoring.py): weights of ROI, win rate, realized P&L, consistency.
WHALE_SCORE_WEIGHTS = env.dict("WHALE_SCORE_WEIGHTS", default={
    "roi": "0.35", "win_rate": "0.25", "realized_pnl": "0.25", "consistency": "0.15"})
WHALE_SCORE_PNL_CAP_USD = env.str("WHALE_SCORE_PNL_CAP_USD", default="10000000")
# Fewer closed round trips than MIN -> low confidence (still scored and listed); from HIGH -> high.
WHALE_SCORE_MIN_ROUND_TRIPS = env.int("WHALE_SCORE_MIN_ROUND_TRIPS", default=10)
WHALE_SCORE_HIGH_ROUND_TRIPS = env.int("WHALE_SCORE_HIGH_ROUND_TRIPS", default=30)
WHALE_SCORING_STALE_MINUTES = env.int("WHALE_SCORING_STALE_MINUTES", default=30)
WHALE_SCORING_BATCH_SIZE = env.int("WHALE_SCORING_BATCH_SIZE", default=50)
WHALE_SCORING_ENABLED = env.bool("WHALE_SCORING_ENABLED", default=True)
# Smart-money flows (whales/analytics/flows.py) count whales scoring at least this; API cache TTLs in seconds.
SMART_MONEY_MIN_SCORE = env.int("SMART_MONEY_MIN_SCORE", default=60)
SMART_MONEY_FLOWS_ENABLED = env.bool("SMART_MONEY_FLOWS_ENABLED", default=True)
# The heavy public reads (whales, whales/top, events/recent, a wallet's trades, dashboard/summary) are kept in
# the cache until a write to what they show (whales.readcache), or at most this long (s): what changes without
# a write (the sliding 24 h window, a collector turning stale) shows within it.
API_READ_CACHE_TTL_S = env.int("API_READ_CACHE_TTL_S", default=10)
# Streamed exports (GET /api/v1/exports/...): at most this many rows in one export (more is a 400
# export_too_large, narrow the filters), read from a server-side cursor this many rows at a time.
EXPORT_MAX_ROWS = env.int("EXPORT_MAX_ROWS", default=1_000_000)
EXPORT_CHUNK_ROWS = env.int("EXPORT_CHUNK_ROWS", default=500)
SMART_MONEY_CACHE_LIST_TTL = env.int("SMART_MONEY_CACHE_LIST_TTL", default=300)
SMART_MONEY_CACHE_DETAIL_TTL = env.int("SMART_MONEY_CACHE_DETAIL_TTL", default=600)
SMART_MONEY_CACHE_STATS_TTL = env.int("SMART_MONEY_CACHE_STATS_TTL", default=300)
SMART_MONEY_CACHE_FLOWS_TTL = env.int("SMART_MONEY_CACHE_FLOWS_TTL", default=300)

# --- Live feed and alerts --------------------------------------------------------------------
# /ws/events/ needs a signed-in user unless this makes the public feed anonymous.
ALERTS_PUBLIC_FEED = env.bool("ALERTS_PUBLIC_FEED", default=False)
# Webhook deliveries: timeout per POST, attempts in all (exponential backoff between them).
ALERTS_WEBHOOK_TIMEOUT_S = env.float("ALERTS_WEBHOOK_TIMEOUT_S", default=5.0)
ALERTS_WEBHOOK_MAX_ATTEMPTS = env.int("ALERTS_WEBHOOK_MAX_ATTEMPTS", default=5)
# Events committed but not published (a process killed between commit and send) are sent by the
# sweep task after this many seconds.
ALERTS_PUBLISH_SWEEP_AFTER_S = env.int("ALERTS_PUBLISH_SWEEP_AFTER_S", default=30)
# Webhook deliveries still pending with nothing queued or attempted for this long are queued again by the
# sweep (longer than one delivery's whole retry cycle: 5 attempts x 5 s + backoff).
ALERTS_WEBHOOK_SWEEP_AFTER_S = env.int("ALERTS_WEBHOOK_SWEEP_AFTER_S", default=120)

# --- Paper trading ----------------------------------------------------------------------------
# Live trading stays off unless this AND the admin toggle (trading.LiveTradingToggle) are both on.
TRADING_LIVE_ENABLED = env.bool("TRADING_LIVE_ENABLED", default=False)
# Fernet key encrypting exchange credentials at rest; empty = credentials cannot be stored.
TRADING_CREDENTIALS_KEY = env.str("TRADING_CREDENTIALS_KEY", default="")
# Prices older than this block trading (missing or stale prices never pass the checks).
TRADING_PRICE_MAX_AGE_HOURS = env.int("TRADING_PRICE_MAX_AGE_HOURS", default=48)
# Accounts on the Hyperliquid venue: mids are cached this long (s) and count as "now" only within
# this many seconds of the present (a past time has no mid: trading blocks).
TRADING_HYPERLIQUID_MID_TTL_S = env.float("TRADING_HYPERLIQUID_MID_TTL_S", default=5.0)
TRADING_HYPERLIQUID_MID_MAX_AGE_S = env.float("TRADING_HYPERLIQUID_MID_MAX_AGE_S", default=60.0)
# Live venues (issue 18): Coinspot's host (ccxt appends /api and /pubapi; Hyperliquid's orders go to
# HYPERLIQUID_API_URL + /exchange), the timeout of every venue call, the wait before an order whose submit timed
# out is looked up, and the largest position difference (asset units) reconciliation lets pass.
COINSPOT_API_URL = env.str("COINSPOT_API_URL", default="https://www.coinspot.com.au")
TRADING_VENUE_TIMEOUT_S = env.float("TRADING_VENUE_TIMEOUT_S", default=10.0)
TRADING_RESOLVE_DELAY_S = env.float("TRADING_RESOLVE_DELAY_S", default=5.0)
TRADING_RECONCILE_TOLERANCE = env.str("TRADING_RECONCILE_TOLERANCE", default="0.00000001")

# --- Main job ---------------------------------------------------------------------------------
# ``make run`` serves here: a second instance (say a live one beside an offline one) takes other values.
WHALETRACK_HOST = env.str("HOST", default="127.0.0.1")
WHALETRACK_PORT = env.int("PORT", default=8000)
# Threads of the Celery worker that ``make run`` embeds (collectors, sweeps, metrics, strategies).
WHALETRACK_WORKER_CONCURRENCY = env.int("WHALETRACK_WORKER_CONCURRENCY", default=8)
WHALETRACK_ADMIN_USER = env.str("WHALETRACK_ADMIN_USER", default="admin")
WHALETRACK_ADMIN_PASSWORD = env.str("WHALETRACK_ADMIN_PASSWORD", default="")

# --- Production layout (``make serve``: the Procfile run by honcho; whaletrack/serve.py) -----------------
# The front door, nginx, listens on SERVE_HOST:SERVE_PORT and routes /ws/ to daphne and the rest to gunicorn.
SERVE_HOST = env.str("SERVE_HOST", default="127.0.0.1")
SERVE_PORT = env.int("SERVE_PORT", default=8080)
# Where this machine's gunicorn (sync workers, WSGI: REST, admin, pages, static) and daphne (ASGI: /ws/ only)
# listen, as host:port.
SERVE_GUNICORN_BIND = env.str("SERVE_GUNICORN_BIND", default="127.0.0.1:8081")
SERVE_GUNICORN_WORKERS = env.int("SERVE_GUNICORN_WORKERS", default=2)
SERVE_GUNICORN_TIMEOUT_S = env.int("SERVE_GUNICORN_TIMEOUT_S", default=30)
# How long each gunicorn worker keeps its database connection (s; whaletrack/gunicorn_conf.py, which also turns
# Django's health check on): a sync worker serves one request at a time on one thread, so the connection is safe to
# reuse, and reusing it saves a connect per request. 0 = a new connection per request (DATABASE_CONN_MAX_AGE's
# default, which stays in force for daphne, the worker and the commands).
SERVE_GUNICORN_CONN_MAX_AGE_S = env.int("SERVE_GUNICORN_CONN_MAX_AGE_S", default=60)
SERVE_DAPHNE_BIND = env.str("SERVE_DAPHNE_BIND", default="127.0.0.1:8082")
# The gunicorn and daphne processes nginx routes to (host:port lists): this machine's by default; on several
# machines, each machine's gunicorn or daphne address. Empty = this machine's.
SERVE_HTTP_UPSTREAMS = env.list("SERVE_HTTP_UPSTREAMS", default=[]) or [SERVE_GUNICORN_BIND]
SERVE_WS_UPSTREAMS = env.list("SERVE_WS_UPSTREAMS", default=[]) or [SERVE_DAPHNE_BIND]
# nginx's own folder: its rendered config, pid file, logs and temporary files (nothing outside it is written).
SERVE_DIR = Path(env.str("SERVE_DIR", default="") or BASE_DIR / "var" / "serve")
# The nginx binary: a name looked up on PATH and then in /usr/sbin (Debian's nginx), or a path.
SERVE_NGINX = env.str("SERVE_NGINX", default="nginx")

# --- Bounds on one user's work (issue 14, item 10) --------------------------------------------
# Ids one list may name: an alert rule's whales/labels/entities, a /ws/events/ filter's whales.
LIMITS_MAX_IDS_PER_LIST = env.int("LIMITS_MAX_IDS_PER_LIST", default=500)
# Rows one user may own: alert rules, paper accounts, strategies (over all their accounts).
LIMITS_MAX_RULES_PER_USER = env.int("LIMITS_MAX_RULES_PER_USER", default=100)
LIMITS_MAX_ACCOUNTS_PER_USER = env.int("LIMITS_MAX_ACCOUNTS_PER_USER", default=10)
LIMITS_MAX_STRATEGIES_PER_USER = env.int("LIMITS_MAX_STRATEGIES_PER_USER", default=20)
# Watchlists (issue 17): lists per user, wallets per list, lines per paste.
WATCHLISTS_MAX_PER_USER = env.int("WATCHLISTS_MAX_PER_USER", default=20)
WATCHLIST_MAX_ENTRIES = env.int("WATCHLIST_MAX_ENTRIES", default=1000)
WATCHLIST_PASTE_MAX_LINES = env.int("WATCHLIST_PASTE_MAX_LINES", default=200)
# Shortest strategy schedule (s); a crontab fires at most once a minute, so 60 lets both run every minute.
LIMITS_STRATEGY_MIN_INTERVAL_S = env.int("LIMITS_STRATEGY_MIN_INTERVAL_S", default=60)
# Events a rule simulation holds in memory at once (it streams the window in batches of this many).
LIMITS_SIMULATE_BATCH = env.int("LIMITS_SIMULATE_BATCH", default=2_000)
# Open WebSocket connections per signed-in user (/ws/events/ and /ws/alerts/ together); more close with 4429.
LIMITS_MAX_WS_PER_USER = env.int("LIMITS_MAX_WS_PER_USER", default=10)
# --- Issue 14 (trading, HTTP): caps and key rotation ------------------------------------------
# Longest Retry-After (s) any upstream HTTP session waits (urllib3 alone honours up to 6 hours).
HTTP_RETRY_AFTER_MAX_S = env.float("HTTP_RETRY_AFTER_MAX_S", default=10.0)
# Fernet keys of exchange credentials, newest first (comma-separated): the first encrypts, all decrypt.
# Rotate: new key first, restart, ``manage.py trading_rotate_credentials``, then drop the old keys. Empty =
# TRADING_CREDENTIALS_KEY alone.
TRADING_CREDENTIALS_KEYS = env.list("TRADING_CREDENTIALS_KEYS", default=[])
# --- Webhook hardening (issue 14) -------------------------------------------------------------
# Webhooks reach public addresses only; a self-hoster with internal receivers lists their networks
# here (comma-separated CIDRs, e.g. "10.0.0.0/8,127.0.0.1/32"). Empty = no internal target allowed.
ALERTS_WEBHOOK_ALLOWED_NETWORKS = env.list("ALERTS_WEBHOOK_ALLOWED_NETWORKS", default=[])
# At most this many bytes of a receiver's reply are read (then the connection is closed); the body is
# never stored. ALERTS_WEBHOOK_TIMEOUT_S is the TOTAL deadline of one attempt (connect to last byte).
ALERTS_WEBHOOK_MAX_RESPONSE_BYTES = env.int("ALERTS_WEBHOOK_MAX_RESPONSE_BYTES", default=65536)
# --- Alert destinations (issue 17: e-mail, Telegram, Discord, Slack, ntfy... through Apprise URLs) ----------
# Fernet keys sealing the destinations' Apprise URLs, newest first (comma-separated; the first encrypts, all
# decrypt). No fallback: without a key a destination cannot be saved (503 misconfigured). Rotate: new key
# first, restart, ``manage.py alerts_rotate_destination_keys``, then drop the old keys.
ALERT_DESTINATION_KEYS = env.list("ALERT_DESTINATION_KEYS", default=[])
# Apprise schemes a destination may use. Each must reach the network (no script://, syslog://, dbus://, windows://
# ...: those run commands or talk to this machine); hosts named in the URL (json, ntfy, mailto's smtp=...) are
# checked like webhooks (public addresses, or inside ALERTS_WEBHOOK_ALLOWED_NETWORKS).
ALERTS_DESTINATION_SCHEMES = [s.lower() for s in env.list("ALERTS_DESTINATION_SCHEMES", default=[
    "mailto", "mailtos", "tgram", "discord", "slack", "ntfy", "ntfys", "json", "jsons", "gotify", "gotifys",
    "pover", "msteams", "mmost", "mmosts", "rocket", "rockets", "matrix", "matrixs"])]
ALERTS_DESTINATION_MAX_URL_LENGTH = env.int("ALERTS_DESTINATION_MAX_URL_LENGTH", default=1000)
LIMITS_MAX_DESTINATIONS_PER_USER = env.int("LIMITS_MAX_DESTINATIONS_PER_USER", default=20)
# One send (a test message or one attempt of a delivery): connect and read timeouts (s), passed to Apprise.
ALERTS_DESTINATION_TIMEOUT_S = env.float("ALERTS_DESTINATION_TIMEOUT_S", default=10.0)
# Attempts per delivery in all (exponential backoff between them); a destination whose deliveries failed this
# many times in a row is paused until a test message succeeds.
ALERTS_DESTINATION_MAX_ATTEMPTS = env.int("ALERTS_DESTINATION_MAX_ATTEMPTS", default=5)
ALERTS_DESTINATION_PAUSE_AFTER_FAILURES = env.int("ALERTS_DESTINATION_PAUSE_AFTER_FAILURES", default=5)
# Deliveries left pending or sending with nothing queued or attempted this long (s) are queued again by the sweep
# (longer than one delivery's whole retry cycle: 5 attempts x 10 s + backoff).
ALERTS_DESTINATION_SWEEP_AFTER_S = env.int("ALERTS_DESTINATION_SWEEP_AFTER_S", default=300)
if not (ALERTS_DESTINATION_MAX_ATTEMPTS >= 1 and ALERTS_DESTINATION_PAUSE_AFTER_FAILURES >= 1
        and 100 <= ALERTS_DESTINATION_MAX_URL_LENGTH <= 4000 and ALERTS_DESTINATION_TIMEOUT_S > 0):
    raise ImproperlyConfigured("ALERTS_DESTINATION_MAX_ATTEMPTS and _PAUSE_AFTER_FAILURES must be 1 or more, "
                               "_MAX_URL_LENGTH 100-4000 and _TIMEOUT_S above 0")
