// Transactions from the page: compose a call from the runtime metadata, sign it here, submit it over
// the WebSocket and wait for its block; the outcome carries the chain's error name and the events.
import { blake2_256, fromHex, toHex } from "./codec.js";
import { NodeError, rpc, socket } from "./rpc.js";
import { devSeed, keypair, signExtrinsic } from "./sign.js";

let chainInfo = null;

export async function chain() {
  if (!chainInfo) {
    const [genesis, version, metadata] = await Promise.all([
      rpc("chain_getBlockHash", [0]), rpc("state_getRuntimeVersion"), rpc("state_getMetadata"),
    ]);
    chainInfo = { genesisHash: fromHex(genesis), specVersion: version.specVersion, metadata };
  }
  return chainInfo;
}

function toWire(schema, value, where) {
  const kind = schema.type;
  if (kind === "int") {
    const number = typeof value === "bigint" ? value : BigInt(typeof value === "string" ? value.trim() : value);
    if ((schema.min !== undefined && number < BigInt(schema.min)) || (schema.max !== undefined && number > BigInt(String(schema.max)))) {
      throw new NodeError("BadArguments", `${where}: ${number} is outside ${schema.name}`);
    }
    return number;
  }
  if (kind === "bool") return Boolean(value);
  if (kind === "str") return String(value);
  if (kind === "bytes" || kind === "account") return fromHex(value);
  if (kind === "option") return value === null || value === undefined ? null : toWire(schema.item, value, where);
  if (kind === "list") {
    if (!Array.isArray(value)) throw new NodeError("BadArguments", `${where}: expected a list`);
    return value.map((v, i) => toWire(schema.item, v, `${where}[${i}]`));
  }
  if (kind === "struct") return schema.fields.map((f) => toWire(f.schema, value[f.name], `${where}.${f.name}`));
  throw new NodeError("BadArguments", `${where}: the page cannot build a ${kind} argument`);
}

export function composeCall(metadata, name, args) {
  const [palletName, callName] = name.split(".");
  const pallet = metadata.pallets.find((p) => p.name === palletName);
  const call = pallet && (pallet.calls || []).find((c) => c.name === callName);
  if (!call) throw new NodeError("UnknownCall", `the runtime has no call ${name}`);
  return [pallet.index, call.index, call.args.map((a) => toWire(a.schema, args[a.name], `${name} ${a.name}`))];
}

export function signerPair(signer) {
  if (!signer) throw new NodeError("NoSigner", "pick an account (or load a key file) to sign with");
  return signer.kind === "dev" ? keypair(devSeed(signer.name)) : keypair(fromHex(signer.seed));
}

// Sign `name(args)` as the signer, submit it and wait for its block:
// {hash, blockHash, success, error, events}; refusals before inclusion throw NodeError (BadProof, Payment, ...).
export async function submit(signer, name, args, onStatus = () => {}) {
  const pair = signerPair(signer);
  const info = await chain();
  const callWire = composeCall(info.metadata, name, args);
  const nonce = await rpc("system_accountNextIndex", [toHex(pair.account)]);
  const bytes = signExtrinsic(pair, callWire, { nonce, genesisHash: info.genesisHash, specVersion: info.specVersion });
  const hash = toHex(blake2_256(bytes));
  onStatus("submitted");
  const inBlock = await new Promise((resolve, reject) => {
    socket.subscribe("author_submitAndWatchExtrinsic", [toHex(bytes)], (update) => {
      if (update === "ready" || update === "future") onStatus(update);
      else if (update.inBlock) resolve(update);
      else if (update.invalid) reject(new NodeError(update.invalid.error || "Invalid", update.invalid.message));
      else if (update.dropped) reject(new NodeError("Dropped", String(update.dropped)));
    }).catch(reject);
  });
  const block = await rpc("dashboard_block", [inBlock.inBlock]);
  const index = block.extrinsics.findIndex((x) => x.hash === hash);
  const events = block.events.filter((e) => e.phase === index);
  return { hash, blockHash: inBlock.inBlock, number: block.header.number, success: inBlock.success, error: inBlock.error, events };
}
