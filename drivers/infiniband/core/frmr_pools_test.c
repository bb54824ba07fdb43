// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * KUnit tests for the FRMR pools of ib_core (frmr_pools.c).
 *
 * A fake driver stands behind an ib_device that is allocated but never
 * registered. Its handles are numbers it records in an xarray while they are
 * alive, with the num_dma_blocks of the key they were created for, so every
 * test can check that the core destroys exactly what was created, with the
 * right key, and nothing twice. Aging ticks are run synchronously through
 * ib_frmr_pools_age_now() with the period set to its maximum, so no test
 * depends on wall-clock time.
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/xarray.h>
#include <rdma/frmr_pools.h>
#include <rdma/ib_verbs.h>

#include "frmr_pools_priv.h"

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);

/* An errno the core never returns by itself. */
#define FAKE_ERR		(-EMLINK)
/* Vendor bits the fake's build_key accepts. */
#define FAKE_VENDOR_BITS	0x1ULL
/* The access flag the fake can change on reuse: build_key clears it. */
#define FAKE_MUTABLE_ACCESS	0x1U

/**
 * struct fake_state - what the fake driver knows; outlives its device
 * @live: handles alive, each mapped to the num_dma_blocks it was made for
 * @lock: protects @last_key
 * @last_key: key of the last create_frmrs call
 * @next_handle: last handle number given out
 * @create_calls: create_frmrs calls so far
 * @fail_create_call: create_frmrs call number (1-based) that fails, 0 = none
 * @created: handles created
 * @destroyed: handles destroyed through destroy_frmrs
 * @bad_destroys: destroy_frmrs of an unknown handle or with another key
 * @sleepy: create_frmrs and destroy_frmrs sleep briefly, like a firmware
 *	command, so that other threads run while the core is in an op
 * @handle_bytes: what handle_bytes reports per handle (read when a pool is
 *	created)
 */
struct fake_state {
	struct xarray live;
	spinlock_t lock; /* protects last_key */
	struct ib_frmr_key last_key;
	atomic64_t next_handle;
	atomic_t create_calls;
	int fail_create_call;
	atomic_long_t created;
	atomic_long_t destroyed;
	atomic_t bad_destroys;
	bool sleepy;
	u64 handle_bytes;
};

struct fake_dev {
	struct ib_device ibdev;
	struct fake_state *st;
};

static struct fake_state *fake_st(struct ib_device *ibdev)
{
	return container_of(ibdev, struct fake_dev, ibdev)->st;
}

static long fake_live(struct fake_state *st)
{
	return atomic_long_read(&st->created) - atomic_long_read(&st->destroyed);
}

static int fake_create_frmrs(struct ib_device *ibdev,
			     const struct ib_frmr_key *key, u64 *handles,
			     u32 count)
{
	struct fake_state *st = fake_st(ibdev);
	int call = atomic_inc_return(&st->create_calls);
	u32 i;
	int ret;

	spin_lock(&st->lock);
	st->last_key = *key;
	spin_unlock(&st->lock);
	if (READ_ONCE(st->fail_create_call) == call)
		return FAKE_ERR;
	if (st->sleepy)
		usleep_range(20, 50);

	for (i = 0; i < count; i++) {
		handles[i] = atomic64_inc_return(&st->next_handle);
		ret = xa_insert(&st->live, handles[i],
				xa_mk_value(key->num_dma_blocks), GFP_KERNEL);
		if (ret) {
			/* All or nothing. */
			while (i--)
				xa_erase(&st->live, handles[i]);
			return ret;
		}
	}
	atomic_long_add(count, &st->created);
	return 0;
}

static void fake_destroy_frmrs(struct ib_device *ibdev,
			       const struct ib_frmr_key *key,
			       const u64 *handles, u32 count)
{
	struct fake_state *st = fake_st(ibdev);
	void *entry;
	u32 i;

	if (st->sleepy)
		usleep_range(20, 50);
	for (i = 0; i < count; i++) {
		entry = xa_erase(&st->live, handles[i]);
		if (!entry || xa_to_value(entry) != key->num_dma_blocks)
			atomic_inc(&st->bad_destroys);
	}
	atomic_long_add(count, &st->destroyed);
}

/* What the driver does before ib_frmr_pool_drop(): destroy it itself. */
static void fake_destroy_by_driver(struct fake_state *st, u64 handle)
{
	if (!xa_erase(&st->live, handle))
		atomic_inc(&st->bad_destroys);
	atomic_long_inc(&st->destroyed);
}

static int fake_build_key(struct ib_device *ibdev,
			  const struct ib_frmr_key *in, struct ib_frmr_key *out)
{
	if (in->vendor_key & ~FAKE_VENDOR_BITS)
		return -EOPNOTSUPP;
	*out = *in;
	out->access_flags &= ~FAKE_MUTABLE_ACCESS;
	return 0;
}

static u64 fake_handle_bytes(struct ib_device *ibdev,
			     const struct ib_frmr_key *key)
{
	return READ_ONCE(fake_st(ibdev)->handle_bytes);
}

static const struct ib_frmr_pool_ops fake_ops = {
	.create_frmrs = fake_create_frmrs,
	.destroy_frmrs = fake_destroy_frmrs,
	.build_key = fake_build_key,
	.handle_bytes = fake_handle_bytes,
};

/* Per-test fixture. */
struct frmr_test {
	struct fake_dev *fd;
	struct ib_device *dev;
	struct fake_state *st;
	struct ib_frmr_pools *pools;
	unsigned long leaked0;
};

static struct fake_dev *fake_dev_alloc(struct kunit *test)
{
	struct fake_state *st;
	struct fake_dev *fd;

	st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	if (!st)
		return NULL;
	xa_init(&st->live);
	spin_lock_init(&st->lock);

	fd = ib_alloc_device(fake_dev, ibdev);
	if (!fd)
		return NULL;
	fd->st = st;
	if (dev_set_name(&fd->ibdev.dev, "frmr_test")) {
		ib_dealloc_device(&fd->ibdev);
		return NULL;
	}
	return fd;
}

/* No real tick during a test: ticks come from ib_frmr_pools_age_now(). */
static int stop_real_aging(struct ib_device *dev)
{
	return ib_frmr_pools_set_aging_period(dev,
					      IB_FRMR_POOLS_MAX_AGING_PERIOD);
}

static bool has_no_pool(struct ib_device *dev)
{
	struct ib_frmr_pool_stats stats;

	return ib_frmr_pools_next_stats(dev, NULL, &stats) == -ENOENT;
}

static int frmr_test_init(struct kunit *test)
{
	struct frmr_test *t;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	t->fd = fake_dev_alloc(test);
	KUNIT_ASSERT_NOT_NULL(test, t->fd);
	t->dev = &t->fd->ibdev;
	t->st = t->fd->st;
	test->priv = t;

	t->pools = ib_frmr_pools_init(t->dev, &fake_ops);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t->pools);
	KUNIT_ASSERT_EQ(test, stop_real_aging(t->dev), 0);
	t->leaked0 = ib_frmr_pools_leaked_total();
	return 0;
}

static void frmr_test_exit(struct kunit *test)
{
	struct frmr_test *t = test->priv;

	if (!t || !t->fd)
		return;
	ib_frmr_pools_cleanup(t->dev);
	ib_dealloc_device(t->dev);
	xa_destroy(&t->st->live);
}

static struct ib_frmr_key blocks_key(u64 num_dma_blocks)
{
	return (struct ib_frmr_key){ .num_dma_blocks = num_dma_blocks };
}

static int pop_key(struct frmr_test *t, struct ib_frmr_key key,
		   struct ib_frmr_ref *ref)
{
	return ib_frmr_pool_pop(t->pools, &key, ref);
}

/* Stats of the pool of exactly @key; false if it does not exist. */
static bool pool_stats(struct ib_device *dev, struct ib_frmr_key key,
		       struct ib_frmr_pool_stats *stats)
{
	struct ib_frmr_pool_stats cur;
	struct ib_frmr_key prev;
	bool first = true;

	while (!ib_frmr_pools_next_stats(dev, first ? NULL : &prev, &cur)) {
		if (!ib_frmr_key_cmp(&cur.key, &key)) {
			*stats = cur;
			return true;
		}
		prev = cur.key;
		first = false;
	}
	return false;
}

static struct ib_frmr_pool_stats expect_pool(struct kunit *test,
					     struct ib_frmr_key key)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_pool_stats stats = {};

	KUNIT_EXPECT_TRUE_MSG(test, pool_stats(t->dev, key, &stats),
			      "no pool of num_dma_blocks %llu",
			      key.num_dma_blocks);
	return stats;
}

/* Pools whose counters break an invariant; no allocation, no KUnit call. */
static unsigned int pools_inconsistent(struct ib_device *dev,
				       unsigned int *npools)
{
	struct ib_frmr_pool_stats cur;
	struct ib_frmr_key prev;
	unsigned int bad = 0, n = 0;

	while (!ib_frmr_pools_next_stats(dev, n ? &prev : NULL, &cur)) {
		if (cur.created - cur.destroyed - cur.dropped !=
			    (u64)cur.queue + cur.in_use ||
		    cur.aged + cur.reclaimed + cur.over_limit >
			    cur.destroyed ||
		    cur.in_use > cur.max_in_use)
			bad++;
		if (n && ib_frmr_key_cmp(&prev, &cur.key) >= 0)
			bad++;
		prev = cur.key;
		n++;
	}
	if (npools)
		*npools = n;
	return bad;
}

static unsigned int count_pools(struct ib_device *dev)
{
	unsigned int n;

	pools_inconsistent(dev, &n);
	return n;
}

static void age(struct frmr_test *t, unsigned int ticks)
{
	while (ticks--)
		ib_frmr_pools_age_now(t->pools);
}

/*
 * End of a test: counters consistent; after cleanup, the fake driver holds
 * nothing, nothing was destroyed twice or with the wrong key, and cleanup
 * reported no leak.
 */
static void expect_clean_end(struct kunit *test)
{
	struct frmr_test *t = test->priv;

	KUNIT_EXPECT_EQ(test, pools_inconsistent(t->dev, NULL), 0);
	ib_frmr_pools_cleanup(t->dev);
	KUNIT_EXPECT_TRUE(test, has_no_pool(t->dev));
	KUNIT_EXPECT_EQ(test, fake_live(t->st), 0);
	KUNIT_EXPECT_TRUE(test, xa_empty(&t->st->live));
	KUNIT_EXPECT_EQ(test, atomic_read(&t->st->bad_destroys), 0);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_leaked_total() - t->leaked0, 0);
}

/* ------------------------------------------------------------------------
 * Pop and push.
 */

static void pop_after_push_returns_same_handle(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_ref r1 = {}, r2 = {}, a = {}, b = {};
	struct ib_frmr_pool_stats s;
	u64 h1, h2;

	KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(8), &r1), 0);
	KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(8), &r2), 0);
	h1 = r1.handle;
	h2 = r2.handle;
	KUNIT_EXPECT_NE(test, h1, h2);
	ib_frmr_pool_push(&r1);
	ib_frmr_pool_push(&r2);
	KUNIT_EXPECT_NULL(test, r1.pool);
	KUNIT_EXPECT_NULL(test, r2.pool);

	/* LIFO: the last pushed comes back first. */
	KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(8), &a), 0);
	KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(8), &b), 0);
	KUNIT_EXPECT_EQ(test, a.handle, h2);
	KUNIT_EXPECT_EQ(test, b.handle, h1);

	s = expect_pool(test, blocks_key(8));
	KUNIT_EXPECT_EQ(test, s.created, 2);
	KUNIT_EXPECT_EQ(test, s.misses, 2);
	KUNIT_EXPECT_EQ(test, s.hits, 2);
	KUNIT_EXPECT_EQ(test, s.in_use, 2);
	KUNIT_EXPECT_EQ(test, s.max_in_use, 2);
	KUNIT_EXPECT_EQ(test, s.queue, 0);

	ib_frmr_pool_push(&a);
	ib_frmr_pool_push(&b);
	s = expect_pool(test, blocks_key(8));
	KUNIT_EXPECT_EQ(test, s.queue, 2);
	KUNIT_EXPECT_EQ(test, s.in_use, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->st->create_calls), 2);
	expect_clean_end(test);
}

static void each_key_field_separates_pools(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	const struct ib_frmr_key base = {
		.num_dma_blocks = 8, .access_flags = 0x2,
	};
	struct ib_frmr_key variants[5];
	struct ib_frmr_ref ref = {};
	unsigned int i;
	int calls;

	for (i = 0; i < ARRAY_SIZE(variants); i++)
		variants[i] = base;
	variants[0].vendor_key = 1;
	variants[1].kernel_vendor_key = 5;
	variants[2].num_dma_blocks = 100;
	variants[3].access_flags = 0x4;
	variants[4].ats = 1;

	KUNIT_ASSERT_EQ(test, pop_key(t, base, &ref), 0);
	ib_frmr_pool_push(&ref);

	for (i = 0; i < ARRAY_SIZE(variants); i++) {
		calls = atomic_read(&t->st->create_calls);
		KUNIT_ASSERT_EQ(test, pop_key(t, variants[i], &ref), 0);
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&t->st->create_calls),
				    calls + 1, "variant %u reused a handle", i);
		KUNIT_EXPECT_EQ(test, ib_frmr_key_cmp(ib_frmr_ref_key(&ref),
						      &variants[i]), 0);
		KUNIT_EXPECT_EQ(test, ib_frmr_key_cmp(&t->st->last_key,
						      &variants[i]), 0);
		ib_frmr_pool_push(&ref);
	}
	KUNIT_EXPECT_EQ(test, count_pools(t->dev), 1 + ARRAY_SIZE(variants));
	expect_clean_end(test);
}

static void build_key_normalises_key_to_share_pool(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key key = blocks_key(8);
	struct ib_frmr_ref ref = {};
	u64 h;

	key.access_flags = FAKE_MUTABLE_ACCESS | 0x2;
	KUNIT_ASSERT_EQ(test, pop_key(t, key, &ref), 0);
	/* The driver got, and the ref reports, the built key. */
	KUNIT_EXPECT_EQ(test, t->st->last_key.access_flags, 0x2);
	KUNIT_EXPECT_EQ(test, ib_frmr_ref_key(&ref)->access_flags, 0x2);
	h = ref.handle;
	ib_frmr_pool_push(&ref);

	key.access_flags = 0x2;
	KUNIT_ASSERT_EQ(test, pop_key(t, key, &ref), 0);
	KUNIT_EXPECT_EQ(test, ref.handle, h);
	ib_frmr_pool_push(&ref);
	KUNIT_EXPECT_EQ(test, count_pools(t->dev), 1);
	expect_clean_end(test);
}

static void build_key_rejection_propagates(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key key = blocks_key(8);
	struct ib_frmr_ref ref = {};

	key.vendor_key = 0x2;
	KUNIT_EXPECT_EQ(test, pop_key(t, key, &ref), -EOPNOTSUPP);
	KUNIT_EXPECT_NULL(test, ref.pool);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key, 4),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->st->create_calls), 0);
	KUNIT_EXPECT_EQ(test, count_pools(t->dev), 0);
	expect_clean_end(test);
}

static void key_cmp_orders_num_dma_blocks_last(struct kunit *test)
{
	struct ib_frmr_key small_vk1 = blocks_key(1), big_vk0 = blocks_key(100);
	struct ib_frmr_key kernel = blocks_key(1), same = blocks_key(100);

	small_vk1.vendor_key = 1;
	kernel.kernel_vendor_key = 1;
	KUNIT_EXPECT_LT(test, ib_frmr_key_cmp(&big_vk0, &small_vk1), 0);
	KUNIT_EXPECT_GT(test, ib_frmr_key_cmp(&small_vk1, &big_vk0), 0);
	KUNIT_EXPECT_GT(test, ib_frmr_key_cmp(&kernel, &small_vk1), 0);
	KUNIT_EXPECT_EQ(test, ib_frmr_key_cmp(&same, &big_vk0), 0);
	big_vk0.ats = 1;
	KUNIT_EXPECT_GT(test, ib_frmr_key_cmp(&big_vk0, &same), 0);
	same.access_flags = 1;
	KUNIT_EXPECT_LT(test, ib_frmr_key_cmp(&same, &big_vk0), 0);
}

/* ------------------------------------------------------------------------
 * The larger-pool policy.
 */

/* Queue one handle in the pool of @key; return it. */
static u64 queue_one(struct kunit *test, struct ib_frmr_key key)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_ref ref = {};
	u64 h;

	KUNIT_EXPECT_EQ(test, pop_key(t, key, &ref), 0);
	h = ref.handle;
	ib_frmr_pool_push(&ref);
	return h;
}

static void larger_pool_reused_below_twice(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_ref ref = {};
	struct ib_frmr_pool_stats s;
	u64 h;

	h = queue_one(test, blocks_key(15));
	KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(8), &ref), 0);
	KUNIT_EXPECT_EQ(test, ref.handle, h);
	KUNIT_EXPECT_EQ(test, ib_frmr_ref_key(&ref)->num_dma_blocks, 15);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->st->create_calls), 1);
	s = expect_pool(test, blocks_key(15));
	KUNIT_EXPECT_EQ(test, s.hits, 1);
	KUNIT_EXPECT_EQ(test, s.in_use, 1);

	/* It goes back where it came from; no pool of 8 was made. */
	ib_frmr_pool_push(&ref);
	s = expect_pool(test, blocks_key(15));
	KUNIT_EXPECT_EQ(test, s.queue, 1);
	KUNIT_EXPECT_EQ(test, count_pools(t->dev), 1);
	expect_clean_end(test);
}

static void larger_pool_not_reused_at_twice(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_ref ref = {};
	u64 h;

	h = queue_one(test, blocks_key(16));
	KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(8), &ref), 0);
	KUNIT_EXPECT_NE(test, ref.handle, h);
	KUNIT_EXPECT_EQ(test, ib_frmr_ref_key(&ref)->num_dma_blocks, 8);
	KUNIT_EXPECT_EQ(test, t->st->last_key.num_dma_blocks, 8);
	ib_frmr_pool_push(&ref);
	KUNIT_EXPECT_EQ(test, expect_pool(test, blocks_key(16)).queue, 1);
	expect_clean_end(test);
}

static void larger_pool_needs_same_other_fields(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key want = blocks_key(8), other;
	struct ib_frmr_ref ref = {};

	want.access_flags = 0x2;
	other = want;
	other.num_dma_blocks = 12;
	other.access_flags = 0x4;
	queue_one(test, other);
	other = want;
	other.num_dma_blocks = 12;
	other.vendor_key = 1;
	queue_one(test, other);
	other = want;
	other.num_dma_blocks = 12;
	other.ats = 1;
	queue_one(test, other);
	/* A smaller pool never serves. */
	other = want;
	other.num_dma_blocks = 7;
	queue_one(test, other);

	KUNIT_ASSERT_EQ(test, pop_key(t, want, &ref), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->st->create_calls), 5);
	KUNIT_EXPECT_EQ(test, ib_frmr_key_cmp(ib_frmr_ref_key(&ref), &want), 0);
	ib_frmr_pool_push(&ref);
	expect_clean_end(test);
}

static void larger_pool_exact_first_then_smallest(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_ref r8 = {}, r10 = {}, r12 = {}, refs[4] = {};
	u64 h8, h10, h12;
	unsigned int i;

	/* Largest first, all held, so that none serves another's pop. */
	KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(12), &r12), 0);
	KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(10), &r10), 0);
	KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(8), &r8), 0);
	KUNIT_ASSERT_EQ(test, atomic_read(&t->st->create_calls), 3);
	h8 = r8.handle;
	h10 = r10.handle;
	h12 = r12.handle;
	ib_frmr_pool_push(&r12);
	ib_frmr_pool_push(&r10);
	ib_frmr_pool_push(&r8);

	for (i = 0; i < ARRAY_SIZE(refs); i++)
		KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(8), &refs[i]), 0);
	KUNIT_EXPECT_EQ(test, refs[0].handle, h8);
	KUNIT_EXPECT_EQ(test, refs[1].handle, h10);
	KUNIT_EXPECT_EQ(test, refs[2].handle, h12);
	KUNIT_EXPECT_EQ(test, ib_frmr_ref_key(&refs[3])->num_dma_blocks, 8);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->st->create_calls), 4);
	for (i = 0; i < ARRAY_SIZE(refs); i++)
		ib_frmr_pool_push(&refs[i]);
	KUNIT_EXPECT_EQ(test, expect_pool(test, blocks_key(8)).queue, 2);
	KUNIT_EXPECT_EQ(test, expect_pool(test, blocks_key(10)).queue, 1);
	KUNIT_EXPECT_EQ(test, expect_pool(test, blocks_key(12)).queue, 1);
	expect_clean_end(test);
}

/* ------------------------------------------------------------------------
 * Aging and pool lifetime.
 */

static void pop_exact_never_takes_larger_pool(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key key = blocks_key(8);
	struct ib_frmr_ref ref = {}, other = {};
	struct ib_frmr_pool_stats s;
	u64 larger, exact;

	larger = queue_one(test, blocks_key(15));
	KUNIT_ASSERT_EQ(test, ib_frmr_pool_pop_exact(t->pools, &key, &ref), 0);
	KUNIT_EXPECT_NE(test, ref.handle, larger);
	KUNIT_EXPECT_EQ(test, ib_frmr_ref_key(&ref)->num_dma_blocks, 8);
	KUNIT_EXPECT_EQ(test, t->st->last_key.num_dma_blocks, 8);
	exact = ref.handle;
	ib_frmr_pool_push(&ref);

	/* The exact pool's own queue serves it; the larger one is untouched. */
	KUNIT_ASSERT_EQ(test, ib_frmr_pool_pop_exact(t->pools, &key, &ref), 0);
	KUNIT_EXPECT_EQ(test, ref.handle, exact);
	s = expect_pool(test, blocks_key(8));
	KUNIT_EXPECT_EQ(test, s.hits, 1);
	KUNIT_EXPECT_EQ(test, s.misses, 1);
	s = expect_pool(test, blocks_key(15));
	KUNIT_EXPECT_EQ(test, s.queue, 1);
	KUNIT_EXPECT_EQ(test, s.hits, 0);
	ib_frmr_pool_push(&ref);

	/*
	 * With the exact pool empty, ib_frmr_pool_pop() takes the larger
	 * handle and ib_frmr_pool_pop_exact() creates one.
	 */
	KUNIT_ASSERT_EQ(test, ib_frmr_pool_pop_exact(t->pools, &key, &ref), 0);
	KUNIT_ASSERT_EQ(test, pop_key(t, key, &other), 0);
	KUNIT_EXPECT_EQ(test, other.handle, larger);
	ib_frmr_pool_push(&other);
	KUNIT_ASSERT_EQ(test, ib_frmr_pool_pop_exact(t->pools, &key, &other), 0);
	KUNIT_EXPECT_NE(test, other.handle, larger);
	KUNIT_EXPECT_EQ(test, expect_pool(test, blocks_key(8)).misses, 2);
	ib_frmr_pool_push(&other);
	ib_frmr_pool_push(&ref);
	expect_clean_end(test);
}

static void pop_exact_passes_key_through_build_key(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key key = blocks_key(8), bad = blocks_key(8);
	struct ib_frmr_ref ref = {};
	u64 h;

	key.access_flags = FAKE_MUTABLE_ACCESS;
	h = queue_one(test, blocks_key(8));
	KUNIT_ASSERT_EQ(test, ib_frmr_pool_pop_exact(t->pools, &key, &ref), 0);
	KUNIT_EXPECT_EQ(test, ref.handle, h);
	ib_frmr_pool_push(&ref);
	bad.vendor_key = 0x2;
	KUNIT_EXPECT_EQ(test, ib_frmr_pool_pop_exact(t->pools, &bad, &ref),
			-EOPNOTSUPP);
	KUNIT_EXPECT_NULL(test, ref.pool);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_check_key(t->dev, &bad),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_check_key(t->dev, &key), 0);
	/* check_key creates no pool. */
	key.num_dma_blocks = 77;
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_check_key(t->dev, &key), 0);
	KUNIT_EXPECT_EQ(test, count_pools(t->dev), 1);
	expect_clean_end(test);
}

static void aging_destroys_after_one_to_two_ticks(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_pool_stats s;

	queue_one(test, blocks_key(8));
	age(t, 1);
	s = expect_pool(test, blocks_key(8));
	KUNIT_EXPECT_EQ(test, s.queue, 1);
	KUNIT_EXPECT_EQ(test, s.destroyed, 0);
	age(t, 1);
	s = expect_pool(test, blocks_key(8));
	KUNIT_EXPECT_EQ(test, s.queue, 0);
	KUNIT_EXPECT_EQ(test, s.destroyed, 1);
	KUNIT_EXPECT_EQ(test, s.aged, 1);
	KUNIT_EXPECT_EQ(test, fake_live(t->st), 0);
	expect_clean_end(test);
}

static void aging_spares_handle_reused_since_last_tick(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	u64 h;

	h = queue_one(test, blocks_key(8));
	age(t, 1);
	/* Reused between the ticks: back in the active generation. */
	KUNIT_EXPECT_EQ(test, queue_one(test, blocks_key(8)), h);
	age(t, 1);
	KUNIT_EXPECT_EQ(test, expect_pool(test, blocks_key(8)).queue, 1);
	age(t, 1);
	KUNIT_EXPECT_EQ(test, expect_pool(test, blocks_key(8)).queue, 0);
	KUNIT_EXPECT_EQ(test, expect_pool(test, blocks_key(8)).aged, 1);
	expect_clean_end(test);
}

static void aging_never_touches_handles_in_use(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_ref ref = {};

	KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(8), &ref), 0);
	age(t, 5);
	KUNIT_EXPECT_EQ(test, expect_pool(test, blocks_key(8)).in_use, 1);
	KUNIT_EXPECT_EQ(test, fake_live(t->st), 1);
	ib_frmr_pool_push(&ref);
	expect_clean_end(test);
}

static void idle_pool_freed_after_two_ticks(struct kunit *test)
{
	struct frmr_test *t = test->priv;

	queue_one(test, blocks_key(8));
	age(t, 2);		/* the handle is destroyed at the second tick */
	KUNIT_EXPECT_EQ(test, fake_live(t->st), 0);
	KUNIT_EXPECT_EQ(test, count_pools(t->dev), 1);
	age(t, 1);		/* empty and unused for two ticks: freed */
	KUNIT_EXPECT_EQ(test, count_pools(t->dev), 0);
	KUNIT_EXPECT_TRUE(test, has_no_pool(t->dev));

	/* A pool left empty by a failed create is freed the same way. */
	t->st->fail_create_call = atomic_read(&t->st->create_calls) + 1;
	KUNIT_EXPECT_EQ(test, pop_key(t, blocks_key(9),
				      &(struct ib_frmr_ref){}), FAKE_ERR);
	KUNIT_EXPECT_EQ(test, count_pools(t->dev), 1);
	age(t, 2);
	KUNIT_EXPECT_EQ(test, count_pools(t->dev), 1);
	age(t, 1);
	KUNIT_EXPECT_EQ(test, count_pools(t->dev), 0);

	/* The device keeps working after its last pool went. */
	queue_one(test, blocks_key(8));
	expect_clean_end(test);
}

static void set_aging_period_bounds(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct fake_dev *other;

	KUNIT_EXPECT_EQ(test, ib_frmr_pools_set_aging_period(t->dev, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_set_aging_period(t->dev, 86401),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_set_aging_period(t->dev, 1), 0);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_get_aging_period(t->dev), 1);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_set_aging_period(t->dev, 86400),
			0);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_get_aging_period(t->dev), 86400);

	other = fake_dev_alloc(test);
	KUNIT_ASSERT_NOT_NULL(test, other);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_set_aging_period(&other->ibdev, 60),
			-ENODEV);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_get_aging_period(&other->ibdev), 0);
	ib_dealloc_device(&other->ibdev);
	expect_clean_end(test);
}

/* ------------------------------------------------------------------------
 * Pinning.
 */

static void pinned_raise_creates_at_once_and_never_ages(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key key = blocks_key(8);
	struct ib_frmr_pool_stats s;

	KUNIT_ASSERT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key, 100), 0);
	s = expect_pool(test, key);
	KUNIT_EXPECT_EQ(test, s.pinned, 100);
	KUNIT_EXPECT_EQ(test, s.queue, 100);
	KUNIT_EXPECT_EQ(test, s.created, 100);
	KUNIT_EXPECT_EQ(test, s.misses, 0);
	age(t, 5);
	s = expect_pool(test, key);
	KUNIT_EXPECT_EQ(test, s.queue, 100);
	KUNIT_EXPECT_EQ(test, s.destroyed, 0);
	/* Same count again: nothing to create. */
	KUNIT_ASSERT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key, 100), 0);
	KUNIT_EXPECT_EQ(test, expect_pool(test, key).created, 100);
	expect_clean_end(test);
}

static void pinned_count_includes_handles_in_use(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key key = blocks_key(8);
	struct ib_frmr_ref refs[5] = {};
	struct ib_frmr_pool_stats s;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key, 4), 0);
	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, pop_key(t, key, &refs[i]), 0);
	/* Pinning keeps max(0, pinned - in_use) = 1 queued. */
	age(t, 3);
	s = expect_pool(test, key);
	KUNIT_EXPECT_EQ(test, s.queue, 1);
	KUNIT_EXPECT_EQ(test, s.in_use, 3);
	/* Raising to 5 with 3 in use and 1 queued creates 1. */
	KUNIT_ASSERT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key, 5), 0);
	s = expect_pool(test, key);
	KUNIT_EXPECT_EQ(test, s.queue, 2);
	KUNIT_EXPECT_EQ(test, s.created, 5);
	for (i = 3; i < 5; i++)
		KUNIT_ASSERT_EQ(test, pop_key(t, key, &refs[i]), 0);
	for (i = 0; i < 5; i++)
		ib_frmr_pool_push(&refs[i]);
	age(t, 3);
	KUNIT_EXPECT_EQ(test, expect_pool(test, key).queue, 5);
	expect_clean_end(test);
}

static void pinned_lower_shrinks_through_aging(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key key = blocks_key(8);

	KUNIT_ASSERT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key, 10), 0);
	KUNIT_ASSERT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key, 3), 0);
	/* Lowering destroys nothing by itself. */
	KUNIT_EXPECT_EQ(test, expect_pool(test, key).queue, 10);
	KUNIT_EXPECT_EQ(test, expect_pool(test, key).pinned, 3);
	age(t, 2);
	KUNIT_EXPECT_EQ(test, expect_pool(test, key).queue, 3);
	KUNIT_EXPECT_EQ(test, expect_pool(test, key).aged, 7);
	/* Zero unpins: everything ages, then the pool goes. */
	KUNIT_ASSERT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key, 0), 0);
	age(t, 2);
	KUNIT_EXPECT_EQ(test, expect_pool(test, key).queue, 0);
	age(t, 2);
	KUNIT_EXPECT_EQ(test, count_pools(t->dev), 0);
	expect_clean_end(test);
}

static void pinned_zero_creates_no_pool(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key key = blocks_key(8);

	KUNIT_EXPECT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key, 0), 0);
	KUNIT_EXPECT_EQ(test, count_pools(t->dev), 0);
	expect_clean_end(test);
}

static void pinned_acts_on_exact_pool_only(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key key = blocks_key(8);

	queue_one(test, blocks_key(12));
	KUNIT_ASSERT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key, 2), 0);
	KUNIT_EXPECT_EQ(test, expect_pool(test, key).queue, 2);
	KUNIT_EXPECT_EQ(test, expect_pool(test, blocks_key(12)).pinned, 0);
	KUNIT_EXPECT_EQ(test, expect_pool(test, blocks_key(12)).queue, 1);
	expect_clean_end(test);
}

static void set_pinned_bounds(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key key = blocks_key(8);
	u32 too_many = IB_FRMR_POOL_MAX_PINNED + 1;
	struct fake_dev *other;

	KUNIT_EXPECT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key, too_many),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, count_pools(t->dev), 0);

	other = fake_dev_alloc(test);
	KUNIT_ASSERT_NOT_NULL(test, other);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_set_pinned(&other->ibdev, &key, 1),
			-ENODEV);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_trim(&other->ibdev), 0);
	ib_dealloc_device(&other->ibdev);
	expect_clean_end(test);
}

/* ------------------------------------------------------------------------
 * Failures, trim, retire, drop.
 */

static void create_failure_returns_driver_error(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key key = blocks_key(8);
	struct ib_frmr_ref ref = {};
	struct ib_frmr_pool_stats s;

	t->st->fail_create_call = 1;
	KUNIT_EXPECT_EQ(test, pop_key(t, key, &ref), FAKE_ERR);
	KUNIT_EXPECT_NULL(test, ref.pool);
	s = expect_pool(test, key);
	KUNIT_EXPECT_EQ(test, s.created, 0);
	KUNIT_EXPECT_EQ(test, s.misses, 0);
	KUNIT_EXPECT_EQ(test, s.in_use, 0);

	/* The second batch of a set_pinned fails: the first stays, unpinned. */
	t->st->fail_create_call = atomic_read(&t->st->create_calls) + 2;
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key, 200),
			FAKE_ERR);
	s = expect_pool(test, key);
	KUNIT_EXPECT_EQ(test, s.pinned, 0);
	KUNIT_EXPECT_GT(test, s.queue, 0);
	KUNIT_EXPECT_LT(test, s.queue, 200);
	KUNIT_EXPECT_EQ(test, s.created, s.queue);

	/* The pool still works. */
	KUNIT_ASSERT_EQ(test, pop_key(t, key, &ref), 0);
	ib_frmr_pool_push(&ref);
	expect_clean_end(test);
}

static void pinned_floor_refilled_after_retire_and_drop(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key key = blocks_key(8);
	struct ib_frmr_ref refs[10] = {};
	struct ib_frmr_pool_stats s;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key, 10), 0);
	for (i = 0; i < 10; i++)
		KUNIT_ASSERT_EQ(test, pop_key(t, key, &refs[i]), 0);
	/* Four retired (key variant about to wrap), two dropped, four back. */
	for (i = 0; i < 4; i++)
		ib_frmr_pool_retire(&refs[i]);
	for (i = 4; i < 6; i++) {
		fake_destroy_by_driver(t->st, refs[i].handle);
		ib_frmr_pool_drop(&refs[i]);
	}
	for (i = 6; i < 10; i++)
		ib_frmr_pool_push(&refs[i]);
	s = expect_pool(test, key);
	KUNIT_EXPECT_EQ(test, s.queue, 4);

	/* One tick brings the floor back, counted as created. */
	age(t, 1);
	s = expect_pool(test, key);
	KUNIT_EXPECT_EQ(test, s.queue, 10);
	KUNIT_EXPECT_EQ(test, s.created, 16);
	KUNIT_EXPECT_EQ(test, s.destroyed, 4);
	KUNIT_EXPECT_EQ(test, s.dropped, 2);

	/* Handles in use count towards the floor: nothing more is made. */
	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, pop_key(t, key, &refs[i]), 0);
	ib_frmr_pool_retire(&refs[0]);
	age(t, 1);
	s = expect_pool(test, key);
	KUNIT_EXPECT_EQ(test, s.queue + s.in_use, 10);
	KUNIT_EXPECT_EQ(test, s.in_use, 2);
	KUNIT_EXPECT_EQ(test, s.created, 17);
	for (i = 1; i < 3; i++)
		ib_frmr_pool_push(&refs[i]);

	/* A failed refill is retried at the next tick. */
	KUNIT_ASSERT_EQ(test, pop_key(t, key, &refs[0]), 0);
	ib_frmr_pool_retire(&refs[0]);
	WRITE_ONCE(t->st->fail_create_call,
		   atomic_read(&t->st->create_calls) + 1);
	age(t, 1);
	KUNIT_EXPECT_EQ(test, expect_pool(test, key).queue, 9);
	age(t, 1);
	KUNIT_EXPECT_EQ(test, expect_pool(test, key).queue, 10);
	expect_clean_end(test);
}

/*
 * A zombie's ring is freed by cleanup, so that the last ib_frmr_pool_drop()
 * of a zombie never calls vfree() (which may sleep): a ring this large is
 * beyond kmalloc and vmalloc'ed. The drop runs with preemption disabled;
 * CONFIG_DEBUG_ATOMIC_SLEEP reports any sleep there.
 */
#define ZOMBIE_RING_HANDLES	(KMALLOC_MAX_SIZE / sizeof(u64))

static void zombie_ring_freed_at_cleanup(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key key = blocks_key(8);
	struct ib_frmr_pool_stats s;
	struct ib_frmr_ref ref = {};

	KUNIT_ASSERT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key,
						       ZOMBIE_RING_HANDLES),
			0);
	s = expect_pool(test, key);
	KUNIT_ASSERT_GT(test, s.mem_bytes, (u64)KMALLOC_MAX_SIZE);
	KUNIT_ASSERT_EQ(test, pop_key(t, key, &ref), 0);

	ib_frmr_pools_cleanup(t->dev);
	KUNIT_EXPECT_EQ(test, fake_live(t->st), 1);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_leaked_total() - t->leaked0, 1);
	t->leaked0 = ib_frmr_pools_leaked_total();

	fake_destroy_by_driver(t->st, ref.handle);
	preempt_disable();
	ib_frmr_pool_drop(&ref);
	preempt_enable();
	KUNIT_EXPECT_NULL(test, ref.pool);
	expect_clean_end(test);
}

/* ------------------------------------------------------------------------
 * Memory: the shrinker and the bound on queued bytes.
 */

static void shrinker_destroys_oldest_unpinned_first(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key k8 = blocks_key(8), k16 = blocks_key(16);
	struct ib_frmr_ref refs[6] = {}, ref = {};
	struct ib_frmr_pool_stats s;
	unsigned int i;
	u64 active;

	/* Pool 8: pinned 3, queue 5. Pool 16: queue 4, in use 2. */
	KUNIT_ASSERT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &k8, 3), 0);
	for (i = 0; i < 5; i++)
		KUNIT_ASSERT_EQ(test, pop_key(t, k8, &refs[i]), 0);
	for (i = 0; i < 5; i++)
		ib_frmr_pool_push(&refs[i]);
	for (i = 0; i < 6; i++)
		KUNIT_ASSERT_EQ(test, pop_key(t, k16, &refs[i]), 0);
	for (i = 0; i < 4; i++)
		ib_frmr_pool_push(&refs[i]);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_shrink_count(t->pools), 2 + 4);

	/* Everything queued is now old; one handle of 16 is used again. */
	age(t, 1);
	KUNIT_ASSERT_EQ(test, pop_key(t, k16, &ref), 0);
	active = ref.handle;
	ib_frmr_pool_push(&ref);

	/* The old generation goes first: 2 of pool 8, then 1 of pool 16. */
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_shrink_scan(t->pools, 3), 3);
	s = expect_pool(test, k8);
	KUNIT_EXPECT_EQ(test, s.queue, 3);
	KUNIT_EXPECT_EQ(test, s.reclaimed, 2);
	s = expect_pool(test, k16);
	KUNIT_EXPECT_EQ(test, s.queue, 3);
	KUNIT_EXPECT_EQ(test, s.reclaimed, 1);
	KUNIT_EXPECT_EQ(test, s.aged, 0);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_shrink_count(t->pools), 3);
	/* The recently used handle survived: it is still on top. */
	KUNIT_ASSERT_EQ(test, ib_frmr_pool_pop_exact(t->pools, &k16, &ref), 0);
	KUNIT_EXPECT_EQ(test, ref.handle, active);
	ib_frmr_pool_push(&ref);

	/* Then the rest; pinned and in-use handles stay. */
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_shrink_scan(t->pools, 100), 3);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_shrink_count(t->pools), 0);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_shrink_scan(t->pools, 100),
			SHRINK_STOP);
	s = expect_pool(test, k8);
	KUNIT_EXPECT_EQ(test, s.queue, 3);
	KUNIT_EXPECT_EQ(test, s.reclaimed, 2);
	KUNIT_EXPECT_EQ(test, s.destroyed, 2);
	s = expect_pool(test, k16);
	KUNIT_EXPECT_EQ(test, s.queue, 0);
	KUNIT_EXPECT_EQ(test, s.in_use, 2);
	KUNIT_EXPECT_EQ(test, s.reclaimed, 4);
	KUNIT_EXPECT_EQ(test, s.destroyed, 4);
	KUNIT_EXPECT_EQ(test, fake_live(t->st), 3 + 2);
	for (i = 4; i < 6; i++)
		ib_frmr_pool_push(&refs[i]);
	expect_clean_end(test);
}

static unsigned long saved_max_queued_bytes;

static void restore_max_queued_bytes(void *unused)
{
	WRITE_ONCE(ib_frmr_max_queued_bytes, saved_max_queued_bytes);
}

static void push_beyond_bound_destroys_except_pinned(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key k8 = blocks_key(8), k16 = blocks_key(16);
	struct ib_frmr_ref refs[15] = {};
	struct ib_frmr_pool_stats s;
	unsigned int i;
	int ret;

	saved_max_queued_bytes = ib_frmr_max_queued_bytes;
	ret = kunit_add_action_or_reset(test, restore_max_queued_bytes, NULL);
	KUNIT_ASSERT_EQ(test, ret, 0);
	WRITE_ONCE(ib_frmr_max_queued_bytes, 1000);
	t->st->handle_bytes = 100;

	/* Ten handles of 100 bytes fit; the other five are destroyed. */
	for (i = 0; i < 15; i++)
		KUNIT_ASSERT_EQ(test, pop_key(t, k8, &refs[i]), 0);
	for (i = 0; i < 15; i++)
		ib_frmr_pool_push(&refs[i]);
	s = expect_pool(test, k8);
	KUNIT_EXPECT_EQ(test, s.queue, 10);
	KUNIT_EXPECT_EQ(test, s.over_limit, 5);
	KUNIT_EXPECT_EQ(test, s.destroyed, 5);
	KUNIT_EXPECT_GE(test, s.mem_bytes, 10 * 100);

	/* Pinned handles are exempt, created and pushed alike. */
	KUNIT_ASSERT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &k16, 12), 0);
	for (i = 0; i < 12; i++)
		KUNIT_ASSERT_EQ(test, pop_key(t, k16, &refs[i]), 0);
	for (i = 0; i < 12; i++)
		ib_frmr_pool_push(&refs[i]);
	s = expect_pool(test, k16);
	KUNIT_EXPECT_EQ(test, s.queue, 12);
	KUNIT_EXPECT_EQ(test, s.over_limit, 0);

	/* 2000 bytes queued after three pops: room for two pushes of three. */
	WRITE_ONCE(ib_frmr_max_queued_bytes, 2100);
	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, pop_key(t, k8, &refs[i]), 0);
	for (i = 0; i < 3; i++)
		ib_frmr_pool_push(&refs[i]);
	s = expect_pool(test, k8);
	KUNIT_EXPECT_EQ(test, s.queue, 9);
	KUNIT_EXPECT_EQ(test, s.over_limit, 6);

	/* Shrinking gives the bytes back. */
	ib_frmr_pools_shrink_scan(t->pools, ULONG_MAX);
	KUNIT_EXPECT_EQ(test, expect_pool(test, k8).queue, 0);
	KUNIT_EXPECT_EQ(test, expect_pool(test, k16).queue, 12);
	KUNIT_ASSERT_EQ(test, pop_key(t, k8, &refs[0]), 0);
	ib_frmr_pool_push(&refs[0]);
	KUNIT_EXPECT_EQ(test, expect_pool(test, k8).queue, 1);
	expect_clean_end(test);
}

static void trim_destroys_idle_unpinned_handles(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key a = blocks_key(8), b = blocks_key(100);
	struct ib_frmr_ref refs[5] = {}, busy = {};
	unsigned int i;

	KUNIT_ASSERT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &a, 2), 0);
	for (i = 0; i < ARRAY_SIZE(refs); i++)
		KUNIT_ASSERT_EQ(test, pop_key(t, a, &refs[i]), 0);
	for (i = 0; i < ARRAY_SIZE(refs); i++)
		ib_frmr_pool_push(&refs[i]);
	queue_one(test, b);
	KUNIT_ASSERT_EQ(test, pop_key(t, b, &busy), 0);	/* the same handle */
	KUNIT_ASSERT_EQ(test, pop_key(t, b, &refs[0]), 0);
	ib_frmr_pool_push(&refs[0]);

	/* a: 5 queued, 2 pinned; b: 1 queued, 1 in use. */
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_trim(t->dev), 3 + 1);
	KUNIT_EXPECT_EQ(test, expect_pool(test, a).queue, 2);
	KUNIT_EXPECT_EQ(test, expect_pool(test, b).queue, 0);
	KUNIT_EXPECT_EQ(test, expect_pool(test, b).in_use, 1);
	KUNIT_EXPECT_EQ(test, expect_pool(test, a).aged, 0);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_trim(t->dev), 0);
	ib_frmr_pool_push(&busy);
	expect_clean_end(test);
}

static void retire_destroys_handle(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_ref ref = {};
	struct ib_frmr_pool_stats s;

	KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(8), &ref), 0);
	ib_frmr_pool_retire(&ref);
	KUNIT_EXPECT_NULL(test, ref.pool);
	KUNIT_EXPECT_EQ(test, fake_live(t->st), 0);
	s = expect_pool(test, blocks_key(8));
	KUNIT_EXPECT_EQ(test, s.destroyed, 1);
	KUNIT_EXPECT_EQ(test, s.queue, 0);
	KUNIT_EXPECT_EQ(test, s.in_use, 0);
	/* Idempotent on an empty ref, like push and drop. */
	ib_frmr_pool_retire(&ref);
	ib_frmr_pool_push(&ref);
	ib_frmr_pool_drop(&ref);
	KUNIT_EXPECT_NULL(test, ib_frmr_ref_key(&ref));
	expect_clean_end(test);
}

static void drop_only_counts(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_ref ref = {};
	struct ib_frmr_pool_stats s;

	KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(8), &ref), 0);
	fake_destroy_by_driver(t->st, ref.handle);
	ib_frmr_pool_drop(&ref);
	KUNIT_EXPECT_NULL(test, ref.pool);
	s = expect_pool(test, blocks_key(8));
	KUNIT_EXPECT_EQ(test, s.dropped, 1);
	KUNIT_EXPECT_EQ(test, s.destroyed, 0);
	KUNIT_EXPECT_EQ(test, s.in_use, 0);
	expect_clean_end(test);
}

static void next_stats_walks_pools_in_key_order(struct kunit *test)
{
	static const u64 sizes[] = { 40, 8, 1000, 9, 12, 3 };
	struct frmr_test *t = test->priv;
	struct ib_frmr_pool_stats s;
	struct ib_frmr_key between;
	unsigned int i, n;

	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		queue_one(test, blocks_key(sizes[i]));
	KUNIT_EXPECT_EQ(test, pools_inconsistent(t->dev, &n), 0);
	KUNIT_EXPECT_EQ(test, n, ARRAY_SIZE(sizes));

	/* Resuming after a key that has no pool gives the next one. */
	between = blocks_key(10);
	KUNIT_ASSERT_EQ(test, ib_frmr_pools_next_stats(t->dev, &between, &s), 0);
	KUNIT_EXPECT_EQ(test, s.key.num_dma_blocks, 12);
	between = blocks_key(1000);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_next_stats(t->dev, &between, &s),
			-ENOENT);
	expect_clean_end(test);
}

static void memory_per_queued_handle_at_most_16_bytes(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_key key = blocks_key(8);
	const unsigned int n = 4096;
	struct ib_frmr_ref *refs;
	struct ib_frmr_pool_stats s;
	unsigned int i;

	/* Grown one miss at a time. */
	refs = kunit_kcalloc(test, n, sizeof(*refs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, refs);
	for (i = 0; i < n; i++)
		KUNIT_ASSERT_EQ(test, pop_key(t, key, &refs[i]), 0);
	for (i = 0; i < n; i++)
		ib_frmr_pool_push(&refs[i]);
	s = expect_pool(test, key);
	KUNIT_EXPECT_EQ(test, s.queue, n);
	KUNIT_EXPECT_LE_MSG(test, s.mem_bytes, 16ULL * n,
			    "%llu bytes for %u handles", s.mem_bytes, n);

	/* Grown by pinning, in batches. */
	key = blocks_key(9);
	KUNIT_ASSERT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key, n), 0);
	s = expect_pool(test, key);
	KUNIT_EXPECT_EQ(test, s.queue, n);
	KUNIT_EXPECT_LE_MSG(test, s.mem_bytes, 16ULL * n,
			    "%llu bytes for %u handles", s.mem_bytes, n);

	/* Aged down to a few handles, the array shrinks with them. */
	KUNIT_ASSERT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key, 16), 0);
	age(t, 2);
	s = expect_pool(test, key);
	KUNIT_EXPECT_EQ(test, s.queue, 16);
	KUNIT_EXPECT_LE(test, s.mem_bytes, 1024);
	expect_clean_end(test);
}

/* ------------------------------------------------------------------------
 * Set-up, cleanup and the dealloc backstop.
 */

static void init_twice_fails_and_cleanup_is_idempotent(struct kunit *test)
{
	static const struct ib_frmr_pool_ops no_create = {
		.destroy_frmrs = fake_destroy_frmrs,
	};
	struct frmr_test *t = test->priv;
	struct fake_dev *other;

	KUNIT_EXPECT_EQ(test, PTR_ERR(ib_frmr_pools_init(t->dev, &fake_ops)),
			-EEXIST);
	other = fake_dev_alloc(test);
	KUNIT_ASSERT_NOT_NULL(test, other);
	KUNIT_EXPECT_EQ(test, PTR_ERR(ib_frmr_pools_init(&other->ibdev,
							 &no_create)),
			-EINVAL);
	/* Never initialised: nothing to do. */
	ib_frmr_pools_cleanup(&other->ibdev);
	ib_dealloc_device(&other->ibdev);

	queue_one(test, blocks_key(8));
	expect_clean_end(test);
	ib_frmr_pools_cleanup(t->dev);
}

static void dealloc_device_cleans_pools(struct kunit *test)
{
	struct ib_frmr_pools *pools;
	struct ib_frmr_ref ref = {};
	struct ib_frmr_key key = blocks_key(8);
	struct fake_state *st;
	struct fake_dev *other;

	other = fake_dev_alloc(test);
	KUNIT_ASSERT_NOT_NULL(test, other);
	st = other->st;
	pools = ib_frmr_pools_init(&other->ibdev, &fake_ops);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pools);
	KUNIT_ASSERT_EQ(test, stop_real_aging(&other->ibdev), 0);
	KUNIT_ASSERT_EQ(test, ib_frmr_pools_set_pinned(&other->ibdev, &key, 3),
			0);
	KUNIT_ASSERT_EQ(test, ib_frmr_pool_pop(pools, &key, &ref), 0);
	ib_frmr_pool_push(&ref);

	ib_dealloc_device(&other->ibdev);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&st->created), 3);
	KUNIT_EXPECT_EQ(test, fake_live(st), 0);
	KUNIT_EXPECT_TRUE(test, xa_empty(&st->live));
	xa_destroy(&st->live);
}

static void cleanup_reports_handles_still_in_use(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct ib_frmr_ref pushed = {}, retired = {}, dropped = {}, idle = {};

	KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(8), &pushed), 0);
	KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(8), &retired), 0);
	KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(100), &dropped), 0);
	KUNIT_ASSERT_EQ(test, pop_key(t, blocks_key(200), &idle), 0);
	ib_frmr_pool_push(&idle);

	ib_frmr_pools_cleanup(t->dev);
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_leaked_total() - t->leaked0, 3);
	/* The queued one was destroyed; the three in use were not. */
	KUNIT_EXPECT_EQ(test, fake_live(t->st), 3);
	KUNIT_EXPECT_TRUE(test, has_no_pool(t->dev));
	KUNIT_EXPECT_EQ(test, ib_frmr_pools_get_aging_period(t->dev), 0);

	/* Late returns are safe; the zombie pools go with the last one. */
	KUNIT_EXPECT_EQ(test, ib_frmr_ref_key(&pushed)->num_dma_blocks, 8);
	ib_frmr_pool_push(&pushed);
	KUNIT_EXPECT_EQ(test, fake_live(t->st), 2);
	ib_frmr_pool_retire(&retired);
	KUNIT_EXPECT_EQ(test, fake_live(t->st), 1);
	fake_destroy_by_driver(t->st, dropped.handle);
	ib_frmr_pool_drop(&dropped);
	KUNIT_EXPECT_EQ(test, fake_live(t->st), 0);
	KUNIT_EXPECT_TRUE(test, xa_empty(&t->st->live));
	KUNIT_EXPECT_EQ(test, atomic_read(&t->st->bad_destroys), 0);
	/* And a device can get pools again. */
	t->pools = ib_frmr_pools_init(t->dev, &fake_ops);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t->pools);
	t->leaked0 = ib_frmr_pools_leaked_total();
	KUNIT_ASSERT_EQ(test, stop_real_aging(t->dev), 0);
	queue_one(test, blocks_key(8));
	expect_clean_end(test);
}

/* ------------------------------------------------------------------------
 * Allocation failures at every step (failslab + fail-nth).
 */

#if IS_ENABLED(CONFIG_FAILSLAB)
#define FAILSLAB_MAX_STEPS	1000

/*
 * One pass over the API with a fresh root. Returns the number of pools whose
 * counters were inconsistent, in @init_ret what ib_frmr_pools_init()
 * returned and in @leaked how many handles cleanup found in use. Calls
 * nothing that allocates besides the code under test, and no KUnit function
 * (those allocate on failure).
 */
static unsigned int failslab_sequence(struct ib_device *dev, int *init_ret,
				      unsigned int *leaked)
{
	struct ib_frmr_key a = blocks_key(8), b = blocks_key(12);
	struct ib_frmr_ref r1 = {}, r2 = {}, r3 = {}, r4 = {};
	struct ib_frmr_pools *pools;
	unsigned int bad;

	pools = ib_frmr_pools_init(dev, &fake_ops);
	*init_ret = PTR_ERR_OR_ZERO(pools);
	*leaked = 0;
	if (IS_ERR(pools))
		return 0;
	stop_real_aging(dev);
	ib_frmr_pool_pop(pools, &a, &r1);
	ib_frmr_pool_pop(pools, &a, &r2);
	ib_frmr_pool_pop(pools, &b, &r3);
	ib_frmr_pool_push(&r1);
	ib_frmr_pool_push(&r2);
	ib_frmr_pools_set_pinned(dev, &a, 70);
	ib_frmr_pool_pop(pools, &a, &r4);
	ib_frmr_pool_push(&r4);
	ib_frmr_pools_age_now(pools);
	/* A retired pinned handle: the next tick refills the floor. */
	ib_frmr_pool_pop(pools, &a, &r4);
	ib_frmr_pool_retire(&r4);
	ib_frmr_pools_age_now(pools);
	ib_frmr_pools_shrink_scan(pools, 2);
	ib_frmr_pools_set_pinned(dev, &a, 0);
	ib_frmr_pools_age_now(pools);
	ib_frmr_pools_age_now(pools);
	ib_frmr_pool_pop(pools, &a, &r1);
	ib_frmr_pools_trim(dev);
	ib_frmr_pool_retire(&r3);
	ib_frmr_pool_push(&r1);
	bad = pools_inconsistent(dev, NULL);
	/* Cleanup with a handle out, returned afterwards. */
	ib_frmr_pool_pop(pools, &b, &r2);
	*leaked = r2.pool ? 1 : 0;
	ib_frmr_pools_cleanup(dev);
	ib_frmr_pool_push(&r2);
	return bad;
}

static void failslab_at_every_allocation(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	unsigned int n, bad, fired = 0, leaked, leaked_sum = 0;
	unsigned int remaining;
	int init_ret;

	/* The fixture's root would make every init fail with -EEXIST. */
	ib_frmr_pools_cleanup(t->dev);

	for (n = 1; n <= FAILSLAB_MAX_STEPS; n++) {
		WRITE_ONCE(current->fail_nth, n);
		bad = failslab_sequence(t->dev, &init_ret, &leaked);
		remaining = READ_ONCE(current->fail_nth);
		WRITE_ONCE(current->fail_nth, 0);

		/*
		 * The first allocation of the sequence is init's GFP_KERNEL
		 * kzalloc(). failslab skips sleeping allocations (without
		 * counting them) unless ignore-gfp-wait is N; only the
		 * driver's GFP_NOWAIT ones would fail then.
		 */
		if (n == 1 && init_ret != -ENOMEM)
			kunit_skip(test,
				   "failslab does not fail sleeping allocations: write N to /sys/kernel/debug/failslab/ignore-gfp-wait before loading this test");

		KUNIT_EXPECT_EQ_MSG(test, bad, 0,
				    "inconsistent counters, failure at step %u",
				    n);
		KUNIT_EXPECT_EQ_MSG(test, fake_live(t->st), 0,
				    "leak, failure at step %u", n);
		leaked_sum += leaked;
		KUNIT_EXPECT_EQ_MSG(test,
				    ib_frmr_pools_leaked_total() - t->leaked0,
				    leaked_sum, "failure at step %u", n);
		if (remaining)
			break;	/* fewer than n allocations: done */
		fired++;
	}
	KUNIT_EXPECT_LT_MSG(test, n, FAILSLAB_MAX_STEPS,
			    "more allocations than steps tried");
	KUNIT_EXPECT_GT(test, fired, 0);
	kunit_info(test, "%u allocation failures injected", fired);
	KUNIT_EXPECT_TRUE(test, xa_empty(&t->st->live));
	KUNIT_EXPECT_EQ(test, atomic_read(&t->st->bad_destroys), 0);
}
#else
static void failslab_at_every_allocation(struct kunit *test)
{
	kunit_skip(test, "CONFIG_FAILSLAB is off: this test cannot run");
}
#endif

/* ------------------------------------------------------------------------
 * Concurrency.
 */

#define STRESS_THREADS		4
#define STRESS_ITERATIONS	2000
#define STRESS_REFS		6

struct stress_ctx {
	struct ib_frmr_pools *pools;
	struct completion done;
	unsigned int seed;
	atomic_t *errors;
};

static const u64 stress_sizes[] = { 8, 12, 15, 16 };

static int stress_thread(void *arg)
{
	struct stress_ctx *ctx = arg;
	struct ib_frmr_ref refs[STRESS_REFS] = {};
	struct ib_frmr_key key;
	unsigned int i, slot;
	u32 rnd;

	for (i = 0; i < STRESS_ITERATIONS; i++) {
		rnd = get_random_u32();
		slot = rnd % STRESS_REFS;
		if (!refs[slot].pool) {
			key = blocks_key(stress_sizes[(rnd >> 8) %
						      ARRAY_SIZE(stress_sizes)]);
			if (ib_frmr_pool_pop(ctx->pools, &key, &refs[slot]))
				atomic_inc(ctx->errors);
		} else if ((rnd >> 16) % 32 == 0) {
			ib_frmr_pool_retire(&refs[slot]);
		} else {
			ib_frmr_pool_push(&refs[slot]);
		}
		if (!(i % 64))
			cond_resched();
	}
	for (slot = 0; slot < STRESS_REFS; slot++)
		ib_frmr_pool_push(&refs[slot]);
	kthread_complete_and_exit(&ctx->done, 0);
}

static void concurrent_pop_push_with_aging_and_pinning(struct kunit *test)
{
	struct frmr_test *t = test->priv;
	struct stress_ctx *ctx;
	struct task_struct *task;
	struct ib_frmr_pool_stats s;
	struct ib_frmr_key key;
	atomic_t errors = ATOMIC_INIT(0);
	unsigned int i, running, ticks = 0;
	u64 hits = 0;

	ctx = kunit_kcalloc(test, STRESS_THREADS, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	t->st->sleepy = true;
	for (i = 0; i < STRESS_THREADS; i++) {
		ctx[i].pools = t->pools;
		ctx[i].errors = &errors;
		init_completion(&ctx[i].done);
		task = kthread_run(stress_thread, &ctx[i], "frmr_stress/%u", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	}

	do {
		key = blocks_key(stress_sizes[ticks % ARRAY_SIZE(stress_sizes)]);
		KUNIT_EXPECT_EQ(test, ib_frmr_pools_set_pinned(t->dev, &key,
							       ticks % 5), 0);
		ib_frmr_pools_age_now(t->pools);
		if (ticks % 7 == 0)
			ib_frmr_pools_trim(t->dev);
		if (ticks % 3 == 0)
			ib_frmr_pools_shrink_scan(t->pools,
						  ib_frmr_pools_shrink_count(t->pools) / 2 + 1);
		ticks++;
		usleep_range(200, 400);
		running = 0;
		for (i = 0; i < STRESS_THREADS; i++)
			running += !completion_done(&ctx[i].done);
	} while (running);
	for (i = 0; i < STRESS_THREADS; i++)
		wait_for_completion(&ctx[i].done);

	KUNIT_EXPECT_EQ(test, atomic_read(&errors), 0);
	KUNIT_EXPECT_EQ(test, pools_inconsistent(t->dev, NULL), 0);
	for (i = 0; i < ARRAY_SIZE(stress_sizes); i++) {
		key = blocks_key(stress_sizes[i]);
		if (!pool_stats(t->dev, key, &s))
			continue;
		KUNIT_EXPECT_EQ(test, s.in_use, 0);
		hits += s.hits;
	}
	KUNIT_EXPECT_GT(test, hits, 0);
	kunit_info(test, "%u ticks, %llu hits, %ld handles created", ticks,
		   hits, atomic_long_read(&t->st->created));
	expect_clean_end(test);
}

static struct kunit_case frmr_pools_test_cases[] = {
	KUNIT_CASE(pop_after_push_returns_same_handle),
	KUNIT_CASE(each_key_field_separates_pools),
	KUNIT_CASE(build_key_normalises_key_to_share_pool),
	KUNIT_CASE(build_key_rejection_propagates),
	KUNIT_CASE(key_cmp_orders_num_dma_blocks_last),
	KUNIT_CASE(larger_pool_reused_below_twice),
	KUNIT_CASE(larger_pool_not_reused_at_twice),
	KUNIT_CASE(larger_pool_needs_same_other_fields),
	KUNIT_CASE(larger_pool_exact_first_then_smallest),
	KUNIT_CASE(pop_exact_never_takes_larger_pool),
	KUNIT_CASE(pop_exact_passes_key_through_build_key),
	KUNIT_CASE(aging_destroys_after_one_to_two_ticks),
	KUNIT_CASE(aging_spares_handle_reused_since_last_tick),
	KUNIT_CASE(aging_never_touches_handles_in_use),
	KUNIT_CASE(idle_pool_freed_after_two_ticks),
	KUNIT_CASE(set_aging_period_bounds),
	KUNIT_CASE(pinned_raise_creates_at_once_and_never_ages),
	KUNIT_CASE(pinned_count_includes_handles_in_use),
	KUNIT_CASE(pinned_lower_shrinks_through_aging),
	KUNIT_CASE(pinned_zero_creates_no_pool),
	KUNIT_CASE(pinned_acts_on_exact_pool_only),
	KUNIT_CASE(set_pinned_bounds),
	KUNIT_CASE(pinned_floor_refilled_after_retire_and_drop),
	KUNIT_CASE_SLOW(zombie_ring_freed_at_cleanup),
	KUNIT_CASE(shrinker_destroys_oldest_unpinned_first),
	KUNIT_CASE(push_beyond_bound_destroys_except_pinned),
	KUNIT_CASE(create_failure_returns_driver_error),
	KUNIT_CASE(trim_destroys_idle_unpinned_handles),
	KUNIT_CASE(retire_destroys_handle),
	KUNIT_CASE(drop_only_counts),
	KUNIT_CASE(next_stats_walks_pools_in_key_order),
	KUNIT_CASE(memory_per_queued_handle_at_most_16_bytes),
	KUNIT_CASE(init_twice_fails_and_cleanup_is_idempotent),
	KUNIT_CASE(dealloc_device_cleans_pools),
	KUNIT_CASE(cleanup_reports_handles_still_in_use),
	KUNIT_CASE_SLOW(failslab_at_every_allocation),
	KUNIT_CASE_SLOW(concurrent_pop_push_with_aging_and_pinning),
	{}
};

static struct kunit_suite frmr_pools_test_suite = {
	.name = "frmr_pools",
	.init = frmr_test_init,
	.exit = frmr_test_exit,
	.test_cases = frmr_pools_test_cases,
};

kunit_test_suite(frmr_pools_test_suite);

MODULE_DESCRIPTION("KUnit tests for the FRMR pools of ib_core");
MODULE_LICENSE("Dual BSD/GPL");
