// SPDX-License-Identifier: GPL-2.0
/* Sonde capture probes. Why these hooks: see README.md in this folder.
 *  - cgroup_skb/ingress + cgroup_skb/egress (on the cgroup v2 root): head + tail of every
 *    payload-carrying TCP packet, with socket cookie, TCP seq, and pid on task-owned egress.
 *  - tracepoint sock:inet_sock_set_state: TCP connection lifecycle and byte counts.
 *  - cgroup/connect4 + cgroup/connect6: the pid and comm of tasks that open connections. */
#include "sonde_core.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "sonde.h"

char LICENSE[] SEC("license") = "GPL";

const volatile struct sonde_config sonde_cfg = {
	.capture_bytes = 256,
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* the agent resizes it before load */
} sonde_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sonde_stats);
} sonde_stats SEC(".maps");

static __always_inline struct sonde_stats *stats(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&sonde_stats, &zero);
}

/* Pointers from the context cannot take part in arithmetic; copying one through the stack with
 * bpf_probe_read_kernel turns it into a plain number that CO-RE reads can start from. */
static __always_inline __u64 ptr_to_scalar(const void *p)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), &p);
	return v;
}

static __always_inline void v4_mapped(__u8 *dst, __u32 be_addr)
{
	__u32 *w = (__u32 *)dst;
	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0x0000ffff);
	w[3] = be_addr;
}

static __always_inline int port_allowed(__u16 a, __u16 b)
{
	__u32 n = sonde_cfg.nports;
	if (n == 0)
		return 1;
	for (int i = 0; i < SONDE_MAX_PORTS; i++) {
		if (i >= n)
			break;
		if (sonde_cfg.ports[i] == a || sonde_cfg.ports[i] == b)
			return 1;
	}
	return 0;
}

/* HTTP/1 request methods, "HTTP" (a response) and "PRI " (the HTTP/2 preface). */
static __always_inline int message_start(__u32 w)
{
	switch (w) {
	case 0x20544547: /* "GET " */
	case 0x54534f50: /* "POST" */
	case 0x20545550: /* "PUT " */
	case 0x44414548: /* "HEAD" */
	case 0x454c4544: /* "DELE" */
	case 0x4954504f: /* "OPTI" */
	case 0x43544150: /* "PATC" */
	case 0x4e4e4f43: /* "CONN" */
	case 0x43415254: /* "TRAC" */
	case 0x50545448: /* "HTTP" */
	case 0x20495250: /* "PRI " */
		return 1;
	}
	return 0;
}

struct pkt {
	__u32 seq;
	__u32 off;   /* payload offset from the network header */
	__u32 len;   /* payload length */
	__u32 request; /* the payload starts an HTTP/1 request: egress records carry the thread's reads */
};

/* Parses the IPv4/IPv6 + TCP headers at the start of skb (cgroup_skb data begins at the network
 * header). Returns 0 for a TCP packet with payload. IPv6 extension headers are not followed. */
static __always_inline int parse_tcp(struct __sk_buff *skb, struct pkt *p)
{
	__u32 l4;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		__u8 vihl, proto;
		if (bpf_skb_load_bytes(skb, 0, &vihl, 1) || bpf_skb_load_bytes(skb, 9, &proto, 1))
			return -1;
		if (proto != IPPROTO_TCP)
			return -1;
		l4 = (vihl & 0xf) * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		__u8 nexthdr;
		if (bpf_skb_load_bytes(skb, 6, &nexthdr, 1) || nexthdr != IPPROTO_TCP)
			return -1;
		l4 = 40;
	} else {
		return -1;
	}
	struct {
		__u32 seq;
		__u32 ack;
		__u8 doff;
	} th;
	if (bpf_skb_load_bytes(skb, l4 + 4, &th, 9))
		return -1;
	__u32 hl = l4 + (th.doff >> 4) * 4;
	if (skb->len <= hl)
		return -1;
	p->seq = bpf_ntohl(th.seq);
	p->off = hl;
	p->len = skb->len - hl;
	p->request = 0;
	return 0;
}

/* One reserve size per class keeps small packets' records small; the verifier needs a constant
 * size for bpf_ringbuf_reserve, and copy lengths bounded by it. */
#define EMIT_CLASS(CAP)                                                                    \
	static __always_inline int emit_##CAP(struct __sk_buff *skb, struct pkt *p, __u32 head, \
					      __u8 dir)                                                \
	{                                                                                      \
		struct sonde_payload_event *e =                                                    \
			bpf_ringbuf_reserve(&sonde_events, sizeof(*e) + CAP, 0);                       \
		if (!e)                                                                            \
			return -1;                                                                     \
		fill_and_submit(skb, p, head > CAP ? CAP : head, dir, e, CAP);                     \
		return 0;                                                                          \
	}

/* Per thread: the TCP sockets it read from last (see sonde.h), in the slot tid % SONDE_THREAD_SLOTS.
 * An array: its lookups compile to an address computation, where a hash (or task storage) lookup
 * cost this hook more than the rest of its work (measured about 280 → 170 ns per run, 117 ns of it
 * the invocation itself). Threads whose ids collide on a slot take it over; the owner's tid in the
 * slot keeps the other from reading it. A thread id reused by a new thread inherits the old list
 * until its first read (its sockets are checked against live connections in user space). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SONDE_THREAD_SLOTS);
	__type(key, __u32);
	__type(value, struct sonde_thread_reads);
} sonde_thread_reads SEC(".maps");

static __always_inline struct sonde_thread_reads *thread_slot(__u32 tid)
{
	__u32 slot = tid & (SONDE_THREAD_SLOTS - 1);
	return bpf_map_lookup_elem(&sonde_thread_reads, &slot);
}

/* The reads of thread `tid` into dst (zeros when it has none recorded). */
static __always_inline void copy_thread_reads(__u32 tid, __u64 *dst)
{
	struct sonde_thread_reads *r = thread_slot(tid);
	int mine = r && r->tid == tid;
	for (int i = 0; i < SONDE_CTX_SOCKS; i++)
		dst[i] = mine ? r->sk[i] : 0;
}

/* Everything of a payload record but its byte ranges: who, where, when. `request`: the packet starts
 * an HTTP/1 request, so a task-owned send also records what the sending thread read last. */
static __always_inline void fill_meta(struct __sk_buff *skb, __u8 dir, struct sonde_payload_event *e, int request)
{
	e->kind = SONDE_REC_PAYLOAD;
	e->direction = dir;
	e->ts_ns = bpf_ktime_get_ns();
	e->cookie = bpf_get_socket_cookie(skb);
	/* Storing a pointer is allowed to a loader with CAP_PERFMON (which probe reads need anyway);
	 * reading it back from the record gives the plain number a probe read starts from, without the
	 * bpf_probe_read_kernel that ptr_to_scalar costs. */
	e->sk = (__u64)skb->sk;
	e->flags = 0;
	e->pid = 0;
	e->tid = 0;
	e->extents = 0;
	e->_pad = 0;
	__u64 sk = *(volatile __u64 *)&e->sk;
	if (dir == SONDE_DIR_EGRESS && sk) {
		/* In egress, current is the sender only while a task owns the socket lock; transmits
		 * from softirq (ACK clocking, timers) run in some other task's context. */
		int owned = 0;
		bpf_core_read(&owned, sizeof(owned), &((struct sock *)sk)->sk_lock.owned);
		if (owned) {
			__u64 pt = bpf_get_current_pid_tgid();
			e->pid = pt >> 32;
			e->tid = (__u32)pt;
			e->flags = SONDE_F_PID_KNOWN;
		}
	}
	if (request && (e->flags & SONDE_F_PID_KNOWN)) {
		copy_thread_reads(e->tid, e->ctx_sk);
	} else {
		e->ctx_sk[0] = 0;
		e->ctx_sk[1] = 0;
		e->ctx_sk[2] = 0;
		e->ctx_sk[3] = 0;
	}
	e->lport = skb->local_port;
	e->rport = bpf_ntohs(skb->remote_port >> 16);
	if (skb->family == AF_INET) {
		e->family = 4;
		v4_mapped(e->laddr, skb->local_ip4);
		v4_mapped(e->raddr, skb->remote_ip4);
	} else {
		e->family = 6;
		__u32 *l = (__u32 *)e->laddr, *r = (__u32 *)e->raddr;
		l[0] = skb->local_ip6[0];
		l[1] = skb->local_ip6[1];
		l[2] = skb->local_ip6[2];
		l[3] = skb->local_ip6[3];
		r[0] = skb->remote_ip6[0];
		r[1] = skb->remote_ip6[1];
		r[2] = skb->remote_ip6[2];
		r[3] = skb->remote_ip6[3];
	}
}

static __always_inline void fill_and_submit(struct __sk_buff *skb, struct pkt *p, __u32 head, __u8 dir,
					    struct sonde_payload_event *e, __u32 cap)
{
	fill_meta(skb, dir, e, p->request);
	e->seq = p->seq;
	e->len = p->len;
	/* u64 lengths clamped after a compiler barrier, so the verifier sees the bounds on the very
	 * register passed to bpf_skb_load_bytes. */
	__u64 h = head;
	barrier_var(h);
	if (h > cap)
		h = cap;
	if (h < 1 || bpf_skb_load_bytes(skb, p->off, e->head, h))
		h = 0;
	e->head_len = h;
	__u64 t = 0;
	if (p->len > h) {
		t = p->len - h;
		barrier_var(t);
		if (t > SONDE_TAIL_BYTES)
			t = SONDE_TAIL_BYTES;
		if (t < 1 || bpf_skb_load_bytes(skb, p->off + p->len - t, e->tail, t))
			t = 0;
	}
	e->tail_len = t;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP); /* the agent drains on a timer, never waits */
}

EMIT_CLASS(64)
EMIT_CLASS(128)
EMIT_CLASS(256)
EMIT_CLASS(512)
EMIT_CLASS(1024)


/* ---- HTTP/2 framing ------------------------------------------------------------------------
 * For each direction of an HTTP/2 connection, each packet is walked frame header by frame header
 * (lengths say where the next one is, across packets); frame headers and the payloads of every
 * non-DATA frame (HEADERS, CONTINUATION, SETTINGS, ...) are copied, and of DATA only the first
 * SONDE_H2_DATA_PREFIX bytes (the gRPC message prefix). A packet becomes one SONDE_F_H2_FRAMED
 * record holding its copied extents; records describe the stream contiguously, so user space sees
 * skipped bytes as holes it crosses by frame lengths, never as missing packets. A packet wholly
 * inside a skipped DATA payload emits nothing: the next record reaches back over it. */

/* Where one direction's frames are. */
struct h2_dir {
	__u32 next_hdr;  /* TCP seq of the next frame header (of the split one when hdr_have > 0) */
	__u32 cap_end;   /* seq before which the current frame's bytes are copied */
	__u32 covered;   /* seq up to which records have described the stream */
	__u8 anchored;   /* 0: waiting for a packet starting with the preface or a frame header */
	__u8 hdr_have;   /* bytes of a frame header split across packets, kept in hdr[] */
	__u8 hdr[9];
};

/* Per socket (freed with it), only on HTTP/2 connections: any other connection's packets pay one
 * failed lookup on the socket itself. */
struct h2_sock {
	struct h2_dir dir[2]; /* by enum sonde_direction */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct h2_sock);
} sonde_h2_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SONDE_H2_MARKS_MAX);
	__type(key, __u64);
	__type(value, __u32);
} sonde_h2_marks SEC(".maps");

/* [SONDE_H2_MARKS_MADE] counts the agent's marks, [SONDE_H2_MARKS_USED] those the probes consumed
 * (a packet of the connection, or its close): while they differ, packets of connections without
 * HTTP/2 state look their cookie up in sonde_h2_marks. One writer each, so neither count is lost.
 * [SONDE_H2_SOCKS] counts sockets given HTTP/2 state: until there is one, no packet looks for it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} sonde_h2_mark_counts SEC(".maps");

static __always_inline __u64 *h2_marks_used_if_pending(void)
{
	__u32 made_key = SONDE_H2_MARKS_MADE, used_key = SONDE_H2_MARKS_USED;
	__u64 *made = bpf_map_lookup_elem(&sonde_h2_mark_counts, &made_key);
	__u64 *used = bpf_map_lookup_elem(&sonde_h2_mark_counts, &used_key);
	return made && used && *made != *used ? used : 0;
}

/* Consumes the mark of `cookie`, if the agent made one. */
static __always_inline int h2_take_mark(__u64 *used, __u64 cookie)
{
	if (bpf_map_delete_elem(&sonde_h2_marks, &cookie))
		return 0;
	__sync_fetch_and_add(used, 1);
	return 1;
}

/* The walk of one packet and the record it builds, in a per-CPU scratch slot: the walk's steps are
 * global functions (verified once each; a 64-step loop inlined would exceed the verifier's budget),
 * and a record of variable size is built here and copied out with bpf_ringbuf_output. Positions
 * are relative to the packet's first payload byte (signed: a record may start in earlier, skipped
 * packets). */
struct h2_walk {
	/* struct sonde_payload_event, copied bytes, then the extent table (written at flush) */
	__u8 rec[sizeof(struct sonde_payload_event) + 2 * SONDE_H2_MAX_RECORD];
	struct sonde_h2_extent ext[SONDE_H2_MAX_EXTENTS];
	__u32 n_ext;
	__u32 data_len;  /* copied bytes in rec */
	__u32 seq;       /* TCP seq of the packet's first payload byte */
	__u32 off;       /* skb offset of that byte */
	__u32 len;       /* payload length */
	__u32 hdr_have;  /* bytes of a split frame header in hdr[] */
	__s64 nh;        /* next frame header */
	__s64 ce;        /* copy the current frame up to here */
	__s64 rec_start; /* where the record being built starts */
	__s64 ext_end;   /* end of the last extent */
	__u64 copied;
	__u8 hdr[16];
};

/* A softirq may interrupt a process-context egress walk on the same CPU; softirqs do not nest. */
#define H2_NEST 2

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, H2_NEST);
	__type(key, __u32);
	__type(value, struct h2_walk);
} sonde_h2_walks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sonde_h2_depth SEC(".maps");

/* Sends the record built in `slot`: stream bytes [rec_start, end) with its extents; the next
 * record starts at `end`. Global: verified once. */
__attribute__((noinline)) int sonde_h2_flush(__u32 slot, __s64 end)
{
	struct h2_walk *w = bpf_map_lookup_elem(&sonde_h2_walks, &slot);
	struct sonde_stats *st = stats();
	if (!w || !st)
		return 0;
	struct sonde_payload_event *e = (void *)w->rec;
	__u32 n = w->n_ext, dl = w->data_len;
	if (n > SONDE_H2_MAX_EXTENTS)
		n = SONDE_H2_MAX_EXTENTS;
	if (dl > SONDE_H2_MAX_RECORD)
		dl = SONDE_H2_MAX_RECORD;
	for (__u32 i = 0; i < SONDE_H2_MAX_EXTENTS && i < n; i++)
		__builtin_memcpy(w->rec + sizeof(*e) + dl + i * sizeof(struct sonde_h2_extent), &w->ext[i], sizeof(struct sonde_h2_extent));
	e->seq = w->seq + (__u32)w->rec_start;
	e->len = (__u32)(end - w->rec_start);
	e->head_len = dl;
	e->extents = n;
	__u64 size = sizeof(*e) + dl + n * sizeof(struct sonde_h2_extent);
	barrier_var(size);
	if (size > sizeof(w->rec))
		size = sizeof(w->rec);
	if (bpf_ringbuf_output(&sonde_events, w->rec, size, BPF_RB_NO_WAKEUP))
		st->dropped++;
	else
		st->payload_events++;
	w->rec_start = end;
	w->n_ext = 0;
	w->data_len = 0;
	return 0;
}

/* Packet bytes from x on must be copied: they extend the last extent when only a short skipped
 * span separates them (copied too: the returned start is then before x), or start a new one. */
static __always_inline __s64 h2_extent_at(__u32 slot, struct h2_walk *w, __s64 x)
{
	if (w->n_ext > 0 && x >= w->ext_end && x - w->ext_end < SONDE_H2_MIN_SKIP)
		return w->ext_end;
	if (w->n_ext >= SONDE_H2_MAX_EXTENTS)
		sonde_h2_flush(slot, x);
	__u32 k = w->n_ext;
	if (k < SONDE_H2_MAX_EXTENTS) {
		w->ext[k].off = (__u32)(x - w->rec_start);
		w->ext[k].len = 0;
		w->n_ext = k + 1;
	}
	return x;
}

/* Appends packet bytes [x, y) to the last extent; a full record is sent and continued. */
static __always_inline void h2_copy_bytes(struct __sk_buff *skb, __u32 slot, struct h2_walk *w, __s64 x, __s64 y)
{
	for (int i = 0; i < 4 && x < y; i++) { /* beyond 4 records' worth, the rest is a hole */
		__u64 dl = w->data_len;
		if (dl >= SONDE_H2_MAX_RECORD) {
			sonde_h2_flush(slot, x);
			w->ext[0].off = 0;
			w->ext[0].len = 0;
			w->n_ext = 1;
			dl = 0;
		}
		barrier_var(dl);
		dl &= SONDE_H2_MAX_RECORD - 1; /* a no-op (dl < SONDE_H2_MAX_RECORD) that shows the verifier */
		__u64 n = y - x;
		if (n > SONDE_H2_MAX_RECORD - dl)
			n = SONDE_H2_MAX_RECORD - dl;
		barrier_var(n);
		if (n < 1 || n > SONDE_H2_MAX_RECORD ||
		    bpf_skb_load_bytes(skb, w->off + (__u32)x, w->rec + sizeof(struct sonde_payload_event) + dl, n))
			break;
		__u32 k = w->n_ext - 1;
		if (k < SONDE_H2_MAX_EXTENTS)
			w->ext[k].len += n;
		w->data_len = dl + n;
		w->copied += n;
		x += n;
	}
	w->ext_end = x;
}

/* Packet bytes [x, y) must be copied. */
static __always_inline void h2_copy(struct __sk_buff *skb, __u32 slot, struct h2_walk *w, __s64 x, __s64 y)
{
	if (y > x)
		h2_copy_bytes(skb, slot, w, h2_extent_at(slot, w, x), y);
}

/* Bytes read at the start of each frame: its header, and all of a DATA header + gRPC prefix or a
 * small control frame, so most frames cost one bpf_skb_load_bytes. */
#define H2_PEEK 32

/* Packet bytes [x, y) must be copied, and [x, x + H2_PEEK) are already in `b`. */
static __always_inline void h2_copy_peeked(struct __sk_buff *skb, __u32 slot, struct h2_walk *w, __s64 x, __s64 y,
					   const __u8 *b)
{
	if (y <= x)
		return;
	__s64 start = h2_extent_at(slot, w, x);
	h2_copy_bytes(skb, slot, w, start, x); /* a short skipped span before x, copied too */
	__s64 in_b = x + H2_PEEK < y ? x + H2_PEEK : y;
	__u64 dl = w->data_len;
	if (w->ext_end != x || dl + H2_PEEK > SONDE_H2_MAX_RECORD) {
		h2_copy_bytes(skb, slot, w, x, y);
		return;
	}
	barrier_var(dl);
	dl &= SONDE_H2_MAX_RECORD - 1;
	__builtin_memcpy(w->rec + sizeof(struct sonde_payload_event) + dl, b, H2_PEEK); /* constant size: plain moves */
	__u32 n = in_b - x, k = w->n_ext - 1;
	if (k < SONDE_H2_MAX_EXTENTS)
		w->ext[k].len += n;
	w->data_len = dl + n;
	w->copied += n;
	w->ext_end = in_b;
	h2_copy_bytes(skb, slot, w, in_b, y);
}

static __always_inline __u32 frame_len(const __u8 *b)
{
	return ((__u32)b[0] << 16) | ((__u32)b[1] << 8) | b[2];
}

/* From a frame header at h: where the next header starts and up to where this frame is copied. */
static __always_inline void h2_frame(const __u8 *b, __s64 h, struct h2_walk *w)
{
	__s64 len = frame_len(b);
	__u8 type = b[3];
	__s64 body = h + 9;
	w->nh = body + len;
	if (type == 0) { /* DATA: the pad length byte when PADDED, then the gRPC prefix */
		__s64 want = SONDE_H2_DATA_PREFIX + ((b[4] & 0x8) ? 1 : 0);
		w->ce = body + (len < want ? len : want);
	} else if (type <= 9) {
		w->ce = w->nh;
	} else {
		w->ce = body; /* unknown extension frame: skipped by length */
	}
}

/* Start of a packet: completes a frame header split across packets, or copies the rest of the
 * current frame. Returns 1 when the packet is used up (the header is still incomplete). */
__attribute__((noinline)) int sonde_h2_begin(struct __sk_buff *skb, __u32 slot)
{
	struct h2_walk *w = bpf_map_lookup_elem(&sonde_h2_walks, &slot);
	if (!w)
		return 1;
	__s64 L = w->len, pos = w->rec_start > 0 ? w->rec_start : 0;
	if (!w->hdr_have) {
		h2_copy(skb, slot, w, pos, w->ce < L ? w->ce : L);
		return 0;
	}
	__u32 have = w->hdr_have;
	if (have > 8)
		have = 8;
	__u8 b[8] = {};
	__s64 n = 9 - have;
	if (n > L - pos)
		n = L - pos;
	__u64 nl = n;
	barrier_var(nl);
	if (nl < 1 || nl > 8 || bpf_skb_load_bytes(skb, w->off + (__u32)pos, b, nl))
		return 1;
	for (int j = 0; j < 8; j++) {
		__u32 at = have + j;
		barrier_var(at);
		if (j < nl && at < 9)
			w->hdr[at] = b[j];
	}
	h2_copy(skb, slot, w, pos, pos + nl);
	if (have + nl < 9) {
		w->hdr_have = have + nl;
		return 1;
	}
	w->hdr_have = 0;
	h2_frame(w->hdr, w->nh, w);
	h2_copy(skb, slot, w, pos + nl, w->ce < L ? w->ce : L);
	return 0;
}

/* Walks the frame header at w->nh. Returns 1 when the packet holds no further header. */
__attribute__((noinline)) int sonde_h2_step(struct __sk_buff *skb, __u32 slot)
{
	struct h2_walk *w = bpf_map_lookup_elem(&sonde_h2_walks, &slot);
	if (!w)
		return 1;
	__s64 L = w->len, h = w->nh;
	if (h >= L)
		return 1;
	if (h + 9 > L) {
		/* The header continues in the next packet: keep its first bytes. */
		__u64 n = L - h;
		barrier_var(n);
		if (n < 1 || n > 8 || bpf_skb_load_bytes(skb, w->off + (__u32)h, w->hdr, n))
			return 1;
		w->hdr_have = n;
		h2_copy(skb, slot, w, h, L);
		return 1;
	}
	__u8 b[H2_PEEK] = {}; /* initialised: older verifiers refuse reading stack a variable-size load may not have written */
	__u64 n = L - h;
	if (n > H2_PEEK)
		n = H2_PEEK;
	barrier_var(n);
	if (n < 9 || n > H2_PEEK || bpf_skb_load_bytes(skb, w->off + (__u32)h, b, n))
		return 1;
	h2_frame(b, h, w);
	h2_copy_peeked(skb, slot, w, h, w->ce < L ? w->ce : L, b);
	return 0;
}

/* A frame header the kernel may anchor on (RFC 9113 section 6 rules; default max frame size). */
static __always_inline int h2_plausible(const __u8 *b)
{
	__u32 len = frame_len(b);
	__u8 type = b[3], flags = b[4];
	if (len > 16384 || (b[5] & 0x80))
		return 0;
	int stream0 = !(b[5] | b[6] | b[7] | b[8]);
	switch (type) {
	case 0: /* DATA */
		return !(flags & ~0x09) && !stream0;
	case 1: /* HEADERS */
		return !(flags & ~0x2d) && !stream0;
	case 2: /* PRIORITY */
		return !flags && !stream0 && len == 5;
	case 3: /* RST_STREAM */
		return !flags && !stream0 && len == 4;
	case 4: /* SETTINGS */
		return !(flags & ~0x01) && stream0 && len % 6 == 0 && (!(flags & 1) || len == 0);
	case 5: /* PUSH_PROMISE */
		return !(flags & ~0x0c) && !stream0;
	case 6: /* PING */
		return !(flags & ~0x01) && stream0 && len == 8;
	case 7: /* GOAWAY */
		return !flags && stream0 && len >= 8;
	case 8: /* WINDOW_UPDATE */
		return !flags && len == 4;
	}
	return 0; /* CONTINUATION cannot start a sequence; unknown types are not trusted */
}

static __always_inline int h2_preface(struct __sk_buff *skb, struct pkt *p)
{
	__u64 w[3];
	if (p->len < 24 || bpf_skb_load_bytes(skb, p->off, w, 24))
		return 0;
	/* "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" */
	return w[0] == 0x5448202a20495250ULL && w[1] == 0x0a0d302e322f5054ULL && w[2] == 0x0a0d0a0d4d530a0dULL;
}

/* Anchors a direction at this packet when it starts with the preface or a plausible frame header
 * (and, when the packet holds it, a plausible next header). */
static __always_inline int h2_anchor(struct __sk_buff *skb, struct pkt *p, struct h2_dir *s)
{
	__u32 first = p->seq;
	if (h2_preface(skb, p)) {
		first += 24;
	} else {
		__u8 b[9];
		if (p->len < 9 || bpf_skb_load_bytes(skb, p->off, b, 9) || !h2_plausible(b))
			return 0;
		__u32 next = 9 + frame_len(b);
		if (next + 9 <= p->len && (bpf_skb_load_bytes(skb, p->off + next, b, 9) || !h2_plausible(b)))
			return 0;
	}
	s->next_hdr = first;
	s->cap_end = first;
	s->covered = p->seq;
	s->hdr_have = 0;
	s->anchored = 1;
	return 1;
}

/* Walks the packet in scratch slot `slot` and updates the direction's state. */
static __always_inline void h2_walk(struct __sk_buff *skb, struct pkt *p, __u8 dir, struct h2_dir *s,
				    struct sonde_stats *st, __u32 slot, __s64 cov)
{
	struct h2_walk *w = bpf_map_lookup_elem(&sonde_h2_walks, &slot);
	if (!w)
		return;
	struct sonde_payload_event *e = (void *)w->rec;
	/* Egress HTTP/2 records from a task carry its reads too: one may hold a call's HEADERS frame. */
	fill_meta(skb, dir, e, dir == SONDE_DIR_EGRESS);
	e->flags |= SONDE_F_H2_FRAMED;
	e->tail_len = 0;
	__s64 L = p->len;
	w->seq = p->seq;
	w->off = p->off;
	w->len = p->len;
	w->nh = (__s32)(s->next_hdr - p->seq);
	w->ce = (__s32)(s->cap_end - p->seq);
	w->rec_start = cov;
	w->ext_end = cov;
	w->n_ext = 0;
	w->data_len = 0;
	w->copied = 0;
	w->hdr_have = s->hdr_have;
	__builtin_memcpy(w->hdr, s->hdr, 9);
	int boundary = w->nh <= L; /* a frame ends in this packet: its record must not wait */
	int i = 0;
	if (!sonde_h2_begin(skb, slot)) {
		for (; i < SONDE_H2_MAX_FRAMES; i++)
			if (sonde_h2_step(skb, slot))
				break;
	}
	if (i == SONDE_H2_MAX_FRAMES && w->nh < L && !w->hdr_have) {
		/* More frames than one walk follows: copy a stretch, and re-anchor on a later packet. */
		h2_copy(skb, slot, w, w->nh, L);
		s->anchored = 0;
		st->h2_desyncs++;
	}
	if (w->n_ext || boundary)
		sonde_h2_flush(slot, L);
	s->covered = p->seq + (__u32)w->rec_start;
	s->next_hdr = p->seq + (__u32)w->nh;
	s->cap_end = p->seq + (__u32)w->ce;
	s->hdr_have = w->hdr_have;
	__builtin_memcpy(s->hdr, w->hdr, 9);
	__s64 pos = cov > 0 ? cov : 0;
	st->h2_packets++;
	st->h2_skipped += L - pos - w->copied;
}

/* The client preface starts this packet, one of the first SONDE_H2_PREFACE_PACKETS of its direction
 * (h2c sends it after the 101). `first` is the packet's first 4 bytes. */
#define H2_PRI 0x20495250 /* "PRI " */

static __always_inline int h2_starts(struct __sk_buff *skb, struct pkt *p, __u8 dir, struct bpf_sock *sk, __u32 first)
{
	if (first != H2_PRI || !h2_preface(skb, p))
		return 0;
	struct bpf_tcp_sock *tp = bpf_tcp_sock(sk);
	if (!tp)
		return 0;
	/* Egress runs after TCP counted the segment, ingress before. */
	__u32 nth = dir == SONDE_DIR_EGRESS ? tp->data_segs_out : tp->data_segs_in + 1;
	return nth <= SONDE_H2_PREFACE_PACKETS;
}

/* Returns 1 when the packet was handled as HTTP/2 (records emitted, or none needed), 0 when it
 * takes the ordinary path (not HTTP/2, or boundaries not known yet). */
static __always_inline int h2_packet(struct __sk_buff *skb, struct pkt *p, __u8 dir, struct sonde_stats *st,
				     __u32 first)
{
	__u32 socks_key = SONDE_H2_SOCKS;
	__u64 *socks = bpf_map_lookup_elem(&sonde_h2_mark_counts, &socks_key);
	__u64 *used = h2_marks_used_if_pending();
	if (!socks || !*socks && !used && first != H2_PRI)
		return 0; /* no HTTP/2 connection yet, none marked, and this is no preface: no helper call */
	struct bpf_sock *sk = skb->sk;
	if (!sk)
		return 0;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 0;
	struct h2_sock *hs = *socks ? bpf_sk_storage_get(&sonde_h2_socks, sk, 0, 0) : 0;
	if (!hs) {
		if (!(used && h2_take_mark(used, bpf_get_socket_cookie(skb))) && !h2_starts(skb, p, dir, sk, first))
			return 0;
		hs = bpf_sk_storage_get(&sonde_h2_socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!hs)
			return 0;
		__sync_fetch_and_add(socks, 1);
	}
	struct h2_dir *s = &hs->dir[dir & 1];
	__s64 cov = 0;
	if (s->anchored) {
		cov = (__s32)(s->covered - p->seq);
		if (cov >= p->len)
			return 1; /* a retransmit of bytes already described */
		/* Bytes before this packet are missing (reordering): fine only if they were to be skipped. */
		if (cov < 0 && (s->hdr_have || (__s32)(s->cap_end - s->covered) > 0 || (__s32)(s->next_hdr - p->seq) < 0)) {
			s->anchored = 0;
			st->h2_desyncs++;
		}
	}
	if (!s->anchored) {
		if (!h2_anchor(skb, p, s))
			return 0;
		st->h2_anchors++;
		cov = 0;
	}
	__u32 zero = 0;
	__u32 *depth = bpf_map_lookup_elem(&sonde_h2_depth, &zero);
	if (!depth)
		return 0;
	__u32 slot = *depth;
	if (slot >= H2_NEST)
		return 0;
	*depth = slot + 1;
	h2_walk(skb, p, dir, s, st, slot, cov);
	*depth = slot;
	return 1;
}

static __always_inline int on_skb(struct __sk_buff *skb, __u8 dir)
{
	if (sonde_cfg.flags & SONDE_CFG_NO_PAYLOAD)
		return 1;
	struct pkt p;
	if (parse_tcp(skb, &p))
		return 1;
	struct sonde_stats *st = stats();
	if (!st)
		return 1;
	if (!port_allowed(skb->local_port, bpf_ntohs(skb->remote_port >> 16)) ||
	    (sonde_cfg.cgroup_id && bpf_skb_cgroup_id(skb) != sonde_cfg.cgroup_id)) {
		st->filtered++;
		return 1;
	}
	/* The first 4 payload bytes: the preface test, the message-start filter and (egress) the
	 * request-start test look at them. */
	__u32 first = 0;
	if ((dir == SONDE_DIR_EGRESS || (sonde_cfg.flags & (SONDE_CFG_HTTP2 | SONDE_CFG_MESSAGE_START_ONLY))) && p.len >= 4)
		bpf_skb_load_bytes(skb, p.off, &first, 4);
	p.request = dir == SONDE_DIR_EGRESS && first != 0x50545448 /* "HTTP" */ && first != 0x20495250 /* "PRI " */ &&
		    message_start(first);
	if ((sonde_cfg.flags & SONDE_CFG_HTTP2) && h2_packet(skb, &p, dir, st, first))
		return 1;
	if ((sonde_cfg.flags & SONDE_CFG_MESSAGE_START_ONLY) && !message_start(first)) {
		st->filtered++;
		return 1;
	}
	__u32 head = p.len < sonde_cfg.capture_bytes ? p.len : sonde_cfg.capture_bytes;
	int err;
	if (head <= 64)
		err = emit_64(skb, &p, head, dir);
	else if (head <= 128)
		err = emit_128(skb, &p, head, dir);
	else if (head <= 256)
		err = emit_256(skb, &p, head, dir);
	else if (head <= 512)
		err = emit_512(skb, &p, head, dir);
	else
		err = emit_1024(skb, &p, head, dir);
	if (err)
		st->dropped++;
	else
		st->payload_events++;
	return 1; /* never drop traffic */
}

SEC("cgroup_skb/ingress")
int sonde_skb_in(struct __sk_buff *skb)
{
#ifdef SONDE_TEST_VERIFIER_REJECT
	/* Test builds only (test/ebpf/errors.test.ts): a context access at a variable offset, which the
	 * verifier must refuse, to prove its log reaches the user. */
	return *(__u32 *)((char *)skb + (skb->len & 0xff));
#endif
	return on_skb(skb, SONDE_DIR_INGRESS);
}

SEC("cgroup_skb/egress")
int sonde_skb_eg(struct __sk_buff *skb)
{
	return on_skb(skb, SONDE_DIR_EGRESS);
}

static __always_inline struct sonde_conn_event *conn_reserve(struct sonde_stats *st)
{
	struct sonde_conn_event *e = bpf_ringbuf_reserve(&sonde_events, sizeof(*e), 0);
	if (!e) {
		st->dropped++;
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = SONDE_REC_CONN;
	e->ts_ns = bpf_ktime_get_ns();
	return e;
}

static __always_inline void set_task(struct sonde_conn_event *e)
{
	__u64 pt = bpf_get_current_pid_tgid();
	e->pid = pt >> 32;
	e->tid = (__u32)pt;
	e->flags |= SONDE_F_PID_KNOWN;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

enum { TCP_SYN_SENT = 2, TCP_CLOSE = 7, TCP_LISTEN = 10 };

SEC("tracepoint/sock/inet_sock_set_state")
int sonde_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP || ctx->oldstate == TCP_LISTEN && ctx->newstate != 3 /* SYN_RECV */)
		return 0;
	if (ctx->newstate == TCP_LISTEN)
		return 0;
	struct sonde_stats *st = stats();
	if (!st)
		return 0;
	struct sonde_conn_event *e = conn_reserve(st);
	if (!e)
		return 0;
	const struct sock *sk = ctx->skaddr;
	e->event = SONDE_CONN_STATE;
	e->oldstate = ctx->oldstate;
	e->newstate = ctx->newstate;
	e->sk = (__u64)sk;
	e->cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	/* Payload only: rcv_nxt (and so bytes_received) also advances over the peer's FIN; bytes_sent
	 * counts retransmitted payload again. */
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u64 fin = (BPF_CORE_READ(sk, __sk_common.skc_flags) >> SOCK_DONE) & 1;
	__u64 rx = BPF_CORE_READ(tp, bytes_received);
	e->bytes_received = rx >= fin ? rx - fin : 0;
	e->bytes_sent = BPF_CORE_READ(tp, bytes_sent) - BPF_CORE_READ(tp, bytes_retrans);
	e->lport = ctx->sport;
	e->rport = ctx->dport;
	if (ctx->family == AF_INET) {
		__u32 s = 0, d = 0;
		bpf_probe_read_kernel(&s, 4, ctx->saddr);
		bpf_probe_read_kernel(&d, 4, ctx->daddr);
		e->family = 4;
		v4_mapped(e->laddr, s);
		v4_mapped(e->raddr, d);
	} else {
		e->family = 6;
		bpf_probe_read_kernel(e->laddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(e->raddr, 16, ctx->daddr_v6);
	}
	/* Only the move to SYN_SENT is known to run in the connecting task; other transitions can run
	 * in softirq on behalf of whichever task was interrupted. */
	if (ctx->newstate == TCP_SYN_SENT)
		set_task(e);
	if (e->newstate == TCP_CLOSE && e->cookie) {
		/* A mark the connection's packets never consumed must not keep marks pending. */
		__u64 *used = h2_marks_used_if_pending();
		if (used)
			h2_take_mark(used, e->cookie);
	}
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	st->conn_events++;
	return 0;
}

/* Runs in the reading thread whenever TCP copies received data to it (tcp_recvmsg calls
 * tcp_rcv_space_adjust after each copied chunk: read, recv*, readv; not a syscall tracepoint, so
 * tasks stay on the fast syscall path; splice and in-kernel readers such as kTLS also call it, in
 * whatever task runs them: rare, and that task's list is corrected by its next own read). Keeps, per thread, the last distinct TCP sockets it read
 * from: a request it sends next is a call made while serving the newest of them that is a server
 * connection (or, through the agent, a chain of calls leading to one).
 * A raw tracepoint on a TCP-only event: the program gets the socket without a trace record being
 * filled and without reading the socket's family or protocol. */
SEC("raw_tp/tcp_rcv_space_adjust")
int sonde_recv(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 sk = ctx->args[0];
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sonde_thread_reads *r = thread_slot(tid);
	if (!r)
		return 0;
	if (r->tid != tid) {
		/* A new thread (or one whose slot another thread took): start its list. */
		r->tid = tid;
		r->sk[0] = sk;
		r->sk[1] = 0;
		r->sk[2] = 0;
		r->sk[3] = 0;
		return 0;
	}
	if (r->sk[0] == sk)
		return 0; /* the common case: more reads of the same socket */
	/* Move to front: shift the sockets read more recently than sk's previous place (or all). */
	__u64 a = r->sk[0], b = r->sk[1], c = r->sk[2];
	r->sk[0] = sk;
	r->sk[1] = a;
	if (b != sk) {
		r->sk[2] = b;
		if (c != sk)
			r->sk[3] = c;
	}
	return 0;
}

static __always_inline int on_connect(struct bpf_sock_addr *ctx, int v6)
{
	if (ctx->type != SOCK_STREAM || ctx->protocol != IPPROTO_TCP)
		return 1;
	struct sonde_stats *st = stats();
	if (!st)
		return 1;
	struct sonde_conn_event *e = conn_reserve(st);
	if (!e)
		return 1;
	e->event = SONDE_CONN_CONNECT;
	/* A call's connection is opened by the thread serving the request that makes it (event loops
	 * may send the request itself later, after other reads). */
	copy_thread_reads((__u32)bpf_get_current_pid_tgid(), e->ctx_sk);
	e->cookie = bpf_get_socket_cookie(ctx);
	e->sk = ctx->sk ? ptr_to_scalar(ctx->sk) : 0;
	e->rport = bpf_ntohs((__u16)ctx->user_port);
	if (v6) {
		__u32 *r = (__u32 *)e->raddr;
		e->family = 6;
		r[0] = ctx->user_ip6[0];
		r[1] = ctx->user_ip6[1];
		r[2] = ctx->user_ip6[2];
		r[3] = ctx->user_ip6[3];
	} else {
		e->family = 4;
		v4_mapped(e->raddr, ctx->user_ip4);
	}
	set_task(e);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	st->conn_events++;
	return 1; /* never refuse the connect */
}

SEC("cgroup/connect4")
int sonde_conn4(struct bpf_sock_addr *ctx)
{
	return on_connect(ctx, 0);
}

SEC("cgroup/connect6")
int sonde_conn6(struct bpf_sock_addr *ctx)
{
	return on_connect(ctx, 1);
}
