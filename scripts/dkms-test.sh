#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# dkms-test.sh - build the DKMS package, dkms-build it in a private tree, test it in a guest, check the host.
#
# Usage: dkms-test.sh [--build-only | --reuse]
#   --build-only  stop before the guest;
#   --reuse       keep the packages and the private dkms build in out/dkms when they exist
#                 (iterating on the guest scenario): no package build, no dkms add/build.
# On this machine only `dkms add` and `dkms build` run, in a private dkms tree ($OUT/dkms/dkmstree,
# source from the extracted .deb under $OUT/dkms/root/usr/src, MOK key pair in $OUT/dkms/mok):
# never dpkg -i or dkms install, whose modules in the host's /lib/modules/<kver>/updates would be
# loaded by every later "stock" guest (the guest sees the host root). The guest scenario "dkms"
# installs, tests and removes the packages in its tmpfs overlay.
# Checks, as TAP in $OUT/dkms/test/results.tap, last line "N passed, N failed":
#   the packages build (from the .dsc alone, lintian without errors); dkms build for $KVER against
#   the installed headers; a non-6.12 kernel and a 6.12 kernel whose ib_core CRCs differ (a
#   symlinked copy of the headers with one CRC changed) are skipped by `dkms autoinstall` (exit 0,
#   one line) and refused by `dkms build` (exit 77); the archive's newer 6.12 upload
#   (upload-kernel.sh: 6.12.118 when written) is built for when its RDMA CRCs match (refused
#   when they do not), its hooks install that build in the dkms guest, and the guest scenario
#   dkms-upload boots it and loads the build (vm-run.sh upload dkms-upload); the guest scenario (vm-run.sh stock
#   dkms 2400: runs took 604-899 s on an idle host, mostly depmod under TCG at install and
#   removal; the counts of a CI run on a busy host fit a timeout of the install step, then 600 s); the host's
#   /lib/modules (checksums), /var/lib/dkms and /usr/src are unchanged.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

build_only=; reuse=
case "${1:-}" in
--build-only) build_only=1 ;;
--reuse) reuse=1 ;;
"") ;;
*) die "usage: $0 [--build-only | --reuse]" ;;
esac
D=$OUT/dkms
T=$D/test
DK=$D/dkmstree
R=$D/root
mkdir -p "$T"
: > "$T/results.tap"
np=0; nf=0
tap() { # name rc [message]
	if [ "$2" -eq 0 ]; then np=$((np + 1)); echo "ok - dkms:$1" >> "$T/results.tap"; log "ok: $1"
	else nf=$((nf + 1)); echo "not ok - dkms:$1 # ${3:-}" >> "$T/results.tap"; log "FAILED: $1 ${3:-}"; fi
}
finish() { echo "$np passed, $nf failed"; [ "$nf" -eq 0 ]; exit $?; }

# What must not change on the host: every file under /lib/modules with its checksum, and the
# lists of /var/lib/dkms and /usr/src.
host_state() {
	find /lib/modules -xdev -printf '%y %m %p %l\n' | sort
	find /lib/modules -xdev -type f -print0 | sort -z | xargs -0 sha1sum
	find /var/lib/dkms /usr/src -maxdepth 3 -printf '%y %p %l\n' 2>/dev/null | sort
}
host_state > "$T/host-before.txt"

build_and_refusals() {
	t0=$(now)
	"$REPO/scripts/build-dkms.sh" > "$T/build-dkms.log" 2>&1
	tap package-build $? "log: $T/build-dkms.log"
	[ -f "$D/version" ] || finish
	ver=$(cat "$D/version")
	log "frmr-pools $ver: packages in $D ($(( $(now) - t0 ))s)"

	# The private dkms: everything it writes stays under $D; the MOK pair dkms creates to sign
	# the modules too (exported mok_* take the place of /etc/dkms/framework.conf's).
	rm -rf "$DK" "$R" "$D/installtree"
	mkdir -p "$DK" "$R" "$D/installtree" "$D/mok"
	dpkg-deb -x "$D/frmr-pools-dkms_${ver}_all.deb" "$R"
	export mok_signing_key=$D/mok/mok.key mok_certificate=$D/mok/mok.pub
	DKMS=(dkms --dkmstree "$DK" --sourcetree "$R/usr/src" --installtree "$D/installtree")
	"${DKMS[@]}" add -m frmr-pools -v "$ver" > "$T/dkms-add.log" 2>&1
	tap dkms-add $? "log: $T/dkms-add.log"

	t0=$(now)
	with_lock "${DKMS[@]}" build -m frmr-pools -v "$ver" -k "$KVER" > "$T/dkms-build.log" 2>&1
	rc=$?
	# dkms keeps the log of a successful build beside the modules, of a failed one in build/.
	cp "$DK/frmr-pools/$ver/$KVER/x86_64/log/make.log" "$T/make-$KVER.log" 2>/dev/null ||
		cp "$DK/frmr-pools/$ver/build/make.log" "$T/make-$KVER.log" 2>/dev/null
	log "dkms build for $KVER: rc=$rc in $(( $(now) - t0 ))s (logs: $T/dkms-build.log, $T/make-$KVER.log)"
	tap "dkms-build-$KVER" $rc "$(tail -3 "$T/dkms-build.log" | tr '\n' ' ')"
	n=$(ls "$DK/frmr-pools/$ver/$KVER/x86_64/module/" 2>/dev/null | wc -l)
	[ "$n" -eq "$(rdma_modules | wc -w)" ]; tap "dkms-build-9-modules" $? "$n modules"
	grep -q 'export CRCs match' "$T/make-$KVER.log" && grep -q 'stock CRCs kept' "$T/make-$KVER.log"
	tap "dkms-build-abi-checks-ran" $?

	# Refused kernels (dkms.conf decides, before anything is compiled): autoinstall, what the
	# kernel hooks run, skips them with one line and exits 0 (dkms 3.0.10 would die 11 on a
	# BUILD_EXCLUSIVE mismatch); an explicit build is refused with 77 (dh_dkms: "Skipped.").
	# The module is built for $KVER here, so autoinstall reads dkms.conf with kernelver=$KVER,
	# not the target (the case that a test of $kernelver alone would get wrong).
	# 1. outside 6.12; 2. a 6.12 upload with another RDMA ABI: the installed headers,
	# symlinked, with the CRC of ib_register_device changed.
	FH=$D/fake-headers
	rm -rf "$FH"; mkdir -p "$FH"
	cp -rs "$KHDR/." "$FH/"
	rm "$FH/Module.symvers"
	awk -F'\t' 'BEGIN { OFS = "\t" } $2 == "ib_register_device" { $1 = "0x00c0ffee" } { print }' \
		"$KHDR/Module.symvers" > "$FH/Module.symvers"
	local k hd what n
	for k in 6.1.0-99-amd64 6.12.999+deb12-amd64; do
		case $k in
		6.1.*) hd=$KHDR what="not a 6.12 kernel" ;;
		*) hd=$FH what="1 of 563 ib_core-family/mlx5_core export CRCs differ" ;;
		esac
		"${DKMS[@]}" autoinstall -k "$k" --kernelsourcedir "$hd" > "$T/autoinstall-$k.log" 2>&1
		rc=$?
		n=$(grep -c "^frmr-pools: kernel $k skipped: $what" "$T/autoinstall-$k.log")
		log "dkms autoinstall -k $k: exit $rc, $n skip line(s)"
		[ $rc -eq 0 ] && [ "$n" -eq 1 ] && [ ! -d "$DK/frmr-pools/$ver/$k" ]
		tap "autoinstall-skips-$k" $? "rc=$rc, $n skip lines, log: $T/autoinstall-$k.log"
		"${DKMS[@]}" build -m frmr-pools -v "$ver" -k "$k" --kernelsourcedir "$hd" \
			> "$T/build-$k.log" 2>&1
		rc=$?
		[ $rc -eq 77 ] && grep -q "^frmr-pools: kernel $k skipped: $what" "$T/build-$k.log" &&
			grep -q BUILD_EXCLUSIVE "$T/build-$k.log" && [ ! -d "$DK/frmr-pools/$ver/$k/x86_64/module" ]
		tap "build-refuses-$k" $? "rc=$rc, log: $T/build-$k.log"
	done
	rm -rf "$FH"
	build_upload
}

# The archive's newest 6.12 upload (6.12.118 when this was written), unpacked privately by
# upload-kernel.sh: a host that keeps the package gets it from `apt upgrade`. When its RDMA
# exports carry the recorded CRCs, dkms builds for it against its own headers; the kernel hooks
# in the dkms guest install that build, the upload guest boots the upload and loads it. When
# they differ, it must be refused like the changed-CRC case above. Only `dkms build` runs here:
# an install would run depmod on this host's /lib/modules/<upload>.
build_upload() {
	local uh n rc
	rm -f "$D/upload"
	UK=$("$REPO/scripts/upload-kernel.sh" 2> "$T/upload-kernel.log"); rc=$?
	if [ $rc -eq 3 ]; then
		tap "upload-none-newer # the archive has no 6.12 upload other than $KVER" 0
		return
	fi
	[ $rc -eq 0 ]; tap upload-fetched $? "log: $T/upload-kernel.log"
	[ $rc -eq 0 ] || return
	uh=$CACHE/upload/$UK/root/usr/src/linux-headers-$UK
	n=$(awk -F'\t' 'NR == FNR { crc[$2 "\t" $3] = $1; next }
		!(($2 "\t" $3) in crc) || crc[$2 "\t" $3] != $1 { n++ } END { print n + 0 }' \
		"$uh/Module.symvers" "$R/usr/src/frmr-pools-$ver/abi/stock-exports")
	log "upload $UK: $n of $(wc -l < "$R/usr/src/frmr-pools-$ver/abi/stock-exports") recorded RDMA export CRCs differ"
	t0=$(now)
	with_lock "${DKMS[@]}" build -m frmr-pools -v "$ver" -k "$UK" --kernelsourcedir "$uh" \
		> "$T/dkms-build-$UK.log" 2>&1
	rc=$?
	cp "$DK/frmr-pools/$ver/$UK/x86_64/log/make.log" "$T/make-$UK.log" 2>/dev/null ||
		cp "$DK/frmr-pools/$ver/build/make.log" "$T/make-$UK.log" 2>/dev/null
	log "dkms build for $UK: rc=$rc in $(( $(now) - t0 ))s"
	if [ "$n" -ne 0 ]; then
		[ $rc -eq 77 ] && grep -q "^frmr-pools: kernel $UK skipped: $n of " "$T/dkms-build-$UK.log"
		tap "upload-$UK-other-abi-refused" $? "rc=$rc, log: $T/dkms-build-$UK.log"
		return
	fi
	[ $rc -eq 0 ] && [ "$(ls "$DK/frmr-pools/$ver/$UK/x86_64/module/" | wc -l)" -eq "$(rdma_modules | wc -w)" ] &&
		grep -q 'export CRCs match' "$T/make-$UK.log" && grep -q 'stock CRCs kept' "$T/make-$UK.log"
	rc=$?
	tap "upload-$UK-dkms-build-9-modules" $rc "log: $T/dkms-build-$UK.log"
	[ $rc -eq 0 ] && echo "$UK $CACHE/upload/$UK/root" > "$D/upload"
}

if [ -n "$reuse" ] && [ -f "$D/version" ] &&
   [ "$(ls "$DK/frmr-pools/$(cat "$D/version")/$KVER/x86_64/module/" 2>/dev/null | wc -l)" -eq "$(rdma_modules | wc -w)" ]; then
	ver=$(cat "$D/version")
	log "reusing frmr-pools $ver and its dkms build in $DK"
else
	build_and_refusals
fi
UK=
[ -f "$D/upload" ] && read -r UK _ < "$D/upload"
[ -n "$build_only" ] && { host_state > "$T/host-after.txt"; finish; }

# The guest: install, load, importers, rxe, frmr_pools, remove.
"$REPO/scripts/vm-run.sh" stock dkms 2400 > "$T/vm-run.log" 2>&1
rc=$?
run=$(readlink -f "$OUT/runs/last-stock-dkms")
tap guest-scenario $rc "run: $run"
# As vm-run.sh counts: a TAP "# SKIP" is not a pass.
guest_tap() { # run-dir prefix
	sed "s/^\(not ok\|ok\) [0-9]* - /\1 - dkms:$2:/" "$1/results.tap" >> "$T/results.tap"
	np=$((np + $(grep '^ok' "$1/results.tap" | grep -vc '# SKIP')))
	nf=$((nf + $(grep -c '^not ok\|# SKIP' "$1/results.tap")))
}
[ -f "$run/results.tap" ] && guest_tap "$run" guest
# A scenario that stopped early leaves few lines and no failure: every phase must have reported,
# with one line per derived importer in each of the three rounds.
guest_complete() { # run-dir importers round... last-step
	local run=$1 n=$2
	shift 2
	while [ $# -gt 1 ]; do
		[ "$(grep -c "^ok [0-9]* - importer-$1:" "$run/results.tap")" -eq "$n" ] || return 1
		shift
	done
	[ "$n" -ge 20 ] && grep -q "^ok [0-9]* - $1 " "$run/results.tap"
}
ni=$(cat "$run/importers.txt" 2>/dev/null | wc -l)
guest_complete "$run" "$ni" stock ours removed removed-unload
tap guest-scenario-complete $? "$ni importers; see $run/guest.log"
if [ -n "$UK" ]; then
	grep -q "^ok [0-9]* - kernel-hooks-$UK-installs-ours" "$run/results.tap"
	tap "guest-ran-the-hooks-of-$UK" $? "see $run/guest.log"
fi

# The upload, booted: the package's build for it loads, and so does every importer.
if [ -n "$UK" ]; then
	"$REPO/scripts/vm-run.sh" upload dkms-upload 1200 > "$T/vm-run-upload.log" 2>&1
	rc=$?
	urun=$(readlink -f "$OUT/runs/last-upload-dkms-upload")
	tap "guest-scenario-$UK" $rc "run: $urun"
	[ -f "$urun/results.tap" ] && guest_tap "$urun" "upload"
	ni=$(cat "$urun/importers.txt" 2>/dev/null | wc -l)
	guest_complete "$urun" "$ni" stock ours ours-unload
	tap "guest-scenario-$UK-complete" $? "$ni importers; see $urun/guest.log"
fi

host_state > "$T/host-after.txt"
diff "$T/host-before.txt" "$T/host-after.txt" > "$T/host-diff.txt"
tap host-lib-modules-var-lib-dkms-usr-src-unchanged $? "see $T/host-diff.txt"
log "results: $T/results.tap; guest run: $run"
finish
