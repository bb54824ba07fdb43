// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * res-frmr-pools.c	RDMA tool
 *
 * Show and configure the FRMR (fast registration memory region) handle
 * pools of RDMA devices.
 */

#include "res.h"
#include <ctype.h>
#include <inttypes.h>

static const
struct filters frmr_pools_valid_filters[MAX_NUMBER_OF_FILTERS] = {
	{ .name = "dev", .is_number = false },
	{ .name = "ats", .is_number = true },
	{ .name = "access_flags", .is_number = true },
	{ .name = "vendor_key", .is_number = true },
	{ .name = "num_dma_blocks", .is_number = true },
	{ .name = "queue", .is_number = true },
	{ .name = "in_use", .is_number = true },
	{ .name = "max_in_use", .is_number = true },
	{ .name = "pinned", .is_number = true },
};

/*
 * The aging period is a device attribute. A dump of many pools spans
 * several messages and only needs to carry it once, so remember it.
 */
static struct {
	uint32_t dev_idx;
	uint32_t period;
	bool valid;
	unsigned int pools;	/* entries the device reported, shown or not */
	char name[64];
} frmr_pools_aging;

static int res_frmr_pools_line(struct rd *rd, const char *name, int idx,
			       struct nlattr **nla_line)
{
	struct nlattr *key_line[RDMA_NLDEV_ATTR_MAX] = {};
	uint64_t vendor_key = 0, num_dma_blocks = 0, kernel_vendor_key = 0;
	uint32_t access_flags = 0, queue = 0, pinned = 0;
	uint64_t in_use = 0, max_in_use = 0;
	char key_str[64];
	uint8_t ats = 0;

	if (!nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY])
		return MNL_CB_ERROR;

	if (mnl_attr_parse_nested(nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY],
				  rd_attr_cb, key_line) != MNL_CB_OK)
		return MNL_CB_ERROR;

	if (key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_ATS])
		ats = mnl_attr_get_u8(key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_ATS]);
	if (rd_is_filtered_attr(rd, "ats", ats,
				key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_ATS]))
		goto out;

	if (key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_ACCESS_FLAGS])
		access_flags = mnl_attr_get_u32(
			key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_ACCESS_FLAGS]);
	if (rd_is_filtered_attr(rd, "access_flags", access_flags,
				key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_ACCESS_FLAGS]))
		goto out;

	if (key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_VENDOR_KEY])
		vendor_key = mnl_attr_get_u64(
			key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_VENDOR_KEY]);
	if (rd_is_filtered_attr(rd, "vendor_key", vendor_key,
				key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_VENDOR_KEY]))
		goto out;

	if (key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_NUM_DMA_BLOCKS])
		num_dma_blocks = mnl_attr_get_u64(
			key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_NUM_DMA_BLOCKS]);
	if (rd_is_filtered_attr(rd, "num_dma_blocks", num_dma_blocks,
				key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_NUM_DMA_BLOCKS]))
		goto out;

	if (key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_KERNEL_VENDOR_KEY])
		kernel_vendor_key = mnl_attr_get_u64(
			key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_KERNEL_VENDOR_KEY]);

	if (nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_QUEUE_HANDLES])
		queue = mnl_attr_get_u32(
			nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_QUEUE_HANDLES]);
	if (rd_is_filtered_attr(rd, "queue", queue,
				nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_QUEUE_HANDLES]))
		goto out;

	if (nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_IN_USE])
		in_use = mnl_attr_get_u64(
			nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_IN_USE]);
	if (rd_is_filtered_attr(rd, "in_use", in_use,
				nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_IN_USE]))
		goto out;

	if (nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_MAX_IN_USE])
		max_in_use = mnl_attr_get_u64(
			nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_MAX_IN_USE]);
	if (rd_is_filtered_attr(rd, "max_in_use", max_in_use,
				nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_MAX_IN_USE]))
		goto out;

	if (nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_PINNED_HANDLES])
		pinned = mnl_attr_get_u32(
			nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_PINNED_HANDLES]);
	if (rd_is_filtered_attr(rd, "pinned", pinned,
				nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_PINNED_HANDLES]))
		goto out;

	/* vendor_key:num_dma_blocks:access_flags:ats, the "set ... pinned" syntax */
	snprintf(key_str, sizeof(key_str), "%" PRIx64 ":%" PRIx64 ":%x:%x",
		 vendor_key, num_dma_blocks, access_flags, ats);

	open_json_object(NULL);
	print_dev(rd, idx, name);
	print_color_string(PRINT_ANY, COLOR_NONE, "key", "key %s ", key_str);
	if (rd->show_details) {
		res_print_u32(rd, "ats", ats,
			      key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_ATS]);
		res_print_u32(rd, "access_flags", access_flags,
			      key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_ACCESS_FLAGS]);
		res_print_u64(rd, "vendor_key", vendor_key,
			      key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_VENDOR_KEY]);
		res_print_u64(rd, "num_dma_blocks", num_dma_blocks,
			      key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_NUM_DMA_BLOCKS]);
		res_print_u64(rd, "kernel_vendor_key", kernel_vendor_key,
			      key_line[RDMA_NLDEV_ATTR_FRMR_POOL_KEY_KERNEL_VENDOR_KEY]);
	}
	res_print_u32(rd, "queue", queue,
		      nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_QUEUE_HANDLES]);
	res_print_u64(rd, "in_use", in_use,
		      nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_IN_USE]);
	res_print_u64(rd, "max_in_use", max_in_use,
		      nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_MAX_IN_USE]);
	res_print_u32(rd, "pinned", pinned,
		      nla_line[RDMA_NLDEV_ATTR_FRMR_POOL_PINNED_HANDLES]);
	if (rd->show_details && frmr_pools_aging.valid &&
	    frmr_pools_aging.dev_idx == idx)
		print_color_uint(PRINT_ANY, COLOR_NONE, "aging_period",
				 "aging_period %u ", frmr_pools_aging.period);

	/*
	 * As upstream: the driver table (-dd) goes on an indented second
	 * line of its own, with or without -p (print_driver_table() breaks
	 * the line itself under -p).
	 */
	if (rd->show_driver_details && nla_line[RDMA_NLDEV_ATTR_DRIVER] &&
	    !rd->json_output && !rd->pretty_output)
		newline_indent(rd);
	print_driver_table(rd, nla_line[RDMA_NLDEV_ATTR_DRIVER]);
	newline(rd);

out:
	return MNL_CB_OK;
}

int res_frmr_pools_parse_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *tb[RDMA_NLDEV_ATTR_MAX] = {};
	struct nlattr *nla_table, *nla_entry;
	struct rd *rd = data;
	int ret = MNL_CB_OK;
	const char *name;
	uint32_t idx;

	mnl_attr_parse(nlh, 0, rd_attr_cb, tb);
	if (!tb[RDMA_NLDEV_ATTR_DEV_INDEX] || !tb[RDMA_NLDEV_ATTR_DEV_NAME])
		return MNL_CB_ERROR;

	name = mnl_attr_get_str(tb[RDMA_NLDEV_ATTR_DEV_NAME]);
	idx = mnl_attr_get_u32(tb[RDMA_NLDEV_ATTR_DEV_INDEX]);

	if (tb[RDMA_NLDEV_ATTR_FRMR_POOLS_AGING_PERIOD]) {
		frmr_pools_aging.dev_idx = idx;
		frmr_pools_aging.period = mnl_attr_get_u32(
			tb[RDMA_NLDEV_ATTR_FRMR_POOLS_AGING_PERIOD]);
		frmr_pools_aging.valid = true;
		snprintf(frmr_pools_aging.name, sizeof(frmr_pools_aging.name),
			 "%s", name);
	}

	/* A device without pools has nothing to show */
	nla_table = tb[RDMA_NLDEV_ATTR_FRMR_POOLS];
	if (!nla_table)
		return MNL_CB_OK;

	mnl_attr_for_each_nested(nla_entry, nla_table) {
		struct nlattr *nla_line[RDMA_NLDEV_ATTR_MAX] = {};

		frmr_pools_aging.pools++;
		ret = mnl_attr_parse_nested(nla_entry, rd_attr_cb, nla_line);
		if (ret != MNL_CB_OK)
			break;

		ret = res_frmr_pools_line(rd, name, idx, nla_line);
		if (ret != MNL_CB_OK)
			break;
	}
	return ret;
}

/* A filter on a pool attribute: a device line would match nothing of it */
static bool frmr_pools_pool_filter(struct rd *rd)
{
	struct filter_entry *fe;

	list_for_each_entry(fe, &rd->filter_list, list)
		if (strcmp(fe->key, "dev"))
			return true;
	return false;
}

/* dev rxe0 aging_period 60 (text output only) */
static void frmr_pools_print_dev_line(struct rd *rd)
{
	print_dev(rd, frmr_pools_aging.dev_idx, frmr_pools_aging.name);
	print_color_uint(PRINT_ANY, COLOR_NONE, "aging_period",
			 "aging_period %u ", frmr_pools_aging.period);
	newline(rd);
}

static int _res_frmr_pools(struct rd *rd)
{
	uint32_t flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP;
	uint32_t seq;
	int ret;

	frmr_pools_aging.valid = false;
	frmr_pools_aging.pools = 0;

	rd_prepare_msg(rd, RDMA_NLDEV_CMD_FRMR_POOLS_GET, &seq, flags);
	mnl_attr_put_u32(rd->nlh, RDMA_NLDEV_ATTR_DEV_INDEX, rd->dev_idx);
	/*
	 * Kernel-only pools are reported only on request. Sent on every
	 * dump as a u8 value, as upstream does: kernels read the value.
	 */
	mnl_attr_put_u8(rd->nlh, RDMA_NLDEV_ATTR_DRIVER_DETAILS,
			rd->show_driver_details ? 1 : 0);

	ret = rd_send_msg(rd);
	if (ret)
		return ret;

	ret = rd_recv_msg(rd, res_frmr_pools_parse_cb, rd, seq);
	/*
	 * A device without pools prints no pool line, so -d gives it a
	 * line of its own for the device-wide aging period, which the
	 * kernel sends with the empty table. Text only: JSON stays a list
	 * of pools, as upstream's, so that a script counting its members
	 * counts pools.
	 */
	if (!ret && rd->show_details && !rd->json_output &&
	    frmr_pools_aging.valid && !frmr_pools_aging.pools &&
	    !frmr_pools_pool_filter(rd))
		frmr_pools_print_dev_line(rd);
	/*
	 * A kernel without FRMR pools rejects the unknown command with
	 * EINVAL (or EOPNOTSUPP) and no extended ack message.
	 */
	if (ret < 0 && (errno == EINVAL || errno == EOPNOTSUPP))
		pr_err("Failed to get FRMR pools: is FRMR pools support missing from the kernel?\n");
	return ret;
}

int res_frmr_pools(struct rd *rd)
{
	int ret;

	ret = rd_build_filter(rd, frmr_pools_valid_filters);
	if (ret)
		return ret;

	ret = rd_set_arg_to_devname(rd);
	if (ret)
		return ret;

	return rd_exec_dev(rd, _res_frmr_pools);
}

/* To stdout when asked for, to stderr with an error */
static void frmr_pools_set_help(struct rd *rd, FILE *f)
{
	fprintf(f, "Usage: %s resource set frmr_pools dev DEV aging SECONDS\n",
		rd->filename);
	fprintf(f, "       %s resource set frmr_pools dev DEV pinned VENDOR_KEY:NUM_DMA_BLOCKS:ACCESS_FLAGS:ATS COUNT\n",
		rd->filename);
}

/* Strict unsigned parsing: no sign, no leading blanks, no trailing junk */
static int frmr_pools_get_u64(uint64_t *val, const char *str, int base)
{
	if (!str || !isxdigit((unsigned char)*str))
		return -EINVAL;
	errno = 0;
	return get_u64((__u64 *)val, str, base) ? -EINVAL : 0;
}

static int frmr_pools_get_u32(uint32_t *val, const char *str, int base)
{
	if (!str || !isxdigit((unsigned char)*str))
		return -EINVAL;
	errno = 0;
	return get_u32((__u32 *)val, str, base) ? -EINVAL : 0;
}

static int frmr_pools_no_more_args(struct rd *rd)
{
	if (rd_no_arg(rd))
		return 0;

	pr_err("Unexpected argument: %s\n", rd_argv(rd));
	return -EINVAL;
}

static int frmr_pools_set_aging(struct rd *rd)
{
	uint32_t period, seq;

	if (rd_no_arg(rd)) {
		pr_err("Please provide the aging period in seconds.\n");
		return -EINVAL;
	}
	if (frmr_pools_get_u32(&period, rd_argv(rd), 10)) {
		pr_err("Invalid aging period: %s (expected seconds, decimal)\n",
		       rd_argv(rd));
		return -EINVAL;
	}
	rd_arg_inc(rd);
	if (frmr_pools_no_more_args(rd))
		return -EINVAL;

	rd_prepare_msg(rd, RDMA_NLDEV_CMD_FRMR_POOLS_SET, &seq,
		       (NLM_F_REQUEST | NLM_F_ACK));
	mnl_attr_put_u32(rd->nlh, RDMA_NLDEV_ATTR_DEV_INDEX, rd->dev_idx);
	mnl_attr_put_u32(rd->nlh, RDMA_NLDEV_ATTR_FRMR_POOLS_AGING_PERIOD,
			 period);

	return rd_sendrecv_msg(rd, seq);
}

struct frmr_pool_key {
	uint64_t vendor_key;
	uint64_t num_dma_blocks;
	uint32_t access_flags;
	uint8_t ats;
};

/* VENDOR_KEY:NUM_DMA_BLOCKS:ACCESS_FLAGS:ATS, every field in hex */
static int frmr_pools_parse_key(const char *str, struct frmr_pool_key *key)
{
	char *fields[4], *copy, *p;
	uint32_t ats;
	int n = 0;
	int ret = -EINVAL;

	copy = strdup(str);
	if (!copy)
		return -ENOMEM;

	p = copy;
	while (n < ARRAY_SIZE(fields)) {
		fields[n++] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (n != ARRAY_SIZE(fields) || p) {
		pr_err("Invalid pool key: %s (expected VENDOR_KEY:NUM_DMA_BLOCKS:ACCESS_FLAGS:ATS)\n",
		       str);
		goto out;
	}

	if (frmr_pools_get_u64(&key->vendor_key, fields[0], 16)) {
		pr_err("Invalid vendor key: \"%s\" (expected a 64-bit hex number)\n",
		       fields[0]);
		goto out;
	}
	if (frmr_pools_get_u64(&key->num_dma_blocks, fields[1], 16)) {
		pr_err("Invalid number of DMA blocks: \"%s\" (expected a 64-bit hex number)\n",
		       fields[1]);
		goto out;
	}
	if (frmr_pools_get_u32(&key->access_flags, fields[2], 16)) {
		pr_err("Invalid access flags: \"%s\" (expected a 32-bit hex number)\n",
		       fields[2]);
		goto out;
	}
	if (frmr_pools_get_u32(&ats, fields[3], 16) || ats > 1) {
		pr_err("Invalid ats: \"%s\" (expected 0 or 1)\n", fields[3]);
		goto out;
	}
	key->ats = ats;
	ret = 0;
out:
	free(copy);
	return ret;
}

static int frmr_pools_set_pinned(struct rd *rd)
{
	struct frmr_pool_key key = {};
	struct nlattr *nest;
	uint32_t count, seq;
	int ret;

	if (rd_no_arg(rd)) {
		pr_err("Please provide the pool key VENDOR_KEY:NUM_DMA_BLOCKS:ACCESS_FLAGS:ATS.\n");
		return -EINVAL;
	}
	ret = frmr_pools_parse_key(rd_argv(rd), &key);
	if (ret)
		return ret;
	rd_arg_inc(rd);

	if (rd_no_arg(rd)) {
		pr_err("Please provide the number of pinned handles.\n");
		return -EINVAL;
	}
	if (frmr_pools_get_u32(&count, rd_argv(rd), 10)) {
		pr_err("Invalid number of pinned handles: %s (expected 0..%u)\n",
		       rd_argv(rd), UINT32_MAX);
		return -EINVAL;
	}
	rd_arg_inc(rd);
	if (frmr_pools_no_more_args(rd))
		return -EINVAL;

	rd_prepare_msg(rd, RDMA_NLDEV_CMD_FRMR_POOLS_SET, &seq,
		       (NLM_F_REQUEST | NLM_F_ACK));
	mnl_attr_put_u32(rd->nlh, RDMA_NLDEV_ATTR_DEV_INDEX, rd->dev_idx);
	mnl_attr_put_u32(rd->nlh, RDMA_NLDEV_ATTR_FRMR_POOL_PINNED_HANDLES,
			 count);
	nest = mnl_attr_nest_start(rd->nlh, RDMA_NLDEV_ATTR_FRMR_POOL_KEY);
	/* libmnl sets NLA_F_NESTED since 1.0.4; do not depend on it */
	nest->nla_type |= NLA_F_NESTED;
	mnl_attr_put_u8(rd->nlh, RDMA_NLDEV_ATTR_FRMR_POOL_KEY_ATS, key.ats);
	mnl_attr_put_u32(rd->nlh, RDMA_NLDEV_ATTR_FRMR_POOL_KEY_ACCESS_FLAGS,
			 key.access_flags);
	mnl_attr_put_u64(rd->nlh, RDMA_NLDEV_ATTR_FRMR_POOL_KEY_VENDOR_KEY,
			 key.vendor_key);
	mnl_attr_put_u64(rd->nlh, RDMA_NLDEV_ATTR_FRMR_POOL_KEY_NUM_DMA_BLOCKS,
			 key.num_dma_blocks);
	mnl_attr_nest_end(rd->nlh, nest);

	return rd_sendrecv_msg(rd, seq);
}

static int frmr_pools_set_one(struct rd *rd)
{
	const struct rd_cmd cmds[] = {
		{ "aging",	frmr_pools_set_aging },
		{ "pinned",	frmr_pools_set_pinned },
		{ 0 }
	};
	const struct rd_cmd *c;

	if (rd_no_arg(rd)) {
		pr_err("Please provide aging or pinned.\n");
		return -EINVAL;
	}

	/* Unlike rd_exec_cmd(), an unknown parameter is an error here */
	for (c = cmds; c->cmd && *rd_argv(rd); ++c) {
		if (!strcmpx(rd_argv(rd), c->cmd)) {
			rd_arg_inc(rd);
			return c->func(rd);
		}
	}

	pr_err("Unknown parameter '%s'.\n", rd_argv(rd));
	frmr_pools_set_help(rd, stderr);
	return -EINVAL;
}

int res_frmr_pools_set(struct rd *rd)
{
	if (rd_no_arg(rd)) {
		frmr_pools_set_help(rd, stderr);
		return -EINVAL;
	}
	if (strcmp(rd_argv(rd), "help") == 0) {
		frmr_pools_set_help(rd, stdout);
		return 0;
	}

	if (strcmpx(rd_argv(rd), "dev") || !*rd_argv(rd)) {
		pr_err("Please provide the device: dev DEV\n");
		return -EINVAL;
	}
	rd_arg_inc(rd);

	return rd_exec_require_dev(rd, frmr_pools_set_one);
}
