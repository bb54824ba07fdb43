#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# bench-selftest.sh - prove the tooling of `make bench` still works without booting anything:
# the guest scenario parses, and the report and plot made from a recorded sample
# (tools/testing/selftests/rdma/frmr/bench/sample/{stock,ours}.raw) equal the recorded table.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FRMR=$REPO/tools/testing/selftests/rdma/frmr
S=$FRMR/bench/sample
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

bash -n "$FRMR/scenarios/bench.sh"
python3 "$REPO/scripts/bench-report.py" "$S/stock.raw" "$S/ours.raw" "$T" \
	date=sample machine=sample
diff -u "$S/bench.txt" "$T/bench.txt"
python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); assert j["figures"]' "$T/bench.json"
gnuplot -e "dat='$T/plot.dat'; out='$T/bench.png'; title='sample'" "$REPO/scripts/bench-plot.gp"
[ -s "$T/bench.png" ]
log "ok: report and plot of the recorded sample"
