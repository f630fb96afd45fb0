// The chain's canonical msgpack (runtime/codec.py): shortest headers, bin for bytes, no maps or floats
// in anything hashed or signed on chain; and blake2b-256, the chain's one hash.
import { Encoder, decode } from "@msgpack/msgpack";
import { blake2b } from "@noble/hashes/blake2.js";

const encoder = new Encoder({ useBigInt64: true, sortKeys: true, ignoreUndefined: false });

// With useBigInt64 the encoder writes a BigInt in 8 bytes and a Number past 32 bits as a float, so every
// integer that needs 8 bytes becomes a BigInt and every smaller one a Number: then msgpack picks the
// shortest header, as msgpack-python does. Non-integer numbers stay float64.
const LOW = -(2 ** 31);
const HIGH = 2 ** 32;

function normal(value) {
  if (typeof value === "bigint") {
    return value >= BigInt(LOW) && value < BigInt(HIGH) ? Number(value) : value;
  }
  if (typeof value === "number") {
    return Number.isInteger(value) && (value < LOW || value >= HIGH) && Number.isSafeInteger(value)
      ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map(normal);
  if (value instanceof Uint8Array || value === null || typeof value !== "object") return value;
  const out = {};
  for (const key of Object.keys(value).sort()) out[key] = normal(value[key]);
  return out;
}

export function pack(value) {
  return encoder.encode(normal(value));
}

export function unpack(bytes) {
  return decode(bytes, { useBigInt64: true });
}

export function blake2_256(bytes) {
  return blake2b(bytes, { dkLen: 32 });
}

export function toHex(bytes) {
  return "0x" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text) {
  const digits = text.startsWith("0x") ? text.slice(2) : text;
  if (digits.length % 2 !== 0 || /[^0-9a-fA-F]/.test(digits)) throw new Error(`not hex: ${text.slice(0, 20)}`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function utf8(text) {
  return new TextEncoder().encode(text);
}
