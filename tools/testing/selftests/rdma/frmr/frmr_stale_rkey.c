// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * frmr_stale_rkey - a pooled MR handle never revives an old rkey.
 *
 * Two RC QPs on one device (loopback). Every cycle deregisters the victim MR,
 * registers the same buffer again (a pooled driver hands back the same MR
 * index with a new key byte), then:
 *  - an RDMA WRITE with the previous rkey must fail with
 *    IBV_WC_REM_ACCESS_ERR and leave the buffer unchanged;
 *  - both QPs are reset (ERR -> RESET -> INIT -> RTR -> RTS);
 *  - an RDMA WRITE with the new rkey must succeed and land.
 * It also checks the key rotation of a pooled index: same index => key byte
 * previous + 1, never more than frmr_max_reuse registrations per index, and
 * (with --exact, on a fresh pool) exactly frmr_max_reuse between retirements.
 *
 * Usage: frmr_stale_rkey [-d DEV] [-g GID_INDEX] [-n CYCLES] [-p PAGES]
 *                        [-m MAX_REUSE] [--exact]
 * Exit status 0 when every check held; the last line is a summary.
 */
#include <getopt.h>
#include <stdint.h>
#include <unistd.h>
#include "frmr_verbs.h"

#define MR_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE)

static struct frmr_loopback lb;
static int gid_index = 1;

static int read_max_reuse(void)
{
	FILE *f = fopen("/sys/module/rdma_rxe/parameters/frmr_max_reuse", "r");
	int v = 0;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static int buf_is(const unsigned char *b, size_t len, unsigned char c)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != c)
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "exact", no_argument, NULL, 'x' }, { NULL, 0, NULL, 0 },
	};
	const char *dev = "rxe0";
	int cycles = 300, pages = 24, max_reuse = 0, exact = 0;
	int c, i, run = 0, retirements = 0, first_run = 1;
	struct ibv_mr *victim, *src;
	unsigned char *buf, *sbuf;
	__u32 prev_rkey;
	size_t len;

	while ((c = getopt_long(argc, argv, "d:g:n:p:m:", opts, NULL)) != -1) {
		if (frmr_opt(c, &dev, &gid_index, &cycles, &pages))
			continue;
		switch (c) {
		case 'm':
			max_reuse = atoi(optarg);
			break;
		case 'x':
			exact = 1;
			break;
		default:
			die("bad option\n");
		}
	}
	if (!max_reuse)
		max_reuse = read_max_reuse();
	if (max_reuse < 1 || max_reuse > 255)
		die("frmr_max_reuse unknown (%d): is rdma_rxe pooled?\n", max_reuse);
	len = (size_t)pages * PAGE;

	frmr_loopback_pair(&lb, dev, gid_index);

	buf = frmr_alloc(len);
	sbuf = frmr_alloc(PAGE);
	/* one page: never shares a pool with the victim (pages >= 2) */
	src = ibv_reg_mr(lb.pd, sbuf, PAGE, IBV_ACCESS_LOCAL_WRITE);
	victim = ibv_reg_mr(lb.pd, buf, len, MR_ACCESS);
	if (!src || !victim)
		die("reg_mr: %s\n", strerror(errno));
	run = 1;

	for (i = 0; i < cycles; i++) {
		__u32 idx, pidx;
		enum ibv_wc_status st;

		prev_rkey = victim->rkey;
		if (ibv_dereg_mr(victim))
			die("dereg_mr: %s\n", strerror(errno));
		victim = ibv_reg_mr(lb.pd, buf, len, MR_ACCESS);
		if (!victim)
			die("reg_mr: %s\n", strerror(errno));

		idx = victim->rkey >> 8;
		pidx = prev_rkey >> 8;
		if (idx != pidx && exact && !first_run && run != max_reuse)
			fail("cycle %d: index 0x%x retired after %d registrations, expected %d\n",
			     i, pidx, run, max_reuse);
		if (idx == pidx) {
			run++;
			if ((victim->rkey & 0xff) != ((prev_rkey + 1) & 0xff))
				fail("cycle %d: key 0x%x after 0x%x is not +1\n",
				     i, victim->rkey, prev_rkey);
			if (run > max_reuse)
				fail("cycle %d: index 0x%x served %d registrations > %d\n",
				     i, idx, run, max_reuse);
		} else {
			retirements++;
			first_run = 0;
			run = 1;
		}

		/* the old rkey must be dead: remote access error, no data */
		memset(buf, 0x5a, len);
		memset(sbuf, 0xa5, PAGE);
		st = frmr_loopback_rdma(&lb, IBV_WR_RDMA_WRITE, src,
					(uintptr_t)buf, prev_rkey, PAGE);
		if (st != IBV_WC_REM_ACCESS_ERR)
			fail("cycle %d: write with old rkey 0x%x (new 0x%x): status %s\n",
			     i, prev_rkey, victim->rkey, ibv_wc_status_str(st));
		if (!buf_is(buf, len, 0x5a))
			fail("cycle %d: old rkey 0x%x changed the new MR's memory\n",
			     i, prev_rkey);
		frmr_qps_reset(lb.qp, lb.cq, &lb.gid, gid_index);

		/* the new rkey works */
		st = frmr_loopback_rdma(&lb, IBV_WR_RDMA_WRITE, src,
					(uintptr_t)buf + len - PAGE,
					victim->rkey, PAGE);
		if (st != IBV_WC_SUCCESS) {
			fail("cycle %d: write with new rkey 0x%x: %s\n", i,
			     victim->rkey, ibv_wc_status_str(st));
			frmr_qps_reset(lb.qp, lb.cq, &lb.gid, gid_index);
		} else if (!buf_is(buf + len - PAGE, PAGE, 0xa5)) {
			fail("cycle %d: write with new rkey did not land\n", i);
		}
		if (failures > 10)
			break;
	}

	if (exact && cycles > max_reuse && !retirements)
		fail("no retirement in %d cycles with frmr_max_reuse %d\n",
		     cycles, max_reuse);
	printf("cycles %d max_reuse %d retirements %d last_run %d failures %d\n",
	       i, max_reuse, retirements, run, failures);

	ibv_dereg_mr(victim);
	ibv_dereg_mr(src);
	frmr_loopback_close(&lb);
	free(buf);
	free(sbuf);
	return frmr_exit_status();
}
