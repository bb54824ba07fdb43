# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# FRMR pools for the Linux RDMA stack: build, boot and test harness. `make help` is the map.

SCRIPTS := scripts
KIND ?= stock
SCENARIO ?= rxe-smoke
A ?= ours
B ?= stock
# make vm2 runs wire-short unless SCENARIO is given on the command line
VM2_SCENARIO := $(if $(filter command line environment,$(origin SCENARIO)),$(SCENARIO),wire-short)

.PHONY: help run check deps prepare sync status series series-check modules sparse rdma-tool rdma-tool-upstream selftests harness-selftest testkernel \
	vm vm2 vm2-all bench bench-smoke clean

help: ## this list
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | \
		awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

run: ## main job: build, boot the guest, bring up rxe, run traffic, show the pools
	$(SCRIPTS)/run-main.sh

check: ## test command: build, ABI check, KUnit and every guest scenario; ends "N passed, N failed"
	$(SCRIPTS)/check.sh

deps: ## install the Debian packages (idempotent)
	$(SCRIPTS)/install-deps.sh

prepare: ## lay out the prepared linux tree (pristine + overlay + patches)
	$(SCRIPTS)/tree.sh prepare linux

sync: ## write edits made in the prepared linux tree back as overlay files and patches
	$(SCRIPTS)/tree.sh sync linux

status: ## list edits in the prepared linux tree not yet synced
	$(SCRIPTS)/tree.sh status linux

series: ## the curated patch series (series/) against 6.12, with a cover letter, into out/series
	$(SCRIPTS)/series.sh

series-check: ## make series, then build (W=1) and checkpatch --strict each patch in turn (long)
	$(SCRIPTS)/series.sh --check

modules: ## out-of-tree build of ib_core family, rdma_rxe, mlx5_ib (W=1) + ABI check
	$(SCRIPTS)/build-modules.sh

sparse: ## the module build under sparse (C=2), warnings compared by the reader
	$(SCRIPTS)/build-modules.sh C=2

rdma-tool: ## build the patched iproute2 `rdma` into out/bin and check it against a fake kernel
	$(SCRIPTS)/build-rdma.sh --check

rdma-tool-upstream: ## the rdma testsuite's cases run by ours and by upstream's rdma (Debian unstable), side by side
	$(SCRIPTS)/build-rdma.sh --check --upstream

selftests: ## the kselftest's test programs and frmr_kmr.ko, built in the prepared tree, into out/bin
	$(SCRIPTS)/build-selftests.sh

harness-selftest: ## prove a guest WARNING and a hung guest each fail a run
	$(SCRIPTS)/harness-selftest.sh

dkms: ## Debian packages frmr-pools-dkms (dh_dkms) and frmr-pools-rdma into out/dkms
	$(SCRIPTS)/build-dkms.sh

testkernel: ## build (or update) the cached KUnit/KASAN/lockdep/kmemleak test kernel
	$(SCRIPTS)/build-testkernel.sh

bench: ## stock RDMA modules against ours, same workloads: out/bench/<time>/bench.{txt,json,png}
	bench/bench.sh

bench-smoke: ## 10 guests in the clock of make bench (icount), kmalloc loop in each; all must finish clean
	bench/bench-smoke.sh

vm: ## boot one scenario: make vm KIND=stock|test|upload SCENARIO=name
	$(SCRIPTS)/vm-run.sh $(KIND) $(SCENARIO)

vm2: ## two guests on one link: make vm2 A=ours|stock B=ours|stock SCENARIO=name (scenarios2/)
	$(SCRIPTS)/vm2-run.sh $(A) $(B) $(VM2_SCENARIO)

vm2-all: ## every two-host scenario for ours-stock, stock-ours and ours-ours; a table of results
	$(SCRIPTS)/vm2-all.sh

clean: ## remove out/ (the caches under /var/cache/frmr stay)
	rm -rf out
