#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# upstream.sh - run the same cases against upstream's rdma, side by side with ours.
#
# Usage: upstream.sh OUR_RDMA_BINARY OUTPUT_DIR
#
# Upstream's tool is the rdma binary of Debian unstable's iproute2 (the newest upstream release
# Debian's archive carries, with upstream's res-frmr-pools.c), downloaded with the libc, libmnl
# and libcap of unstable and run through unstable's own dynamic loader (Debian 12's libc is too
# old for it); nothing is installed. Both tools run every case of run.sh against the same fake
# kernel. Writes OUTPUT_DIR/{ours,upstream}.txt and OUTPUT_DIR/upstream.diff (- ours, + upstream).
# Exits 0 when both ran: the differences are for a reader, each one listed in rdma-resource(8)
# ("Differences from upstream iproute2") or due to the base iproute2 version.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ours=${1:?our rdma binary}; out=${2:?output dir}
cache=${FRMR_CACHE:-/var/cache/frmr}/upstream-iproute2
mirror=http://deb.debian.org/debian
mkdir -p "$cache" "$out"

if [ ! -x "$cache/root/usr/bin/rdma" ]; then
	curl -fsS --max-time 120 -o "$cache/Packages.xz" "$mirror/dists/sid/main/binary-amd64/Packages.xz"
	rm -rf "$cache/root"
	mkdir -p "$cache/root"
	for p in iproute2 libc6 libmnl0 libcap2; do
		f=$(xz -dc "$cache/Packages.xz" | awk -v p="$p" '
			$0 == "Package: " p { hit = 1 } hit && !done && /^Filename:/ { print $2; done = 1 }')
		[ -n "$f" ] || { echo "no $p in unstable's Packages" >&2; exit 1; }
		curl -fsS --max-time 300 -o "$cache/$(basename "$f")" "$mirror/$f"
		dpkg-deb -x "$cache/$(basename "$f")" "$cache/root"
		echo "$(basename "$f")" >> "$cache/root/packages"
	done
fi
lib=$cache/root/usr/lib/x86_64-linux-gnu
cat > "$out/upstream-rdma" <<EOF
#!/bin/sh
exec $lib/ld-linux-x86-64.so.2 --library-path $lib $cache/root/usr/bin/rdma "\$@"
EOF
chmod +x "$out/upstream-rdma"
"$out/upstream-rdma" -V | tee "$out/upstream-version.txt"
"$here/run.sh" "$ours" --transcript > "$out/ours.txt"
"$here/run.sh" "$out/upstream-rdma" --transcript > "$out/upstream.txt"
diff -u --label ours --label "upstream ($(cat "$out/upstream-version.txt"))" \
	"$out/ours.txt" "$out/upstream.txt" > "$out/upstream.diff" || true
echo "$(grep -c '^### ' "$out/ours.txt") cases; $(grep -c '^[-+]out\|^[-+]err\|^[-+]rc' "$out/upstream.diff") differing lines: $out/upstream.diff"
