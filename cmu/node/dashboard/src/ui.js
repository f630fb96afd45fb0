// Small DOM and formatting helpers shared by the pages.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "className") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function section(title, ...children) {
  return h("section", { className: "card" }, h("h2", {}, title), ...children);
}

export function table(headers, rows, attrs = {}) {
  return h("table", attrs,
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: headers.length, className: "muted" }, "none"))));
}

export function short(hex, n = 6) {
  if (typeof hex !== "string") return String(hex);
  return hex.length > 2 * n + 4 ? `${hex.slice(0, n + 2)}…${hex.slice(-n)}` : hex;
}

const DEV_NAMES = new Map();
export function registerName(address, name) { DEV_NAMES.set(address, name); }
export function nameOf(address) { return DEV_NAMES.get(address) || `${address.slice(0, 8)}…`; }

export function accountLink(address) {
  if (!address) return h("span", { className: "muted" }, "—");
  const name = DEV_NAMES.get(address);
  return h("a", { href: `/accounts/${address}`, className: "account", title: address }, name || short(address));
}

export function blockLink(number, hash) {
  return h("a", { href: `/blocks/${hash || number}` }, `#${number}`);
}

let decimals = 12;
let symbol = "UNIT";
export function setToken(properties) {
  if (properties && Number.isInteger(properties.tokenDecimals)) decimals = properties.tokenDecimals;
  if (properties && typeof properties.tokenSymbol === "string") symbol = properties.tokenSymbol;
}

// A balance in whole tokens (up to 4 decimals) with the raw integer kept in data-raw.
export function balance(raw) {
  const value = BigInt(raw ?? 0);
  const unit = 10n ** BigInt(decimals);
  const whole = value / unit;
  const frac = ((value % unit) * 10000n) / unit;
  if (value !== 0n && whole === 0n && frac === 0n) {
    return h("span", { className: "balance", "data-raw": value.toString(), title: `${value} (raw)` }, `${value.toLocaleString("en")} raw`);
  }
  const text = frac ? `${whole.toLocaleString("en")}.${frac.toString().padStart(4, "0").replace(/0+$/, "")}` : whole.toLocaleString("en");
  return h("span", { className: "balance", "data-raw": value.toString(), title: `${value} (raw)` }, `${text} ${symbol}`);
}

export function shortTime(ms) {
  return ms === null || ms === undefined ? "—" : new Date(ms).toISOString().slice(5, 16).replace("T", " ");
}

export function time(ms) {
  if (ms === null || ms === undefined) return "—";
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

export function errorBox(error, context = "") {
  const name = error.errorName || error.name || "Error";
  return h("div", { className: "error", role: "alert", "data-error": name },
    h("strong", { className: "error-name" }, name), context ? ` ${context}: ` : ": ", error.message || "");
}

export function refusal(data, context) {
  return errorBox({ errorName: data.error, message: data.message }, context);
}

export function json(value) {
  const text = JSON.stringify(value);
  return text && text.length > 120 ? text.slice(0, 117) + "…" : text;
}

export function clear(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}
