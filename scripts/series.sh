#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# series.sh - emit a `git format-patch` series against the 6.12 base for review (into $OUT/series).
#
# Replays the project's history: every commit that touches kernel overlay files or
# patches/linux becomes one commit, with the same author and message, in a scratch git
# repository holding the touched files at their pristine 6.12 content as the base.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$REPO/scripts/tree.sh" prepare linux >/dev/null 2>&1 || true
[ -f "$PRISTINE_LINUX/.frmr-pristine" ] || die "no pristine tree: run 'make prepare'"
KDIRS="Documentation drivers include net lib patches/linux"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$REPO"
commits=$(git log --reverse --format=%H -- $KDIRS)
[ -n "$commits" ] || die "no kernel commits yet"

# Every kernel path the series ever touches.
paths_at() { # commit -> kernel paths (overlay files and patch targets)
	git ls-tree -r --name-only "$1" -- $KDIRS |
		sed -n 's|^patches/linux/\(.*\)\.patch$|\1|p; /^patches\//!p'
}
for c in $commits; do paths_at "$c"; done | sort -u > "$W/all"

git -C "$W" init -q repo
R=$W/repo
while read -r f; do
	if [ -f "$PRISTINE_LINUX/$f" ]; then
		mkdir -p "$R/$(dirname "$f")"; cp "$PRISTINE_LINUX/$f" "$R/$f"
	fi
done < "$W/all"
ver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
git -C "$R" add -A
git -C "$R" -c user.name=base -c user.email=base@localhost commit -qm "Linux 6.12 (Debian linux-source-6.12 $ver), files touched by the series"
git -C "$R" tag base

for c in $commits; do
	# Materialise the kernel files as of commit c.
	while read -r f; do
		rm -f "$R/$f"
		if git cat-file -e "$c:$f" 2>/dev/null; then
			mkdir -p "$R/$(dirname "$f")"; git show "$c:$f" > "$R/$f"
		elif git cat-file -e "$c:patches/linux/$f.patch" 2>/dev/null; then
			mkdir -p "$R/$(dirname "$f")"; cp "$PRISTINE_LINUX/$f" "$R/$f"
			git show "$c:patches/linux/$f.patch" | (cd "$R" && patch -s -p1 --no-backup-if-mismatch)
		elif [ -f "$PRISTINE_LINUX/$f" ]; then
			cp "$PRISTINE_LINUX/$f" "$R/$f"
		fi
	done < "$W/all"
	git -C "$R" add -A
	git -C "$R" diff --cached --quiet && continue
	GIT_AUTHOR_NAME=$(git log -1 --format=%an "$c") GIT_AUTHOR_EMAIL=$(git log -1 --format=%ae "$c") \
	GIT_AUTHOR_DATE=$(git log -1 --format=%aD "$c") \
		git -C "$R" -c user.name="$(git log -1 --format=%cn "$c")" \
		-c user.email="$(git log -1 --format=%ce "$c")" commit -q -F <(git log -1 --format=%B "$c")
done
rm -rf "$OUT/series"; mkdir -p "$OUT/series"
git -C "$R" format-patch -q --cover-letter -o "$OUT/series" base..HEAD
log "$(ls "$OUT/series" | wc -l) files in $OUT/series"
