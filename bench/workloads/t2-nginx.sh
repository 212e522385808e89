#!/bin/bash
# T2: web server stop and start, N times, as an admin does it: start nginx
# (its own config, pid file and temp paths under DIR, on a loopback port),
# check it serves a page, stop it, wait until it has exited.
# Usage: t2-nginx.sh DIR N PORT   (DIR/nginx.conf is written by bench/overhead)
set -euo pipefail
dir=$1 n=$2 port=$3
conf=$dir/nginx.conf pid=$dir/nginx.pid
for ((i = 0; i < n; i++)); do
	nginx -p "$dir" -e "$dir/error.log" -c "$conf"
	for ((w = 0; w < 1000; w++)); do [[ -s $pid ]] && break; sleep 0.005; done
	[[ -s $pid ]] || { echo "t2-nginx: nginx did not start" >&2; exit 1; }
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	printf 'GET / HTTP/1.0\r\nHost: bench\r\n\r\n' >&3
	read -r status <&3
	exec 3<&-
	[[ $status == *" 200 "* ]] || { echo "t2-nginx: bad response: $status" >&2; exit 1; }
	nginx -p "$dir" -e "$dir/error.log" -c "$conf" -s stop
	for ((w = 0; w < 1000; w++)); do [[ -e $pid ]] || break; sleep 0.005; done
	[[ ! -e $pid ]] || { echo "t2-nginx: nginx did not stop" >&2; exit 1; }
done
