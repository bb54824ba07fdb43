# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# harness-warn: every step passes, but a module WARNs at load: the run must be reported failed.
step load-broken-module 30 insmod "$FRMR_OUT/harness/warn_on_load.ko"
