# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# testkernel-smoke: the rxe smoke under KASAN, lockdep and kmemleak.
. "$FRMR_SELFTEST/scenarios/rxe-smoke.sh"
