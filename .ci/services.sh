#!/usr/bin/env bash
# Start the machine's PostgreSQL and Redis if they are down (commands from the machine notes).
set -euo pipefail
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
# The browser tests drive Debian's Chromium (Playwright cannot download browsers here: STACK.md).
if ! command -v chromium >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
fi
# The production layout's front door (make serve, tests/whaletrack/test_serve.py) is Debian's nginx; make serve runs
# its own in the foreground (on these machines policy-rc.d also keeps apt from starting nginx's system service).
# A machine whose package lists are stale or missing gets them refreshed once.
if ! command -v nginx >/dev/null 2>&1 && ! test -x /usr/sbin/nginx; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light >/dev/null; }
fi
# bench/api.py (make bench) drives the API with Debian's wrk.
if ! command -v wrk >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }
fi
pg_isready -h 127.0.0.1 -p 5432
redis-cli -h 127.0.0.1 -p 6379 ping
chromium --version
/usr/sbin/nginx -v
wrk --version | head -n1 || true
