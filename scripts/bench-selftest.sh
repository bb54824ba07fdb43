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
# A workload that printed nothing must fail the report, not vanish from the table.
grep -v '^pop_push ' "$S/ours.raw" > "$T/no-pop-push.raw"
if python3 "$REPO/scripts/bench-report.py" "$S/stock.raw" "$T/no-pop-push.raw" "$T" \
	2> "$T/missing.txt"; then
	die "the report accepted a run without pop+push figures"
fi
grep -q 'missing figures: pop_push 1' "$T/missing.txt"
log "ok: report and plot of the recorded sample; a missing workload fails the report"
