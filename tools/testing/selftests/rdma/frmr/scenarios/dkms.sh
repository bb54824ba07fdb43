# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# dkms: install frmr-pools-dkms/-rdma on the stock kernel, load every in-box importer, remove it.
#
# Needs scripts/dkms-test.sh to have built the packages and the host's private dkms tree
# ($FRMR_OUT/dkms). Installs land in the guest's tmpfs overlay and vanish at power-off.
# 1. the in-box importers of the ib_core family are derived (scripts/dkms-importers.sh) and each
#    is loaded against the stock stack: that is the baseline (a module that cannot load there
#    must fail the same way later, and is recorded);
# 2. dpkg -i of both packages (the postinst's dkms build is switched off with
#    /etc/dkms/no-autoinstall: under TCG it would take many times the host's 2 minutes),
#    dkms add, the host's dkms build copied in, dkms install: 9 modules in updates/dkms, depmod;
# 3. the stack loads from updates/dkms (version and build-ids are the host build's), mlx5_ib
#    loads against the stock mlx5_core, rxe carries ib_write_bw, rdma-frmr shows frmr_pools;
#    kernel hooks: installing a kernel the package refuses (6.1; a 6.12 whose RDMA CRCs differ)
#    runs header_postinst.d and postinst.d as the kernel packages do (run-parts --exit-on-error):
#    every hook exits 0, one "skipped" line, the initramfs hook runs, nothing is built;
#    the relations: linux-headers-6.12-amd64 resolves to a 6.12 upload's headers;
#    rdma-frmr shows as an unprivileged user on the default PATH, its man page is installed;
# 4. every importer loads against ours as it did against stock; ib_core stays ours;
# 5. dpkg -r: dkms removes the modules, the in-box ones load again, rdma-frmr is gone and
#    iproute2's rdma was never touched.

. "$FRMR_SELFTEST/dkms-lib.sh"

sums_iproute2() { sha1sum /usr/bin/rdma /sbin/rdma 2>/dev/null; dpkg -S /usr/bin/rdma /sbin/rdma 2>&1; }

step derive-importers 120 derive_importers || exit 0
modprobe -a udp_tunnel ip6_udp_tunnel configfs
step stock-load-importers 600 load_importers stock
report_importers stock
step stock-stack-is-stock 60 check_loaded stock ib_core ib_uverbs ib_cm rdma_cm
step stock-unload 300 unload_all

sums_iproute2 > /tmp/iproute2.before
# Seconds since the step began, before each phase of a long step (install and removal take
# minutes under TCG, mostly depmod).
at() { echo "[+$(($(date +%s) - T0))s] $*"; }
install_pkgs() {
	T0=$(date +%s)
	mkdir -p /etc/dkms && touch /etc/dkms/no-autoinstall
	at "dpkg -i"
	DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB_DKMS" "$DEB_RDMA" || return 1
	rm -f /etc/dkms/no-autoinstall
	at "dkms add"
	dkms add -m frmr-pools -v "$DKV" || return 1
	[ -d "$PREBUILT" ] || { echo "no host dkms build at $PREBUILT"; return 1; }
	cp -a "$PREBUILT" "/var/lib/dkms/frmr-pools/$DKV/"
	dkms status -m frmr-pools
	dkms status -m frmr-pools -v "$DKV" -k "$K" | grep -q ': built' || return 1
	at "dkms install"
	dkms install -m frmr-pools -v "$DKV" -k "$K" || return 1
	at "installed"
	dkms status -m frmr-pools -v "$DKV" -k "$K" | grep -q ': installed'
}
step install-packages 600 install_pkgs || exit 0
check_installed() {
	local m f bad=0
	ls -l "/lib/modules/$K/updates/dkms/"
	for m in $OURS; do
		f=$(modinfo -F filename "$m")
		echo "$m: $f version $(modinfo -F version "$m")"
		case "$f" in */updates/dkms/*) ;; *) bad=1 ;; esac
		[ "$(modinfo -F version "$m")" = "$DKV" ] || bad=1
	done
	[ "$(ls "/lib/modules/$K/updates/dkms/" | wc -l)" -eq "$(rdma_modules | wc -w)" ] || bad=1
	return $bad
}
step modinfo-resolves-ours 60 check_installed
# A kernel the package refuses, installed as dpkg would: the headers' postinst runs
# header_postinst.d, the image's postinst runs postinst.d, both with --exit-on-error. The headers
# are links to the running kernel's (the hooks look for build/include, dkms.conf for .config and
# Module.symvers); update-initramfs is a stub that records its call (mkinitramfs cannot work for a
# kernel without modules; the point is that the hook after dkms's ran).
initramfs_stub() {
	mkdir -p /tmp/stub
	printf '#!/bin/sh\necho "update-initramfs $*" >> /tmp/stub/initramfs.log\n' > /tmp/stub/update-initramfs
	chmod +x /tmp/stub/update-initramfs
	: > /tmp/stub/initramfs.log
}
kernel_hooks() { # kver [changed-export]
	local k=$1 h=/lib/modules/$1/build rc1 rc2 n
	mkdir -p "/lib/modules/$k" /tmp/stub "$h"
	ln -sf "/usr/src/linux-headers-$K/"{include,arch,scripts,Makefile,.config,.kernelvariables} "$h/"
	if [ -n "${2:-}" ]; then
		awk -F'\t' -v s="$2" 'BEGIN { OFS = "\t" } $2 == s { $1 = "0x00c0ffee" } { print }' \
			"/usr/src/linux-headers-$K/Module.symvers" > "$h/Module.symvers"
	else
		ln -sf "/usr/src/linux-headers-$K/Module.symvers" "$h/"
	fi
	initramfs_stub
	run-parts --verbose --report --exit-on-error --arg="$k" /etc/kernel/header_postinst.d \
		> /tmp/hooks.out 2>&1
	rc1=$?
	PATH=/tmp/stub:$PATH DEB_MAINT_PARAMS="'configure' ''" run-parts --verbose --report \
		--exit-on-error --arg="$k" --arg="/boot/vmlinuz-$k" /etc/kernel/postinst.d >> /tmp/hooks.out 2>&1
	rc2=$?
	cat /tmp/hooks.out /tmp/stub/initramfs.log
	echo "kernel $k: header_postinst.d exit $rc1, postinst.d exit $rc2" | tee -a "$vmout/kernel-hooks.txt"
	n=$(grep -c "^frmr-pools: kernel $k skipped: " /tmp/hooks.out)
	[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] && [ "$n" -eq 2 ] || { echo "skipped lines: $n"; return 1; }
	grep -q "executing /etc/kernel/postinst.d/initramfs-tools" /tmp/hooks.out &&
		grep -qx "update-initramfs -c -k $k -b /boot" /tmp/stub/initramfs.log || return 1
	[ ! -e "/var/lib/dkms/frmr-pools/$DKV/$k" ] || { echo "something was built for $k"; return 1; }
	dkms status -m frmr-pools -v "$DKV" -k "$K" | grep -q ': installed' || return 1
	rm -rf "/lib/modules/$k"
}
step kernel-hooks-6.1-skipped 300 kernel_hooks 6.1.0-99-amd64
step kernel-hooks-6.12-other-abi-skipped 300 kernel_hooks 6.12.999+deb12-amd64 ib_register_device
# The archive's newer 6.12 upload, installed as dpkg would while this kernel runs: its real
# headers and the part of its real module tree that the package replaces (links into the
# host's private unpacked root, so that depmod can write: the modules.* indexes and
# drivers/infiniband plus drivers/net/ethernet/mellanox, the originals dkms checks against;
# depmod over all 4,000 modules costs a minute per run under TCG, twice), the same two hook
# runs. The package accepts it: dkms installs the host's build for it, which is copied where
# dkms's own build would have left it (a build under TCG takes many times the host's 2
# minutes), and the initramfs hook runs after dkms's.
kernel_hooks_upload() {
	local k=$UK rc1 rc2 m f bad=0 src=$UROOT/lib/modules/$UK
	upload_headers || return 1
	mkdir -p "/lib/modules/$k/kernel/drivers/net/ethernet" &&
		cp -rs "$src"/modules.* "/lib/modules/$k/" &&
		cp -rs "$src/kernel/drivers/infiniband" "/lib/modules/$k/kernel/drivers/" &&
		cp -rs "$src/kernel/drivers/net/ethernet/mellanox" "/lib/modules/$k/kernel/drivers/net/ethernet/" ||
		return 1
	ln -sfn "/usr/src/linux-headers-$k" "/lib/modules/$k/build"
	cp -a "$FRMR_OUT/dkms/dkmstree/frmr-pools/$DKV/$k" "/var/lib/dkms/frmr-pools/$DKV/" || return 1
	dkms status -m frmr-pools -v "$DKV" -k "$k"
	initramfs_stub
	run-parts --verbose --report --exit-on-error --arg="$k" /etc/kernel/header_postinst.d \
		> /tmp/hooks.out 2>&1
	rc1=$?
	PATH=/tmp/stub:$PATH DEB_MAINT_PARAMS="'configure' ''" run-parts --verbose --report \
		--exit-on-error --arg="$k" --arg="/boot/vmlinuz-$k" /etc/kernel/postinst.d >> /tmp/hooks.out 2>&1
	rc2=$?
	cat /tmp/hooks.out /tmp/stub/initramfs.log
	echo "kernel $k: header_postinst.d exit $rc1, postinst.d exit $rc2" | tee -a "$vmout/kernel-hooks.txt"
	[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] || return 1
	! grep "^frmr-pools: kernel $k skipped" /tmp/hooks.out || return 1
	grep -q "executing /etc/kernel/postinst.d/initramfs-tools" /tmp/hooks.out &&
		grep -qx "update-initramfs -c -k $k -b /boot" /tmp/stub/initramfs.log || return 1
	dkms status -m frmr-pools -v "$DKV" -k "$k" | tee /tmp/st
	grep -q ': installed' /tmp/st || return 1
	# What the new kernel will load: ours, the host's build, from updates/dkms.
	[ "$(ls "/lib/modules/$k/updates/dkms/" | wc -l)" -eq "$(rdma_modules | wc -w)" ] || { ls -l "/lib/modules/$k/updates/dkms/"; return 1; }
	for m in $OURS; do
		f=$(modinfo -k "$k" -F filename "$m")
		echo "$k: $m: $f"
		case "$f" in "/lib/modules/$k/updates/dkms/"*) ;; *) bad=1; continue ;; esac
		[ "$(modinfo -k "$k" -F version "$m")" = "$DKV" ] &&
			[ "$(build_id "$f")" = "$(build_id "$(ls "$FRMR_OUT/dkms/dkmstree/frmr-pools/$DKV/$k"/*/module/"$m".ko*)")" ] ||
			{ echo "$m: not the host's build for $k"; bad=1; }
	done
	return $bad
}
if [ -n "$UK" ]; then
	step "kernel-hooks-$UK-installs-ours" 600 kernel_hooks_upload
fi
# The relations: the recommended headers meta-package is 6.12's (linux-headers-amd64 is 6.1).
relations() {
	dpkg-query -W -f='${Recommends}\n' frmr-pools-dkms | tee /tmp/rec
	grep -qw 'linux-headers-6.12-amd64' /tmp/rec && ! grep -qw 'linux-headers-amd64' /tmp/rec || return 1
	apt-cache policy linux-headers-6.12-amd64 | tee /tmp/pol
	grep -q 'Candidate: 6\.12\.' /tmp/pol || return 1
	apt-get -s -o Debug::NoLocking=1 install --no-install-recommends linux-headers-6.12-amd64 | tee /tmp/sim
	grep -q '^Inst linux-headers-6\.12\.[0-9]*+deb12-amd64 ' /tmp/sim
}
step relations-headers-6.12 120 relations
load_ours() { modprobe -a $(rdma_modules) && check_loaded ours $OURS; }
step load-ours 300 load_ours
step mlx5-core-is-stock 30 check_loaded stock mlx5_core
step rxe-add 60 bash -c "netdev_dummy dum0 10.10.0.1/24 && $TOOL link add rxe0 type rxe netdev dum0 && $TOOL link show"
step ib_write_bw 180 server_client 150 "ib_write_bw -d rxe0 -x 1 -s 65536 -n 300 -F" \
	"ib_write_bw -d rxe0 -x 1 -s 65536 -n 300 -F 10.10.0.1"
# The pools table (empty, or the tool's own error while no consumer is merged), never faked.
show_pools() {
	local out rc
	out=$($TOOL resource show frmr_pools 2>&1); rc=$?
	echo "rc=$rc"; echo "$out"
	echo "rc=$rc $out" > "$vmout/frmr_pools.txt"
	[ $rc -eq 0 ] || [ -n "$out" ]
}
step rdma-frmr-resource-show-frmr_pools 60 show_pools
# Any user, the default PATH (no /usr/sbin): show is unprivileged in the kernel.
step rdma-frmr-unprivileged-show 60 bash -c "cd / && setpriv --reuid=65534 --regid=65534 \
	--clear-groups env -i PATH=/usr/local/bin:/usr/bin:/bin rdma-frmr resource show frmr_pools dev rxe0 &&
	test -f /usr/share/man/man8/rdma-frmr.8.gz && zcat /usr/share/man/man8/rdma-frmr.8.gz | grep -q 'frmr_pools'"
# The importers load with no RDMA device present, as in the stock baseline.
step rxe-delete 60 $TOOL link delete rxe0
step ours-load-importers 600 load_importers ours
report_importers ours
step stack-still-ours 60 check_loaded ours $FRMR_MODS_STACK
step ours-unload 300 unload_all

remove_pkgs() {
	T0=$(date +%s)
	at "dpkg -r"
	DEBIAN_FRONTEND=noninteractive dpkg -r frmr-pools-dkms frmr-pools-rdma || return 1
	at "removed"
	[ -z "$(dkms status -m frmr-pools)" ] || { dkms status; return 1; }
	ls -la "/lib/modules/$K/updates/dkms/" 2>/dev/null
	[ -z "$(ls "/lib/modules/$K/updates/dkms/" 2>/dev/null)" ] || return 1
	# And from the upload the hooks installed it for.
	[ -z "$UK" ] || [ -z "$(ls "/lib/modules/$UK/updates/dkms/" 2>/dev/null)" ] || return 1
	[ ! -e "$TOOL" ] && [ ! -e /usr/lib/frmr-pools/rdma ] || return 1
	local m; for m in $OURS; do
		echo "$m: $(modinfo -F filename "$m")"
		case "$(modinfo -F filename "$m")" in */kernel/*) ;; *) return 1 ;; esac
	done
}
step remove-packages 600 remove_pkgs
step iproute2-rdma-untouched 30 bash -c 'sums_iproute2 | diff /tmp/iproute2.before - && cat /tmp/iproute2.before'
step removed-load-importers 600 load_importers removed
report_importers removed
step removed-stack-is-stock 60 check_loaded stock ib_core ib_uverbs ib_cm rdma_cm
step removed-unload 300 unload_all
