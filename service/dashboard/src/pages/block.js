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
    section(`Extrinsics (${data.extrinsics.length})`, table(["#", "call", "signer", "arguments", "result"], extrinsicRows(data.extrinsics), { id: "extrinsics" })),
    section(`Events (${data.events.length})`, table(["phase", "event", "fields"], eventRows(data.events), { id: "events" })));
}

export function kv(key, value) {
  return [h("dt", {}, key), h("dd", {}, value)];
}
