# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# dkms-lib.sh - what the dkms scenarios share (sourced by scenarios/dkms.sh and dkms-upload.sh):
# the package under test, the host's dkms build for the running kernel, build-id checks of what
# is loaded, and the in-box importers of the ib_core family, loaded and compared round by round.

export DKV=$(cat "$FRMR_OUT/dkms/version")
export K=$(uname -r)
export DEB_DKMS=$FRMR_OUT/dkms/frmr-pools-dkms_${DKV}_all.deb
export DEB_RDMA=$FRMR_OUT/dkms/frmr-pools-rdma_${DKV}_amd64.deb
export PREBUILT=$FRMR_OUT/dkms/dkmstree/frmr-pools/$DKV/$K
export OURS=$(rdma_modules)
export IMP=$vmout/importers.txt
export TOOL=/usr/bin/rdma-frmr

# Loaded modules are the ones modinfo resolves to (ours: under updates/dkms, version $DKV and
# the build-id of the host's dkms build; stock: under kernel/, no version).
check_loaded() { # ours|stock module...
	local want=$1 m f id bad=0; shift
	for m in "$@"; do
		[ -e "/sys/module/$m" ] || { echo "$m: not loaded"; bad=1; continue; }
		f=$(modinfo -F filename "$m"); id=$(build_id "$m")
		if [ "$id" != "$(build_id "$f")" ]; then
			echo "$m: loaded build-id $id is not that of $f"; bad=1; continue
		fi
		if [ "$want" = ours ]; then
			case "$f" in */updates/dkms/*) ;; *) echo "$m: $f is not under updates/dkms"; bad=1; continue ;; esac
			[ "$(cat "/sys/module/$m/version" 2>/dev/null)" = "$DKV" ] ||
				{ echo "$m: version '$(cat "/sys/module/$m/version" 2>/dev/null)' is not $DKV"; bad=1; continue; }
			[ "$id" = "$(build_id "$(ls "$PREBUILT"/*/module/"$m".ko*)")" ] ||
				{ echo "$m: not the host's dkms build"; bad=1; continue; }
		else
			case "$f" in */kernel/*) ;; *) echo "$m: $f is not an in-box module"; bad=1; continue ;; esac
		fi
		echo "$m: $want ($f, build-id $id)"
	done
	return $bad
}

derive_importers() {
	"$FRMR_REPO/scripts/dkms-importers.sh" "$K" > "$IMP" || return 1
	cat "$IMP"
	[ "$(wc -l < "$IMP")" -ge 20 ]
}

# Load every importer; record "name ok" or "name FAIL <modprobe's message>".
load_importers() { # label
	local m out
	: > "$vmout/importers-$1.txt"
	while read -r m _; do
		if out=$(modprobe "$m" 2>&1); then
			echo "$m ok" >> "$vmout/importers-$1.txt"
		else
			echo "$m FAIL $(echo "$out" | tr -s '\n\t ' ' ' | sed 's/ *$//')" >> "$vmout/importers-$1.txt"
		fi
	done < "$IMP"
	cat "$vmout/importers-$1.txt"
}
# Unload every importer, mlx5_ib and the stack; importers can hold each other (hfi1 and ib_qib
# hold rdmavt), so passes repeat until nothing of the stack is left.
unload_all() {
	local m pass
	for pass in 1 2 3; do
		for m in $(awk '{print $1}' "$IMP" | tac) $(rdma_modules | tr ' ' '\n' | tac); do
			[ -e "/sys/module/$m" ] || continue
			modprobe -r "$m" 2>/dev/null || rmmod "$m" 2>/dev/null
		done
		[ -e /sys/module/ib_core ] || break
	done
	lsmod | grep -E '^(ib_|rdma_|iw_cm|mlx5_ib)' && return 1
	return 0
}
# One TAP line per importer: against stock it must load, or its failure is recorded in
# importers-unrelated.txt (not a TAP SKIP, which the harness counts as a failure) and must recur
# identically in the other rounds; against another stack it must behave exactly as against stock.
report_importers() { # label
	local m st msg
	while read -r m st msg; do
		local base; base=$(awk -v m="$m" '$1 == m {$1 = ""; print substr($0, 2)}' "$vmout/importers-stock.txt")
		if [ "$1" = stock ]; then
			[ "$st" = ok ] && result "importer-stock:$m" 0 || {
				echo "importer $m cannot load against the stock stack: $msg" >> "$vmout/importers-unrelated.txt"
				result "importer-stock:$m # unrelated to us, stock fails too (must recur identically): $msg" 0; }
		elif [ "$st $msg" = "$base" ] || { [ "$st" = ok ] && [ "$base" = ok ]; }; then
			result "importer-$1:$m" 0
		else
			result "importer-$1:$m" 1 "$st $msg (stock: $base)"
		fi
	done < "$vmout/importers-$1.txt"
}


# The archive's newer 6.12 upload that scripts/dkms-test.sh built for, if any: its release and
# the private root its packages were unpacked into (scripts/upload-kernel.sh).
UK= UROOT=
[ -f "$FRMR_OUT/dkms/upload" ] && read -r UK UROOT < "$FRMR_OUT/dkms/upload"
export UK UROOT
# Its headers where linux-headers-$UK would put them (links into the private root, whose
# Makefile names the common headers there).
upload_headers() {
	ln -sfn "$UROOT/usr/src/linux-headers-$UK" "/usr/src/linux-headers-$UK" &&
		ln -sfn "$UROOT/usr/src/linux-headers-${UK%-amd64}-common" \
			"/usr/src/linux-headers-${UK%-amd64}-common" &&
		test -f "/usr/src/linux-headers-$UK/Module.symvers"
}
