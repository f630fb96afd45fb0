// Overview: best and finalized block (live), the newest blocks with their extrinsics and events, models.
import { rpc, socket } from "../rpc.js";
import { clear, h, section, table } from "../ui.js";
import { blockSummary, modelsTable } from "./common.js";

export function renderOverview(root, data) {
  const tbody = h("tbody", {}, data.blocks.map(blockSummary));
  const blocks = h("table", { id: "recent-blocks" },
    h("thead", {}, h("tr", {}, ["block", "time", "extrinsics", "events", "hash"].map((x) => h("th", {}, x)))), tbody);
  clear(root,
    h("div", { className: "stats" },
      stat("best block", h("span", { id: "stat-best" }, `#${data.best.number}`)),
      stat("finalized", h("span", { id: "stat-final" }, `#${data.finalized.number}`)),
      stat("models", data.models.length),
      stat("chain", data.chain)),
    section(`Models (${data.models.length})`, modelsTable(data.models)),
    section("Recent blocks", blocks));
  followHeads(tbody, data.best.number);
}

function stat(label, value) {
  return h("div", { className: "stat" }, h("div", { className: "stat-label" }, label), h("div", { className: "stat-value" }, value));
}

function followHeads(tbody, shown) {
  let newest = shown;
  socket.subscribe("chain_subscribeNewHeads", [], async (header) => {
    const best = document.getElementById("stat-best");
    if (best) best.textContent = `#${header.number}`;
    if (header.number <= newest) return;
    const from = newest + 1;
    newest = header.number;
    for (let n = from; n <= header.number; n++) {
      try {
        const block = await rpc("dashboard_block", [String(n)]);
        tbody.prepend(blockSummary(block));
        while (tbody.children.length > 10) tbody.lastElementChild.remove();
      } catch { /* the next head retries */ }
    }
  }).catch(() => {});
  socket.subscribe("chain_subscribeFinalizedHeads", [], (header) => {
    const el = document.getElementById("stat-final");
    if (el) el.textContent = `#${header.number}`;
  }).catch(() => {});
}
