#!/usr/bin/env bash
# Sets up flightrec on this machine and runs it: installs the dependencies,
# builds, and records every persistent-state event into a local directory
# until you press Ctrl-C.
#
# Today this runs the recorder (`flightrec record`). The central server and
# its dashboard are later milestones (docs/ARCHITECTURE.md); when they land,
# this script starts them too and prints the dashboard's URL.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
	echo "run-local: flightrec loads eBPF programs: run as root (sudo $0)" >&2
	exit 2
fi
bash scripts/install-deps.sh
make -j"$(nproc)"
data=${FLIGHTREC_DATA:-/var/lib/flightrec}
mkdir -p "$data"
out="$data/events-$(date -u +%Y%m%dT%H%M%SZ).ndjson"
echo "flightrec: recording to $out (Ctrl-C to stop)"
echo "flightrec: follow it live with: tail -f $out"
exec ./build/flightrec record --json > "$out"
