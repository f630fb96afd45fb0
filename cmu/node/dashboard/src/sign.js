// Keys and signatures in the page (they never leave the browser): ed25519 over the same payloads as
// runtime/extrinsic.py (transactions) and formats/signed_query.py (signed queries).
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { blake2_256, fromHex, pack, toHex, utf8 } from "./codec.js";

ed.hashes.sha512 = sha512;

export const DEV_ACCOUNTS = ["alice", "bob", "charlie", "dave", "eve", "ferdie"];
export const SIGNED_VERSION = 1;
export const MAX_SIGNED_PAYLOAD = 256;
export const QUERY_DOMAIN = "cmu-query/v1";
export const SIGNED_PARAMS = {
  model_predict: ["model", "rows", "at", "fixed", "version"],
  model_history: ["model", "start", "end", "at"],
};

export function devSeed(name) {
  return blake2_256(utf8("//" + name.trim().toLowerCase()));
}

export function keypair(seed) {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new Error("an ed25519 seed is 32 bytes");
  return { seed, account: ed.getPublicKey(seed) };
}

// A key file as `node.py key generate` writes it: JSON with a hex "seed" (or "secretSeed") and, checked
// when present, its "publicKey" / "public".
export function keypairFromKeyFile(text) {
  let data;
  try { data = JSON.parse(text); } catch { throw new Error("the key file is not JSON"); }
  const seedText = data && (data.seed ?? data.secretSeed);
  if (typeof seedText !== "string") throw new Error("the key file has no hex seed");
  const pair = keypair(fromHex(seedText));
  const pub = data.publicKey ?? data.public;
  if (typeof pub === "string" && toHex(fromHex(pub)) !== toHex(pair.account)) {
    throw new Error("the key file's public key does not belong to its seed");
  }
  return pair;
}

export function sign(pair, message) {
  return ed.sign(message, pair.seed);
}

export function signingPayload(callWire, era, nonce, tip, specVersion, genesisHash, birthHash) {
  const payload = pack([callWire, [era[0], era[1]], nonce, tip, specVersion, genesisHash, birthHash]);
  return payload.length > MAX_SIGNED_PAYLOAD ? blake2_256(payload) : payload;
}

export function encodeSigned(account, signature, era, nonce, tip, genesisHash, callWire) {
  return pack([SIGNED_VERSION, account, signature, [era[0], era[1]], nonce, tip, genesisHash.slice(0, 4), callWire]);
}

// An immortal extrinsic (era [0, 0], birth hash = genesis hash), as the CLI signs by default.
export function signExtrinsic(pair, callWire, { nonce, genesisHash, specVersion, tip = 0 }) {
  const era = [0, 0];
  const payload = signingPayload(callWire, era, nonce, tip, specVersion, genesisHash, genesisHash);
  return encodeSigned(pair.account, sign(pair, payload), era, nonce, tip, genesisHash, callWire);
}

export function queryMessage(method, params, model, timestampMs, genesisHash) {
  return pack([QUERY_DOMAIN, method, blake2_256(pack(params)), model, timestampMs, genesisHash]);
}

// The `auth` parameter of a signed query: the named parameters (defaults filled in, auth left out).
export function signQuery(pair, method, params, model, genesisHash, timestampMs) {
  const signature = sign(pair, queryMessage(method, params, model, timestampMs, genesisHash));
  return { signer: toHex(pair.account), timestamp: timestampMs, signature: toHex(signature) };
}

export function namedParams(method, values) {
  const names = SIGNED_PARAMS[method];
  const out = {};
  names.forEach((name, i) => { out[name] = values[i] === undefined ? null : values[i]; });
  return out;
}
