#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# mkinitramfs.sh - tiny busybox initramfs that mounts the host root over 9p and runs a scenario.
#
# Usage: mkinitramfs.sh <kernel-release> <modules-root> <output.cpio.gz>
# <modules-root> holds lib/modules/<kernel-release> (/ for the stock kernel).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

krel=$1; modroot=$2; out=$3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,dev,proc,sys,newroot,lib/modules}
cp /bin/busybox "$tmp/bin/busybox"
for a in sh mount umount insmod mkdir switch_root sleep cat echo poweroff mknod ln ls; do
	ln -s busybox "$tmp/bin/$a"
done
# Filesystem modules the stock kernel builds as modules (the test kernel has them built in).
for m in netfs 9pnet 9pnet_virtio 9p overlay; do
	f=$(modinfo -b "$modroot" -k "$krel" -F filename "$m" 2>/dev/null || true)
	case "$f" in
	""|"(builtin)") continue ;;
	*.xz) xz -dc "$f" > "$tmp/lib/modules/$m.ko" ;;
	*.zst) zstd -qdc "$f" > "$tmp/lib/modules/$m.ko" ;;
	*) cp "$f" "$tmp/lib/modules/$m.ko" ;;
	esac
	echo "$m" >> "$tmp/lib/modules/order"
done
install -m755 "$REPO/scripts/guest/initramfs-init" "$tmp/init"
(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.tmp"
mv "$out.tmp" "$out"
