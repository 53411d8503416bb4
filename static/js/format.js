// Display helpers shared by the page scripts. Money arrives as decimal strings (exact); it is
// formatted as a string, never through a float, so what the page shows is what the API said.

/** "1234567.891" -> "1,234,567.89" (half-up at `places`); null/undefined/"" -> "—". */
export function formatDecimal(value, places = 2) {
  if (value === null || value === undefined || value === "") return "—";
  let text = String(value).trim();
  const negative = text.startsWith("-");
  if (negative || text.startsWith("+")) text = text.slice(1);
  if (!/^\d*\.?\d*$/.test(text) || text === "" || text === ".") return String(value);
  let [whole, fraction = ""] = text.split(".");
  whole = whole.replace(/^0+(?=\d)/, "") || "0";
  fraction = fraction.padEnd(places + 1, "0");
  let digits = whole + fraction.slice(0, places);
  if (Number(fraction[places]) >= 5) {  // round half up on the digit string
    const out = digits.split("");
    let i = out.length - 1;
    while (i >= 0) {
      if (out[i] === "9") { out[i] = "0"; i -= 1; } else { out[i] = String(Number(out[i]) + 1); break; }
    }
    digits = (i < 0 ? "1" : "") + out.join("");
  }
  const intPart = digits.slice(0, digits.length - places) || "0";
  const fracPart = places > 0 ? "." + digits.slice(digits.length - places) : "";
  const grouped = intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const isZero = /^[0,.]*$/.test(grouped + fracPart);
  return (negative && !isZero ? "-" : "") + grouped + fracPart;
}

/** Trailing zeros dropped: "1.500000" -> "1.5"; at most `maxPlaces` places; a non-zero amount that
 * rounds to 0 -> "<0.00000001" (sign kept). Mirrors the pages' `amount` filter (whale_format.py). */
export function formatAmount(value, maxPlaces = 8) {
  if (value === null || value === undefined || value === "") return "—";
  const fixed = formatDecimal(value, maxPlaces);
  const trimmed = fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
  if (trimmed === "0" && /[1-9]/.test(String(value))) {
    return `${String(value).trim().startsWith("-") ? "-" : ""}<${(10 ** -maxPlaces).toFixed(maxPlaces)}`;
  }
  return trimmed;
}

/** ISO-8601 -> "YYYY-MM-DD HH:MM:SS" in UTC (the tables' time format). */
export function formatTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toISOString().slice(0, 19).replace("T", " ");
}

/** Whole milliseconds -> "850 ms" / "12.3 s" / "4.0 min"; null or negative -> "—". Mirrors the pages'
 * `latency_ms` filter (whale_format.py). */
export function formatLatency(ms) {
  if (ms === null || ms === undefined || ms < 0) return "—";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** Create an element: el("a", {href: "/x", class: "tag"}, "text", childNode). Text is never parsed as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Choice labels rendered by the server (`choice_labels` json_script), e.g. {"chains": {"ethereum": "Ethereum"}}. */
export function choiceLabels() {
  const node = document.getElementById("choice-labels");
  return node ? JSON.parse(node.textContent) : { chains: {}, event_types: {}, directions: {}, trade_sources: {} };
}

/** The csrftoken cookie (sent back as X-CSRFToken on unsafe API requests). */
export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/** fetch() JSON from this site's API with the session cookie and CSRF header; throws ApiError on non-2xx. */
export async function apiFetch(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, data, text);
  return data;
}

export class ApiError extends Error {
  constructor(status, data, text) {
    super(ApiError.describe(status, data, text));
    this.status = status;
    this.data = data;
  }

  /** One readable line from {"detail", "code"} or DRF field errors ({"field": ["msg"]}). */
  static describe(status, data, text) {
    if (data && typeof data === "object") {
      if (typeof data.detail === "string") return data.detail;
      const parts = Object.entries(data).map(([key, value]) =>
        `${key}: ${Array.isArray(value) ? value.join(" ") : typeof value === "object" ? JSON.stringify(value) : value}`);
      if (parts.length) return parts.join("; ");
    }
    return `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ""}`;
  }
}

/** ws:// or wss:// URL of `path` on this host (wss when the page is https). */
export function socketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${window.location.host}${path}`;
}

/** Delay before reconnect attempt `attempt` (0-based): min doubling to max, with +-25 % jitter. */
export function backoffDelay(attempt, minMs = 500, maxMs = 15_000) {
  const base = Math.min(maxMs, minMs * 2 ** attempt);
  const jitter = base * 0.25 * (Math.random() * 2 - 1);
  return Math.max(0, Math.round(Math.min(maxMs, base + jitter)));
}

// Decimal places that write ``step`` exactly (0.05 -> 2, 2.5 -> 1, 1000 -> 0), at most 8.
function placesOf(step) {
  for (let places = 0; places < 8; places += 1) {
    const scaled = step * 10 ** places;
    if (Math.abs(Math.round(scaled) - scaled) < 1e-6) return places;
  }
  return 8;
}

// A Chart.js y-axis tick label (``ticks.callback``): as many decimals as the distance between ticks needs,
// so neighbouring ticks never read alike. A flat series or a single point gets ticks a fraction apart,
// which whole-number labels wrote as "1 1 1 1 0 0 0".
export function axisTick(value, index, ticks) {
  const step = ticks.length > 1 ? Math.abs(ticks[1].value - ticks[0].value) : 0;
  const places = step > 0 ? placesOf(step) : 0;
  return formatDecimal(Number(value).toFixed(places), places);
}
