#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# run.sh - check "rdma resource show|set frmr_pools" against a fake NETLINK_RDMA kernel side.
#
# Usage: run.sh [RDMA_BINARY] [--update | --transcript]
#   --update      write the transcript to expected.txt
#   --transcript  print it instead of comparing (upstream.sh runs upstream's tool this way)
#
# Builds fake-rdma-nl.so (LD_PRELOAD), runs every case below and compares the transcript
# (stdout, stderr, exit code and the decoded requests the tool sent) with expected.txt.
# Needs no RDMA in the running kernel.
set -u

here=$(cd "$(dirname "$0")" && pwd)
rdma=$here/../../rdma/rdma
update= transcript=
for a in "$@"; do
	case "$a" in
	--update) update=1 ;;
	--transcript) transcript=1 ;;
	*) rdma=$a ;;
	esac
done
[ -x "$rdma" ] || { echo "no rdma binary at $rdma" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -Wall -Wextra -Wno-unused-parameter -O2 -shared -fPIC \
	-I"$here/../../rdma/include/uapi" -o "$work/fake.so" "$here/fake-rdma-nl.c" -lmnl -ldl ||
	exit 2

t() { # MODE ARGS...
	local mode=$1 rc
	shift
	rm -f "$work/log"
	echo "### [$mode] rdma $*"
	FAKE_RDMA_MODE=$mode FAKE_RDMA_LOG=$work/log LD_PRELOAD=$work/fake.so \
		"$rdma" "$@" > "$work/out" 2> "$work/err"
	rc=$?
	sed 's/^/out: /' "$work/out"
	sed 's/^/err: /' "$work/err"
	echo "rc: $rc"
	# the device list request of every run is not interesting
	[ -f "$work/log" ] && grep -v '^REQ cmd=1 ' "$work/log" | sed 's/^/sent: /'
	echo
}

cases() {
	# show
	t pools res show frmr_pools
	t pools res show frmr_pools dev rxe0
	t pools res show frmr_pools dev mlx5_0
	t pools -d res show frmr_pools dev rxe0
	# DRIVER_DETAILS goes out on every dump, 0 without -dd: the fake, like the kernel,
	# reads the value, so no kernel-only pool appears above and it does under -dd below
	# a device without pools: -d still reads its aging period back (not under a pool filter)
	t pools -d res show frmr_pools
	t pools -d res show frmr_pools dev mlx5_0
	t pools -d -j res show frmr_pools dev mlx5_0
	t pools -d res show frmr_pools dev mlx5_0 queue 0
	t pools -dd res show frmr_pools dev rxe0
	t pools -dd -p res show frmr_pools dev rxe0
	t pools -j res show frmr_pools
	t pools -d -j res show frmr_pools dev rxe0
	t pools -dd -j -p res show frmr_pools dev rxe0
	t pools -j res show frmr_pools dev mlx5_0
	t pools res show frmr_pools pinned 3
	t pools res show frmr_pools dev rxe0 queue 0-13 in_use 1,4
	t pools res show frmr_pools num_dma_blocks 131072
	t pools res show frmr_pools ats 1
	t pools -dd res show frmr_pools access_flags 0 max_in_use 3
	t pools res show frmr_pools dev nosuch
	t pools res show frmr_pools foo 1
	t pools res show frmr_pools queue
	t pools res show frmr_pools queue x
	# 64-bit counters are filtered on all 64 bits (5000000000 mod 2^32 = 705032704)
	t pools res show frmr_pools max_in_use 5000000000
	t pools res show frmr_pools max_in_use 705032704
	t pools res show frmr_pools max_in_use 4999999999-5000000001
	t pools res show frmr_pools max_in_use 4294967312
	# set
	t pools res set frmr_pools dev rxe0 aging 30
	t pools res set frmr_pools dev rxe0 aging 0
	t pools res set frmr_pools dev rxe0 pinned 0:100:0:0 8
	t pools res set frmr_pools dev rxe0 pinned 1:1:5:1 0
	t pools res set frmr_pools dev rxe0 pinned 0x0:0x100:0x0:0x0 1
	t pools res set frmr_pools dev rxe0 pinned ffffffffffffffff:ffffffffffffffff:ffffffff:1 4294967295
	t pools res set frmr_pools dev rxe0 pinned 2:100:0:0 1
	# set: argument errors, nothing may be sent
	t pools res set frmr_pools
	t pools res set frmr_pools help
	t pools res set frmr_pools aging 5
	t pools res set frmr_pools dev
	t pools res set frmr_pools dev nosuch aging 5
	t pools res set frmr_pools dev rxe0
	t pools res set frmr_pools dev rxe0 foo 5
	t pools res set frmr_pools dev rxe0 '' 5
	t pools res set frmr_pools dev rxe0 aging
	t pools res set frmr_pools dev rxe0 aging abc
	t pools res set frmr_pools dev rxe0 aging ' 5'
	t pools res set frmr_pools dev rxe0 aging +5
	t pools res set frmr_pools dev rxe0 aging 5s
	t pools res set frmr_pools dev rxe0 aging 4294967296
	t pools res set frmr_pools dev rxe0 aging 5 extra
	t pools res set frmr_pools dev rxe0 pinned
	t pools res set frmr_pools dev rxe0 pinned 0:100:0
	t pools res set frmr_pools dev rxe0 pinned 0:100:0:0:0 1
	t pools res set frmr_pools dev rxe0 pinned 0::0:0 1
	t pools res set frmr_pools dev rxe0 pinned 0:100:0:2 1
	t pools res set frmr_pools dev rxe0 pinned 0:100:0:g 1
	t pools res set frmr_pools dev rxe0 pinned 0:+1:0:0 1
	t pools res set frmr_pools dev rxe0 pinned 0:10000000000000000:0:0 1
	t pools res set frmr_pools dev rxe0 pinned 0:100:100000000:0 1
	t pools res set frmr_pools dev rxe0 pinned 0:100:0:0
	t pools res set frmr_pools dev rxe0 pinned 0:100:0:0 4294967296
	t pools res set frmr_pools dev rxe0 pinned 0:100:0:0 x
	t pools res set frmr_pools dev rxe0 pinned 0:100:0:0 1 2
	t pools -- res set frmr_pools dev rxe0 pinned 0:100:0:0 -1
	# a kernel without FRMR pools (Linux 6.12): EINVAL, no extended ack
	t unsupported res show frmr_pools
	t unsupported -j res show frmr_pools dev mlx5_0
	t unsupported res set frmr_pools dev rxe0 aging 30
	# the rest of "rdma resource" is unchanged
	t unsupported res show
	t unsupported res help
}

cases > "$work/transcript"
if [ -n "$transcript" ]; then
	cat "$work/transcript"
	exit 0
fi
if [ -n "$update" ]; then
	cp "$work/transcript" "$here/expected.txt"
	echo "updated $here/expected.txt"
	exit 0
fi
if diff -u "$here/expected.txt" "$work/transcript"; then
	echo "rdma frmr_pools: $(grep -c '^###' "$work/transcript") cases passed"
else
	echo "rdma frmr_pools: transcript differs from expected.txt" >&2
	exit 1
fi
