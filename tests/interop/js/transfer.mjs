// @polkadot/api against a cmu dev node: connect, read an account, send a Balances.transfer signed by an
// ed25519 keyring pair and wait for its inclusion. Prints one JSON line with what happened.
// usage: node transfer.mjs WS_URL SENDER_SEED_HEX DEST_SEED_HEX AMOUNT
import { ApiPromise, WsProvider } from "@polkadot/api";
import { Keyring } from "@polkadot/keyring";
import { hexToU8a } from "@polkadot/util";
import { cryptoWaitReady } from "@polkadot/util-crypto";

const [url, senderSeed, destSeed, amount] = process.argv.slice(2);

function included(api, tx, signer) {
  return new Promise((resolve, reject) => {
    // immortal: @polkadot/api signs a mortal era with blake2(SCALE(header)), which is not this chain's
    // block hash (blake2 of the canonical msgpack header); era 0 signs the genesis hash instead
    tx.signAndSend(signer, { era: 0 }, ({ status, events, dispatchError }) => {
      if (process.env.CMU_DEBUG) console.error("status", JSON.stringify(status.toHuman()));
      // a dev node with instant seal finalizes at once: @polkadot/api may skip InBlock for Finalized
      if (status.isInBlock || status.isFinalized) {
        resolve({
          block: (status.isInBlock ? status.asInBlock : status.asFinalized).toHex(),
          hash: tx.hash.toHex(),
          events: events.map(({ event }) => `${event.section}.${event.method}`),
          failed: dispatchError ? dispatchError.toString() : null,
        });
      } else if (status.isInvalid || status.isDropped || status.isUsurped) {
        reject(new Error(`transaction ${status.type}`));
      }
    }).catch(reject);
  });
}

async function main() {
  await cryptoWaitReady();
  const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true, throwOnConnect: true });
  const keyring = new Keyring({ type: "ed25519", ss58Format: 42 });
  const sender = keyring.addFromSeed(hexToU8a(senderSeed));
  const dest = keyring.addFromSeed(hexToU8a(destSeed));
  const before = await api.query.system.account(dest.address);
  const outcome = await included(api, api.tx.balances.transfer(dest.address, amount), sender);
  const after = await api.query.system.account(dest.address);
  const pallets = api.runtimeMetadata.asLatest.pallets.map((p) => p.name.toString());
  console.log(JSON.stringify({
    chain: (await api.rpc.system.chain()).toString(),
    pallets,
    sender: sender.address,
    before: before.data.free.toString(),
    after: after.data.free.toString(),
    nonce: (await api.query.system.account(sender.address)).nonce.toNumber(),
    ...outcome,
  }));
  await api.disconnect();
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
