// Node: the writer, encode/decode and the prom-client bridge.
export * from './index.js';
export { encode, decode } from './codec.js';
export { startPromClientBridge } from './prom-client.js';
