#!/usr/bin/env bash
# Sets up flightrec on this machine and runs it: installs the dependencies,
# builds, and records every persistent-state event into a local flight log
# (capped at 10G by default) until you press Ctrl-C.
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
data=${FLIGHTREC_DATA:-/var/lib/flightrec/log}
mkdir -p "$data"
cat <<MSG
flightrec: recording this machine into the flight log $data (Ctrl-C to stop)
flightrec: in another terminal:
    build/flightrec sessions --data $data --live     # logins as they start and end
    build/flightrec sessions --data $data            # every session so far
    build/flightrec show SESSION --data $data        # what a session typed and changed
    build/flightrec dump --json $data | jq -c .      # every event
    build/flightrec verify $data                     # checksums and hash chain
MSG
exec ./build/flightrec record --output "$data" --max-disk "${FLIGHTREC_MAX_DISK:-10G}"
