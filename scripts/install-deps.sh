#!/usr/bin/env bash
# Installs everything flightrec needs to build, test and benchmark, from
# Debian's packages only. This script is the single source of truth for the
# project's dependencies: CI calls it on a fresh machine, and so does
# `scripts/run-local.sh`. It is idempotent.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
	echo "install-deps: must run as root (apt-get install)" >&2
	exit 2
fi

packages=(
	# toolchain and BPF
	build-essential clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev pkg-config
	# core libraries
	libzstd-dev zstd xz-utils
	# sanitizers and fuzzing (clang's runtime carries libFuzzer)
	libclang-rt-14-dev valgrind
	# test runner and the real services the tests drive
	perl python3 openssh-server openssh-client sudo nginx-light procps iproute2 util-linux libcap2-bin tmux
	# what-changed's services section: systemctl, service, update-rc.d
	systemd init-system-helpers
	# real logins (tests/integration/sshlib.py): useradd, chpasswd, pam_loginuid
	passwd libpam-modules
	# benchmarks
	strace auditd hyperfine postgresql
)

export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/periodic/flightrec-update-stamp
if [[ ! -f $stamp ]] || [[ -n $(find "$stamp" -mmin +360 2>/dev/null) ]]; then
	apt-get update -q
	mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# auditd's package may try to start the daemon; flightrec's benchmark starts
# it itself, so make sure none is left running.
pkill -x auditd 2>/dev/null || true
exit 0
