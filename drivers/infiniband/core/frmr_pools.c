// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * FRMR pools: per-device caches of memory-region handles.
 *
 * The contract with drivers is in include/rdma/frmr_pools.h, the design and
 * the counters are described in Documentation/infiniband/frmr_pools.rst.
 *
 * Locking, outermost first:
 *
 * - frmr_registry_lock: the list of roots (one per device). Held only
 *   around list operations and a reference count increment.
 * - ib_frmr_pools.admin_lock: serialises the slow operations (aging tick,
 *   trim, set_pinned, shrinker scan, cleanup). Pools are freed only under it
 *   (or, for a zombie, by the last user), so a pool found in the tree stays
 *   valid while it is held even after the tree lock is dropped. The shrinker
 *   only tries it: memory reclaim never waits for a slow operation, which
 *   may itself be allocating.
 * - ib_frmr_pools.tree_rwsem: the rb-tree of pools. Pop takes it shared;
 *   inserting and erasing a pool take it exclusive.
 * - ib_frmr_pool.lock: a pool's handle array and counters. Held only around
 *   array and counter updates; never across an op or an allocation.
 */

#include <linux/list.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <kunit/visibility.h>
#include <rdma/frmr_pools.h>
#include <rdma/ib_verbs.h>

#include "frmr_pools_priv.h"

/* Handles per driver call in the core's loops (set_pinned, aging, trim). */
#define FRMR_BATCH		64
/* Smallest non-empty handle array. */
#define FRMR_MIN_CAPACITY	8
/* Largest handle array kvmalloc() can provide. */
#define FRMR_MAX_CAPACITY	(INT_MAX / sizeof(u64))
/* An idle pool is freed at the FRMR_IDLE_TICKS-th consecutive idle tick. */
#define FRMR_IDLE_TICKS		2
/* Default bound on a device's queued handle memory: this fraction of RAM. */
#define FRMR_DEFAULT_MAX_QUEUED_FRACTION	64

VISIBLE_IF_KUNIT unsigned long ib_frmr_max_queued_bytes;
EXPORT_SYMBOL_IF_KUNIT(ib_frmr_max_queued_bytes);
module_param_named(frmr_max_queued_bytes, ib_frmr_max_queued_bytes, ulong,
		   0644);
MODULE_PARM_DESC(frmr_max_queued_bytes,
		 "Most bytes the queued FRMR pool handles of one device may hold in its driver; pinned handles are exempt (0: 1/64 of RAM)");

/**
 * struct ib_frmr_pool - the handles of one key
 * @node: entry in &ib_frmr_pools.tree, under &ib_frmr_pools.tree_rwsem
 * @key: the key; constant
 * @pools: the device's root; constant
 * @handle_bytes: driver memory of one queued handle
 *	(&ib_frmr_pool_ops.handle_bytes); constant
 * @lock: protects every member below
 * @handles: ring of @capacity slots; the @queue queued handles are at
 *	positions [0, @queue) counted from slot @first. Positions
 *	[0, @inactive) are the old generation (unused since the last aging
 *	tick), the others the active one; pop and push work at the top
 *	(position @queue - 1), aging takes from the bottom.
 * @capacity: slots in @handles. Invariant:
 *	@capacity >= @queue + @in_use + @reserved, so that pushing a handle
 *	never allocates.
 * @first: slot of position 0
 * @queue: queued handles
 * @inactive: queued handles of the old generation; <= @queue
 * @in_use: handles popped and not yet returned
 * @reserved: slots reserved for handles being created
 * @busy: threads using the pool outside the tree lock (creating handles);
 *	the pool is not freed while non-zero
 * @pinned: handles that aging keeps (in-use handles count towards it)
 * @idle_ticks: consecutive aging ticks that found the pool idle
 * @used: popped, pushed or pinned since the last aging tick
 * @zombie: cleanup ran while handles were in use: the pool is out of the
 *	tree, queues nothing, and is freed by the last push, drop or retire
 * @max_in_use: highest @in_use seen
 * @hits: pops served from @handles
 * @misses: pops that created a handle here
 * @created: handles created here
 * @destroyed: handles the core destroyed through the driver
 * @dropped: handles the driver destroyed itself
 * @aged: handles destroyed by aging; part of @destroyed
 * @reclaimed: handles destroyed by the shrinker; part of @destroyed
 * @over_limit: handles a push destroyed because the device's queued bytes
 *	reached the bound; part of @destroyed
 *
 * A zombie has no @handles (cleanup freed them): it queues nothing, so a
 * push, drop or retire never frees a ring that may be vmalloc'ed.
 *
 * Outside of a handle creation in progress,
 * @created - @destroyed - @dropped == @queue + @in_use.
 */
struct ib_frmr_pool {
	struct rb_node node;
	struct ib_frmr_key key;
	struct ib_frmr_pools *pools;
	u64 handle_bytes;

	spinlock_t lock; /* protects the members below */
	u64 *handles;
	u32 capacity;
	u32 first;
	u32 queue;
	u32 inactive;
	u32 in_use;
	u32 reserved;
	u32 busy;
	u32 pinned;
	u32 idle_ticks;
	bool used;
	bool zombie;
	u64 max_in_use;
	u64 hits;
	u64 misses;
	u64 created;
	u64 destroyed;
	u64 dropped;
	u64 aged;
	u64 reclaimed;
	u64 over_limit;
};

/**
 * struct ib_frmr_pools - the pools of one device
 * @list: entry in frmr_registry, under frmr_registry_lock
 * @device: the device; constant
 * @ops: the driver's ops; constant
 * @refs: the registry, each zombie pool and each registry lookup in progress
 *	hold one reference
 * @admin_lock: serialises aging, trim, set_pinned, the shrinker's scan and
 *	cleanup; pools are erased from @tree and freed only under it
 * @batch: FRMR_BATCH handles of scratch space, under @admin_lock
 * @tree_rwsem: protects @tree, @aging_armed and @dying
 * @tree: pools ordered by ib_frmr_key_cmp()
 * @aging_armed: @aging_work is queued or will queue itself again
 * @dying: cleanup started; no pool may be created and no aging armed
 * @aging_period: seconds between aging ticks
 * @aging_work: the aging tick; runs only while @tree is not empty
 * @queued_bytes: driver memory of every queued handle of every pool
 *	(&ib_frmr_pool.handle_bytes each); each pool changes it under its own
 *	lock, so it is exact once those updates are done, and read without a
 *	lock by the bound check (concurrent pushes may pass the bound by one
 *	handle each)
 * @shrinker: gives queued handles back under memory pressure
 */
struct ib_frmr_pools {
	struct list_head list;
	struct ib_device *device;
	const struct ib_frmr_pool_ops *ops;
	refcount_t refs;

	struct mutex admin_lock; /* see the comment at the top */
	u64 *batch;

	struct rw_semaphore tree_rwsem;
	struct rb_root tree;
	bool aging_armed;
	bool dying;

	u32 aging_period;
	struct delayed_work aging_work;

	atomic_long_t queued_bytes;
	struct shrinker *shrinker;
};

/* What frmr_pool_destroy_queued() destroys, and what it counts it as. */
enum frmr_reclaim {
	FRMR_RECLAIM_AGED,	/* old generation, beyond what pinning keeps */
	FRMR_RECLAIM_IDLE,	/* both generations, beyond what pinning keeps */
	FRMR_RECLAIM_ALL,	/* everything queued */
	FRMR_RECLAIM_SHRINK_OLD, /* as AGED, for the shrinker */
	FRMR_RECLAIM_SHRINK_IDLE, /* as IDLE, for the shrinker */
};

static LIST_HEAD(frmr_registry);
static DEFINE_MUTEX(frmr_registry_lock);
static atomic_long_t frmr_leaked = ATOMIC_LONG_INIT(0);

/* num_dma_blocks last: a larger-pool lookup is a walk to the right. */
int ib_frmr_key_cmp(const struct ib_frmr_key *a, const struct ib_frmr_key *b)
{
	if (a->kernel_vendor_key != b->kernel_vendor_key)
		return a->kernel_vendor_key < b->kernel_vendor_key ? -1 : 1;
	if (a->vendor_key != b->vendor_key)
		return a->vendor_key < b->vendor_key ? -1 : 1;
	if (a->ats != b->ats)
		return a->ats < b->ats ? -1 : 1;
	if (a->access_flags != b->access_flags)
		return a->access_flags < b->access_flags ? -1 : 1;
	if (a->num_dma_blocks != b->num_dma_blocks)
		return a->num_dma_blocks < b->num_dma_blocks ? -1 : 1;
	return 0;
}
EXPORT_SYMBOL(ib_frmr_key_cmp);

/* Equal in everything but num_dma_blocks. */
static bool frmr_key_same_class(const struct ib_frmr_key *a,
				const struct ib_frmr_key *b)
{
	return a->kernel_vendor_key == b->kernel_vendor_key &&
	       a->vendor_key == b->vendor_key && a->ats == b->ats &&
	       a->access_flags == b->access_flags;
}

static int frmr_build_key(struct ib_frmr_pools *pools,
			  const struct ib_frmr_key *in, struct ib_frmr_key *out)
{
	if (!pools->ops->build_key) {
		*out = *in;
		return 0;
	}
	*out = (struct ib_frmr_key){};
	return pools->ops->build_key(pools->device, in, out);
}

/* ------------------------------------------------------------------------
 * The handle ring of one pool. Every helper here expects pool->lock.
 */

static u32 frmr_slot(const struct ib_frmr_pool *pool, u32 pos)
{
	/* first < capacity and pos < capacity <= FRMR_MAX_CAPACITY: no wrap */
	u32 slot = pool->first + pos;

	return slot >= pool->capacity ? slot - pool->capacity : slot;
}

/* Slots the pool must keep available: every handle it may have to queue. */
static u64 frmr_pool_need_locked(const struct ib_frmr_pool *pool)
{
	return (u64)pool->queue + pool->in_use + pool->reserved;
}

/* Account @n handles entering (> 0) or leaving (< 0) the queue. */
static void frmr_pool_queued_bytes_locked(struct ib_frmr_pool *pool, long n)
{
	if (pool->handle_bytes)
		atomic_long_add(n * (long)pool->handle_bytes,
				&pool->pools->queued_bytes);
}

static void frmr_pool_push_top_locked(struct ib_frmr_pool *pool, u64 handle)
{
	lockdep_assert_held(&pool->lock);
	pool->handles[frmr_slot(pool, pool->queue)] = handle;
	pool->queue++;
	frmr_pool_queued_bytes_locked(pool, 1);
}

static u64 frmr_pool_pop_top_locked(struct ib_frmr_pool *pool)
{
	lockdep_assert_held(&pool->lock);
	pool->queue--;
	pool->inactive = min(pool->inactive, pool->queue);
	frmr_pool_queued_bytes_locked(pool, -1);
	return pool->handles[frmr_slot(pool, pool->queue)];
}

static void frmr_pool_take_oldest_locked(struct ib_frmr_pool *pool,
					 u64 *out, u32 n)
{
	u32 i;

	lockdep_assert_held(&pool->lock);
	for (i = 0; i < n; i++) {
		out[i] = pool->handles[pool->first];
		if (++pool->first == pool->capacity)
			pool->first = 0;
	}
	pool->queue -= n;
	pool->inactive -= min(pool->inactive, n);
	if (!pool->queue)
		pool->first = 0;
	frmr_pool_queued_bytes_locked(pool, -(long)n);
}

/* Move the ring into @new (of @new_cap slots); return the old array. */
static u64 *frmr_pool_swap_locked(struct ib_frmr_pool *pool, u64 *new,
				  u32 new_cap)
{
	u64 *old = pool->handles;
	u32 pos;

	lockdep_assert_held(&pool->lock);
	for (pos = 0; pos < pool->queue; pos++)
		new[pos] = pool->handles[frmr_slot(pool, pos)];
	pool->handles = new;
	pool->capacity = new_cap;
	pool->first = 0;
	return old;
}

/* Handles aging may keep: pinning keeps max(0, pinned - in_use) queued. */
static u32 frmr_pool_keep_locked(const struct ib_frmr_pool *pool)
{
	return pool->pinned > pool->in_use ? pool->pinned - pool->in_use : 0;
}

static u32 frmr_pool_surplus_locked(const struct ib_frmr_pool *pool,
				    enum frmr_reclaim what)
{
	u32 keep = frmr_pool_keep_locked(pool);
	u32 surplus = pool->queue > keep ? pool->queue - keep : 0;

	switch (what) {
	case FRMR_RECLAIM_AGED:
	case FRMR_RECLAIM_SHRINK_OLD:
		return min(surplus, pool->inactive);
	case FRMR_RECLAIM_IDLE:
	case FRMR_RECLAIM_SHRINK_IDLE:
		return surplus;
	default:
		return pool->queue;
	}
}

/* Count @n handles destroyed from the queue for @what. */
static void frmr_pool_count_reclaim_locked(struct ib_frmr_pool *pool,
					   enum frmr_reclaim what, u32 n)
{
	lockdep_assert_held(&pool->lock);
	pool->destroyed += n;
	if (what == FRMR_RECLAIM_AGED)
		pool->aged += n;
	else if (what == FRMR_RECLAIM_SHRINK_OLD ||
		 what == FRMR_RECLAIM_SHRINK_IDLE)
		pool->reclaimed += n;
}

static void frmr_pool_count_pop_locked(struct ib_frmr_pool *pool)
{
	lockdep_assert_held(&pool->lock);
	pool->in_use++;
	pool->max_in_use = max_t(u64, pool->max_in_use, pool->in_use);
	pool->used = true;
}

/* A zombie whose last user left: the caller frees it after unlocking. */
static bool frmr_pool_zombie_done_locked(const struct ib_frmr_pool *pool)
{
	return pool->zombie && !pool->in_use && !pool->busy;
}

static bool frmr_pool_idle_locked(const struct ib_frmr_pool *pool)
{
	return !pool->queue && !pool->in_use && !pool->busy && !pool->pinned;
}

/*
 * User pools are charged to the memory cgroup of who makes them grow. At the
 * cgroup's limit the allocation fails (the pop returns -ENOMEM, on which
 * drivers trim and retry) rather than invoke the cgroup's OOM killer.
 */
static gfp_t frmr_key_gfp(const struct ib_frmr_key *key)
{
	if (key->kernel_vendor_key)
		return GFP_KERNEL;
	return GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN;
}

/* The bound on a device's queued handle memory, in bytes. */
static unsigned long frmr_queued_bytes_limit(void)
{
	unsigned long limit = READ_ONCE(ib_frmr_max_queued_bytes);

	if (limit)
		return limit;
	return (totalram_pages() / FRMR_DEFAULT_MAX_QUEUED_FRACTION) <<
	       PAGE_SHIFT;
}

static u32 frmr_grow_capacity(u64 need)
{
	u64 cap = max_t(u64, need + need / 2, FRMR_MIN_CAPACITY);

	return min_t(u64, cap, FRMR_MAX_CAPACITY);
}

/* ------------------------------------------------------------------------
 * Pool and root lifetime.
 */

static struct ib_frmr_pool *frmr_pool_alloc(struct ib_frmr_pools *pools,
					    const struct ib_frmr_key *key)
{
	struct ib_frmr_pool *pool;

	pool = kzalloc(sizeof(*pool), frmr_key_gfp(key));
	if (!pool)
		return NULL;
	pool->key = *key;
	pool->pools = pools;
	if (pools->ops->handle_bytes)
		pool->handle_bytes = pools->ops->handle_bytes(pools->device,
							      key);
	spin_lock_init(&pool->lock);
	return pool;
}

static void frmr_pool_free(struct ib_frmr_pool *pool)
{
	kvfree(pool->handles);
	kfree(pool);
}

static void frmr_pools_put(struct ib_frmr_pools *pools)
{
	if (!refcount_dec_and_test(&pools->refs))
		return;
	mutex_destroy(&pools->admin_lock);
	kfree(pools->batch);
	kfree(pools);
}

/* The last user of a zombie pool frees it and its reference on the root. */
static void frmr_pool_free_zombie(struct ib_frmr_pool *pool)
{
	struct ib_frmr_pools *pools = pool->pools;

	frmr_pool_free(pool);
	frmr_pools_put(pools);
}

static struct ib_frmr_pools *frmr_registry_find_locked(struct ib_device *device)
{
	struct ib_frmr_pools *pools;

	lockdep_assert_held(&frmr_registry_lock);
	list_for_each_entry(pools, &frmr_registry, list)
		if (pools->device == device)
			return pools;
	return NULL;
}

/* Look up the device's root and take a reference on it. */
static struct ib_frmr_pools *frmr_pools_get(struct ib_device *device)
{
	struct ib_frmr_pools *pools;

	mutex_lock(&frmr_registry_lock);
	pools = frmr_registry_find_locked(device);
	if (pools)
		refcount_inc(&pools->refs);
	mutex_unlock(&frmr_registry_lock);
	return pools;
}

/* ------------------------------------------------------------------------
 * The tree of pools.
 */

static struct ib_frmr_pool *frmr_pool_find_locked(struct ib_frmr_pools *pools,
						  const struct ib_frmr_key *key)
{
	struct rb_node *node = pools->tree.rb_node;

	lockdep_assert_held(&pools->tree_rwsem);
	while (node) {
		struct ib_frmr_pool *pool =
			rb_entry(node, struct ib_frmr_pool, node);
		int cmp = ib_frmr_key_cmp(key, &pool->key);

		if (!cmp)
			return pool;
		node = cmp < 0 ? node->rb_left : node->rb_right;
	}
	return NULL;
}

/* The first pool whose key sorts strictly after @key. */
static struct ib_frmr_pool *
frmr_pool_find_after_locked(struct ib_frmr_pools *pools,
			    const struct ib_frmr_key *key)
{
	struct rb_node *node = pools->tree.rb_node;
	struct ib_frmr_pool *after = NULL;

	lockdep_assert_held(&pools->tree_rwsem);
	while (node) {
		struct ib_frmr_pool *pool =
			rb_entry(node, struct ib_frmr_pool, node);

		if (ib_frmr_key_cmp(&pool->key, key) > 0) {
			after = pool;
			node = node->rb_left;
		} else {
			node = node->rb_right;
		}
	}
	return after;
}

static void frmr_pool_insert_locked(struct ib_frmr_pools *pools,
				    struct ib_frmr_pool *new)
{
	struct rb_node **link = &pools->tree.rb_node, *parent = NULL;

	lockdep_assert_held_write(&pools->tree_rwsem);
	while (*link) {
		struct ib_frmr_pool *pool =
			rb_entry(*link, struct ib_frmr_pool, node);

		parent = *link;
		if (ib_frmr_key_cmp(&new->key, &pool->key) < 0)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&new->node, parent, link);
	rb_insert_color(&new->node, &pools->tree);
}

static void frmr_pools_arm_aging_locked(struct ib_frmr_pools *pools)
{
	lockdep_assert_held_write(&pools->tree_rwsem);
	if (pools->aging_armed || pools->dying)
		return;
	pools->aging_armed = true;
	queue_delayed_work(system_unbound_wq, &pools->aging_work,
			   (unsigned long)READ_ONCE(pools->aging_period) * HZ);
}

/*
 * The next pool in key order after @pool (the first if @pool is NULL). Only
 * under admin_lock: no pool leaves the tree meanwhile, so @pool is still in
 * it and rb_next() is valid after the tree lock was dropped and retaken.
 */
static struct ib_frmr_pool *frmr_pool_next(struct ib_frmr_pools *pools,
					   struct ib_frmr_pool *pool)
{
	struct rb_node *node;

	lockdep_assert_held(&pools->admin_lock);
	down_read(&pools->tree_rwsem);
	node = pool ? rb_next(&pool->node) : rb_first(&pools->tree);
	up_read(&pools->tree_rwsem);
	return node ? rb_entry(node, struct ib_frmr_pool, node) : NULL;
}

/*
 * Find the pool of @key, creating it if @create, and mark it busy so that it
 * is not freed once the tree lock is dropped. NULL if it does not exist and
 * !@create.
 */
static struct ib_frmr_pool *frmr_pool_get_busy(struct ib_frmr_pools *pools,
					       const struct ib_frmr_key *key,
					       bool create)
{
	struct ib_frmr_pool *pool, *new;

	down_read(&pools->tree_rwsem);
	pool = frmr_pool_find_locked(pools, key);
	if (pool) {
		spin_lock(&pool->lock);
		pool->busy++;
		spin_unlock(&pool->lock);
	}
	up_read(&pools->tree_rwsem);
	if (pool || !create)
		return pool;

	new = frmr_pool_alloc(pools, key);
	if (!new)
		return ERR_PTR(-ENOMEM);

	down_write(&pools->tree_rwsem);
	if (pools->dying) {
		up_write(&pools->tree_rwsem);
		kfree(new);
		return ERR_PTR(-ENODEV);
	}
	pool = frmr_pool_find_locked(pools, key);
	if (!pool) {
		frmr_pool_insert_locked(pools, new);
		frmr_pools_arm_aging_locked(pools);
		pool = new;
		new = NULL;
	}
	spin_lock(&pool->lock);
	pool->busy++;
	spin_unlock(&pool->lock);
	up_write(&pools->tree_rwsem);

	kfree(new);
	return pool;
}

static void frmr_pool_put_busy(struct ib_frmr_pool *pool)
{
	bool done;

	spin_lock(&pool->lock);
	pool->busy--;
	done = frmr_pool_zombie_done_locked(pool);
	spin_unlock(&pool->lock);
	if (done)
		frmr_pool_free_zombie(pool);
}

/* ------------------------------------------------------------------------
 * Growing, shrinking and filling a pool.
 */

/*
 * Reserve @n slots for handles about to be created, growing the array if
 * needed: allocate outside the lock, swap under it, free the old one outside.
 */
static int frmr_pool_reserve(struct ib_frmr_pool *pool, u32 n)
{
	u64 *new = NULL, *old = NULL;
	u32 new_cap = 0;
	u64 need;

	might_sleep();
	for (;;) {
		spin_lock(&pool->lock);
		/* A zombie has no ring and gets none: its handles never queue. */
		if (pool->zombie) {
			spin_unlock(&pool->lock);
			kvfree(new);
			return -ENODEV;
		}
		need = frmr_pool_need_locked(pool) + n;
		if (need <= pool->capacity)
			break;
		if (new && need <= new_cap) {
			old = frmr_pool_swap_locked(pool, new, new_cap);
			new = NULL;
			break;
		}
		spin_unlock(&pool->lock);

		kvfree(new);
		if (need > FRMR_MAX_CAPACITY)
			return -ENOMEM;
		new_cap = frmr_grow_capacity(need);
		new = kvmalloc_array(new_cap, sizeof(*new),
				     frmr_key_gfp(&pool->key));
		if (!new)
			return -ENOMEM;
	}
	pool->reserved += n;
	spin_unlock(&pool->lock);

	kvfree(new);
	kvfree(old);
	return 0;
}

/* Give back memory when at most half of the array can ever be used. */
static void frmr_pool_shrink(struct ib_frmr_pool *pool)
{
	u64 *new = NULL, *old = NULL;
	u32 new_cap;
	u64 need;

	spin_lock(&pool->lock);
	need = frmr_pool_need_locked(pool);
	new_cap = need ? frmr_grow_capacity(need) : 0;
	if (pool->capacity <= 2 * need ||
	    (need && pool->capacity <= FRMR_MIN_CAPACITY)) {
		spin_unlock(&pool->lock);
		return;
	}
	spin_unlock(&pool->lock);

	if (new_cap) {
		new = kvmalloc_array(new_cap, sizeof(*new),
				     frmr_key_gfp(&pool->key));
		if (!new)
			return;
	}

	spin_lock(&pool->lock);
	if (!pool->zombie && frmr_pool_need_locked(pool) <= new_cap &&
	    new_cap < pool->capacity) {
		old = frmr_pool_swap_locked(pool, new, new_cap);
		new = NULL;
	}
	spin_unlock(&pool->lock);

	kvfree(new);
	kvfree(old);
}

/* Create one handle for a pop that found nothing queued; the pool is busy. */
static int frmr_pool_create_one(struct ib_frmr_pool *pool,
				struct ib_frmr_ref *ref)
{
	struct ib_frmr_pools *pools = pool->pools;
	u64 handle = 0;
	bool reserved, done;
	int ret;

	ret = frmr_pool_reserve(pool, 1);
	reserved = !ret;
	if (reserved)
		ret = pools->ops->create_frmrs(pools->device, &pool->key,
					       &handle, 1);

	spin_lock(&pool->lock);
	if (reserved)
		pool->reserved--;
	if (!ret) {
		pool->created++;
		pool->misses++;
		frmr_pool_count_pop_locked(pool);
	}
	pool->busy--;
	pool->used = true;
	done = frmr_pool_zombie_done_locked(pool);
	spin_unlock(&pool->lock);

	if (done)
		frmr_pool_free_zombie(pool);
	if (!ret) {
		ref->pool = pool;
		ref->handle = handle;
	}
	return ret;
}

/*
 * Create handles until the pool holds @target (queued, in use or being
 * created), in batches, stopping for a fatal signal. Under admin_lock, which
 * owns the batch buffer and keeps the pool from being freed.
 */
static int frmr_pool_fill(struct ib_frmr_pool *pool, u32 target)
{
	struct ib_frmr_pools *pools = pool->pools;
	u64 have;
	u32 i, n;
	int ret;

	lockdep_assert_held(&pools->admin_lock);
	for (;;) {
		spin_lock(&pool->lock);
		have = frmr_pool_need_locked(pool);
		spin_unlock(&pool->lock);
		if (have >= target)
			return 0;
		if (fatal_signal_pending(current))
			return -EINTR;

		n = min_t(u64, target - have, FRMR_BATCH);
		ret = frmr_pool_reserve(pool, n);
		if (ret)
			return ret;
		ret = pools->ops->create_frmrs(pools->device, &pool->key,
					       pools->batch, n);

		spin_lock(&pool->lock);
		pool->reserved -= n;
		if (!ret) {
			for (i = 0; i < n; i++)
				frmr_pool_push_top_locked(pool, pools->batch[i]);
			pool->created += n;
		}
		spin_unlock(&pool->lock);
		if (ret)
			return ret;
		cond_resched();
	}
}

/*
 * Destroy up to @max queued handles, oldest first, in batches, the driver
 * called outside the pool lock. Returns how many. Under admin_lock.
 */
static unsigned long frmr_pool_destroy_queued(struct ib_frmr_pool *pool,
					      enum frmr_reclaim what,
					      unsigned long max)
{
	struct ib_frmr_pools *pools = pool->pools;
	unsigned long total = 0;
	u32 n;

	lockdep_assert_held(&pools->admin_lock);
	while (total < max) {
		spin_lock(&pool->lock);
		n = min3(frmr_pool_surplus_locked(pool, what), (u32)FRMR_BATCH,
			 (u32)min_t(unsigned long, max - total, U32_MAX));
		frmr_pool_take_oldest_locked(pool, pools->batch, n);
		frmr_pool_count_reclaim_locked(pool, what, n);
		spin_unlock(&pool->lock);

		if (!n)
			break;
		pools->ops->destroy_frmrs(pools->device, &pool->key,
					  pools->batch, n);
		total += n;
		cond_resched();
	}
	return total;
}

/* ------------------------------------------------------------------------
 * Aging.
 */

/*
 * Bring a pinned pool back to its floor: retired and dropped handles left
 * the pool without a replacement. Under admin_lock, from the aging tick.
 */
static void frmr_pool_refill_pinned(struct ib_frmr_pool *pool)
{
	u32 pinned;
	u64 have;
	int ret;

	spin_lock(&pool->lock);
	pinned = pool->pinned;
	have = frmr_pool_need_locked(pool);
	spin_unlock(&pool->lock);
	if (have >= pinned)
		return;

	ret = frmr_pool_fill(pool, pinned);
	if (ret)
		ibdev_warn_ratelimited(pool->pools->device,
				       "FRMR pool num_dma_blocks %llu: refilling %u pinned handles failed (%d), retrying at the next aging tick\n",
				       pool->key.num_dma_blocks, pinned, ret);
}

static void frmr_pool_age(struct ib_frmr_pool *pool)
{
	frmr_pool_destroy_queued(pool, FRMR_RECLAIM_AGED, ULONG_MAX);

	spin_lock(&pool->lock);
	/* What survived this tick is the old generation of the next one. */
	pool->inactive = pool->queue;
	if (frmr_pool_idle_locked(pool) && !pool->used)
		pool->idle_ticks++;
	else
		pool->idle_ticks = 0;
	pool->used = false;
	spin_unlock(&pool->lock);

	frmr_pool_refill_pinned(pool);
	frmr_pool_shrink(pool);
}

/* Free the pools that stayed idle long enough; rearm while pools remain. */
static void frmr_pools_free_idle(struct ib_frmr_pools *pools)
{
	struct rb_node *node, *next;
	struct ib_frmr_pool *pool;
	bool rearm;

	lockdep_assert_held(&pools->admin_lock);
	down_write(&pools->tree_rwsem);
	for (node = rb_first(&pools->tree); node; node = next) {
		bool idle;

		next = rb_next(node);
		pool = rb_entry(node, struct ib_frmr_pool, node);
		/* The write lock excludes new users: nobody can become busy. */
		spin_lock(&pool->lock);
		idle = frmr_pool_idle_locked(pool) && !pool->used &&
		       pool->idle_ticks >= FRMR_IDLE_TICKS;
		spin_unlock(&pool->lock);
		if (!idle)
			continue;
		rb_erase(&pool->node, &pools->tree);
		frmr_pool_free(pool);
	}
	rearm = !RB_EMPTY_ROOT(&pools->tree) && !pools->dying;
	pools->aging_armed = rearm;
	up_write(&pools->tree_rwsem);

	if (rearm)
		queue_delayed_work(system_unbound_wq, &pools->aging_work,
				   (unsigned long)READ_ONCE(pools->aging_period) *
					   HZ);
}

/**
 * ib_frmr_pools_age_now() - run one aging tick now
 * @pools: the device's pools
 *
 * The aging work runs this every period; the KUnit suite calls it directly
 * so that no test waits for wall-clock time.
 *
 * Context: process context, may sleep.
 */
VISIBLE_IF_KUNIT void ib_frmr_pools_age_now(struct ib_frmr_pools *pools)
{
	struct ib_frmr_pool *pool = NULL;

	mutex_lock(&pools->admin_lock);
	while ((pool = frmr_pool_next(pools, pool)))
		frmr_pool_age(pool);
	frmr_pools_free_idle(pools);
	mutex_unlock(&pools->admin_lock);
}
EXPORT_SYMBOL_IF_KUNIT(ib_frmr_pools_age_now);

static void frmr_pools_aging_work(struct work_struct *work)
{
	struct ib_frmr_pools *pools =
		container_of(to_delayed_work(work), struct ib_frmr_pools,
			     aging_work);

	ib_frmr_pools_age_now(pools);
}

/* ------------------------------------------------------------------------
 * The shrinker: queued handles give way under memory pressure.
 */

/**
 * ib_frmr_pools_shrink_count() - queued handles the shrinker may destroy
 * @pools: the device's pools
 *
 * Every queued handle that pinning does not keep, in every pool. Takes no
 * lock it would have to wait for: 0 if the tree is being changed.
 *
 * Context: any context that may take a spinlock.
 * Return: the number of handles.
 */
VISIBLE_IF_KUNIT unsigned long
ib_frmr_pools_shrink_count(struct ib_frmr_pools *pools)
{
	struct ib_frmr_pool *pool;
	unsigned long n = 0;
	struct rb_node *node;

	if (!down_read_trylock(&pools->tree_rwsem))
		return 0;
	for (node = rb_first(&pools->tree); node; node = rb_next(node)) {
		pool = rb_entry(node, struct ib_frmr_pool, node);
		spin_lock(&pool->lock);
		n += frmr_pool_surplus_locked(pool, FRMR_RECLAIM_IDLE);
		spin_unlock(&pool->lock);
	}
	up_read(&pools->tree_rwsem);
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(ib_frmr_pools_shrink_count);

/**
 * ib_frmr_pools_shrink_scan() - destroy queued handles for memory reclaim
 * @pools: the device's pools
 * @nr: how many to destroy at most
 *
 * Oldest first, as aging would: the old generation of every pool, then the
 * active ones; never a handle pinning keeps or one in use. Through the ops,
 * in batches, outside spinlocks. Gives up at once if a slow operation
 * (aging, trim, set_pinned, cleanup) holds the device.
 *
 * Context: process context, may sleep (in the driver's destroy op).
 * Return: the number destroyed, or SHRINK_STOP if none could be.
 */
VISIBLE_IF_KUNIT unsigned long
ib_frmr_pools_shrink_scan(struct ib_frmr_pools *pools, unsigned long nr)
{
	static const enum frmr_reclaim order[] = {
		FRMR_RECLAIM_SHRINK_OLD, FRMR_RECLAIM_SHRINK_IDLE,
	};
	struct ib_frmr_pool *pool;
	unsigned long freed = 0;
	unsigned int i;

	if (!mutex_trylock(&pools->admin_lock))
		return SHRINK_STOP;
	for (i = 0; i < ARRAY_SIZE(order); i++) {
		pool = NULL;
		while (freed < nr && (pool = frmr_pool_next(pools, pool)))
			freed += frmr_pool_destroy_queued(pool, order[i],
							  nr - freed);
	}
	mutex_unlock(&pools->admin_lock);
	return freed ? freed : SHRINK_STOP;
}
EXPORT_SYMBOL_IF_KUNIT(ib_frmr_pools_shrink_scan);

static unsigned long frmr_pools_shrinker_count(struct shrinker *shrinker,
					       struct shrink_control *sc)
{
	unsigned long n = ib_frmr_pools_shrink_count(shrinker->private_data);

	return n ? n : SHRINK_EMPTY;
}

static unsigned long frmr_pools_shrinker_scan(struct shrinker *shrinker,
					      struct shrink_control *sc)
{
	return ib_frmr_pools_shrink_scan(shrinker->private_data,
					 sc->nr_to_scan);
}

#if IS_ENABLED(CONFIG_KUNIT)
/**
 * ib_frmr_pools_leaked_total() - handles cleanup found still in use
 *
 * Return: the number of handles all cleanups so far reported as in use,
 * since ib_core was loaded.
 */
unsigned long ib_frmr_pools_leaked_total(void)
{
	return atomic_long_read(&frmr_leaked);
}
EXPORT_SYMBOL_IF_KUNIT(ib_frmr_pools_leaked_total);
#endif

/* ------------------------------------------------------------------------
 * Set-up and tear-down of a device's pools.
 */

struct ib_frmr_pools *ib_frmr_pools_init(struct ib_device *device,
					 const struct ib_frmr_pool_ops *ops)
{
	struct ib_frmr_pools *pools;
	int ret;

	if (!ops || !ops->create_frmrs || !ops->destroy_frmrs)
		return ERR_PTR(-EINVAL);

	pools = kzalloc(sizeof(*pools), GFP_KERNEL);
	if (!pools)
		return ERR_PTR(-ENOMEM);
	pools->batch = kcalloc(FRMR_BATCH, sizeof(*pools->batch), GFP_KERNEL);
	if (!pools->batch) {
		ret = -ENOMEM;
		goto err_free;
	}
	pools->device = device;
	pools->ops = ops;
	refcount_set(&pools->refs, 1);
	mutex_init(&pools->admin_lock);
	init_rwsem(&pools->tree_rwsem);
	pools->tree = RB_ROOT;
	pools->aging_period = IB_FRMR_POOLS_DEFAULT_AGING_PERIOD;
	INIT_DELAYED_WORK(&pools->aging_work, frmr_pools_aging_work);
	atomic_long_set(&pools->queued_bytes, 0);

	pools->shrinker = shrinker_alloc(0, "ib_frmr_pools");
	if (!pools->shrinker) {
		ret = -ENOMEM;
		goto err_mutex;
	}
	pools->shrinker->count_objects = frmr_pools_shrinker_count;
	pools->shrinker->scan_objects = frmr_pools_shrinker_scan;
	pools->shrinker->private_data = pools;

	mutex_lock(&frmr_registry_lock);
	if (frmr_registry_find_locked(device)) {
		mutex_unlock(&frmr_registry_lock);
		ret = -EEXIST;
		goto err_shrinker;
	}
	list_add_tail(&pools->list, &frmr_registry);
	mutex_unlock(&frmr_registry_lock);
	/* Nothing to scan yet; registered, it may run at once. */
	shrinker_register(pools->shrinker);
	return pools;

err_shrinker:
	shrinker_free(pools->shrinker);
err_mutex:
	mutex_destroy(&pools->admin_lock);
	kfree(pools->batch);
err_free:
	kfree(pools);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL(ib_frmr_pools_init);

/*
 * Empty one pool during cleanup. A pool with handles in use becomes a zombie
 * that keeps the root alive; the last push, drop or retire frees both.
 */
static void frmr_pool_cleanup(struct ib_frmr_pool *pool)
{
	struct ib_frmr_pools *pools = pool->pools;
	struct ib_frmr_key key;
	u64 outstanding;
	u64 *ring;
	bool done;

	/* From now on, a push destroys the handle instead of queueing it. */
	spin_lock(&pool->lock);
	pool->zombie = true;
	pool->busy++;
	spin_unlock(&pool->lock);

	frmr_pool_destroy_queued(pool, FRMR_RECLAIM_ALL, ULONG_MAX);

	spin_lock(&pool->lock);
	/* Zombies queue nothing: free the ring here, where sleeping is fine. */
	ring = pool->handles;
	pool->handles = NULL;
	pool->capacity = 0;
	pool->first = 0;
	outstanding = (u64)pool->in_use + pool->reserved;
	key = pool->key;
	pool->busy--;
	done = frmr_pool_zombie_done_locked(pool);
	if (!done)
		refcount_inc(&pools->refs);
	spin_unlock(&pool->lock);
	kvfree(ring);

	if (done) {
		frmr_pool_free(pool);
		return;
	}
	/* A concurrent push may free the zombie now: use the copies only. */
	atomic_long_add(outstanding, &frmr_leaked);
	ibdev_err(pools->device,
		  "FRMR pool key kernel_vendor_key 0x%llx vendor_key 0x%llx ats %u access_flags 0x%x num_dma_blocks %llu: %llu handles still in use\n",
		  key.kernel_vendor_key, key.vendor_key, key.ats,
		  key.access_flags, key.num_dma_blocks, outstanding);
}

void ib_frmr_pools_cleanup(struct ib_device *device)
{
	struct ib_frmr_pools *pools;
	struct ib_frmr_pool *pool;
	struct rb_node *node;

	mutex_lock(&frmr_registry_lock);
	pools = frmr_registry_find_locked(device);
	if (pools)
		list_del(&pools->list);
	mutex_unlock(&frmr_registry_lock);
	if (!pools)
		return;

	down_write(&pools->tree_rwsem);
	pools->dying = true;
	up_write(&pools->tree_rwsem);
	/* Before admin_lock: the work takes it, the shrinker tries it. */
	cancel_delayed_work_sync(&pools->aging_work);
	shrinker_free(pools->shrinker);
	pools->shrinker = NULL;

	mutex_lock(&pools->admin_lock);
	for (;;) {
		down_write(&pools->tree_rwsem);
		node = rb_first(&pools->tree);
		if (node)
			rb_erase(node, &pools->tree);
		up_write(&pools->tree_rwsem);
		if (!node)
			break;
		pool = rb_entry(node, struct ib_frmr_pool, node);
		frmr_pool_cleanup(pool);
	}
	mutex_unlock(&pools->admin_lock);

	/* The registry's reference; zombie pools hold their own. */
	frmr_pools_put(pools);
}
EXPORT_SYMBOL(ib_frmr_pools_cleanup);

/* ------------------------------------------------------------------------
 * Pop and push.
 */

/* Take a queued handle from @pool if it has one. */
static bool frmr_pool_try_pop(struct ib_frmr_pool *pool,
			      struct ib_frmr_ref *ref)
{
	bool hit;

	spin_lock(&pool->lock);
	hit = pool->queue != 0;
	if (hit) {
		ref->handle = frmr_pool_pop_top_locked(pool);
		ref->pool = pool;
		pool->hits++;
		frmr_pool_count_pop_locked(pool);
	}
	spin_unlock(&pool->lock);
	return hit;
}

/*
 * The lookup policy: the exact pool first, then, unless @exact, the smallest
 * pool that differs only by a num_dma_blocks in (N, 2N) and has a handle
 * queued. The key order puts those pools right after the exact one, in
 * ascending size.
 */
static bool frmr_pools_pop_queued_locked(struct ib_frmr_pools *pools,
					 const struct ib_frmr_key *key,
					 struct ib_frmr_ref *ref, bool exact)
{
	u64 n = key->num_dma_blocks;
	u64 limit = n > U64_MAX / 2 ? U64_MAX : 2 * n;
	struct ib_frmr_pool *pool;
	struct rb_node *node;

	lockdep_assert_held(&pools->tree_rwsem);
	pool = frmr_pool_find_locked(pools, key);
	if (pool && frmr_pool_try_pop(pool, ref))
		return true;
	if (exact)
		return false;

	pool = frmr_pool_find_after_locked(pools, key);
	while (pool && frmr_key_same_class(&pool->key, key) &&
	       pool->key.num_dma_blocks < limit) {
		if (frmr_pool_try_pop(pool, ref))
			return true;
		node = rb_next(&pool->node);
		pool = node ? rb_entry(node, struct ib_frmr_pool, node) : NULL;
	}
	return false;
}

static int frmr_pool_pop(struct ib_frmr_pools *pools,
			 const struct ib_frmr_key *key, struct ib_frmr_ref *ref,
			 bool exact)
{
	struct ib_frmr_pool *pool;
	struct ib_frmr_key k;
	bool hit;
	int ret;

	might_sleep();
	ret = frmr_build_key(pools, key, &k);
	if (ret)
		return ret;

	down_read(&pools->tree_rwsem);
	hit = frmr_pools_pop_queued_locked(pools, &k, ref, exact);
	up_read(&pools->tree_rwsem);
	if (hit)
		return 0;

	pool = frmr_pool_get_busy(pools, &k, true);
	if (IS_ERR(pool))
		return PTR_ERR(pool);
	return frmr_pool_create_one(pool, ref);
}

int ib_frmr_pool_pop(struct ib_frmr_pools *pools,
		     const struct ib_frmr_key *key, struct ib_frmr_ref *ref)
{
	return frmr_pool_pop(pools, key, ref, false);
}
EXPORT_SYMBOL(ib_frmr_pool_pop);

int ib_frmr_pool_pop_exact(struct ib_frmr_pools *pools,
			   const struct ib_frmr_key *key,
			   struct ib_frmr_ref *ref)
{
	return frmr_pool_pop(pools, key, ref, true);
}
EXPORT_SYMBOL(ib_frmr_pool_pop_exact);

/*
 * Destroy one handle the driver gave back and count it (in @over_limit too
 * if the device's bound refused to queue it); the pool stays alive during
 * the op because the handle still counts as in use.
 */
static void frmr_pool_destroy_one(struct ib_frmr_pool *pool, u64 handle,
				  bool over_limit)
{
	struct ib_frmr_pools *pools = pool->pools;
	bool done;

	pools->ops->destroy_frmrs(pools->device, &pool->key, &handle, 1);

	spin_lock(&pool->lock);
	pool->in_use--;
	pool->destroyed++;
	pool->over_limit += over_limit;
	pool->used = true;
	done = frmr_pool_zombie_done_locked(pool);
	spin_unlock(&pool->lock);
	if (done)
		frmr_pool_free_zombie(pool);
}

/*
 * Would queueing one more handle of @pool take the device beyond its bound?
 * Pinning keeps max(0, pinned - in_use) queued whatever the bound; @in_use
 * still counts the handle being pushed.
 */
static bool frmr_pool_over_limit_locked(const struct ib_frmr_pool *pool)
{
	u32 keep = pool->pinned >= pool->in_use ?
		   pool->pinned - pool->in_use + 1 : 0;

	lockdep_assert_held(&pool->lock);
	if (!pool->handle_bytes || pool->queue < keep)
		return false;
	return atomic_long_read(&pool->pools->queued_bytes) +
	       pool->handle_bytes > frmr_queued_bytes_limit();
}

void ib_frmr_pool_push(struct ib_frmr_pools *pools, struct ib_frmr_ref *ref)
{
	struct ib_frmr_pool *pool = ref->pool;
	bool over_limit;

	might_sleep();
	if (!pool)
		return;
	ref->pool = NULL;

	spin_lock(&pool->lock);
	over_limit = !pool->zombie && frmr_pool_over_limit_locked(pool);
	if (likely(!pool->zombie && !over_limit)) {
		/* The slot was reserved when the handle was created. */
		frmr_pool_push_top_locked(pool, ref->handle);
		pool->in_use--;
		pool->used = true;
		spin_unlock(&pool->lock);
		return;
	}
	spin_unlock(&pool->lock);

	frmr_pool_destroy_one(pool, ref->handle, over_limit);
}
EXPORT_SYMBOL(ib_frmr_pool_push);

void ib_frmr_pool_retire(struct ib_frmr_pools *pools, struct ib_frmr_ref *ref)
{
	struct ib_frmr_pool *pool = ref->pool;

	might_sleep();
	if (!pool)
		return;
	ref->pool = NULL;
	frmr_pool_destroy_one(pool, ref->handle, false);
}
EXPORT_SYMBOL(ib_frmr_pool_retire);

void ib_frmr_pool_drop(struct ib_frmr_ref *ref)
{
	struct ib_frmr_pool *pool = ref->pool;
	bool done;

	if (!pool)
		return;
	ref->pool = NULL;

	spin_lock(&pool->lock);
	pool->in_use--;
	pool->dropped++;
	pool->used = true;
	done = frmr_pool_zombie_done_locked(pool);
	spin_unlock(&pool->lock);
	if (done)
		frmr_pool_free_zombie(pool);
}
EXPORT_SYMBOL(ib_frmr_pool_drop);

const struct ib_frmr_key *ib_frmr_ref_key(const struct ib_frmr_ref *ref)
{
	return ref->pool ? &ref->pool->key : NULL;
}
EXPORT_SYMBOL(ib_frmr_ref_key);

/* ------------------------------------------------------------------------
 * Administration: aging period, pinning, trim, statistics.
 */

int ib_frmr_pools_set_aging_period(struct ib_device *device, u32 seconds)
{
	struct ib_frmr_pools *pools;

	if (seconds < IB_FRMR_POOLS_MIN_AGING_PERIOD ||
	    seconds > IB_FRMR_POOLS_MAX_AGING_PERIOD)
		return -EINVAL;
	pools = frmr_pools_get(device);
	if (!pools)
		return -ENODEV;

	down_read(&pools->tree_rwsem);
	WRITE_ONCE(pools->aging_period, seconds);
	/* The next tick comes one new period from now. */
	if (pools->aging_armed && !pools->dying)
		mod_delayed_work(system_unbound_wq, &pools->aging_work,
				 (unsigned long)seconds * HZ);
	up_read(&pools->tree_rwsem);

	frmr_pools_put(pools);
	return 0;
}
EXPORT_SYMBOL(ib_frmr_pools_set_aging_period);

u32 ib_frmr_pools_get_aging_period(struct ib_device *device)
{
	struct ib_frmr_pools *pools;
	u32 seconds;

	pools = frmr_pools_get(device);
	if (!pools)
		return 0;
	seconds = READ_ONCE(pools->aging_period);
	frmr_pools_put(pools);
	return seconds;
}
EXPORT_SYMBOL(ib_frmr_pools_get_aging_period);

static int frmr_pools_set_pinned_locked(struct ib_frmr_pools *pools,
					const struct ib_frmr_key *key,
					u32 count)
{
	struct ib_frmr_pool *pool;
	u32 old;
	int ret;

	lockdep_assert_held(&pools->admin_lock);
	/* Unpinning a pool that does not exist changes nothing. */
	pool = frmr_pool_get_busy(pools, key, count != 0);
	if (IS_ERR_OR_NULL(pool))
		return PTR_ERR_OR_ZERO(pool);

	spin_lock(&pool->lock);
	old = pool->pinned;
	pool->pinned = count;
	pool->used = true;
	spin_unlock(&pool->lock);

	ret = frmr_pool_fill(pool, count);
	if (ret) {
		/* Keep what was created; it ages like any other handle. */
		spin_lock(&pool->lock);
		pool->pinned = old;
		spin_unlock(&pool->lock);
	}
	frmr_pool_put_busy(pool);
	return ret;
}

int ib_frmr_pools_set_pinned(struct ib_device *device,
			     const struct ib_frmr_key *key, u32 count)
{
	struct ib_frmr_pools *pools;
	struct ib_frmr_key k;
	int ret;

	might_sleep();
	if (count > IB_FRMR_POOL_MAX_PINNED)
		return -EINVAL;
	pools = frmr_pools_get(device);
	if (!pools)
		return -ENODEV;

	ret = frmr_build_key(pools, key, &k);
	if (!ret) {
		mutex_lock(&pools->admin_lock);
		ret = frmr_pools_set_pinned_locked(pools, &k, count);
		mutex_unlock(&pools->admin_lock);
	}

	frmr_pools_put(pools);
	return ret;
}
EXPORT_SYMBOL(ib_frmr_pools_set_pinned);

int ib_frmr_pools_check_key(struct ib_device *device,
			    const struct ib_frmr_key *key)
{
	struct ib_frmr_pools *pools;
	struct ib_frmr_key k;
	int ret;

	pools = frmr_pools_get(device);
	if (!pools)
		return -ENODEV;
	ret = frmr_build_key(pools, key, &k);
	frmr_pools_put(pools);
	return ret;
}
EXPORT_SYMBOL(ib_frmr_pools_check_key);

unsigned long ib_frmr_pools_trim(struct ib_device *device)
{
	struct ib_frmr_pool *pool = NULL;
	struct ib_frmr_pools *pools;
	unsigned long n = 0;

	might_sleep();
	pools = frmr_pools_get(device);
	if (!pools)
		return 0;

	mutex_lock(&pools->admin_lock);
	while ((pool = frmr_pool_next(pools, pool)))
		n += frmr_pool_destroy_queued(pool, FRMR_RECLAIM_IDLE,
					      ULONG_MAX);
	mutex_unlock(&pools->admin_lock);

	frmr_pools_put(pools);
	return n;
}
EXPORT_SYMBOL(ib_frmr_pools_trim);

static void frmr_pool_stats_locked(const struct ib_frmr_pool *pool,
				   struct ib_frmr_pool_stats *stats)
{
	lockdep_assert_held(&pool->lock);
	*stats = (struct ib_frmr_pool_stats){
		.key = pool->key,
		.queue = pool->queue,
		.pinned = pool->pinned,
		.in_use = pool->in_use,
		.max_in_use = pool->max_in_use,
		.hits = pool->hits,
		.misses = pool->misses,
		.created = pool->created,
		.destroyed = pool->destroyed,
		.dropped = pool->dropped,
		.aged = pool->aged,
		.reclaimed = pool->reclaimed,
		.over_limit = pool->over_limit,
		.mem_bytes = sizeof(*pool) +
			     (u64)pool->capacity * sizeof(*pool->handles) +
			     pool->queue * pool->handle_bytes,
	};
}

int ib_frmr_pools_next_stats(struct ib_device *device,
			     const struct ib_frmr_key *after,
			     struct ib_frmr_pool_stats *stats)
{
	struct ib_frmr_pools *pools;
	struct ib_frmr_pool *pool;
	struct rb_node *node;

	pools = frmr_pools_get(device);
	if (!pools)
		return -ENOENT;

	down_read(&pools->tree_rwsem);
	if (after) {
		pool = frmr_pool_find_after_locked(pools, after);
	} else {
		node = rb_first(&pools->tree);
		pool = node ? rb_entry(node, struct ib_frmr_pool, node) : NULL;
	}
	if (pool) {
		spin_lock(&pool->lock);
		frmr_pool_stats_locked(pool, stats);
		spin_unlock(&pool->lock);
	}
	up_read(&pools->tree_rwsem);

	frmr_pools_put(pools);
	return pool ? 0 : -ENOENT;
}
EXPORT_SYMBOL(ib_frmr_pools_next_stats);
