#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# series.sh - emit the curated patch series against 6.12 (into $OUT/series), and check it.
#
# Usage: series.sh [--check]
# The series is described in series/ (see series/README): one file per patch with its subject,
# message and the repository paths it carries, and a cover letter. Each patch is built in a
# scratch git repository whose base holds every touched file at its pristine 6.12 content:
# an overlay file is copied whole, patches/linux/<path>.patch is applied to the pristine file.
# Every kernel file of the repository must be carried by exactly one patch.
# --check then, patch by patch on a scratch tree (pristine include/, drivers/infiniband and
# Documentation/infiniband),
# builds the core, rxe and mlx5 out of tree with W=1 (incremental, as make rebuilds only what a
# patch touched; any warning fails) and runs checkpatch --strict on the patch, where the only
# findings allowed are the missing Signed-off-by (the sender adds it) and MAINTAINERS (upstream
# decides). Report: $OUT/series/check.txt. Long (an incremental build per patch): not in CI.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

check=
case "${1:-}" in
--check) check=1 ;;
"") ;;
*) die "usage: $0 [--check]" ;;
esac

"$REPO/scripts/tree.sh" prepare linux >/dev/null 2>&1 || true
[ -f "$PRISTINE_LINUX/.frmr-pristine" ] || die "no pristine tree: run 'make prepare'"
S=$REPO/series
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$REPO"

# The kernel files of the repository, as series paths (overlay file or patches/linux/X.patch).
git ls-files --cached --others --exclude-standard -- Documentation drivers include net lib \
	patches/linux | sort > "$W/kernel"
# What the series carries, patch by patch.
: > "$W/carried"
for p in "$S"/[0-9][0-9]-*.txt; do
	sed -n '/^Files:$/,$p' "$p" | sed '1d; /^$/d' | sed "s|^|$(basename "$p") |" >> "$W/carried"
done
[ -s "$W/carried" ] || die "no patch in $S"
awk '{print $2}' "$W/carried" | sort > "$W/listed"
dups=$(uniq -d "$W/listed")
[ -z "$dups" ] || die "carried by more than one patch: $dups"
missing=$(comm -23 "$W/kernel" "$W/listed")
[ -z "$missing" ] || die "kernel files no patch carries (list them in series/NN-*.txt): $missing"
extra=$(comm -13 "$W/kernel" "$W/listed")
[ -z "$extra" ] || die "series/ lists files that do not exist: $extra"

# Series path -> kernel path.
kpath() { case "$1" in patches/linux/*) f=${1#patches/linux/}; echo "${f%.patch}" ;; *) echo "$1" ;; esac; }

git -C "$W" init -q repo
R=$W/repo
while read -r f; do
	k=$(kpath "$f")
	if [ -f "$PRISTINE_LINUX/$k" ]; then
		mkdir -p "$R/$(dirname "$k")"; cp "$PRISTINE_LINUX/$k" "$R/$k"
	fi
done < "$W/listed"
ver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
git -C "$R" add -A
git -C "$R" -c user.name=base -c user.email=base@localhost \
	commit -qm "Linux 6.12 (Debian linux-source-6.12 $ver), the files the series touches"
git -C "$R" tag base

author_name=$(git log -1 --format=%an)
author_email=$(git log -1 --format=%ae)
for p in "$S"/[0-9][0-9]-*.txt; do
	awk -v p="$(basename "$p")" '$1 == p {print $2}' "$W/carried" | while read -r f; do
		k=$(kpath "$f")
		mkdir -p "$R/$(dirname "$k")"
		case "$f" in
		patches/linux/*)
			if [ -f "$PRISTINE_LINUX/$k" ]; then cp "$PRISTINE_LINUX/$k" "$R/$k"; else : > "$R/$k"; fi
			(cd "$R" && patch -s -p1 --no-backup-if-mismatch < "$REPO/$f") ||
				die "$f does not apply to pristine $k"
			;;
		*) cp "$REPO/$f" "$R/$k" ;;
		esac
	done
	sed '/^Files:$/,$d' "$p" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' > "$W/msg"
	git -C "$R" add -A
	git -C "$R" -c user.name="$author_name" -c user.email="$author_email" commit -q -F "$W/msg"
done

rm -rf "$OUT/series"; mkdir -p "$OUT/series"
git -C "$R" format-patch -q --cover-letter -o "$OUT/series" base..HEAD
# The cover letter: subject and text from series/cover.txt, the benchmark table from README.md.
cover=$(ls "$OUT/series"/0000-cover-letter.patch)
awk '/^    figure /{t=1} t && /^$/{exit} t' "$REPO/README.md" > "$W/bench"
[ -s "$W/bench" ] || die "no benchmark table in README.md"
subject=$(head -1 "$S/cover.txt")
tail -n +3 "$S/cover.txt" | awk -v f="$W/bench" '
	$0 == "@BENCH_TABLE@" { while ((getline l < f) > 0) print l; next } { print }' > "$W/blurb"
python3 - "$cover" "$subject" "$W/blurb" <<'EOF'
import sys
path, subject, blurb = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()
s = open(path).read()
s = s.replace('*** SUBJECT HERE ***', subject, 1)
s = s.replace('*** BLURB HERE ***\n', blurb, 1)
open(path, 'w').write(s)
EOF
log "$(ls "$OUT/series"/*.patch | wc -l) files in $OUT/series (cover letter and $(ls "$S"/[0-9][0-9]-*.txt | wc -l) patches)"
[ -n "$check" ] || exit 0

# Patch by patch: build and checkpatch.
T=$W/tree
mkdir -p "$T/drivers" "$T/Documentation"
cp -a "$PRISTINE_LINUX/include" "$T/"
cp -a "$PRISTINE_LINUX/drivers/infiniband" "$T/drivers/"
cp -a "$PRISTINE_LINUX/Documentation/infiniband" "$T/Documentation/"
report=$OUT/series/check.txt
: > "$report"
bad=0
n=0
for c in $(git -C "$R" rev-list --reverse base..HEAD); do
	n=$((n + 1))
	subj=$(git -C "$R" log -1 --format=%s "$c")
	git -C "$R" diff --binary "$c~1" "$c" | (cd "$T" && git apply --whitespace=nowarn) ||
		die "patch $n does not apply to the scratch tree"
	for d in core sw/rxe hw/mlx5; do
		extra=
		[ "$d" = core ] || extra=$T/drivers/infiniband/core/Module.symvers
		if ! with_lock make -C "$KHDR" NOSTDINC_FLAGS="-nostdinc -I$T/include -I$T/include/uapi" \
			W=1 -j"$(nproc)" M="$T/drivers/infiniband/$d" KBUILD_EXTRA_SYMBOLS="$extra" modules \
			> "$W/build.log" 2>&1 || grep -qE '(warning|error):' "$W/build.log"; then
			echo "patch $n ($subj): build of $d FAILED" | tee -a "$report"
			grep -E '(warning|error):' "$W/build.log" | head -20 | tee -a "$report"
			bad=1
		fi
	done
	f=$(ls "$OUT/series"/"$(printf '%04d' "$n")"-*.patch)
	"$TREE_LINUX/scripts/checkpatch.pl" --strict --no-tree --no-summary --terse "$f" \
		> "$W/cp.txt" 2>&1 || true
	grep -v -e 'Missing Signed-off-by' -e 'does MAINTAINERS need updating' "$W/cp.txt" |
		grep -E 'ERROR|WARNING|CHECK' > "$W/cp-bad.txt" || true
	if [ -s "$W/cp-bad.txt" ]; then
		echo "patch $n ($subj): checkpatch --strict:" | tee -a "$report"
		tee -a "$report" < "$W/cp-bad.txt"
		bad=1
	fi
	echo "patch $n ($subj): builds W=1, checkpatch: $(wc -l < "$W/cp.txt") finding(s), $(grep -c -e 'Missing Signed-off-by' -e 'does MAINTAINERS' "$W/cp.txt") allowed" |
		tee -a "$report"
done
log "series check: $report"
exit $bad
