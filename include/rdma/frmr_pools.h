/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
#ifndef _RDMA_FRMR_POOLS_H
#define _RDMA_FRMR_POOLS_H

#include <linux/bits.h>
#include <linux/types.h>

/**
 * DOC: FRMR pools
 *
 * Per-device caches of memory-region handles. Creating and destroying a
 * memory region is slow for many RDMA devices (a firmware command per mkey
 * on mlx5), while the object behind it can be reused as long as the
 * attributes fixed at creation match. A FRMR pool keeps the handles that
 * drivers release and hands them out again. Each device that
 * opts in owns a set of pools (struct ib_frmr_pools), one pool per key
 * (struct ib_frmr_key: the attributes that cannot change after creation).
 * Pools are created on demand, grow on demand, and shrink by themselves:
 * a queued handle that nobody reused for one to two aging periods is
 * destroyed, and an empty, unused, unpinned pool is freed. A number of handles
 * per pool can be pinned: they are created at once and never age.
 *
 * A handle is opaque to the core: a u64, wide enough for an index (an mlx5
 * mkey) or a pointer to a driver object (rxe).
 *
 * What a driver provides (struct ib_frmr_pool_ops): a batch constructor and
 * destructor of handles for a key, and optionally a function that validates a
 * key and masks out what the driver can change when it reuses a handle, so
 * that keys differing only in those bits share a pool. The driver keeps the
 * struct ib_frmr_pools pointer returned by ib_frmr_pools_init() and a
 * struct ib_frmr_ref in each of its MR objects; no core structure changes.
 *
 * Context: every function here is for process context. Those that may call
 * the driver (pop, push, retire, set_pinned, trim, init, cleanup and the
 * setters) may sleep. The core never calls an op with a spinlock held, and
 * returning or reusing a queued handle (the hot path) allocates nothing and
 * takes no device-wide exclusive lock.
 *
 * Memory: queued handles give way under memory pressure (a shrinker per
 * device destroys the queued handles that pinning does not keep, oldest
 * first), the bytes the driver's queued handles hold (&ib_frmr_pool_ops.
 * handle_bytes) are bounded per device by ib_core's frmr_max_queued_bytes
 * parameter, and what a pop for a user pool (kernel_vendor_key 0) allocates
 * is charged to the caller's memory cgroup: drivers allocate handles of user
 * pools with GFP_KERNEL_ACCOUNT.
 *
 * Limitations: a handle returned by ib_frmr_pool_pop() may come from a pool
 * with a larger num_dma_blocks (less than twice the request); the driver
 * learns the actual key with ib_frmr_ref_key(), and must then make every
 * translation entry up to that size unreachable, or use
 * ib_frmr_pool_pop_exact(). After ib_frmr_pools_cleanup() the core calls no
 * op except to destroy a handle the driver pushes or retires later (such
 * handles were reported as leaked by cleanup).
 */

struct ib_device;

/**
 * struct ib_frmr_key - attributes that identify a pool
 * @vendor_key: driver-defined attributes (mlx5: bit 0 = KSM access mode)
 * @kernel_vendor_key: driver-defined attributes of pools that serve only
 *	kernel consumers; non-zero marks a kernel-only pool, which netlink shows
 *	only on request (RDMA_NLDEV_ATTR_DRIVER_DETAILS) and never lets user
 *	space pin
 * @num_dma_blocks: capacity of the handle in DMA blocks
 * @access_flags: IB_ACCESS_* flags the driver cannot change on reuse
 * @ats: non-zero if the handle uses PCIe address translation services
 *
 * Keys are totally ordered by ib_frmr_key_cmp(). Initialise a key on the
 * stack with ``= {}`` so that padding does not matter: the core compares
 * fields, never bytes.
 */
struct ib_frmr_key {
	u64 vendor_key;
	u64 kernel_vendor_key;
	u64 num_dma_blocks;
	u32 access_flags;
	u8 ats;
};

/**
 * struct ib_frmr_pool_ops - what a driver provides to its pools
 * @create_frmrs: create @count handles for @key and store them in
 *	@handles[0..@count). All or nothing: on failure nothing was created and
 *	a negative errno is returned unchanged to the caller of
 *	ib_frmr_pool_pop() or ib_frmr_pools_set_pinned(). May sleep.
 * @destroy_frmrs: destroy @count handles created for @key. Cannot fail.
 *	May sleep.
 * @build_key: optional. Validate @in and write the key of the pool to use
 *	to @out: clear the access flags the driver can change on reuse, reject
 *	unknown vendor bits, sizes or attributes the device cannot provide with
 *	-EOPNOTSUPP (or another negative errno, returned unchanged). Called on
 *	every pop and set_pinned. Must not sleep for long; may not call into
 *	the pools.
 * @handle_bytes: optional. Memory, in bytes, that one queued handle of
 *	@key holds in the driver (rxe: its page storage; mlx5: its translation
 *	table). Called once per pool, when the pool is created; the core counts
 *	it in the pool's mem_bytes and in the device's bound on queued memory.
 *	Without it, handles count as 0 bytes. Must not sleep.
 *
 * The core calls these from process context, never under a spinlock, and
 * never after ib_frmr_pools_cleanup() returned except to destroy a handle
 * pushed or retired later.
 */
struct ib_frmr_pool_ops {
	int (*create_frmrs)(struct ib_device *device,
			    const struct ib_frmr_key *key, u64 *handles,
			    u32 count);
	void (*destroy_frmrs)(struct ib_device *device,
			      const struct ib_frmr_key *key,
			      const u64 *handles, u32 count);
	int (*build_key)(struct ib_device *device,
			 const struct ib_frmr_key *in,
			 struct ib_frmr_key *out);
	u64 (*handle_bytes)(struct ib_device *device,
			    const struct ib_frmr_key *key);
};

/* Per-device set of pools, returned by ib_frmr_pools_init(). Opaque. */
struct ib_frmr_pools;
/* One pool: the handles of one key. Opaque. */
struct ib_frmr_pool;

/**
 * struct ib_frmr_ref - a pooled handle, embedded in the driver's MR object
 * @pool: pool the handle belongs to (which ib_frmr_pool_push() returns it
 *	to); NULL when the MR holds no pooled handle
 * @handle: the handle; meaningful only while @pool is not NULL
 *
 * ib_frmr_pool_pop() fills it; ib_frmr_pool_push(), ib_frmr_pool_drop() and
 * ib_frmr_pool_retire() clear @pool. The driver must not change @pool.
 */
struct ib_frmr_ref {
	struct ib_frmr_pool *pool;
	u64 handle;
};

/* Default, smallest and largest aging period, in seconds. */
#define IB_FRMR_POOLS_DEFAULT_AGING_PERIOD	60
#define IB_FRMR_POOLS_MIN_AGING_PERIOD		1
#define IB_FRMR_POOLS_MAX_AGING_PERIOD		86400
/* Largest pinned count of one pool. */
#define IB_FRMR_POOL_MAX_PINNED			BIT(20)

/**
 * struct ib_frmr_pool_stats - snapshot of one pool
 * @key: the pool's key
 * @queue: handles queued for reuse (both aging generations)
 * @pinned: handles kept by pinning (in-use handles count towards it)
 * @in_use: handles popped and not yet returned
 * @max_in_use: highest @in_use seen
 * @hits: pops served from this pool's queue (including pops for a smaller
 *	key served by this larger pool)
 * @misses: pops that created a handle in this pool because no pool had one
 *	queued
 * @created: handles created by the driver for this pool (on a miss or for
 *	pinning)
 * @destroyed: handles the core destroyed through the driver (aging, trim,
 *	retire, cleanup)
 * @dropped: handles the driver destroyed itself (ib_frmr_pool_drop())
 * @aged: the part of @destroyed that aging destroyed
 * @reclaimed: the part of @destroyed that the shrinker destroyed under
 *	memory pressure
 * @over_limit: the part of @destroyed that a push destroyed instead of
 *	queueing because the device's queued handles reached
 *	frmr_max_queued_bytes
 * @mem_bytes: memory this pool holds: the core's structure and handle
 *	array, plus &ib_frmr_pool_ops.handle_bytes for each queued handle
 *
 * A snapshot is taken under the pool's lock, so it is consistent:
 * @created - @destroyed - @dropped == @queue + @in_use, except while a
 * handle is being created for a pop (it is counted once the driver returned).
 */
struct ib_frmr_pool_stats {
	struct ib_frmr_key key;
	u32 queue;
	u32 pinned;
	u64 in_use;
	u64 max_in_use;
	u64 hits;
	u64 misses;
	u64 created;
	u64 destroyed;
	u64 dropped;
	u64 aged;
	u64 reclaimed;
	u64 over_limit;
	u64 mem_bytes;
};

/**
 * ib_frmr_key_cmp() - order two keys
 * @a: a key
 * @b: another key
 *
 * A strict total order on every field: kernel_vendor_key, vendor_key, ats,
 * access_flags, then num_dma_blocks last, so that pools that differ from a
 * key only in size follow it in ascending size.
 *
 * Return: negative, zero or positive as @a sorts before, equal to or after @b.
 */
int ib_frmr_key_cmp(const struct ib_frmr_key *a, const struct ib_frmr_key *b);

/**
 * ib_frmr_pools_init() - enable pools on a device
 * @device: the device; need not be registered yet
 * @ops: the driver's ops; must stay valid until ib_frmr_pools_cleanup()
 *	(and until the last handle in use at cleanup came back)
 *
 * Call it before the first pop can happen (before ib_register_device() when
 * the device makes MRs as soon as it is registered). No pool exists yet and
 * no timer runs until the first pop or set_pinned creates a pool.
 *
 * Context: process context, may sleep.
 * Return: the device's pools, to be kept by the driver, or ERR_PTR():
 * -EINVAL if @ops lacks create_frmrs or destroy_frmrs, -EEXIST if the device
 * already has pools, -ENOMEM.
 */
struct ib_frmr_pools *ib_frmr_pools_init(struct ib_device *device,
					 const struct ib_frmr_pool_ops *ops);

/**
 * ib_frmr_pools_cleanup() - disable pools on a device and free them
 * @device: the device
 *
 * Stops aging, destroys every queued handle through
 * &ib_frmr_pool_ops.destroy_frmrs and frees the pools. Handles still in use
 * are a driver bug: each pool that has some is reported with ibdev_err()
 * (key and count) and counted as leaked, and stays allocated, out of sight
 * of statistics, until its last handle is pushed or retired (destroyed
 * through the ops then) or dropped.
 * Safe on a device that never had pools, and idempotent. ib_dealloc_device()
 * calls it as a backstop before &ib_device_ops.dealloc_driver, but the
 * driver owns the lifetime: call it while the ops still work, after the last
 * MR was deregistered. ib_unregister_device() does not call it.
 *
 * Context: process context, may sleep. No pop, set_pinned or trim on the
 * device may run concurrently or follow.
 */
void ib_frmr_pools_cleanup(struct ib_device *device);

/**
 * ib_frmr_pool_pop() - get a handle for an MR
 * @pools: the device's pools
 * @key: what the MR needs; passed through &ib_frmr_pool_ops.build_key first
 * @ref: where to store the handle and its pool (in the driver's MR object)
 *
 * Takes the most recently queued handle of the pool of the (built) key; if
 * that pool has none, one of the smallest pool that differs only by a
 * num_dma_blocks in (N, 2N), N being the requested size; if none has one,
 * creates the pool if needed and one handle in it through
 * &ib_frmr_pool_ops.create_frmrs. A handle taken from a queue takes no
 * device-wide exclusive lock and allocates nothing.
 *
 * Context: process context, may sleep. Do not hold locks that the ops take.
 * Return: 0 and @ref filled, or a negative errno: from build_key or
 * create_frmrs unchanged, -ENOMEM, -ENODEV during cleanup.
 */
int ib_frmr_pool_pop(struct ib_frmr_pools *pools,
		     const struct ib_frmr_key *key, struct ib_frmr_ref *ref);

/**
 * ib_frmr_pool_pop_exact() - get a handle of exactly the requested size
 * @pools: the device's pools
 * @key: what the MR needs; passed through &ib_frmr_pool_ops.build_key first
 * @ref: where to store the handle and its pool (in the driver's MR object)
 *
 * As ib_frmr_pool_pop(), but only the pool of the built key itself serves
 * the pop, never a larger one: for MRs whose access the driver does not
 * bound by their length, so that no translation entry beyond the request
 * can survive from a previous owner of the handle.
 *
 * Context: process context, may sleep. Do not hold locks that the ops take.
 * Return: as ib_frmr_pool_pop().
 */
int ib_frmr_pool_pop_exact(struct ib_frmr_pools *pools,
			   const struct ib_frmr_key *key,
			   struct ib_frmr_ref *ref);

/**
 * ib_frmr_pool_push() - give a handle back for reuse
 * @ref: the handle, as filled by ib_frmr_pool_pop()
 *
 * Queues the handle on top of the pool it came from (@ref->pool, which may
 * be larger than the key the MR asked for). Never fails and never allocates:
 * a queue slot was reserved when the handle was created. The handle is
 * destroyed through the ops instead after cleanup (the pool is a zombie),
 * and when queueing it would take the device's queued handles beyond
 * frmr_max_queued_bytes while pinning does not keep it (counted in
 * over_limit). Clears
 * @ref->pool; does nothing if it is already NULL. The driver must have made
 * the handle unusable by its previous user (revoked access) first.
 *
 * Context: process context, may sleep.
 */
void ib_frmr_pool_push(struct ib_frmr_ref *ref);

/**
 * ib_frmr_pool_drop() - forget a handle the driver destroyed itself
 * @ref: the handle, as filled by ib_frmr_pool_pop()
 *
 * For a handle the driver had to destroy on its own (a failed revoke, a
 * timed-out cleanup): accounting only, counted as dropped. Clears
 * @ref->pool; does nothing if it is already NULL.
 *
 * Context: process context; does not sleep.
 */
void ib_frmr_pool_drop(struct ib_frmr_ref *ref);

/**
 * ib_frmr_pool_retire() - give back a handle that must not be reused
 * @ref: the handle, as filled by ib_frmr_pool_pop()
 *
 * The core destroys the handle through &ib_frmr_pool_ops.destroy_frmrs and
 * counts it as destroyed; for handles that must not come back, e.g. whose
 * key variant is about to wrap. Clears @ref->pool; does nothing if it is
 * already NULL.
 *
 * Context: process context, may sleep.
 */
void ib_frmr_pool_retire(struct ib_frmr_ref *ref);

/**
 * ib_frmr_ref_key() - key of the pool a handle belongs to
 * @ref: a handle filled by ib_frmr_pool_pop()
 *
 * The key may differ from the one given to pop: it was built by
 * &ib_frmr_pool_ops.build_key, and it may be the key of a larger pool.
 *
 * Return: the key, valid while the handle is in use; NULL if @ref holds no
 * handle.
 */
const struct ib_frmr_key *ib_frmr_ref_key(const struct ib_frmr_ref *ref);

/**
 * ib_frmr_pools_set_aging_period() - set the device's aging period
 * @device: the device
 * @seconds: IB_FRMR_POOLS_MIN_AGING_PERIOD to IB_FRMR_POOLS_MAX_AGING_PERIOD
 *
 * A handle unused for one period moves to the old generation and is
 * destroyed at the next tick: idle handles live one to two periods. The next
 * tick comes one new period from now.
 *
 * Context: process context, may sleep.
 * Return: 0, -EINVAL if @seconds is out of bounds, -ENODEV if the device has
 * no pools.
 */
int ib_frmr_pools_set_aging_period(struct ib_device *device, u32 seconds);

/**
 * ib_frmr_pools_get_aging_period() - get the device's aging period
 * @device: the device
 *
 * Context: process context, may sleep.
 * Return: the period in seconds, 0 if the device has no pools.
 */
u32 ib_frmr_pools_get_aging_period(struct ib_device *device);

/**
 * ib_frmr_pools_set_pinned() - set how many handles of a pool never age
 * @device: the device
 * @key: the pool's key; passed through &ib_frmr_pool_ops.build_key first.
 *	Acts on the pool of exactly that key (created if needed), never on a
 *	larger one.
 * @count: handles to keep, in use ones included; at most
 *	IB_FRMR_POOL_MAX_PINNED
 *
 * Raising creates the shortfall at once, in batches, checking for a fatal
 * signal between batches. Lowering destroys nothing now: aging destroys the
 * surplus. 0 unpins (and does not create a pool that does not exist). The
 * floor holds afterwards: every aging tick creates what retired or dropped
 * handles took from it, so that queued plus in-use handles are again at
 * least @count (a failure is logged and retried at the next tick).
 *
 * Context: process context, may sleep (long, for a large shortfall).
 * Return: 0, or a negative errno and the previous pinned count kept (the
 * handles already created stay queued and age): -EINVAL if @count is too
 * large, -ENODEV if the device has no pools, the error of build_key or
 * create_frmrs unchanged, -ENOMEM, -EINTR on a fatal signal.
 */
int ib_frmr_pools_set_pinned(struct ib_device *device,
			     const struct ib_frmr_key *key, u32 count);

/**
 * ib_frmr_pools_check_key() - would the device accept this pool key
 * @device: the device
 * @key: a key, as user space or a ULP gave it
 *
 * Runs &ib_frmr_pool_ops.build_key on @key and changes nothing: for callers
 * (netlink) that must tell a key the driver refuses from a failure to create
 * handles for it.
 *
 * Context: process context, may sleep.
 * Return: 0, -ENODEV if the device has no pools, or the error of build_key
 * unchanged.
 */
int ib_frmr_pools_check_key(struct ib_device *device,
			    const struct ib_frmr_key *key);

/**
 * ib_frmr_pools_trim() - destroy idle handles now
 * @device: the device
 *
 * Destroys every queued handle that pinning does not keep, in every pool,
 * whatever its generation; for a driver that reached its own object limit,
 * before it refuses a registration. Handles in use are not affected.
 *
 * Context: process context, may sleep. Do not hold locks that the ops take.
 * Return: the number of handles destroyed (0 if the device has no pools).
 */
unsigned long ib_frmr_pools_trim(struct ib_device *device);

/**
 * ib_frmr_pools_next_stats() - statistics of the next pool in key order
 * @device: the device
 * @after: NULL for the first pool, else the pool after this key
 * @stats: filled with a consistent snapshot, taken under the pool's lock
 *
 * For dumps that span several messages: resume from the last key sent, so
 * that pools created or freed in between lose or repeat nothing.
 *
 * Context: process context, may sleep.
 * Return: 0, or -ENOENT if there is no such pool (or the device has no
 * pools).
 */
int ib_frmr_pools_next_stats(struct ib_device *device,
			     const struct ib_frmr_key *after,
			     struct ib_frmr_pool_stats *stats);

#endif /* _RDMA_FRMR_POOLS_H */
