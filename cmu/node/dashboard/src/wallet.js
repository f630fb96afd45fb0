// Who signs: a dev account picked from a list (--dev chains; their seeds are public), or a key file the
// user loads or pastes. Kept in this tab's sessionStorage only; nothing is sent anywhere.
import { toHex } from "./codec.js";
import { h, errorBox, registerName } from "./ui.js";
import { DEV_ACCOUNTS, devSeed, keypair, keypairFromKeyFile } from "./sign.js";

const KEY = "cmu-signer";
const listeners = [];

export function currentSigner() {
  try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch { return null; }
}

export function signerAddress(signer = currentSigner()) {
  if (!signer) return null;
  return signer.kind === "dev" ? toHex(keypair(devSeed(signer.name)).account) : signer.account;
}

function setSigner(signer) {
  if (signer) sessionStorage.setItem(KEY, JSON.stringify(signer)); else sessionStorage.removeItem(KEY);
  listeners.forEach((f) => f(signer));
}

export function onSignerChange(listener) { listeners.push(listener); }

export function registerDevNames() {
  for (const name of DEV_ACCOUNTS) registerName(toHex(keypair(devSeed(name)).account), name);
}

export function renderWallet(root, dev) {
  const signer = currentSigner();
  const select = h("select", { id: "signer", "aria-label": "sign as" },
    h("option", { value: "" }, "no signer"),
    dev ? DEV_ACCOUNTS.map((n) => h("option", { value: `dev:${n}`, selected: signer && signer.kind === "dev" && signer.name === n }, n)) : [],
    signer && signer.kind === "seed" ? h("option", { value: "seed", selected: true }, `key ${signer.account.slice(0, 10)}…`) : null);
  select.addEventListener("change", () => {
    const value = select.value;
    if (value.startsWith("dev:")) setSigner({ kind: "dev", name: value.slice(4) });
    else if (!value) setSigner(null);
  });
  const message = h("span", { className: "wallet-msg" });
  const load = (text) => {
    try {
      const pair = keypairFromKeyFile(text);
      setSigner({ kind: "seed", seed: toHex(pair.seed), account: toHex(pair.account) });
      renderWallet(root, dev);
    } catch (exc) {
      message.replaceChildren(errorBox({ errorName: "BadKeyFile", message: exc.message }));
    }
  };
  const file = h("input", { type: "file", id: "key-file", accept: ".json,application/json", title: "load a key file (node.py key generate)" });
  file.addEventListener("change", async () => { if (file.files[0]) load(await file.files[0].text()); });
  const paste = h("button", { type: "button", className: "link", onclick: () => {
    const text = prompt("Paste a key file (JSON with a hex seed):");
    if (text) load(text);
  } }, "paste key");
  root.replaceChildren(h("label", {}, "sign as ", select), " ", h("label", { className: "file" }, "key file ", file), " ", paste, message);
}
