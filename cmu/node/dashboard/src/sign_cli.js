// A command-line door to the page's signing code, for tests that compare its bytes with Python's:
// reads one JSON request on stdin, writes one JSON answer on stdout.
import { fromHex, pack, toHex } from "./codec.js";
import { devSeed, keypair, keypairFromKeyFile, queryMessage, signExtrinsic, signQuery, signingPayload } from "./sign.js";

function wire(value) {
  // {"hex": "0x.."} stands for bytes, {"int": "123"} for a big integer; the rest is JSON as it is
  if (Array.isArray(value)) return value.map(wire);
  if (value && typeof value === "object") {
    if (typeof value.hex === "string") return fromHex(value.hex);
    if (typeof value.int === "string") return BigInt(value.int);
  }
  return value;
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const pair = request.keyFile ? keypairFromKeyFile(request.keyFile) : keypair(request.seed ? fromHex(request.seed) : devSeed(request.dev));
const genesis = fromHex(request.genesisHash);
const out = { account: toHex(pair.account) };
if (request.call) {
  const call = wire(request.call);
  out.payload = toHex(signingPayload(call, [0, 0], request.nonce, request.tip ?? 0, request.specVersion, genesis, genesis));
  out.extrinsic = toHex(signExtrinsic(pair, call, { nonce: request.nonce, genesisHash: genesis, specVersion: request.specVersion, tip: request.tip ?? 0 }));
}
if (request.query) {
  const q = request.query;
  out.queryMessage = toHex(queryMessage(q.method, q.params, q.model, q.timestamp, genesis));
  out.sentParams = JSON.stringify(q.params); // what the node parses (3.0 travels as 3)
  out.auth = signQuery(pair, q.method, q.params, q.model, genesis, q.timestamp);
}
if (request.pack !== undefined) out.packed = toHex(pack(wire(request.pack)));
process.stdout.write(JSON.stringify(out));
