# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# harness-hang: the guest hangs (a step that ignores its own timeout would too); the host's
# timeout must end the run and report it failed.
sleep 100000
