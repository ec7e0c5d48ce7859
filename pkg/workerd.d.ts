// Cloudflare Workers: the writer and encode/decode.
export * from './index.js';
export { encode, decode } from './codec.js';
