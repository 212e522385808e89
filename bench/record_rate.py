#!/usr/bin/python3
"""record_rate - the sensor's sustained event rate and its cost.

Usage: sudo bench/record_rate.py [--seconds S] [--markdown]

For each stress mode (open, create, fork: bench/stress.c), runs the stress
generator flat out for S seconds three ways, interleaved: without tracing,
and under `flightrec record --json > /dev/null`. Reports operations per
second with and without recording, events recorded per second, events lost,
the recorder's own CPU per 100k events (user + system, from wait4), and the
in-kernel cost per event (the BPF programs' run time, from kernel.bpf_stats).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("FLIGHTREC_BUILD", os.path.join(ROOT, "build"))
FLIGHTREC = os.path.join(BUILD, "flightrec")
STRESS = os.path.join(BUILD, "bench", "stress")


def bpf_runtime():
    """Total run time (ns) and runs of flightrec's BPF programs."""
    out = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True).stdout
    ns = cnt = 0
    for p in json.loads(out or "[]"):
        name = p.get("name", "")
        if re.match(r"^(enter_|exit_|on_)", name):
            ns += p.get("run_time_ns", 0)
            cnt += p.get("run_cnt", 0)
    return ns, cnt


def stress(mode, secs):
    r = subprocess.run([STRESS, mode, str(secs)], capture_output=True, text=True, check=True)
    ops, took = r.stdout.split()
    return int(ops) / float(took)


def traced(mode, secs):
    rec = subprocess.Popen([FLIGHTREC, "record", "--json"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    line = rec.stderr.readline()
    if "recording" not in line:
        sys.exit("recorder did not start: " + line)
    ns0, _ = bpf_runtime()
    rate = stress(mode, secs)
    ns1, _ = bpf_runtime()
    rec.send_signal(2)
    err = rec.stderr.read()
    _, status, ru = os.wait4(rec.pid, 0)
    m = re.search(r"(\d+) events recorded, (\d+) lost", err)
    events, lost = int(m.group(1)), int(m.group(2))
    return rate, events, lost, ru.ru_utime + ru.ru_stime, ns1 - ns0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("record_rate: needs root")
    subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=1"], check=True)
    rows = []
    for mode in ("open", "create", "fork"):
        base, tr, ev, lo, cpu, kns = [], [], [], [], [], []
        for _ in range(args.runs):
            base.append(stress(mode, args.seconds))
            rate, events, lost, c, ns = traced(mode, args.seconds)
            tr.append(rate)
            ev.append(events)
            lo.append(lost)
            cpu.append(c)
            kns.append(ns)
        med = lambda xs: sorted(xs)[len(xs) // 2]
        events = med(ev)
        rows.append((mode, med(base), med(tr), events / args.seconds, sum(lo),
                     med(cpu) / max(events, 1) * 1e5, med(kns) / max(events, 1)))
    subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=0"])
    print("| workload | ops/s untraced | ops/s recorded | slowdown | events/s recorded | events lost | "
          "recorder CPU per 100k events | in-kernel ns per event |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for mode, b, t, eps, lost, cpu100k, kns in rows:
        print("| %s | %.0f | %.0f | %.1f%% | %.0f | %d | %.3f s | %.0f |"
              % (mode, b, t, (b / t - 1) * 100, eps, lost, cpu100k, kns))


if __name__ == "__main__":
    main()
