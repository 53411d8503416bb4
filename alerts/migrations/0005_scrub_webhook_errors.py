"""Scrub webhook errors stored before issue 14: they held up to 200 characters of the receiver's reply
and exception texts naming internal hosts and ports (an SSRF read-back and port-scan oracle through
``GET /api/v1/alerts``). Each becomes what delivery stores now: the status code or the kind of failure,
with the "gave up: " prefix kept; texts that were already fixed are left as they are."""

import re

from django.db import migrations

HTTP = re.compile(r"^(gave up: )?HTTP (\d{3})\b")
FIXED_HTTP = re.compile(r"^(gave up: )?HTTP \d{3} \([a-z ,]+\)$")  # what delivery stores from now on
KINDS = (("Timeout", "Timeout: no complete reply in time"),
         ("ReadTimeout", "Timeout: no complete reply in time"),
         ("ConnectTimeout", "Timeout: no complete reply in time"),
         ("ConnectionError", "ConnectionError: the connection failed or was closed"))
KEPT = {"rule has no webhook_url or webhook_secret", "gave up: the delivery stopped after its last attempt"}
BATCH = 1000


def scrubbed(error: str) -> str:
    """The fixed text an old ``webhook_last_error`` becomes (unchanged when it already is one)."""
    if not error or error in KEPT or FIXED_HTTP.match(error):
        return error
    prefix = "gave up: " if error.startswith("gave up: ") else ""
    rest = error[len(prefix):]
    if match := HTTP.match(error):
        return f"{prefix}HTTP {match.group(2)}"
    for name, text in KINDS:
        if rest.startswith(f"{name}:"):
            return prefix + text
    return prefix + "error (detail removed)"


def scrub(apps, schema_editor):
    Alert = apps.get_model("alerts", "Alert")
    changed = []
    for alert in Alert.objects.exclude(webhook_last_error="").only("pk", "webhook_last_error").iterator(BATCH):
        new = scrubbed(alert.webhook_last_error)
        if new != alert.webhook_last_error:
            alert.webhook_last_error = new
            changed.append(alert)
        if len(changed) >= BATCH:
            Alert.objects.bulk_update(changed, ["webhook_last_error"])
            changed = []
    if changed:
        Alert.objects.bulk_update(changed, ["webhook_last_error"])


class Migration(migrations.Migration):
    dependencies = [("alerts", "0004_schedule_webhook_sweep")]
    operations = [migrations.RunPython(scrub, migrations.RunPython.noop)]
