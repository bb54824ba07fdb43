#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# upload-kernel.sh - fetch the newest Debian 6.12 upload other than $KVER, unpacked privately.
#
# Usage: upload-kernel.sh        prints the upload's kernel release (e.g. 6.12.118+deb12-amd64)
#
# The upload is the one linux-headers-6.12-amd64 depends on (what `apt upgrade` would bring to a
# host that keeps the package installed); FRMR_UPLOAD=<release> names another. Its image,
# headers, common headers and kbuild are downloaded from Debian's archive into $CACHE/debs
# (apt-get download, kept for reruns) and unpacked with dpkg-deb -x into
# $CACHE/upload/<release>/root, never installed on this host: the headers package depends on the
# image, which would bring a host kernel, an initrd and the host's own dkms hooks with it.
# In that private root:
#  - the headers' Makefile includes the common headers by absolute path; it is pointed at the
#    private copy (the only absolute path a module build follows);
#  - depmod builds modules.dep, which the image package leaves to its postinst;
#  - the guest (vm-run.sh upload) boots boot/vmlinuz-<release> and binds lib/modules/<release>.
# Prints nothing and exits 3 when the archive has no 6.12 upload other than $KVER.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

rel=${FRMR_UPLOAD:-}
if [ -z "$rel" ]; then
	rel=$(apt-cache depends linux-headers-6.12-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-headers-\(6\.12\.[0-9]*+deb12-amd64\)$/\1/p' | head -1)
	[ -n "$rel" ] || die "apt-cache knows no linux-headers-6.12-amd64 (run apt-get update)"
fi
case "$rel" in
6.12.*+deb12-amd64) ;;
*) die "'$rel' is not a Debian 12 6.12 amd64 kernel release" ;;
esac
[ "$rel" != "$KVER" ] || { log "the archive's newest 6.12 upload is $KVER itself"; exit 3; }

up=${rel%-amd64}
U=$CACHE/upload/$rel
if [ -f "$U/ready" ]; then
	echo "$rel"
	exit 0
fi
mkdir -p "$CACHE/debs"
pkgs="linux-image-$rel-unsigned linux-headers-$rel linux-headers-$up-common linux-kbuild-$up"
(cd "$CACHE/debs" && for p in $pkgs; do
	ls "${p}"_*.deb > /dev/null 2>&1 && continue
	apt-get download "$p" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 ||
		true
	ls "${p}"_*.deb > /dev/null 2>&1 || die "apt-get download $p failed"
done)
rm -rf "$U"
mkdir -p "$U/root"
for p in $pkgs; do
	f=$(ls "$CACHE/debs/${p}"_*.deb | tail -1)
	dpkg-deb -x "$f" "$U/root"
	echo "$(dpkg-deb -f "$f" Package) $(dpkg-deb -f "$f" Version)" >> "$U/packages"
done
H=$U/root/usr/src/linux-headers-$rel
sed -i "s|^include /usr/src/|include $U/root/usr/src/|" "$H/Makefile"
grep -q "^include $U/root/usr/src/linux-headers-$up-common/Makefile" "$H/Makefile" ||
	die "unexpected $H/Makefile: $(cat "$H/Makefile")"
depmod -b "$U/root" "$rel"
[ -f "$U/root/boot/vmlinuz-$rel" ] && [ -s "$U/root/lib/modules/$rel/modules.dep" ] ||
	die "no kernel or modules in $U/root"
touch "$U/ready"
log "$rel unpacked in $U/root ($(du -sh "$U/root" | cut -f1)): $(paste -sd, "$U/packages")"
echo "$rel"
