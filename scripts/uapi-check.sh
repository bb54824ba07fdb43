#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# uapi-check.sh - the nldev values of rdma_netlink.h headers are Linux 7.1's.
#
# Usage: uapi-check.sh HEADER...
# Compiles, for each header, a program that prints every enumerator listed in
# scripts/nldev-7.1.txt, and compares its values with that list: the one place where the
# numbers are written down. build-rdma.sh --check runs it on the kernel's header
# (include/uapi/rdma/rdma_netlink.h of the prepared tree) and on the rdma tool's copy.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || die "usage: $0 HEADER..."
want=$REPO/scripts/nldev-7.1.txt
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
{
	echo '#include <stdio.h>'
	echo '#include HEADER'
	echo 'int main(void)'
	echo '{'
	grep -v '^#' "$want" | while read -r name _; do
		echo "	printf(\"$name %d\\n\", (int)$name);"
	done
	echo '	return 0;'
	echo '}'
} > "$tmp/p.c"
grep -v '^#' "$want" > "$tmp/want"
bad=0
for h in "$@"; do
	[ -f "$h" ] || die "no header $h"
	if ! gcc -Wall -Werror -DHEADER="\"$(readlink -f "$h")\"" -o "$tmp/p" "$tmp/p.c" 2> "$tmp/err"; then
		log "$h: does not define every value: $(grep -m3 error "$tmp/err" | tr '\n' ' ')"
		bad=1
		continue
	fi
	"$tmp/p" > "$tmp/got"
	if diff -u "$tmp/want" "$tmp/got" > "$tmp/diff"; then
		log "$h: $(wc -l < "$tmp/want") nldev values are Linux 7.1's"
	else
		log "$h: values differ from Linux 7.1 ($want):"
		sed 's/^/  /' "$tmp/diff" >&2
		bad=1
	fi
done
exit $bad
