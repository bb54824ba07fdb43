# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# dkms-upload: after `apt upgrade` brought the newer 6.12 upload and a reboot, the package's
# modules load on it and every in-box importer of the upload loads against them.
#
# Runs on kind "upload" (vm-run.sh upload dkms-upload): the upload's own kernel and module
# tree. Needs scripts/dkms-test.sh to have built the package for it. The dkms scenario, on the
# stock kernel, shows the upload's kernel hooks installing that build into
# /lib/modules/<upload>/updates/dkms; here the same nine files are put there as those hooks left
# them (the install itself, dpkg and dkms, is what the dkms scenario tests), then:
# 1. every in-box importer of the upload loads against its own stock stack (the baseline);
# 2. the stack modprobe resolves is ours: the host's dkms build for the upload, by build-id;
#    mlx5_ib loads against the upload's mlx5_core;
# 3. rxe carries ib_write_bw and frmr_pools shows its pools, through the packaged rdma-frmr;
# 4. every importer loads against ours as it did against stock.

. "$FRMR_SELFTEST/dkms-lib.sh"

is_upload() { echo "running $K, upload ${UK:-none}"; [ -n "$UK" ] && [ "$K" = "$UK" ]; }
step running-the-upload 10 is_upload || exit 0
step upload-headers 30 upload_headers || exit 0
step derive-importers 120 derive_importers || exit 0
modprobe -a udp_tunnel ip6_udp_tunnel configfs
step stock-load-importers 600 load_importers stock
report_importers stock
step stock-stack-is-stock 60 check_loaded stock ib_core ib_uverbs ib_cm rdma_cm
step stock-unload 300 unload_all

# As the upload's hooks installed them, and depmod as dkms runs it; the packaged tool (no
# modules, so no hook runs).
install_as_hooks_left() {
	mkdir -p "/lib/modules/$K/updates/dkms" &&
		cp "$PREBUILT"/x86_64/module/*.ko* "/lib/modules/$K/updates/dkms/" &&
		depmod -a "$K" &&
		DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB_RDMA" &&
		ls -l "/lib/modules/$K/updates/dkms/" &&
		[ "$(ls "/lib/modules/$K/updates/dkms/" | wc -l)" -eq "$(rdma_modules | wc -w)" ]
}
step installed-as-the-hooks-left-it 300 install_as_hooks_left || exit 0
load_ours() { modprobe -a $(rdma_modules) && check_loaded ours $OURS; }
step load-ours 300 load_ours
step mlx5-core-is-stock 30 check_loaded stock mlx5_core
step rxe-add 60 bash -c "netdev_dummy dum0 10.10.0.1/24 && $TOOL link add rxe0 type rxe netdev dum0 && $TOOL link show"
step ib_write_bw 180 server_client 150 "ib_write_bw -d rxe0 -x 1 -s 65536 -n 300 -F" \
	"ib_write_bw -d rxe0 -x 1 -s 65536 -n 300 -F 10.10.0.1"
# ib_write_bw's user MRs went back to rxe0's pools when it deregistered them.
show_pools() {
	$TOOL resource show frmr_pools dev rxe0 | tee "$vmout/frmr_pools.txt"
	grep -q '^dev rxe0 key ' "$vmout/frmr_pools.txt"
}
step rdma-frmr-shows-rxe0-pools 60 show_pools
step rxe-delete 60 $TOOL link delete rxe0
step ours-load-importers 600 load_importers ours
report_importers ours
step stack-still-ours 60 check_loaded ours $FRMR_MODS_STACK
step ours-unload 300 unload_all
