# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# rdma-modules.sh - the RDMA modules we build (rdma-modules.list) and the GNU build-id of a
# module (sourced, not run: by lib.sh on the host and by guest-lib.sh in the guest; it defines
# RDMA_MODULES_LIST and functions only).

RDMA_MODULES_LIST=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/rdma-modules.list

# The modules we build, in load order, on one line; with DIRs, only those built in one of
# them (e.g. drivers/infiniband/core: the ib_core family).
rdma_modules() { # [dir...]
	awk -v dirs="$*" 'BEGIN { n = split(dirs, d, " "); for (i = 1; i <= n; i++) want[d[i]] = 1 }
		/^[ \t]*(#|$)/ { next }
		n == 0 || ($2 in want) { printf "%s%s", sep, $1; sep = " " }
		END { print "" }' "$RDMA_MODULES_LIST"
}
# The tree directories of the modules we build, in order of first use.
rdma_module_dirs() {
	awk '/^[ \t]*(#|$)/ { next } !($2 in seen) { seen[$2] = 1; print $2 }' "$RDMA_MODULES_LIST"
}
# "DIR/NAME" of every module we build, one a line (as Module.symvers names modules).
rdma_module_paths() {
	awk '/^[ \t]*(#|$)/ { next } { print $2 "/" $1 }' "$RDMA_MODULES_LIST"
}

# The GNU build-id (hex) of a module file (.ko, .ko.xz, .ko.zst) or, given a bare name, of
# the loaded module of that name (/sys/module/NAME/notes). Empty if it has none.
build_id() { # file|name
	local t rc
	case "$1" in
	*/* | *.ko | *.ko.*) ;;
	*)
		od -An -tx1 -v "/sys/module/$1/notes/.note.gnu.build-id" | tr -d ' \n' | tail -c 40
		return ;;
	esac
	case "$1" in
	*.xz | *.zst)
		t=$(mktemp) || return 1
		case "$1" in
		*.xz) xz -dc "$1" > "$t" ;;
		*) zstd -qdc "$1" > "$t" ;;
		esac && readelf -n "$t" | awk '/Build ID/{print $3}'
		rc=$?
		rm -f "$t"
		return $rc ;;
	*) readelf -n "$1" | awk '/Build ID/{print $3}' ;;
	esac
}
