// JSON-RPC to the node that served the page: POST / for calls, one WebSocket for subscriptions and
// for watching submitted extrinsics. Refusals become NodeError carrying the node's error name.
export class NodeError extends Error {
  constructor(name, message, code) {
    super(message || name);
    this.errorName = name;
    this.code = code;
  }
}

// The name a refusal goes by: data.error (AccessDenied, UnknownModel, BadSignature, ...), else the code.
export function errorName(error) {
  const data = error && error.data;
  if (data && typeof data.error === "string") return data.error;
  const names = { "-32700": "ParseError", "-32600": "InvalidRequest", "-32601": "MethodNotFound", "-32602": "InvalidParams", "-32603": "InternalError" };
  return names[String(error && error.code)] || `Error${error && error.code}`;
}

export function toNodeError(error) {
  const data = error && error.data;
  const message = (data && data.message) || (error && error.message) || "refused";
  return new NodeError(errorName(error), message, error && error.code);
}

let nextId = 1;

export async function rpc(method, params = []) {
  let response;
  try {
    response = await fetch("/", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }, bigintJson),
    });
  } catch (exc) {
    throw new NodeError("NodeUnreachable", `the node did not answer: ${exc.message}`);
  }
  if (!response.ok && response.status !== 200) {
    throw new NodeError(`HTTP${response.status}`, await response.text());
  }
  const body = await response.json();
  if (body.error) throw toNodeError(body.error);
  return body.result;
}

export function bigintJson(key, value) {
  return typeof value === "bigint" ? Number(value) : value;
}

// One shared WebSocket; `call` answers by id, subscriptions deliver notifications to their handler.
class Socket {
  constructor() {
    this.pending = new Map();
    this.handlers = new Map();
    this.early = new Map();
    this.ready = null;
  }

  open() {
    if (this.ready) return this.ready;
    this.ready = new Promise((resolve, reject) => {
      const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`);
      ws.onopen = () => resolve(ws);
      ws.onerror = () => reject(new NodeError("NodeUnreachable", "the WebSocket could not connect"));
      ws.onclose = () => { this.ready = null; };
      ws.onmessage = (event) => this.receive(JSON.parse(event.data));
    });
    return this.ready;
  }

  receive(message) {
    if (message.id !== undefined && this.pending.has(message.id)) {
      const { resolve, reject } = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error) reject(toNodeError(message.error)); else resolve(message.result);
      return;
    }
    const params = message.params;
    if (!params) return;
    const handler = this.handlers.get(params.subscription);
    if (handler) handler(params.result);
    else {
      const queued = this.early.get(params.subscription) || [];
      queued.push(params.result);
      this.early.set(params.subscription, queued);
    }
  }

  async call(method, params = []) {
    const ws = await this.open();
    const id = nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }

  async subscribe(method, params, handler) {
    const id = await this.call(method, params);
    this.handlers.set(id, handler);
    for (const result of this.early.get(id) || []) handler(result);
    this.early.delete(id);
    return id;
  }

  unsubscribe(id) {
    this.handlers.delete(id);
  }
}

export const socket = new Socket();
