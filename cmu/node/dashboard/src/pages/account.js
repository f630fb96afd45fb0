// One account: free and held balance, models owned, contributions, and what is claimable and when.
import { balance, clear, h, section, table, time } from "../ui.js";
import { signerAddress } from "../wallet.js";
import { modelsTable } from "./common.js";
import { kv } from "./block.js";

export function renderAccount(root, data) {
  const claimable = data.claimable.error ? null : data.claimable;
  const mine = signerAddress() === data.account;
  clear(root,
    h("h1", {}, "Account ", h("span", { className: "hash" }, data.account), mine ? h("span", { className: "pill" }, "you") : null),
    section("Balance", h("dl", { className: "kv", id: "balances" },
      kv("free", h("span", { id: "free" }, balance(data.free))),
      kv("held", h("span", { id: "held" }, balance(data.held))),
      kv("nonce", data.nonce))),
    section(`Models owned (${data.models.length})`, modelsTable(data.models)),
    section(`Contributions (${data.contributions.length})`, table(["id", "model", "label", "deposit", "still held", "time", "status"],
      data.contributions.map((c) => h("tr", { "data-contribution": c.contribution },
        h("td", {}, c.contribution), h("td", {}, h("a", { href: `/models/${c.model}` }, c.model)), h("td", {}, c.label),
        h("td", {}, balance(c.initialDeposit)), h("td", {}, balance(c.claimable)), h("td", {}, time(c.time)), h("td", {}, c.status))),
      { id: "contributions" })),
    section("Claimable", claimable ? [
      h("p", {}, "Deposits still held: ", h("strong", { id: "claimable-total" }, balance(claimable.total)),
        ". A refund passes only if the model then agrees with the data; refund from the model's page."),
      table(["contribution", "model", "held", "refundable from", "now"], claimable.contributions.map((c) => h("tr", {},
        h("td", {}, c.contribution), h("td", {}, h("a", { href: `/models/${c.model}#claims` }, c.model)), h("td", {}, balance(c.claimable)),
        h("td", {}, time(c.refundableAt)), h("td", {}, c.refundableAt <= data.now ? h("span", { className: "ok" }, "refundable") : "waiting")))),
    ] : h("p", { className: "muted" }, data.claimable.error.error, ": ", data.claimable.error.message)));
}
