#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# build-testkernel.sh - build the KUnit/KASAN/lockdep/kmemleak/failslab test kernel from the prepared tree.
#
# The configuration is allnoconfig plus two fragments: the selftests' config (what the tests
# need) and scripts/testkernel.config (what the guest needs to boot, and the sanitizers and
# KUnit). The build directory is cached under $CACHE/testkernel/build, keyed by the base
# source: an unchanged rebuild takes seconds, an edited driver recompiles only what changed,
# a new base starts from scratch.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FRAGS=("$SELFTEST/config" "$REPO/scripts/testkernel.config")
TK=$CACHE/testkernel
"$REPO/scripts/tree.sh" prepare linux
key=$(dpkg-query -W -f='${Version}' linux-source-6.12 | sha1sum | cut -c1-16)
B=$TK/build
if [ "$(cat "$TK/key" 2>/dev/null)" != "$key" ]; then
	log "new test kernel base ($key): building from scratch"
	rm -rf "$TK"
	mkdir -p "$B"
	echo "$key" > "$TK/key"
fi
# Regenerate the configuration every time (the fragment or a patched Kconfig may have
# changed) and install it only when it differs, so kbuild rebuilds only what it affects.
grep -hv '^#' "${FRAGS[@]}" > "$B/fragment"
# A symbol set in both would silently take the last value: each belongs to one of them.
dup=$(grep -o '^CONFIG_[A-Z0-9_]*' "$B/fragment" | sort | uniq -d)
[ -z "$dup" ] || die "set in both config fragments: $dup"
rm -rf "$TK/cfg"; mkdir -p "$TK/cfg"
make -s -C "$TREE_LINUX" O="$TK/cfg" KCONFIG_ALLCONFIG="$B/fragment" allnoconfig >/dev/null
# Every symbol of the fragment must have the value asked for (Kconfig drops unmet ones).
bad=0
while IFS= read -r line; do
	grep -qxF "$line" "$TK/cfg/.config" || { log "config: '$line' did not stick"; bad=1; }
done < <(grep '^CONFIG_' "$B/fragment")
[ $bad = 0 ] || die "test kernel configuration incomplete"
cmp -s "$TK/cfg/.config" "$B/.config" || cp "$TK/cfg/.config" "$B/.config"
rm -rf "$TK/cfg"
t0=$(now)
log "building test kernel in $B"
with_lock nice -n 5 make -C "$TREE_LINUX" O="$B" -j"$(nproc)" bzImage modules > "$TK/build.log" 2>&1 ||
	{ tail -30 "$TK/build.log" >&2; die "test kernel build failed (log: $TK/build.log)"; }
krel=$(make -s -C "$TREE_LINUX" O="$B" kernelrelease)
rm -rf "$TK/mods.new"
make -s -C "$TREE_LINUX" O="$B" INSTALL_MOD_PATH="$TK/mods.new" INSTALL_MOD_STRIP=1 \
	modules_install > /dev/null
rm -rf "$TK/mods"; mv "$TK/mods.new" "$TK/mods"
cp "$B/arch/x86/boot/bzImage" "$TK/bzImage"
echo "$krel" > "$TK/kernel.release"
ship_uapi
log "test kernel $krel ready in $(( $(now) - t0 ))s"
