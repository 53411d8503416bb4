// Alert rules page: list/create/edit/toggle/delete/simulate rules through /api/v1/alerts/rules (session
// auth + X-CSRFToken), and the user's recent alerts from /api/v1/alerts, then live from /ws/alerts/.
import { apiFetch, backoffDelay, choiceLabels, el, formatDecimal, formatTime, socketUrl } from "./format.js";
import { showState } from "./feed.js";

const RULES = "/api/v1/alerts/rules";
const DESTINATIONS = "/api/v1/alerts/destinations";
const ALERTS = "/api/v1/alerts";
const SIMULATE_DAYS = 30;
const MAX_ALERT_ROWS = 200;

const labels = choiceLabels();
const form = document.getElementById("rule-form");
const formError = document.getElementById("rule-form-error");
const rulesError = document.getElementById("rules-error");
const ruleRows = document.getElementById("rule-rows");
let rules = [];
let destinations = [];

const itemsOf = (data) => (Array.isArray(data) ? data : data?.items ?? data?.results ?? []);

function showError(node, message) {
  node.textContent = message || "";
  node.hidden = !message;
}

function conditions(rule) {
  const parts = [];
  if (rule.chains?.length) parts.push(rule.chains.map((c) => labels.chains[c] || c).join("/"));
  if (rule.event_types?.length) parts.push(rule.event_types.map((t) => labels.event_types[t] || t).join("/"));
  if (rule.min_value_usd !== null && rule.min_value_usd !== undefined && rule.min_value_usd !== "") {
    parts.push(`≥ $${formatDecimal(rule.min_value_usd, 0)}`);
  }
  if (rule.direction) parts.push(labels.directions[rule.direction] || rule.direction);
  if (rule.whales?.length) parts.push(`${rule.whales.length} whale(s)`);
  if (rule.labels?.length) parts.push(`${rule.labels.length} label(s)`);
  if (rule.entities?.length) parts.push(`${rule.entities.length} entit${rule.entities.length === 1 ? "y" : "ies"}`);
  if (rule.cooldown_seconds) parts.push(`cooldown ${rule.cooldown_seconds} s`);
  return parts.length ? parts.join(" · ") : "every event";
}

function deliveredTo(rule) {
  const names = (rule.destinations || []).map((id) => destinations.find((d) => d.id === id)?.name || `#${id}`);
  return [...(rule.channels || []), ...names].join(", ");
}

function ruleRow(rule) {
  const toggle = el("input", { type: "checkbox", class: "rule-toggle", "aria-label": `Active: ${rule.name}` });
  toggle.checked = Boolean(rule.active);
  toggle.addEventListener("change", () => patchRule(rule, { active: toggle.checked }, toggle));
  const button = (text, cls, handler) => {
    const node = el("button", { type: "button", class: cls }, text);
    node.addEventListener("click", handler);
    return node;
  };
  return el("tr", { dataset: { ruleId: String(rule.id) } },
    el("td", { class: "rule-name" }, rule.name),
    el("td", {}, conditions(rule)),
    el("td", {}, deliveredTo(rule) || "—"),
    el("td", {}, toggle),
    el("td", { class: "actions" },
      button("Edit", "rule-edit", () => editRule(rule)),
      button("Simulate", "rule-simulate", () => simulateRule(rule)),
      button("Delete", "rule-delete danger", () => deleteRule(rule))));
}

function renderRules() {
  ruleRows.replaceChildren(...(rules.length ? rules.map(ruleRow)
    : [el("tr", { class: "placeholder" }, el("td", { colspan: 5, class: "muted" }, "No rules yet: create one below."))]));
}

async function loadRules() {
  try {
    rules = itemsOf(await apiFetch(RULES));
    showError(rulesError, "");
  } catch (error) {
    showError(rulesError, `Could not load rules: ${error.message}`);
    rules = [];
  }
  renderRules();
}

async function patchRule(rule, changes, control) {
  try {
    const updated = await apiFetch(`${RULES}/${rule.id}`, { method: "PATCH", body: changes });
    rules = rules.map((r) => (r.id === rule.id ? { ...r, ...(updated || changes) } : r));
    renderRules();
    showError(rulesError, "");
  } catch (error) {
    if (control) control.checked = !control.checked;
    showError(rulesError, `Could not update "${rule.name}": ${error.message}`);
  }
}

async function deleteRule(rule) {
  if (!window.confirm(`Delete the rule "${rule.name}"?`)) return;
  try {
    await apiFetch(`${RULES}/${rule.id}`, { method: "DELETE" });
    rules = rules.filter((r) => r.id !== rule.id);
    renderRules();
    if (form.elements.id.value === String(rule.id)) resetForm();
  } catch (error) {
    showError(rulesError, `Could not delete "${rule.name}": ${error.message}`);
  }
}

async function simulateRule(rule) {
  const box = document.getElementById("simulation");
  box.hidden = false;
  document.getElementById("sim-rule-name").textContent = rule.name;
  const summary = document.getElementById("sim-summary");
  const body = document.querySelector("#sim-days tbody");
  summary.textContent = "simulating…";
  body.replaceChildren();
  try {
    const result = await apiFetch(`${RULES}/${rule.id}/simulate?days=${SIMULATE_DAYS}`, { method: "POST" });
    const peak = result.peak_hour;  // {hour, alerts} or null
    summary.textContent = `Over the last ${result.days} days: ${result.events_matched} matching events would have `
      + `sent ${result.alerts} alerts (${result.event_alerts ?? result.alerts} single, ${result.digests} digests`
      + `${result.suppressed ? ` covering ${result.suppressed} more` : ""})`
      + (peak ? `; busiest hour ${String(peak.hour).padStart(2, "0")}:00 UTC (${peak.alerts}).` : ".");
    // Only the days that would have had alerts (the API lists every day of the window).
    const busy = (result.per_day || []).filter((day) => day.alerts > 0);
    body.replaceChildren(...(busy.length ? busy.map((day) =>
      el("tr", {}, el("td", {}, day.date), el("td", { class: "num" }, day.alerts)))
      : [el("tr", {}, el("td", { colspan: 2, class: "muted" }, "No day would have had an alert."))]));
  } catch (error) {
    summary.textContent = `Simulation failed: ${error.message}`;
  }
}

function setChecked(name, values) {
  for (const input of form.querySelectorAll(`input[name="${name}"]`)) input.checked = (values || []).includes(input.value);
}

function setSelected(name, values) {
  const wanted = new Set((values || []).map(String));
  for (const option of form.elements[name].options) option.selected = wanted.has(option.value);
}

function editRule(rule) {
  form.elements.id.value = rule.id;
  form.elements.name.value = rule.name;
  form.elements.active.checked = Boolean(rule.active);
  setChecked("chains", rule.chains);
  setChecked("event_types", rule.event_types);
  setChecked("channels", rule.channels);
  form.elements.min_value_usd.value = rule.min_value_usd ?? "";
  form.elements.direction.value = rule.direction || "";
  setSelected("whales", rule.whales);
  setSelected("labels", rule.labels);
  setSelected("entities", rule.entities);
  setSelected("destinations", rule.destinations);
  form.elements.cooldown_seconds.value = rule.cooldown_seconds ?? 0;
  form.elements.webhook_url.value = rule.webhook_url || "";
  document.getElementById("rule-form-title").textContent = `Edit rule "${rule.name}"`;
  document.getElementById("rule-save").textContent = "Save changes";
  document.getElementById("rule-cancel").hidden = false;
  showError(formError, "");
  form.scrollIntoView({ behavior: "smooth" });
}

function resetForm() {
  form.reset();
  form.elements.id.value = "";
  document.getElementById("rule-form-title").textContent = "New rule";
  document.getElementById("rule-save").textContent = "Create rule";
  document.getElementById("rule-cancel").hidden = true;
  showError(formError, "");
}

function readForm() {
  const checked = (name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((input) => input.value);
  const selected = (name) => [...form.elements[name].selectedOptions].map((option) => Number(option.value));
  const min = form.elements.min_value_usd.value.trim();
  return {
    name: form.elements.name.value.trim(),
    active: form.elements.active.checked,
    chains: checked("chains"),
    event_types: checked("event_types"),
    min_value_usd: min === "" ? null : min,
    direction: form.elements.direction.value,
    whales: selected("whales"),
    labels: selected("labels"),
    entities: selected("entities"),
    destinations: selected("destinations"),
    cooldown_seconds: Number(form.elements.cooldown_seconds.value || 0),
    channels: checked("channels"),
    webhook_url: form.elements.webhook_url.value.trim(),
  };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = readForm();
  if (!data.name) { showError(formError, "Give the rule a name."); return; }
  const id = form.elements.id.value;
  try {
    const saved = await apiFetch(id ? `${RULES}/${id}` : RULES, { method: id ? "PATCH" : "POST", body: data });
    rules = id ? rules.map((r) => (String(r.id) === id ? saved : r)) : [saved, ...rules];
    renderRules();
    resetForm();
  } catch (error) {
    showError(formError, error.message);
  }
});
document.getElementById("rule-cancel").addEventListener("click", resetForm);

// --- recent alerts, then live ---------------------------------------------------------------

const alertRows = document.getElementById("alert-rows");
const alertsEmpty = document.getElementById("alerts-empty");
const alertsStatus = document.getElementById("alerts-status");
const seenAlerts = new Set();

function alertRow(alert) {
  return el("tr", { dataset: { alertId: String(alert.id) } },
    el("td", { class: "time" }, formatTime(alert.created_at)),
    el("td", {}, alert.rule?.name || "—"),
    el("td", {}, el("span", { class: "tag" }, alert.kind || "event")),
    el("td", {}, alert.summary || ""),
    el("td", {}, alert.status || ""));
}

function addAlerts(alerts, { top }) {
  for (const alert of alerts) {
    if (seenAlerts.has(alert.id)) continue;
    seenAlerts.add(alert.id);
    const row = alertRow(alert);
    if (top) { row.classList.add("new"); alertRows.prepend(row); } else alertRows.append(row);
  }
  while (alertRows.rows.length > MAX_ALERT_ROWS) alertRows.lastElementChild.remove();
  alertsEmpty.hidden = alertRows.rows.length > 0;
}

async function loadAlerts() {
  try {
    addAlerts(itemsOf(await apiFetch(`${ALERTS}?limit=50`)), { top: false });
  } catch (error) {
    alertsEmpty.hidden = false;
    alertsEmpty.textContent = `Could not load alerts: ${error.message}`;
  }
}

let attempt = 0;
let connections = 0;
function connectAlerts() {
  showState(alertsStatus, connections === 0 ? "connecting" : "reconnecting");
  const socket = new WebSocket(socketUrl("/ws/alerts/"));
  socket.addEventListener("open", () => {
    attempt = 0;
    connections += 1;
    showState(alertsStatus, "open");
    if (connections > 1) loadAlerts();  // alerts raised while disconnected (deduplicated by id)
  });
  socket.addEventListener("message", (message) => {
    let frame;
    try { frame = JSON.parse(message.data); } catch { return; }
    // A frame is the delivery itself: the payload carries no status field.
    if (frame.type === "alert" && frame.alert) addAlerts([{ status: "delivered", ...frame.alert }], { top: true });
  });
  socket.addEventListener("close", (event) => {
    const delay = backoffDelay(attempt);
    attempt += 1;
    connections = Math.max(connections, 1);
    showState(alertsStatus, "reconnecting", `closed (${event.code}); retrying in ${(delay / 1000).toFixed(1)} s`);
    setTimeout(connectAlerts, delay);
  });
}

// --- destinations (Apprise URLs) ------------------------------------------------------------

const destinationForm = document.getElementById("destination-form");
const destinationFormError = document.getElementById("destination-form-error");
const destinationsError = document.getElementById("destinations-error");
const destinationRows = document.getElementById("destination-rows");

function destinationRow(destination) {
  const button = (text, cls, handler) => {
    const node = el("button", { type: "button", class: cls }, text);
    node.addEventListener("click", handler);
    return node;
  };
  const paused = destination.status === "paused";
  return el("tr", { dataset: { destinationId: String(destination.id), status: destination.status } },
    el("td", { class: "destination-name" }, destination.name),
    el("td", { class: "destination-service" }, destination.service),
    el("td", { class: "destination-hint" }, destination.hint),
    el("td", { class: "destination-status", title: destination.last_error || "" },
      paused ? `paused${destination.last_error ? `: ${destination.last_error}` : ""}` : "active"),
    el("td", { class: "destination-verified" }, destination.verified_at ? formatTime(destination.verified_at) : "not yet"),
    el("td", { class: "num destination-failures" }, destination.consecutive_failures),
    el("td", { class: "actions" },
      button("Send test", "destination-test", (event) => testDestination(destination, event.currentTarget)),
      button(paused ? "Resume" : "Pause", "destination-toggle",
        () => patchDestination(destination, { status: paused ? "active" : "paused" })),
      button("Delete", "destination-delete danger", () => deleteDestination(destination))));
}

function renderDestinations() {
  destinationRows.replaceChildren(...(destinations.length ? destinations.map(destinationRow)
    : [el("tr", { class: "placeholder" }, el("td", { colspan: 7, class: "muted" }, "No destinations yet: add one below."))]));
  const select = form.elements.destinations;
  const chosen = new Set([...select.selectedOptions].map((option) => option.value));
  select.replaceChildren(...destinations.map((d) => {
    const option = el("option", { value: String(d.id) }, `${d.name} (${d.service}${d.status === "paused" ? ", paused" : ""})`);
    option.selected = chosen.has(String(d.id));
    return option;
  }));
  renderRules();
}

function replaceDestination(updated) {
  destinations = destinations.map((d) => (d.id === updated.id ? updated : d));
  renderDestinations();
}

async function loadDestinations() {
  try {
    destinations = itemsOf(await apiFetch(DESTINATIONS));
    showError(destinationsError, "");
  } catch (error) {
    showError(destinationsError, `Could not load destinations: ${error.message}`);
    destinations = [];
  }
  renderDestinations();
}

async function testDestination(destination, control) {
  control.disabled = true;
  control.textContent = "Sending…";
  try {
    replaceDestination(await apiFetch(`${DESTINATIONS}/${destination.id}/test`, { method: "POST" }));
    showError(destinationsError, "");
  } catch (error) {
    showError(destinationsError, `Test of "${destination.name}" failed: ${error.message}`);
    try { replaceDestination(await apiFetch(`${DESTINATIONS}/${destination.id}`)); } catch { /* shown above */ }
  } finally {
    control.disabled = false;
    control.textContent = "Send test";
  }
}

async function patchDestination(destination, changes) {
  try {
    replaceDestination(await apiFetch(`${DESTINATIONS}/${destination.id}`, { method: "PATCH", body: changes }));
    showError(destinationsError, "");
  } catch (error) {
    showError(destinationsError, `Could not update "${destination.name}": ${error.message}`);
  }
}

async function deleteDestination(destination) {
  if (!window.confirm(`Delete the destination "${destination.name}"? Rules stop sending to it.`)) return;
  try {
    await apiFetch(`${DESTINATIONS}/${destination.id}`, { method: "DELETE" });
    destinations = destinations.filter((d) => d.id !== destination.id);
    rules = rules.map((r) => ({ ...r, destinations: (r.destinations || []).filter((id) => id !== destination.id) }));
    renderDestinations();
  } catch (error) {
    showError(destinationsError, `Could not delete "${destination.name}": ${error.message}`);
  }
}

destinationForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = destinationForm.elements.name.value.trim();
  const url = destinationForm.elements.url.value.trim();
  if (!name || !url) { showError(destinationFormError, "Give the destination a name and an Apprise URL."); return; }
  try {
    const saved = await apiFetch(DESTINATIONS, { method: "POST", body: { name, url } });
    destinations = [saved, ...destinations];
    renderDestinations();
    destinationForm.reset();
    showError(destinationFormError, "");
  } catch (error) {
    showError(destinationFormError, error.message);
  }
});

loadDestinations().then(loadRules);
loadAlerts().then(connectAlerts);
