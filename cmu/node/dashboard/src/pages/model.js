// A model: its card, version lineage, metrics and deposits over time, and the forms to predict,
// contribute, refund and report (signed in the page).
import { plot, lineage } from "../charts.js";
import { rpc } from "../rpc.js";
import { chain, signerPair, submit } from "../tx.js";
import { namedParams, signQuery } from "../sign.js";
import { toHex } from "../codec.js";
import { accountLink, balance, clear, errorBox, h, json, nameOf, refusal, section, shortTime, table } from "../ui.js";
import { currentSigner, signerAddress } from "../wallet.js";
import { policy } from "./common.js";
import { kv } from "./block.js";

const Q16 = 65536;

export function renderModel(root, data) {
  const m = data.model;
  clear(root,
    h("h1", {}, m.name || `model ${m.id}`, " ", h("span", { className: "muted" }, `#${m.id}`)),
    h("div", { className: "grid" }, card(m), predictForm(m)),
    h("section", { className: "card", id: "versions-card" }),
    h("div", { className: "grid" },
      h("section", { className: "card", id: "metrics-card" }),
      section("Contributions and deposits over time", depositsPlot(data))),
    h("div", { className: "grid" }, contributeForm(m, data), claimsView(m, data)));
  fillHistory(m, data);
}

// Versions and metrics; a permissioned model's history is read with a query signed by the selected
// account (the page's first answer came unsigned, so it holds AccessDenied).
function fillHistory(m, data) {
  const versions = document.getElementById("versions-card");
  const metrics = document.getElementById("metrics-card");
  const denied = data.history.error && data.history.error.error === "AccessDenied";
  const out = h("div", { id: "history-result" });
  const load = async () => {
    try {
      const first = Number.isInteger(m.latestVersion) ? Math.max(0, m.latestVersion - 99) : 0;
      const params = [m.id, first, null, null];
      params.push(await signedAuth("model_history", params, m.id));
      fillHistory(m, { ...data, history: await rpc("model_history", params) });
    } catch (exc) { out.replaceChildren(errorBox(exc, "versions")); }
  };
  clear(versions, h("h2", {}, "Versions"), versionsView(data),
    denied ? h("p", {}, h("button", { type: "button", id: "history-signed", onclick: load }, "Read the versions with a signed query"), " as the selected account (a Reader or higher).") : null, out);
  clear(metrics, h("h2", {}, "Metrics over versions"), metricsPlot(data));
}

function card(m) {
  const spec = m.inputSpec || {};
  const access = m.access || {};
  return section("Card", h("dl", { className: "kv", id: "model-card" },
    kv("kind", h("span", { id: "model-kind" }, m.kind)),
    kv("features", `${spec.nFeatures}${spec.sparse ? " (sparse)" : ""}, values ${real(spec.minValue)} … ${real(spec.maxValue)}`),
    kv("labels", h("span", { id: "model-labels" }, (m.labels || []).map((l, i) => h("span", { className: "label", "data-index": i }, l)))),
    kv("owner", accountLink(m.owner)),
    kv("policy", h("span", { id: "model-policy" }, policy(m))),
    access.pass ? kv("pass", [balance(access.pass.price), ` for ${access.pass.durationBlocks} blocks`]) : null,
    kv("licence", m.license || "—"),
    kv("task", m.task || "—"),
    m.description ? kv("description", m.description) : null,
    kv("versions", `latest ${m.latestVersion ?? "—"}, stable ${m.stableVersion ?? "unset"}`),
    kv("registered", `block ${m.createdAt ?? "—"}`)));
}

function real(q16) {
  return q16 === null || q16 === undefined ? "—" : String(q16 / Q16);
}

function versionsView(data) {
  if (data.history.error) return refusal(data.history.error, "versions");
  const versions = data.history.versions;
  const channels = { latest: data.history.latest, ...data.channels };
  return [
    lineage(versions, channels, data.pins, { nameOf }),
    table(["version", "parent", "cause", "block", "author", "contributions", "metrics"], versions.slice().reverse().slice(0, 20).map((v) => h("tr", { "data-version": v.version },
      h("td", {}, v.version), h("td", {}, v.parent ?? "—"), h("td", {}, v.cause), h("td", {}, h("a", { href: `/blocks/${v.block}` }, `#${v.block}`)),
      h("td", {}, v.author ? accountLink(v.author) : h("span", { className: "muted" }, "runtime")),
      h("td", {}, (v.contributions || []).length || "—"),
      h("td", {}, (v.metrics || []).map((x) => `${x.name}=${x.value}`).join(", ") || "—"))), { id: "versions" }),
  ];
}

function metricsPlot(data) {
  if (data.history.error) return refusal(data.history.error, "metrics");
  const byName = new Map();
  for (const v of data.history.versions) for (const x of v.metrics || []) {
    byName.set(x.name, [...(byName.get(x.name) || []), [v.version, Number(x.value)]]);
  }
  if (byName.size) return plot([...byName].map(([name, points]) => ({ name, points })), { id: "metrics-plot", xLabel: (x) => `v${Math.round(x)}` });
  const counts = data.history.versions.map((v) => [v.version, (v.contributions || []).length]);
  return [h("p", { className: "muted" }, "No version records metrics; shown: training contributions folded into each version."),
    plot([{ name: "contributions", points: counts }], { id: "metrics-plot", xLabel: (x) => `v${Math.round(x)}` })];
}

function depositsPlot(data) {
  if (data.contributions.error) return refusal(data.contributions.error, "contributions");
  const list = data.contributions.contributions;
  const unit = 1;
  const compact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });
  let held = 0;
  const deposits = [], heldPoints = [];
  for (const c of list) {
    deposits.push([c.time, c.initialDeposit / unit]);
    held += c.claimable / unit;
    heldPoints.push([c.time, held]);
  }
  return [plot([{ name: "deposit", points: deposits }, { name: "still held (cumulative)", points: heldPoints }],
    { id: "deposits-plot", xLabel: (x) => new Date(x).toISOString().slice(5, 16).replace("T", " "), yLabel: (y) => compact.format(y) }),
  h("p", { className: "muted" }, `Raw balance units. ${list.length} contributions${data.contributions.next !== null && data.contributions.next !== undefined ? " (first page)" : ""}.`)];
}

// --- predict ---------------------------------------------------------------------------------------

export function parseRows(text, isText) {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  if (isText) return lines;
  const rows = [];
  for (const line of lines) {
    if (line.startsWith("[") || line.startsWith("{")) { rows.push(JSON.parse(line)); continue; }
    const cells = line.split(/[,;\s]+/).filter(Boolean);
    const numbers = cells.map(Number);
    if (numbers.some((x) => Number.isNaN(x))) {
      if (!rows.length) continue; // a CSV header
      throw new Error(`not a number in row ${rows.length + 1}: ${line.slice(0, 40)}`);
    }
    rows.push(numbers);
  }
  return rows;
}

function isTextModel(m) {
  return /text/i.test(m.kind) || Boolean(m.inputSpec && m.inputSpec.text);
}

function predictForm(m) {
  const isText = isTextModel(m);
  const permissioned = m.access && m.access.visibility === "Permissioned";
  const rows = h("textarea", { id: "predict-rows", rows: 4, placeholder: isText ? "one document per line" : `one row per line: ${m.inputSpec.nFeatures} numbers, comma separated` });
  const csv = h("input", { type: "file", id: "predict-csv", accept: ".csv,.txt,text/plain" });
  csv.addEventListener("change", async () => { if (csv.files[0]) rows.value = await csv.files[0].text(); });
  const version = h("input", { id: "predict-version", placeholder: "default (stable, else latest)", size: 24 });
  const sign = h("input", { type: "checkbox", id: "predict-sign", checked: permissioned });
  const out = h("div", { id: "predict-result", "aria-live": "polite" });
  const run = async (event) => {
    event.preventDefault();
    out.replaceChildren(h("span", { className: "muted" }, "predicting…"));
    try {
      const parsed = parseRows(rows.value, isText);
      if (!parsed.length) throw Object.assign(new Error("enter at least one row"), { errorName: "NoRows" });
      const v = version.value.trim();
      const selector = v === "" ? null : /^\d+$/.test(v) ? Number(v) : v;
      const params = [m.id, parsed, null, false, selector];
      if (sign.checked) params.push(await signedAuth("model_predict", params, m.id));
      const answer = await rpc("model_predict", params);
      out.replaceChildren(...predictionTable(answer, m));
    } catch (exc) {
      out.replaceChildren(errorBox(exc, "predict"));
    }
  };
  return section("Predict", h("form", { id: "predict-form", onsubmit: run },
    rows, h("div", { className: "row" }, h("label", {}, "CSV file ", csv), h("label", {}, "version ", version)),
    h("div", { className: "row" }, h("label", {}, sign, " sign the query as the selected account", permissioned ? " (permissioned model)" : ""),
      h("button", { type: "submit", id: "predict-submit" }, "Predict")), out));
}

async function signedAuth(method, params, model) {
  const pair = signerPair(currentSigner());
  const info = await chain();
  return signQuery(pair, method, namedParams(method, params), model, info.genesisHash, Date.now());
}

function predictionTable(answer, m) {
  return [h("p", { className: "muted" }, `version ${answer.version ?? "—"}, artifact ${answer.artifact ? answer.artifact.slice(0, 14) + "…" : "—"}`),
    table(["row", "label", "name", "scores (Q.16)"], answer.predictions.map((p, i) => h("tr", { className: "prediction", "data-label": p.label },
      h("td", {}, i), h("td", {}, p.label), h("td", { className: "prediction-name" }, p.name ?? (m.labels || [])[p.label]), h("td", { className: "args" }, json(p.scores)))), { id: "predictions" })];
}

// --- contribute, refund, report ---------------------------------------------------------------------

function contributeForm(m, data) {
  const isText = isTextModel(m);
  const sparse = m.inputSpec && m.inputSpec.sparse;
  const features = isText
    ? h("textarea", { id: "contribute-features", rows: 3, placeholder: "the document" })
    : h("input", { id: "contribute-features", size: 40, placeholder: sparse ? "feature indices, e.g. 3, 17, 40" : `${m.inputSpec.nFeatures} real values, comma separated` });
  const label = h("select", { id: "contribute-label" }, (m.labels || []).map((l, i) => h("option", { value: i }, `${i}: ${l}`)));
  const deposit = h("span", { id: "contribute-deposit" }, depositText(data.deposit));
  const preview = h("span", { className: "muted", id: "contribute-preview" });
  const out = h("div", { id: "contribute-result", "aria-live": "polite" });
  const wire = () => {
    const cells = features.value.split(/[,;\s]+/).filter(Boolean).map(Number);
    if (cells.some((x) => Number.isNaN(x))) throw Object.assign(new Error("features must be numbers"), { errorName: "BadFeatures" });
    return sparse ? cells.map((x) => Math.trunc(x)) : cells.map((x) => Math.round(x * Q16));
  };
  if (!isText) features.addEventListener("input", () => { try { preview.textContent = `Q.16: [${wire().join(", ")}]`; } catch { preview.textContent = ""; } });
  const refresh = async () => {
    try { deposit.replaceChildren(depositText(await rpc("training_depositFor", [m.id]))); } catch (exc) { deposit.replaceChildren(errorBox(exc)); }
  };
  const run = async (event) => {
    event.preventDefault();
    try {
      const [call, args] = isText
        ? ["Training.add_text", { model: m.id, text: features.value, label: Number(label.value) }]
        : ["Training.add_data", { model: m.id, features: wire(), label: Number(label.value) }];
      await refresh();
      out.replaceChildren(h("span", { className: "muted" }, "signing and submitting…"));
      showOutcome(out, await submit(currentSigner(), call, args, (s) => out.replaceChildren(h("span", { className: "muted" }, s))));
    } catch (exc) { out.replaceChildren(errorBox(exc, "contribute")); }
  };
  return section("Contribute", h("form", { id: "contribute-form", onsubmit: run },
    h("div", { className: "row" }, h("label", {}, isText ? "document " : "features ", features)), preview,
    h("div", { className: "row" }, h("label", {}, "label ", label)),
    h("p", {}, "Deposit held if included now: ", deposit, " ", h("button", { type: "button", className: "link", onclick: refresh }, "refresh")),
    h("button", { type: "submit", id: "contribute-submit" }, "Sign and contribute")), out);
}

function depositText(deposit) {
  if (!deposit || deposit.error) return errorBox({ errorName: deposit.error.error, message: deposit.error.message });
  return h("span", { "data-raw": deposit.deposit }, balance(deposit.deposit), deposit.enabled ? "" : " (training disabled)");
}

function claimsView(m, data) {
  const out = h("div", { id: "claim-result", "aria-live": "polite" });
  if (data.contributions.error) return section("Refund and report", refusal(data.contributions.error, "contributions"));
  const open = data.contributions.contributions.filter((c) => c.status === "Open" && c.claimable > 0);
  const me = signerAddress();
  const act = (call, c) => async () => {
    if (!c.data) { out.replaceChildren(errorBox({ errorName: "NoData", message: "the contribution's data was not found in its block" })); return; }
    out.replaceChildren(h("span", { className: "muted" }, "signing and submitting…"));
    try {
      const text = typeof c.data.text === "string";
      const args = text
        ? { contribution: c.contribution, text: c.data.text, label: c.data.label }
        : { contribution: c.contribution, features: c.data.features, label: c.data.label };
      showOutcome(out, await submit(currentSigner(), text ? `${call}_text` : call, args));
    } catch (exc) { out.replaceChildren(errorBox(exc, call)); }
  };
  return section("Refund and report", h("p", { className: "muted" }, "Open contributions still holding a deposit. The author refunds after the wait if the model agrees; others report data the model disagrees with."),
    table(["id", "contributor", "label", "held", "since", "", ""], open.map((c) => h("tr", { "data-contribution": c.contribution },
      h("td", {}, c.contribution), h("td", {}, accountLink(c.contributor)), h("td", {}, c.label), h("td", {}, balance(c.claimable)), h("td", {}, shortTime(c.time)),
      h("td", {}, h("button", { type: "button", id: `refund-${c.contribution}`, className: me === c.contributor ? "" : "secondary", onclick: act("Training.refund", c) }, "Refund")),
      h("td", {}, h("button", { type: "button", id: `report-${c.contribution}`, className: "secondary", onclick: act("Training.report", c) }, "Report")))), { id: "claims" }), out);
}

function showOutcome(out, result) {
  const status = result.success
    ? h("div", { className: "ok", "data-outcome": "success" }, `Included in block #${result.number}.`)
    : errorBox({ errorName: (result.error || "Failed").split(".").pop(), message: `${result.error} (block #${result.number}; fee and nonce kept)` });
  out.replaceChildren(status, table(["event", "fields"], result.events.map((e) => h("tr", { "data-event": `${e.pallet}.${e.event}` },
    h("td", { className: "event" }, `${e.pallet}.${e.event}`), h("td", { className: "args" }, json(e.fields)))), { className: "events" }),
  h("p", {}, h("a", { href: `/blocks/${result.blockHash}` }, "see the block"), " · ", h("a", { href: `/accounts/${signerAddress()}` }, "your account")));
}

export { toHex };
