/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* Every kernel -> user record layout and the .rodata config, shared by the probes (capture.bpf.c)
 * and the agent (src/ebpf/layout.ts decodes them with DataView at these offsets;
 * test/ebpf/layout.test.ts compiles static asserts against this header with gcc).
 * The includer provides __u8/__u16/__u32/__u64. All multi-byte fields are host byte order except
 * addresses, which are the 16 bytes of an IPv6 address, IPv4 as ::ffff:a.b.c.d. */
#ifndef SONDE_H
#define SONDE_H

#define SONDE_MAX_CAPTURE 1024 /* largest head a payload record can carry */
#define SONDE_TAIL_BYTES 16    /* tail kept when the payload is longer than the head */
#define SONDE_MAX_PORTS 16     /* port allow-list length */
#define SONDE_CTX_SOCKS 4      /* sockets a thread read from last, carried by request starts (in-process links) */

/* HTTP/2 framing (see docs/ebpf.md "HTTP/2 connections"): for connections that sent the client
 * preface or that the agent marked, the probes walk frame headers and copy only what parsers need. */
#define SONDE_H2_MAX_RECORD 8192 /* copied bytes per framed record (more continue in another record) */
#define SONDE_H2_MAX_EXTENTS 32  /* extents per framed record (more continue in another record) */
#define SONDE_H2_MAX_FRAMES 128  /* frame headers walked per packet; more re-anchors (h2_desyncs) */
#define SONDE_H2_MIN_SKIP 32     /* a skipped span shorter than this is copied: an extent costs 8 bytes */
#define SONDE_H2_DATA_PREFIX 5   /* DATA payload bytes copied after the frame header: the gRPC prefix */
#define SONDE_H2_PREFACE_PACKETS 4 /* first payload packets per direction checked for the preface (h2c: after the 101) */

/* First u32 of every ring-buffer record. */
enum sonde_record_kind {
	SONDE_REC_CONN = 1,
	SONDE_REC_PAYLOAD = 2,
};

/* sonde_conn_event.event */
enum sonde_conn_event_type {
	SONDE_CONN_CONNECT = 1, /* cgroup/connect4|6: a task called connect() on a TCP socket */
	SONDE_CONN_STATE = 2,   /* sock:inet_sock_set_state on a TCP socket */
};

/* flags */
#define SONDE_F_PID_KNOWN (1u << 0) /* pid/tid/comm are the task that owns this socket operation */
#define SONDE_F_H2_FRAMED (1u << 1) /* payload record of an HTTP/2 connection walked by frames */

struct sonde_conn_event {
	__u32 kind;      /* SONDE_REC_CONN */
	__u8 event;      /* enum sonde_conn_event_type */
	__u8 family;     /* 4 or 6 (6 includes v4-mapped) */
	__u8 oldstate;   /* TCP_* (STATE only) */
	__u8 newstate;   /* TCP_* (STATE only) */
	__u64 ts_ns;     /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u64 cookie;    /* socket cookie; 0 when the kernel has not made one yet (join on sk) */
	__u64 sk;        /* kernel socket address: joins events made before the cookie existed */
	__u32 pid;       /* tgid, when flags & SONDE_F_PID_KNOWN */
	__u32 tid;
	__u8 comm[16];
	__u16 lport;     /* local port (0 in CONNECT: not bound yet) */
	__u16 rport;     /* remote port */
	__u32 flags;
	__u8 laddr[16];
	__u8 raddr[16];
	__u64 bytes_received; /* payload bytes received: tcp_sock.bytes_received without the peer's FIN (STATE only) */
	__u64 bytes_sent;     /* payload bytes sent: tcp_sock.bytes_sent - bytes_retrans (STATE only) */
	__u64 ctx_sk[SONDE_CTX_SOCKS]; /* CONNECT: the TCP sockets the connecting thread read from last, newest first (0: none) */
};

/* sonde_payload_event.direction */
enum sonde_direction {
	SONDE_DIR_INGRESS = 0,
	SONDE_DIR_EGRESS = 1,
};

/* One payload-carrying TCP packet (a GSO/GRO super-packet counts as one). The record is reserved in
 * size classes, so head[] holds head_len bytes and the record may be shorter than
 * sizeof(struct) + SONDE_MAX_CAPTURE.
 * With SONDE_F_H2_FRAMED the record describes the HTTP/2 stream bytes [seq, seq + len) instead
 * (usually one packet, possibly reaching back over earlier packets that held only skipped DATA):
 * head[] holds the copied bytes of `extents` extents back to back, followed by the extent table
 * (struct sonde_h2_extent[extents]); every byte outside the extents was skipped on purpose (DATA
 * payload). tail_len is 0. Consecutive framed records of a direction are contiguous. */
struct sonde_payload_event {
	__u32 kind;      /* SONDE_REC_PAYLOAD */
	__u8 direction;  /* enum sonde_direction */
	__u8 family;     /* 4 or 6 */
	__u16 head_len;  /* bytes in head[] */
	__u64 ts_ns;
	__u64 cookie;
	__u64 sk;
	__u32 pid;       /* when flags & SONDE_F_PID_KNOWN (egress on a task-owned socket) */
	__u32 tid;
	__u32 seq;       /* TCP sequence number of the first payload byte */
	__u32 len;       /* real payload length */
	__u16 lport;
	__u16 rport;
	__u16 tail_len;  /* bytes in tail[]: the payload's last bytes when len > head_len */
	__u16 flags;
	__u8 laddr[16];
	__u8 raddr[16];
	__u8 tail[SONDE_TAIL_BYTES];
	__u32 extents;   /* SONDE_F_H2_FRAMED: entries of the extent table after head[] (else 0) */
	__u32 _pad;
	/* Egress packets that start an HTTP/1 request, and egress HTTP/2 framed records, on a
	 * task-owned socket: the TCP sockets the sending thread read from last, newest first (0: none).
	 * The agent finds in them the request the thread is serving (in-process parent of the call). */
	__u64 ctx_sk[SONDE_CTX_SOCKS];
	__u8 head[];
};

/* One copied extent of a framed record. */
struct sonde_h2_extent {
	__u32 off; /* stream position relative to the record's seq */
	__u32 len; /* bytes, in head[] right after the previous extent's */
};

/* .rodata, set by the agent before load (bpf_map__set_initial_value). */
#define SONDE_CFG_MESSAGE_START_ONLY (1u << 0) /* emit only payloads that start an HTTP/1 message or h2 preface */
#define SONDE_CFG_NO_PAYLOAD (1u << 1)         /* connection events only */
#define SONDE_CFG_HTTP2 (1u << 2)              /* walk the frames of HTTP/2 connections */

struct sonde_config {
	__u32 capture_bytes; /* head bytes per payload record, 1..SONDE_MAX_CAPTURE */
	__u32 flags;         /* SONDE_CFG_* */
	__u64 cgroup_id;     /* only sockets of this cgroup v2 id; 0 = all */
	__u32 nports;        /* 0 = all ports */
	__u16 ports[SONDE_MAX_PORTS]; /* allow-list: local or remote port matches */
	__u32 _pad;
};

/* Per-CPU counters, one array element. */
struct sonde_stats {
	__u64 payload_events; /* payload records submitted */
	__u64 conn_events;    /* connection records submitted */
	__u64 dropped;        /* records lost: ring buffer full */
	__u64 filtered;       /* payload packets skipped by port/cgroup/message-start filters */
	__u64 h2_packets;     /* packets of HTTP/2 connections walked by frames */
	__u64 h2_skipped;     /* payload bytes of those packets not copied (DATA beyond its prefix) */
	__u64 h2_desyncs;     /* frame boundaries lost in the kernel (reordering, walk limit): re-anchoring */
	__u64 h2_anchors;     /* directions whose frame boundaries the kernel (re)found */
};

/* sonde_h2_marks map (hash): key __u64 socket cookie, value __u32 (any). The agent inserts a cookie
 * to say "this connection is HTTP/2" (CaptureProbes.markHttp2) and then increments the __u64 at
 * index SONDE_H2_MARKS_MADE of the sonde_h2_mark_counts array; the probes consume (delete) the mark
 * with the connection's next payload packet, or its close, and increment index SONDE_H2_MARKS_USED.
 * Only while the two differ do packets of connections without HTTP/2 state look marks up. */
#define SONDE_H2_MARKS_MAX 4096
#define SONDE_H2_MARKS_MADE 0
#define SONDE_H2_MARKS_USED 1
#define SONDE_H2_SOCKS 2 /* same array: sockets the probes gave HTTP/2 state (none yet: no lookups) */

/* sonde_thread_reads map (array): slot tid % SONDE_THREAD_SLOTS, value struct sonde_thread_reads.
 * Written by raw tracepoint tcp_rcv_space_adjust (runs in the reading thread when TCP copies
 * received data to it); read by the egress and connect probes of the same thread. */
#define SONDE_THREAD_SLOTS (1 << 17)
struct sonde_thread_reads {
	__u32 tid;                 /* the thread the slot holds */
	__u32 _pad;
	__u64 sk[SONDE_CTX_SOCKS]; /* distinct kernel socket addresses, most recently read first */
};

#endif
