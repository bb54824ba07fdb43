#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# install-deps.sh - install (idempotently) the Debian packages the build and guest need.
set -euo pipefail

KVER_PIN=${KVER_PIN:-6.12.117+deb12}
PKGS_BUILD="bc flex bison libelf-dev libssl-dev dwarves sparse cpio make xz-utils zstd kmod
	gcc python3 rsync git quilt libmnl-dev pkg-config patch dkms dh-dkms debhelper openssl lintian"
PKGS_GUEST="qemu-system-x86 busybox-static rdma-core ibverbs-providers ibverbs-utils
	rdmacm-utils perftest iproute2 nvme-cli libibverbs-dev librdmacm-dev libcap2-bin
	python3 gnuplot-nox linux-perf"

log() { echo "[install-deps] $*"; }

# Never build a host initrd when a kernel image is installed.
if [ -f /etc/initramfs-tools/update-initramfs.conf ]; then
	sed -i 's/^update_initramfs=.*/update_initramfs=no/' /etc/initramfs-tools/update-initramfs.conf
else
	mkdir -p /etc/initramfs-tools
	echo "update_initramfs=no" > /etc/initramfs-tools/update-initramfs.conf
fi

# A deb-src entry for `apt-get source iproute2`.
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && \
   ! grep -qs '^deb-src' /etc/apt/sources.list; then
	cat > /etc/apt/sources.list.d/frmr-deb-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	NEED_UPDATE=1
fi

# Pick the kernel upload: the pinned one, or the newest 6.12 with source+headers+image.
pick_kver() {
	local v
	if apt-cache show "linux-headers-${KVER_PIN}-amd64" >/dev/null 2>&1; then
		echo "${KVER_PIN}"
		return
	fi
	v=$(apt-cache search --names-only '^linux-headers-6\.12\.[0-9]+\+deb12-amd64$' |
		awk '{print $1}' | sed 's/^linux-headers-//; s/-amd64$//' | sort -V | tail -1)
	echo "$v"
}

want=""
missing() {
	for p in "$@"; do
		local name=${p%%=*} ver=""
		[ "$name" != "$p" ] && ver=${p#*=}
		if ! dpkg-query -W -f='${Status}\n' "$name" 2>/dev/null | grep -q "install ok installed"; then
			echo "$p"
		elif [ -n "$ver" ] && [ "$(dpkg-query -W -f='${Version}' "$name")" != "$ver" ]; then
			echo "$p"
		fi
	done
}

if [ -n "${NEED_UPDATE:-}" ] || [ ! -d /var/lib/apt/lists ] || \
   [ -z "$(ls /var/lib/apt/lists/*Sources* 2>/dev/null)" ]; then
	log "apt-get update"
	apt-get update -qq
fi

KV=$(pick_kver)
if [ "$KV" != "$KVER_PIN" ]; then
	log "NOTE: pinned kernel ${KVER_PIN} not in the archive; using ${KV}"
fi
# Source, headers and image must be the same upload.
SRCVER=$(apt-cache show "linux-headers-${KV}-amd64" | awk '/^Version:/{print $2; exit}')
KPKGS="linux-source-6.12=${SRCVER} linux-headers-${KV}-amd64"
# The signed and unsigned images conflict: install the unsigned one only if neither is present.
if [ -z "$(missing "linux-image-${KV}-amd64")" ] || \
   [ -z "$(missing "linux-image-${KV}-amd64-unsigned")" ]; then
	:
else
	KPKGS="$KPKGS linux-image-${KV}-amd64-unsigned"
fi

# shellcheck disable=SC2086
# A half-configured earlier run (e.g. an interrupted conffile prompt) is finished first.
DEBIAN_FRONTEND=noninteractive dpkg --configure -a --force-confdef --force-confold >/dev/null 2>&1 || true
todo=$(missing $PKGS_BUILD $PKGS_GUEST $KPKGS | tr '\n' ' ')
if [ -n "${todo// /}" ]; then
	log "installing: $todo"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $todo
else
	log "all packages present"
fi
echo "$KV" > "${KVER_FILE:-/dev/null}"
