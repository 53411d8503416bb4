"""Production settings: the environment block of .env.example passes ``manage.py check --deploy`` with no
warning, and a production process refuses the public default SECRET_KEY. Each run is a real subprocess
reading only the environment it is given."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def production_environment() -> dict[str, str]:
    """The ``# >>> production`` block of .env.example, uncommented, with a fresh key for the placeholder."""
    text = (ROOT / ".env.example").read_text()
    block = text.split("# >>> production\n", 1)[1].split("# <<< production\n", 1)[0]
    values = dict(line.removeprefix("#").split("=", 1) for line in block.splitlines())
    assert values["DJANGO_SECRET_KEY"].startswith("<")  # a placeholder the operator replaces
    values["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    return values


def manage(*args: str, environment: dict[str, str]) -> subprocess.CompletedProcess:
    # Only PATH and the given variables: nothing of the test run's own environment (DATABASE_URL, ...) leaks in.
    return subprocess.run(  # noqa: S603  (our own manage.py with fixed arguments)
        [sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
        timeout=120, env={"PATH": os.environ["PATH"], **environment}, check=False)


def test_the_documented_production_environment_passes_check_deploy_with_zero_warnings():
    environment = production_environment()
    assert environment["WHALETRACK_ENV"] == "production"
    result = manage("check", "--deploy", "--fail-level", "WARNING", environment=environment)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "System check identified no issues (0 silenced).\n"


def test_production_refuses_to_start_with_the_public_default_key():
    environment = production_environment()
    for key in (None, "dev-only-insecure-key-change-me", "x" * 60, "short-but-random-Q2x"):
        if key is None:
            environment.pop("DJANGO_SECRET_KEY", None)
        else:
            environment["DJANGO_SECRET_KEY"] = key
        result = manage("check", environment=environment)
        assert result.returncode == 1, key
        assert re.search(r"ImproperlyConfigured: WHALETRACK_ENV=production needs DJANGO_SECRET_KEY", result.stderr)


def test_development_still_starts_with_the_default_key():
    result = manage("check", environment={})
    assert (result.returncode, result.stdout) == (0, "System check identified no issues (0 silenced).\n")


def test_production_redirects_plain_http_to_https_except_the_health_probe():
    host = production_environment()["DJANGO_ALLOWED_HOSTS"].split(",")[0]
    script = (f"from django.test import Client; c = Client(HTTP_HOST={host!r}); "
              "print(c.get('/health').status_code, c.get('/api/v1/whales').status_code, "
              "c.get('/api/v1/whales')['Location'])")
    result = manage("shell", "-c", script, environment=production_environment())

    assert result.returncode == 0, result.stderr
    health, api, location = result.stdout.split()[-3:]  # after what the shell prints first
    assert health != "301" and (api, location) == ("301", f"https://{host}/api/v1/whales")
