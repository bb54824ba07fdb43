# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# harness2 (two hosts): the two-guest runner's own test, run by scripts/harness-selftest.sh.
# Guest a passes its one step, but the module it loads WARNs; guest b hangs. The pair must be
# reported failed on both counts: a's kernel report and b's timeout, although a finished.
if [ "$ROLE" = a ]; then
	step load-broken-module 30 insmod "$FRMR_OUT/harness/warn_on_load.ko"
else
	sleep 100000
fi
