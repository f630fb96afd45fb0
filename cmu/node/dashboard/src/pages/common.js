// Pieces several pages show: model rows, extrinsic and event rows.
import { accountLink, blockLink, h, json, short, table, time } from "../ui.js";

export function modelsTable(models) {
  return table(["id", "name", "kind", "features", "labels", "owner", "policy"], models.map((m) =>
    h("tr", { "data-model": m.id },
      h("td", {}, h("a", { href: `/models/${m.id}` }, m.id)),
      h("td", {}, h("a", { href: `/models/${m.id}`, className: "model-name" }, m.name || `model ${m.id}`)),
      h("td", {}, m.kind),
      h("td", {}, m.inputSpec ? m.inputSpec.nFeatures : "—"),
      h("td", { className: "labels" }, (m.labels || []).join(", ")),
      h("td", {}, accountLink(m.owner)),
      h("td", {}, policy(m)))), { id: "models" });
}

export function policy(m) {
  const access = m.access || {};
  const parts = [access.visibility || "Public", access.training || "Open"];
  if (access.confidential) parts.push("confidential");
  if (m.retired) parts.push("retired");
  return parts.join(" · ");
}

export function extrinsicRows(extrinsics) {
  return extrinsics.map((x) => h("tr", { className: x.success === false ? "failed" : "" },
    h("td", {}, x.index),
    h("td", { className: "call" }, x.call || h("span", { className: "muted" }, x.decodeError)),
    h("td", {}, x.signer ? accountLink(x.signer) : h("span", { className: "muted" }, "inherent")),
    h("td", { className: "args" }, json(x.args)),
    h("td", {}, x.success === false ? h("span", { className: "bad", "data-error": x.error }, x.error || "failed") : x.success ? "ok" : "—")));
}

export function eventRows(events) {
  return events.map((e) => h("tr", { "data-event": `${e.pallet}.${e.event}` },
    h("td", {}, e.phase >= 0 ? e.phase : e.phase === -1 ? "init" : "final"),
    h("td", { className: "event" }, `${e.pallet}.${e.event}`),
    h("td", { className: "args" }, json(e.fields))));
}

export function blockSummary(block) {
  const hd = block.header;
  const signed = block.extrinsics.filter((x) => x.signer);
  const more = (block.extrinsicCount ?? block.extrinsics.length) - block.extrinsics.length;
  const events = block.events.filter((e) => !(e.pallet === "System" && e.event.startsWith("Extrinsic")));
  return h("tr", { "data-block": hd.number },
    h("td", {}, blockLink(hd.number, hd.hash)),
    h("td", {}, time(hd.timestamp)),
    h("td", { className: "calls" }, signed.length ? signed.map((x) => x.call).join(", ") + (more > 0 ? ` (+${more} more)` : "") : h("span", { className: "muted" }, "timestamp only")),
    h("td", { className: "calls" }, events.length ? events.map((e) => `${e.pallet}.${e.event}`).slice(0, 6).join(", ") + (events.length > 6 ? "…" : "") : ""),
    h("td", { className: "hash" }, short(hd.hash)));
}

export { time };
