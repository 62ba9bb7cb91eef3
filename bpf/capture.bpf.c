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
	return 0;
}

/* One reserve size per class keeps small packets' records small; the verifier needs a constant
 * size for bpf_ringbuf_reserve, and copy lengths bounded by it. */
#define EMIT_CLASS(CAP)                                                                    \
	static __always_inline int emit_##CAP(struct __sk_buff *skb, struct pkt *p, __u32 head, \
					      __u8 dir, __u64 sk)                                      \
	{                                                                                      \
		struct sonde_payload_event *e =                                                    \
			bpf_ringbuf_reserve(&sonde_events, sizeof(*e) + CAP, 0);                       \
		if (!e)                                                                            \
			return -1;                                                                     \
		fill_and_submit(skb, p, head > CAP ? CAP : head, dir, sk, e, CAP);                 \
		return 0;                                                                          \
	}

static __always_inline void fill_and_submit(struct __sk_buff *skb, struct pkt *p, __u32 head, __u8 dir,
					    __u64 sk, struct sonde_payload_event *e, __u32 cap)
{
	e->kind = SONDE_REC_PAYLOAD;
	e->direction = dir;
	e->ts_ns = bpf_ktime_get_ns();
	e->cookie = bpf_get_socket_cookie(skb);
	e->sk = sk;
	e->seq = p->seq;
	e->len = p->len;
	e->flags = 0;
	e->pid = 0;
	e->tid = 0;
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
EMIT_CLASS(256)
EMIT_CLASS(1024)

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
	if (sonde_cfg.flags & SONDE_CFG_MESSAGE_START_ONLY) {
		__u32 w = 0;
		if (p.len < 4 || bpf_skb_load_bytes(skb, p.off, &w, 4) || !message_start(w)) {
			st->filtered++;
			return 1;
		}
	}
	__u64 sk = skb->sk ? ptr_to_scalar(skb->sk) : 0;
	__u32 head = p.len < sonde_cfg.capture_bytes ? p.len : sonde_cfg.capture_bytes;
	int err;
	if (head <= 64)
		err = emit_64(skb, &p, head, dir, sk);
	else if (head <= 256)
		err = emit_256(skb, &p, head, dir, sk);
	else
		err = emit_1024(skb, &p, head, dir, sk);
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

enum { TCP_SYN_SENT = 2, TCP_LISTEN = 10 };

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
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	st->conn_events++;
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
