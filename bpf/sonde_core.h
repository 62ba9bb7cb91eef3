/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* The few kernel types Sonde's probes use, written by hand instead of a generated vmlinux.h.
 * - Fixed-width integer types and the BPF constants the probes use.
 * - UAPI program contexts (__sk_buff, bpf_sock, bpf_sock_addr): their layout is a stable kernel
 *   ABI (the verifier rewrites accesses by offset), so they are copied verbatim, prefix only.
 * - Kernel-internal structs marked preserve_access_index: only the fields used; libbpf relocates
 *   every access against the running kernel's BTF (CO-RE), so their offsets here do not matter. */
#ifndef SONDE_CORE_H
#define SONDE_CORE_H

typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

enum {
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_SK_STORAGE = 24,
	BPF_MAP_TYPE_RINGBUF = 27,
};
#define BPF_RB_NO_WAKEUP (1ULL << 0)
#define BPF_F_NO_PREALLOC (1U << 0)
#define BPF_SK_STORAGE_GET_F_CREATE (1ULL << 0)

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define SOCK_STREAM 1
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

#define __bpf_md_ptr(type, name) \
	union {                      \
		type name;               \
		__u64 : 64;              \
	} __attribute__((aligned(8)))

struct bpf_sock;
struct bpf_flow_keys;

/* UAPI (include/uapi/linux/bpf.h). */
struct __sk_buff {
	__u32 len;
	__u32 pkt_type;
	__u32 mark;
	__u32 queue_mapping;
	__u32 protocol;
	__u32 vlan_present;
	__u32 vlan_tci;
	__u32 vlan_proto;
	__u32 priority;
	__u32 ingress_ifindex;
	__u32 ifindex;
	__u32 tc_index;
	__u32 cb[5];
	__u32 hash;
	__u32 tc_classid;
	__u32 data;
	__u32 data_end;
	__u32 napi_id;
	__u32 family;
	__u32 remote_ip4;
	__u32 local_ip4;
	__u32 remote_ip6[4];
	__u32 local_ip6[4];
	__u32 remote_port;
	__u32 local_port;
	__u32 data_meta;
	__bpf_md_ptr(struct bpf_flow_keys *, flow_keys);
	__u64 tstamp;
	__u32 wire_len;
	__u32 gso_segs;
	__bpf_md_ptr(struct bpf_sock *, sk);
};

/* UAPI (include/uapi/linux/bpf.h), prefix. */
struct bpf_tcp_sock {
	__u32 snd_cwnd;
	__u32 srtt_us;
	__u32 rtt_min;
	__u32 snd_ssthresh;
	__u32 rcv_nxt;
	__u32 snd_nxt;
	__u32 snd_una;
	__u32 mss_cache;
	__u32 ecn_flags;
	__u32 rate_delivered;
	__u32 rate_interval_us;
	__u32 packets_out;
	__u32 retrans_out;
	__u32 total_retrans;
	__u32 segs_in;
	__u32 data_segs_in;
	__u32 segs_out;
	__u32 data_segs_out;
};

/* UAPI (include/uapi/linux/bpf.h). */
struct bpf_sock_addr {
	__u32 user_family;
	__u32 user_ip4;
	__u32 user_ip6[4];
	__u32 user_port;
	__u32 family;
	__u32 type;
	__u32 protocol;
	__u32 msg_src_ip4;
	__u32 msg_src_ip6[4];
	__bpf_md_ptr(struct bpf_sock *, sk);
};

/* CO-RE: kernel-internal, only the fields read. */
typedef struct {
	__s64 counter;
} atomic64_t;

struct sock_common {
	unsigned long skc_flags; /* sk_flags; inside an anonymous union in the kernel, which CO-RE finds */
	atomic64_t skc_cookie;
} __attribute__((preserve_access_index));

typedef struct {
	int owned;
} __attribute__((preserve_access_index)) socket_lock_t;

struct sock {
	struct sock_common __sk_common;
	socket_lock_t sk_lock;
} __attribute__((preserve_access_index));

enum { SOCK_DONE = 1 }; /* enum sock_flags: set when the peer's FIN arrived */

struct tcp_sock {
	__u64 bytes_received;
	__u64 bytes_sent;
	__u64 bytes_retrans;
} __attribute__((preserve_access_index));

/* Context of tracepoint sock:inet_sock_set_state. */
struct trace_event_raw_inet_sock_set_state {
	const void *skaddr;
	int oldstate;
	int newstate;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 protocol;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
} __attribute__((preserve_access_index));

/* Context of raw tracepoints: the tracepoint's arguments as u64s. */
struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

#endif
