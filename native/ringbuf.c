/* Sonde's BPF ring-buffer consumer: maps a BPF_MAP_TYPE_RINGBUF map fd and copies as many
 * committed records as fit into the caller's buffer in one call, so the agent pays one FFI call per
 * batch instead of one per event. Built at install time with the machine's gcc and no headers:
 *   gcc -O2 -fPIC -shared -nostdinc -nostdlib -o libsonde_ringbuf.so ringbuf.c -l:libc.so.6
 * Kernel ABI (kernel/bpf/ringbuf.c): page 0 = consumer position (read-write); page 1 = producer
 * position; then the data area, mapped twice back to back so a record never wraps. Each record
 * has an 8-byte header {u32 len | BUSY (1<<31) | DISCARD (1<<30), u32 page offset}, and records
 * are 8-byte aligned. */

typedef unsigned long size_t;
typedef unsigned int u32;
typedef unsigned long u64;

void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
int munmap(void *addr, size_t len);
long sysconf(int name);
void *calloc(size_t n, size_t size);
void free(void *p);
void *memcpy(void *dst, const void *src, size_t n);
int *__errno_location(void);

#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_SHARED 1
#define MAP_FAILED ((void *)-1)
#define SC_PAGESIZE 30

#define RB_BUSY (1u << 31)
#define RB_DISCARD (1u << 30)
#define RB_HDR 8

struct sonde_rb {
	unsigned long *consumer; /* page 0 */
	unsigned long *producer; /* page 1 */
	unsigned char *data;     /* page 2 .. + 2 * size */
	u64 mask;
	size_t page;
	size_t size;
};

/* Maps the ring buffer of map fd `fd` whose data area is `size` bytes (its max_entries, a power of
 * two). Returns a handle, or a negative errno. */
long sonde_rb_open(int fd, long size)
{
	if (size <= 0 || (size & (size - 1)))
		return -22; /* EINVAL */
	struct sonde_rb *rb = calloc(1, sizeof(*rb));
	if (!rb)
		return -12; /* ENOMEM */
	rb->page = (size_t)sysconf(SC_PAGESIZE);
	rb->size = (size_t)size;
	rb->mask = (u64)size - 1;
	void *c = mmap(0, rb->page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED) {
		long err = -*__errno_location();
		free(rb);
		return err;
	}
	void *p = mmap(0, rb->page + 2 * rb->size, PROT_READ, MAP_SHARED, fd, (long)rb->page);
	if (p == MAP_FAILED) {
		long err = -*__errno_location();
		munmap(c, rb->page);
		free(rb);
		return err;
	}
	rb->consumer = c;
	rb->producer = p;
	rb->data = (unsigned char *)p + rb->page;
	return (long)rb;
}

/* Copies committed records into out[0..cap) as {u32 length, u32 0, data padded to 8 bytes}, skipping
 * discarded ones, and releases their space to the kernel. Stops at the first record still being
 * written or that does not fit. Returns the number of bytes written to out (0 = nothing pending). */
long sonde_rb_drain(long handle, unsigned char *out, long cap)
{
	struct sonde_rb *rb = (struct sonde_rb *)handle;
	u64 cons = __atomic_load_n(rb->consumer, __ATOMIC_ACQUIRE);
	u64 prod = __atomic_load_n(rb->producer, __ATOMIC_ACQUIRE);
	u64 start = cons;
	long used = 0;
	while (cons < prod) {
		const unsigned char *rec = rb->data + (cons & rb->mask);
		u32 hdr = __atomic_load_n((const u32 *)rec, __ATOMIC_ACQUIRE);
		if (hdr & RB_BUSY)
			break;
		u32 len = hdr & ~(RB_BUSY | RB_DISCARD);
		u64 total = (RB_HDR + (u64)len + 7) & ~(u64)7;
		if (!(hdr & RB_DISCARD)) {
			/* our framing has the kernel's 8-byte header: a record takes `total` bytes in out too */
			if (used + (long)total > cap)
				break;
			*(u32 *)(out + used) = len;
			*(u32 *)(out + used + 4) = 0;
			memcpy(out + used + 8, rec + RB_HDR, len);
			used += (long)total;
		}
		cons += total;
	}
	if (cons != start) /* one release per batch: producers see the space once the copy is done */
		__atomic_store_n(rb->consumer, cons, __ATOMIC_RELEASE);
	return used;
}

/* Bytes committed by producers and not yet consumed (for backlog metrics). */
long sonde_rb_pending(long handle)
{
	struct sonde_rb *rb = (struct sonde_rb *)handle;
	return (long)(__atomic_load_n(rb->producer, __ATOMIC_ACQUIRE) - __atomic_load_n(rb->consumer, __ATOMIC_ACQUIRE));
}

void sonde_rb_close(long handle)
{
	struct sonde_rb *rb = (struct sonde_rb *)handle;
	if (!rb)
		return;
	munmap(rb->producer, rb->page + 2 * rb->size);
	munmap(rb->consumer, rb->page);
	free(rb);
}
