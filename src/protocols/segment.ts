// What a protocol parser is fed: one direction of one connection, as ordered, de-duplicated
// segments. The kernel captures only the head (and a short tail) of each packet's payload, so a
// segment may have a hole in the middle: bytes [offset + head.length, offset + length - tail.length)
// were sent but not captured. Parsers use the real lengths to skip bodies they cannot see.

export interface CapturedSegment {
  /** Byte offset of this segment in the direction's stream (0 = first byte seen by the agent). */
  offset: number;
  /** Real payload length on the wire. */
  length: number;
  /** The first captured bytes (head.length <= length). */
  head: Uint8Array;
  /** The last bytes of the payload, when they were not already in head (tail.length <= length - head.length). */
  tail: Uint8Array;
  /** Capture time, kernel monotonic nanoseconds. */
  timestampNs: bigint;
}

/** Direction of a segment relative to the process that owns the socket. */
export type Direction = 'ingress' | 'egress';

/** Role of the process that owns the socket: 'server' reads requests on ingress and writes responses on egress, 'client' the reverse; 'unknown' is inferred from the traffic. */
export type ConnectionRole = 'server' | 'client' | 'unknown';
