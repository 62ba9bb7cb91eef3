// Capture layer: connections and byte streams built from the eBPF records.
export { ConnectionTable, type Connection, type ConnectionChange, type ConnectionTableOptions, type PidSource } from './connection-table.js';
export { ProcessLookup } from './proc-lookup.js';
export { StreamReassembler, ConnectionStreams, type ReassemblerOptions, type ReassemblerStats } from './stream-reassembler.js';
