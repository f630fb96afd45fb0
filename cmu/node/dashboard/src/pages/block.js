// One block: its header, decoded extrinsics with their outcome, and its events.
import { accountLink, blockLink, clear, h, section, table, time } from "../ui.js";
import { eventRows, extrinsicRows } from "./common.js";

export function renderBlock(root, data) {
  const hd = data.header;
  clear(root,
    h("h1", {}, `Block #${hd.number}`),
    section("Header", h("dl", { className: "kv", id: "block-header" },
      kv("hash", hd.hash), kv("parent", hd.number > 0 ? blockLink(hd.number - 1, hd.parentHash) : hd.parentHash),
      kv("time", time(hd.timestamp)), kv("author", accountLink(hd.author)),
      kv("state root", hd.stateRoot), kv("extrinsics root", hd.extrinsicsRoot),
      kv("finalized", hd.number <= data.finalizedNumber ? "yes" : "not yet"),
      kv("next", hd.number < data.bestNumber ? blockLink(hd.number + 1) : "—"))),
    section(`Extrinsics (${data.extrinsicCount})`, pager(data), table(["#", "call", "signer", "arguments", "result"], extrinsicRows(data.extrinsics), { id: "extrinsics" })),
    section(`Events (${data.events.length}${data.eventCount > data.events.length ? ` of ${data.eventCount}` : ""})`, table(["phase", "event", "fields"], eventRows(data.events), { id: "events" })));
}

function pager(data) {
  const { start, extrinsicCount: total } = data;
  const shown = data.extrinsics.length;
  if (shown === total) return null;
  const path = `/blocks/${data.header.hash}`;
  return h("p", { className: "muted", id: "pager" }, `extrinsics ${start}–${start + shown - 1} of ${total} `,
    start > 0 ? h("a", { href: `${path}?start=${Math.max(0, start - shown)}` }, "previous") : null, " ",
    start + shown < total ? h("a", { href: `${path}?start=${start + shown}` }, "next") : null);
}

export function kv(key, value) {
  return [h("dt", {}, key), h("dd", {}, value)];
}
