// Half-seen requests waiting for their other half: the client side (CLIENT/PRODUCER span, keyed by
// its span id) meets the server side (SERVER/CONSUMER span, keyed by its parent span id). An edge
// leaves the store when both halves are there (complete) or when its TTL passes (expired).

export type ConnectionType = '' | 'messaging_system' | 'database' | 'virtual_node';

export interface Edge {
  key: string;
  clientService: string;
  serverService: string;
  clientLatencySec: number;
  serverLatencySec: number;
  failed: boolean;
  connectionType: ConnectionType;
  /** `client_<dim>` / `server_<dim>` → value. */
  dimensions: Record<string, string>;
  /** Peer attributes of the client span, to name a virtual server node. */
  peer: Record<string, string>;
  /** The server span had no parent: the request came from outside the traced system. */
  rootServer: boolean;
  expiresAt: number;
  virtualNode?: 'client' | 'server';
}

export class EdgeStore {
  /** Insertion order is expiry order (one TTL for all), so expiry scans from the front. */
  private readonly edges = new Map<string, Edge>();

  constructor(private readonly ttlMs: number, private readonly maxItems: number) {}

  get size(): number { return this.edges.size; }

  /**
   * Creates or updates the edge `key` with `update`. Returns the edge when it is complete (and
   * removes it), undefined while it waits, or 'full' when a new edge would exceed max_items.
   */
  upsert(key: string, update: (e: Edge) => void, now = Date.now()): Edge | undefined | 'full' {
    let edge = this.edges.get(key);
    if (!edge) {
      if (this.edges.size >= this.maxItems) return 'full';
      edge = {
        key, clientService: '', serverService: '', clientLatencySec: 0, serverLatencySec: 0, failed: false,
        connectionType: '', dimensions: {}, peer: {}, rootServer: false, expiresAt: now + this.ttlMs,
      };
      this.edges.set(key, edge);
    }
    update(edge);
    if (edge.clientService !== '' && edge.serverService !== '') {
      this.edges.delete(key);
      return edge;
    }
    return undefined;
  }

  /** Removes and returns the edges whose TTL has passed. */
  expire(now = Date.now()): Edge[] {
    const out: Edge[] = [];
    for (const [key, edge] of this.edges) {
      if (edge.expiresAt > now) break;
      this.edges.delete(key);
      out.push(edge);
    }
    return out;
  }
}
