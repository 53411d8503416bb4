"""``static/js/format.js`` in a real browser gives the same text as the pages' template filters
(``whales/templatetags/whale_format.py``) for amounts and latencies: a row rendered by the server and one
added by a page script read the same. Expected values are the filters' own output for each input, and a
few are written out by hand to pin the rules (half up, no trailing zeros, "<" for tiny non-zero amounts)."""

from decimal import Decimal

import pytest

from whales.templatetags.whale_format import amount, latency_ms

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]  # see test_pages.py

AMOUNTS = ["1234.50", "110500", "-12.5", "0", "-0", "0.000000001", "-0.000000004", "0.000000005",
           "99999999.999999995", "0.1", "1000000"]
LATENCIES = [0, 999, 1000, 1250, 1350, 1450, 59_949, 59_950, 60_000, 90_000, 3_599_999, -1]
BY_HAND = {
    ("amount", "1234.50"): "1,234.5", ("amount", "0.000000001"): "<0.00000001",
    ("amount", "-0.000000004"): "-<0.00000001", ("amount", "0.000000005"): "0.00000001",
    ("latency", 1450): "1.4 s",  # 1.45 as a float is 1.4499999...: toFixed(1) and the filter both say 1.4
    ("latency", 59_950): "60.0 s", ("latency", 60_000): "1.0 min", ("latency", -1): "—",
}


def test_format_js_and_the_template_filters_agree(browser, daphne_server):
    page = browser.new_page()
    page.goto(f"{daphne_server}/accounts/login/")
    from_js = page.evaluate(
        """async ([amounts, latencies]) => {
             const format = await import("/static/js/format.js");
             return [amounts.map((v) => format.formatAmount(v, 8)), latencies.map((ms) => format.formatLatency(ms))];
           }""",
        [AMOUNTS, LATENCIES],
    )
    from_filters = [[amount(Decimal(v)) for v in AMOUNTS], [latency_ms(ms) for ms in LATENCIES]]
    assert from_js == from_filters
    shown = {("amount", v): text for v, text in zip(AMOUNTS, from_js[0], strict=True)}
    shown |= {("latency", ms): text for ms, text in zip(LATENCIES, from_js[1], strict=True)}
    assert {key: shown[key] for key in BY_HAND} == BY_HAND


FLAT_AND_SINGLE = {"flat": [1, 1, 1, 1], "single": [12345.678], "small": [0.0012, 0.0013, 0.0012]}


def test_chart_axes_stay_legible_for_flat_and_single_point_series(browser, daphne_server):
    """Real Chart.js charts with the pages' y-axis labels (``axisTick``): every tick reads differently and
    says its own value, for a flat series, a single point and a series of tiny values."""
    page = browser.new_page()
    page.goto(f"{daphne_server}/accounts/login/")
    page.add_script_tag(url=f"{daphne_server}/static/vendor/chart.umd.min.js")
    ticks = page.evaluate(
        """async (series) => {
             const format = await import("/static/js/format.js");
             const out = {};
             for (const [name, data] of Object.entries(series)) {
               const canvas = document.createElement("canvas");
               canvas.width = 600; canvas.height = 300;
               document.body.append(canvas);
               const chart = new Chart(canvas, {
                 type: "line", data: { labels: data.map((_, i) => String(i)), datasets: [{ data }] },
                 options: { animation: false, responsive: false,
                            scales: { y: { ticks: { callback: format.axisTick } } } },
               });
               out[name] = chart.scales.y.ticks.map((tick) => [tick.value, tick.label]);
             }
             return out;
           }""",
        FLAT_AND_SINGLE,
    )
    for name, pairs in ticks.items():
        labels = [label for _, label in pairs]
        assert len(pairs) >= 2, name
        assert len(set(labels)) == len(labels), (name, labels)  # never "1 1 1 1 0 0 0"
        places = len(labels[1].split(".")[1]) if "." in labels[1] else 0
        assert all(Decimal(label.replace(",", "")) == round(Decimal(str(value)), places) for value, label in pairs), (
            name, pairs)
