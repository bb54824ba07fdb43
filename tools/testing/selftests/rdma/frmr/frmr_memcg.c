// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * frmr_memcg - leave pooled handles behind, for a memory cgroup to be
 * charged with.
 *
 * Registers COUNT user MRs of PAGES pages at once (all over the same
 * buffer, so that only the MRs cost memory), then deregisters them: a pooled
 * driver keeps COUNT handles queued in the pool of PAGES blocks after this
 * process exited. The scenario runs it in a memory cgroup of its own and
 * reads what stays charged there.
 *
 * Usage: frmr_memcg [-d DEV] [-n COUNT] [-p PAGES]
 * Exit status 0 when every verb succeeded; prints one line.
 */
#include <unistd.h>
#include "frmr_verbs.h"

#define MAX_MRS	1024

int main(int argc, char **argv)
{
	static struct ibv_mr *mr[MAX_MRS];
	int c, i, count = 64, pages = 2048;
	const char *dev = "rxe0";
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	void *buf;
	size_t len;

	while ((c = getopt(argc, argv, "d:n:p:")) != -1)
		if (!frmr_opt(c, &dev, NULL, &count, &pages))
			die("bad option\n");
	if (count < 1 || count > MAX_MRS || pages < 1)
		die("bad parameters\n");
	len = (size_t)pages * PAGE;

	ctx = frmr_open_device(dev);
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		die("alloc_pd: %s\n", strerror(errno));
	buf = frmr_alloc(len);
	memset(buf, 0, len);

	for (i = 0; i < count; i++) {
		mr[i] = ibv_reg_mr(pd, buf, len, IBV_ACCESS_LOCAL_WRITE);
		if (!mr[i])
			die("reg_mr %d: %s\n", i, strerror(errno));
	}
	for (i = 0; i < count; i++)
		if (ibv_dereg_mr(mr[i]))
			die("dereg_mr %d: %s\n", i, strerror(errno));
	printf("registered and deregistered %d MRs of %d pages\n", count,
	       pages);

	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	free(buf);
	return frmr_exit_status();
}
