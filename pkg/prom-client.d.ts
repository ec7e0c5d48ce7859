import type { RemoteWriter, Labels } from './index.js';

export interface PromClientBridgeOptions {
  writer: RemoteWriter;
  /** A prom-client Registry, e.g. `client.register`. */
  registry: { getMetricsAsJSON(): Promise<unknown[]> };
  /** Default 15000 ms. */
  intervalMs?: number;
  /** Extra labels for every series, e.g. `{ instance }`. */
  labels?: Labels;
}

/** Reads the registry every `intervalMs` and writes each collection as one request. */
export function startPromClientBridge(options: PromClientBridgeOptions): { collect(): Promise<number>; stop(): void };
