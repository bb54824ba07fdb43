# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# host2-lib.sh - helpers for the halves of a two-host scenario (sourced after guest-lib.sh).
#
# vm2-run.sh boots two guests, a and b, joined by one Ethernet link (a virtio NIC each, MACs
# 52:54:00:20:00:01 and :02). Each runs the same scenarios2/<name>.sh; ROLE says which half
# it is, STACK which RDMA modules it loads (ours or stock), PEER_STACK what the runner gave
# the other guest. The halves meet at barriers (peer_sync: TCP on the link, role a listens),
# every one bounded: a peer that never comes fails the step, and a peer that stopped
# answering on the link is taken as gone, so that later barriers fail at once instead of each
# waiting out its timeout.

. "$FRMR_SELFTEST/frmr-pools-lib.sh"
. "$FRMR_SELFTEST/nvme-lib.sh"

ROLE=${vmrole:?} STACK=${vmstack:?} PEER_STACK=${vmpeerstack:?}
case "$ROLE" in
a) PEER_ROLE=b MY_IP=10.20.0.1 PEER_IP=10.20.0.2 MY_MAC=52:54:00:20:00:01 ;;
b) PEER_ROLE=a MY_IP=10.20.0.2 PEER_IP=10.20.0.1 MY_MAC=52:54:00:20:00:02 ;;
*) echo "host2-lib: role $ROLE is neither a nor b"; exit 1 ;;
esac
SYNC_PORT=7700
RXE=rxe0
export ROLE STACK PEER_STACK PEER_ROLE MY_IP PEER_IP MY_MAC SYNC_PORT RXE

# The wire's netdev: the NIC with our MAC.
wire_nic() {
	local f
	for f in /sys/class/net/*/address; do
		[ "$(cat "$f")" = "$MY_MAC" ] && basename "$(dirname "$f")"
	done
}

# Load our modules (insmod, build-ids ours) or the in-box ones (modprobe, build-ids in-box).
load_stack() {
	case "$STACK" in
	ours) load_modules ;;
	stock) load_inbox_modules ;;
	*) echo "unknown stack $STACK"; return 1 ;;
	esac
}

# Barrier NAME with the peer, waiting at most TIMEOUT (x STEP_SLACK) seconds; sends STATUS
# (default ok) and prints the peer's. Returns 2 when the peer did not come, 1 when it was at
# another barrier.
peer_sync() { # name timeout [status]
	local mode=connect addr=$PEER_IP rc
	[ "$ROLE" = a ] && { mode=listen; addr=$MY_IP; }
	if [ -e /tmp/peer-gone ]; then
		echo "peer_sync $1: the peer is gone" >&2
		return 2
	fi
	python3 "$FRMR_SELFTEST/peer_sync.py" $mode "$addr" $SYNC_PORT "$1" \
		$(($2 * STEP_SLACK)) "${3:-ok}"
	rc=$?
	if [ $rc = 2 ] && ! peer_alive 6; then
		echo "peer_sync $1: $PEER_IP does not answer: the peer is gone" >&2
		touch /tmp/peer-gone
	fi
	return $rc
}

# Whether the peer's kernel answers on the link within SECS (a TCP connection or refusal;
# the guests have no ping).
peer_alive() { # secs
	python3 "$FRMR_SELFTEST/peer_sync.py" alive "$PEER_IP" $SYNC_PORT "$1"
}

# The link up with our address, the peer answering on it (bounded), then the first barrier,
# where each side tells the other which stack it loaded.
wire_up() {
	local nic t
	modprobe virtio_net || return 1
	for t in $(seq 1 50); do
		nic=$(wire_nic)
		[ -n "$nic" ] && break
		sleep 0.2
	done
	[ -n "$nic" ] || { echo "no NIC with MAC $MY_MAC"; ip link; return 1; }
	ip addr add "$MY_IP/24" dev "$nic" && ip link set "$nic" up || return 1
	ip addr show dev "$nic"
	peer_alive 60 || return 1
	ip neigh show dev "$nic"
}
meet_peer() {
	local peer
	peer=$(peer_sync hello 120 "$STACK") || return 1
	echo "role $ROLE runs the $STACK stack; role $PEER_ROLE says it runs the $peer stack"
	[ "$peer" = "$PEER_STACK" ]
}

# rxe on the wire's NIC; GID index 1 must be our IPv4-mapped address (perftest -x 1 and the
# test programs' -g 1 rely on it).
rxe_add() {
	local nic want got t
	nic=$(wire_nic)
	$RDMA link add $RXE type rxe netdev "$nic" || return 1
	want=$(printf '0000:0000:0000:0000:0000:ffff:%02x%02x:%02x%02x' ${MY_IP//./ })
	for t in $(seq 1 50); do
		got=$(cat /sys/class/infiniband/$RXE/ports/1/gids/1)
		[ "$got" = "$want" ] && break
		sleep 0.2
	done
	$RDMA link show
	echo "gid 1: $got (want $want)"
	[ "$got" = "$want" ]
}

# Whether PORT is listened on by PID's server: a TCP socket (perftest's and pingpong's
# exchange) or an rdma_cm ID (perftest -R, rping). Waits at most SECS; fails at once if the
# server exited.
wait_listen() { # port pid secs
	local t0=$SECONDS
	while [ $((SECONDS - t0)) -lt "$3" ]; do
		kill -0 "$2" 2> /dev/null || { echo "the server exited before it listened"; return 1; }
		ss -Hltn "sport = :$1" | grep -q . && return 0
		$RDMA resource show cm_id 2> /dev/null | grep 'state LISTEN' | grep -q ":$1 " &&
			return 0
		sleep 0.2
	done
	echo "nothing listens on port $1 after $3 s"
	return 1
}

# The two halves of a client/server test. The server half starts SERVER_CMD, waits until it
# listens, tells the client (barrier NAME-ready), waits for the client's result (NAME-done),
# kills its server if the client failed or never reported, then reports its own result
# (NAME-result). The client half runs CLIENT_CMD once the server listens. Both halves fail
# when either side's command failed. TIMEOUT bounds each command (x STEP_SLACK).
pair_server() { # name timeout port cmd
	local name=$1 to=$(($2 * STEP_SLACK)) spid st=ok peer rc
	echo "server ($ROLE): $4"
	timeout -k 2 "$to" bash -c "$4" > /tmp/server.log 2>&1 &
	spid=$!
	wait_listen "$3" "$spid" 30 || st=fail
	peer=$(peer_sync "$name-ready" 60 $st)
	if [ $? != 0 ] || [ $st != ok ] || [ "$peer" != ok ]; then
		kill "$spid" 2> /dev/null; wait "$spid"
		cat /tmp/server.log
		return 1
	fi
	peer=$(peer_sync "$name-done" "$2" running) || peer=gone
	[ "$peer" = ok ] || kill "$spid" 2> /dev/null
	wait "$spid"
	rc=$?
	echo "--- server output (rc $rc)"; cat /tmp/server.log
	echo "--- client on $PEER_ROLE: $peer"
	[ $rc = 0 ] && st=ok || st=fail
	peer_sync "$name-result" 30 $st > /dev/null
	[ $rc = 0 ] && [ "$peer" = ok ]
}
pair_client() { # name timeout cmd
	local name=$1 to=$(($2 * STEP_SLACK)) peer rc st=ok
	peer=$(peer_sync "$name-ready" 60 ok) || return 1
	[ "$peer" = ok ] || { echo "the server on $PEER_ROLE did not start"; return 1; }
	echo "client ($ROLE): $3"
	timeout -k 2 "$to" bash -c "$3"
	rc=$?
	[ $rc = 0 ] || st=fail
	peer_sync "$name-done" 60 $st > /dev/null
	peer=$(peer_sync "$name-result" $(($2 + 30)) waiting) || peer=gone
	echo "--- client rc $rc; server on $PEER_ROLE: $peer"
	[ $rc = 0 ] && [ "$peer" = ok ]
}
# One step on each side: the server half on SERVER_ROLE, the client half on the other.
pair_step() { # name server-role timeout port server-cmd client-cmd
	if [ "$ROLE" = "$2" ]; then
		step "$1" $(($3 + 100)) pair_server "$1" "$3" "$4" "$5"
	else
		step "$1" $(($3 + 100)) pair_client "$1" "$3" "$6"
	fi
}

# The same check on both sides, then a barrier: each side's step also fails when the peer's
# half failed, so both TAP files tell the pair's result.
both_step() { # name timeout cmd...
	local name=$1 to=$2
	shift 2
	step "$name" $((to + 70)) both_half "$name" "$@"
}
both_half() { # name cmd...
	local name=$1 rc st=ok peer
	shift
	"$@"
	rc=$?
	[ $rc = 0 ] || st=fail
	peer=$(peer_sync "$name" 60 $st) || peer=gone
	echo "--- $ROLE rc $rc; $PEER_ROLE: $peer"
	[ $rc = 0 ] && [ "$peer" = ok ]
}

# Every two-host scenario starts and ends the same way.
host2_begin() {
	step "load-$STACK-stack" 120 load_stack
	step wire 90 wire_up
	step meet 150 meet_peer
	step rxe-add 30 rxe_add
}
host2_end() {
	if [ "$STACK" = ours ]; then
		step pools-quiet-whole 20 pools_quiet_whole $RXE
	fi
	step rxe-delete 30 $RDMA link delete $RXE
	step unload-stack 60 unload_modules
	if [ "$STACK" = ours ]; then
		step no-pool-leak-reports 10 no_pool_leak_reports
	fi
	# Neither guest powers off while the other may still need it.
	step goodbye 150 peer_sync goodbye 150
}

# --- the tests, each one callable with the server (owner, target) on either side ----------

# perftest, pingpong and rping with the server on SERVER_ROLE: ib_write_bw over a TCP and
# over an rdma_cm exchange (-R), ib_read_bw, ibv_rc_pingpong and rping checking what they
# received (-c, -V). N messages of 64 KiB for perftest.
h2_traffic() { # server-role n
	local s=$1 c="-d $RXE -x 1 -s 65536 -n $2 -F" r="-d $RXE -R -s 65536 -n $2 -F"
	pair_step "ib_write_bw-server-$s" "$s" 100 18515 "ib_write_bw $c" "ib_write_bw $c $PEER_IP"
	pair_step "ib_write_bw-R-server-$s" "$s" 100 18515 "ib_write_bw $r" "ib_write_bw $r $PEER_IP"
	pair_step "ib_read_bw-server-$s" "$s" 100 18515 "ib_read_bw $c" "ib_read_bw $c $PEER_IP"
	h2_pingpong "$s" 200
}
# The two that check content; also run on a lossy wire.
h2_pingpong() { # server-role n
	pair_step "ibv_rc_pingpong-server-$1" "$1" 100 18515 "ibv_rc_pingpong -d $RXE -g 1 -c -n $2" \
		"ibv_rc_pingpong -d $RXE -g 1 -c -n $2 $PEER_IP"
	pair_step "rping-server-$1" "$1" 100 7174 "rping -s -a $MY_IP -V -S 1024 -C 30" \
		"rping -c -a $PEER_IP -V -S 1024 -C 30"
}

# nvme-rdma: nvmet on TARGET_ROLE exports a null_blk namespace, the other side connects,
# writes, reads back and compares, and disconnects, ROUNDS times (nvme-lib.sh). An
# initiator with our stack must take at least 95% of its kernel MRs from the pools from
# round 2 on. Needs h2_nvme_modules first.
h2_nvme_modules() {
	both_step nvme-modules 60 bash -c "modprobe -a nvmet nvmet-rdma nvme-rdma &&
		modprobe null_blk nr_devices=1 memory_backed=1 gb=1"
}
nvmet_remove() {
	local s=$NVMET_CFG/subsystems/$NVME_NQN p=$NVMET_CFG/ports/1
	rm -f "$p/subsystems/$NVME_NQN" && rmdir "$p" && echo 0 > "$s/namespaces/1/enable" &&
		rmdir "$s/namespaces/1" && rmdir "$s"
}
h2_nvme_target_ready() { # target-role status
	local peer
	peer=$(peer_sync "nvme-$1-ready" 60 "$2") || return 1
	echo "target on $1: $peer"
	[ "$peer" = ok ] && [ "$2" = ok ]
}
h2_nvme_done() { # target-role status timeout
	local peer
	peer=$(peer_sync "nvme-$1-done" "$3" "$2") || return 1
	echo "$ROLE: $2; $PEER_ROLE: $peer"
	[ "$peer" = ok ] && [ "$2" = ok ]
}
h2_nvme() { # target-role rounds
	local t=$1 rounds=$2 st=ok H1 M1 rest
	NVME_SLOW=1
	export NVME_SLOW
	if [ "$ROLE" = "$t" ]; then
		step "nvmet-setup-on-$t" 30 nvmet_setup "$MY_IP" || st=fail
		step "nvme-target-ready-$t" 70 h2_nvme_target_ready "$t" $st
		step "nvme-initiator-done-$t" $((rounds * 25 + 100)) h2_nvme_done "$t" $st \
			$((rounds * 25 + 60))
		step "nvmet-remove-$t" 30 nvmet_remove
		return
	fi
	if step "nvme-target-ready-$t" 70 h2_nvme_target_ready "$t" ok; then
		step "nvme-round-1-target-$t" 40 nvme_round "$PEER_IP" 1 || st=fail
		[ "$STACK" = ours ] && read -r H1 M1 rest < <(kpools_sum $RXE 2> /dev/null)
		step "nvme-rounds-2-$rounds-target-$t" $(((rounds - 1) * 20 + 10)) \
			nvme_rounds "$PEER_IP" 2 "$rounds" || st=fail
		if [ "$STACK" = ours ]; then
			step "nvme-pool-hits-target-$t" 30 nvme_hit_rate $RXE "$rounds" \
				"${H1:-0}" "${M1:-0}" || st=fail
		fi
	else
		st=fail
	fi
	step "nvme-initiator-done-$t" 70 h2_nvme_done "$t" $st 60
}
h2_nvme_unload() {
	both_step nvme-unload 60 modprobe -r nvme_rdma nvmet_rdma nvmet null_blk
}

# An rkey used by the peer after the owner on OWNER_ROLE deregistered its MR and registered
# the buffer again (frmr_wire -m stale), CYCLES times. An owner with our stack must get the
# same handle back every time (-e).
h2_stale() { # owner-role cycles
	h2_wire stale-rkey stale 150 "$@"
}
# frmr_wire in MODE, the owner on OWNER_ROLE and the peer on the other host, as step
# NAME-owner-OWNER_ROLE; an owner with our stack also checks that it gets its handle back (-e).
h2_wire() { # name mode timeout owner-role cycles
	local e=
	[ "$STACK" = ours ] && e=-e
	pair_step "$1-owner-$4" "$4" "$3" 18700 \
		"$FRMR_BIN/frmr_wire -R owner -d $RXE -g 1 -m $2 -n $5 -p 4 $e" \
		"$FRMR_BIN/frmr_wire -R peer -d $RXE -g 1 -s $PEER_IP -m $2 -n $5 -p 4"
}

# netem on a's side of the link (both directions of every exchange cross it: requests when
# a is the requester, responses when it responds).
NETEM="loss 5% duplicate 5% reorder 25% delay 2ms"
h2_netem_on() {
	[ "$ROLE" = a ] || return 0
	step netem-on 10 bash -c "tc qdisc add dev $(wire_nic) root netem $NETEM &&
		tc qdisc show dev $(wire_nic)"
}
# the wire really dropped and duplicated packets; netem off
netem_counted() {
	local nic out
	nic=$(wire_nic)
	out=$(tc -s qdisc show dev "$nic") || return 1
	echo "$out"
	tc qdisc del dev "$nic" root || return 1
	echo "$out" | grep -q 'dropped [1-9]'
}
h2_netem_off() {
	[ "$ROLE" = a ] || return 0
	step netem-dropped-and-off 10 netem_counted
}
# While the wire is lossy: the owner on OWNER_ROLE churns MRs and moves its buffer to a new
# registration every cycle; the peer's traffic with the live rkey completes or fails cleanly
# (retried), with the right content; the old rkey never reaches the buffer (frmr_wire -m lossy).
h2_lossy() { # owner-role cycles
	h2_wire lossy-churn lossy 240 "$@"
}
