#!/usr/bin/python3
# `flightrec record` as a command: help, usage errors, clear refusals with
# exit code 2 (not root, no BTF, programs refused, tracefs not mountable),
# mounting tracefs when the host booted without it, stopping on SIGTERM and
# --duration with everything flushed, the volume switches, no feedback loop,
# the /proc snapshot of earlier processes and sockets, and loss reporting.
import os
import signal
import socket
import subprocess
import tempfile
import time

from frtest import FLIGHTREC, Recorder, Tap, run

t = Tap()
if os.geteuid() != 0:
    t.bail("needs root (eBPF)")

r = run([FLIGHTREC, "record", "--help"])
t.ok(r.returncode == 0 and "--no-modify" in r.stdout and "--no-reads" in r.stdout and "--duration" in r.stdout,
     "record --help exits 0 and documents the options", r)
r = run([FLIGHTREC, "--help"])
t.ok(r.returncode == 0 and "record" in r.stdout, "flightrec --help lists commands", r)
r = run([FLIGHTREC])
t.eq(r.returncode, 2, "no command: exit 2")
r = run([FLIGHTREC, "frobnicate"])
t.ok(r.returncode == 2 and "unknown command" in r.stderr, "unknown command: exit 2 with a message", r)
r = run([FLIGHTREC, "record", "--bogus"])
t.eq(r.returncode, 2, "unknown option: exit 2")
r = run([FLIGHTREC, "record", "--duration", "soon"])
t.ok(r.returncode == 2 and "--duration" in r.stderr, "bad --duration: exit 2 naming the option", r)


def refusal(desc, cmd, must):
    r = run(cmd)
    lines = r.stderr.strip().splitlines()
    t.ok(r.returncode == 2 and len(lines) == 1 and must in lines[0] and r.stdout == "",
         desc + ": exit 2 with one line saying what is missing", r)


refusal("not root", ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                     FLIGHTREC, "record", "--json"], "root")
refusal("no BTF", ["unshare", "-m", "sh", "-c",
                   "mount -t tmpfs none /sys/kernel/btf && exec %s record --json" % FLIGHTREC], "BTF")
refusal("programs refused (no CAP_BPF/CAP_SYS_ADMIN/CAP_PERFMON)",
        ["capsh", "--drop=cap_bpf,cap_sys_admin,cap_perfmon", "--", "-c", "exec %s record --json" % FLIGHTREC],
        "refused")
refusal("tracefs unmounted and not mountable (no CAP_SYS_ADMIN)",
        ["unshare", "-m", "sh", "-c",
         "umount /sys/kernel/tracing 2>/dev/null; "
         "exec capsh --drop=cap_sys_admin -- -c 'exec %s record --json'" % FLIGHTREC],
        "mount -t tracefs")

# a host that booted without tracefs: the recorder mounts it (in a mount
# namespace of the test's own, so the machine's mount stays as it was)
probe = tempfile.mkdtemp(prefix="frtest-tracefs-")
r = run(["unshare", "-m", "sh", "-c",
         "umount /sys/kernel/tracing 2>/dev/null; ! grep -q ' /sys/kernel/tracing ' /proc/self/mounts || exit 9; "
         "%s record --json --duration 2 > %s/out & sleep 1; touch %s/made; wait $! || exit 8; "
         "grep ' /sys/kernel/tracing tracefs ' /proc/self/mounts" % (FLIGHTREC, probe, probe)])
t.ok(r.returncode == 0 and "tracefs" in r.stdout
     and ('"path":"%s/made"' % probe) in open(os.path.join(probe, "out")).read(),
     "tracefs unmounted: record mounts it and records", r)

# --duration stops by itself and flushes
work = tempfile.mkdtemp(prefix="frtest-cli-")
start = time.time()
p = subprocess.Popen([FLIGHTREC, "record", "--json", "--duration", "2"], stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
time.sleep(1)
open(os.path.join(work, "during-duration"), "w").close()
out, err = p.communicate(timeout=30)
took = time.time() - start
t.ok(p.returncode == 0 and 1.5 < took < 10, "--duration 2 exits 0 by itself (%.1fs)" % took, err)
t.ok(os.path.join(work, "during-duration").encode() in out, "the event made during --duration was flushed")

# SIGTERM stops it and flushes
rec = Recorder()
open(os.path.join(work, "before-term"), "w").close()
ev = rec.stop(signal.SIGTERM)
t.eq(rec.rc, 0, "SIGTERM: exit 0")
t.ok(any(e.get("path") == os.path.join(work, "before-term") and e["event"] == "create" for e in ev),
     "SIGTERM: the last events are flushed")
t.ok("events recorded" in rec.stderr() and "lost" in rec.stderr(), "summary on stderr", rec.stderr())

# no feedback loop, and the snapshot of what existed before
sleeper = subprocess.Popen(["sleep", "300"], cwd=work)
lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lsock.bind(("127.0.0.1", 0))
lsock.listen(1)
lport = lsock.getsockname()[1]
rec = Recorder()
with open(os.path.join(work, "w.txt"), "w") as f:
    f.write("x")
ev = rec.stop()
t.eq([e for e in ev if e["pid"] == rec.proc.pid], [], "no event from flightrec itself")
procs = [e for e in ev if e["event"] == "proc" and e["pid"] == sleeper.pid]
t.ok(len(procs) == 1 and procs[0]["argv"] == ["sleep", "300"] and procs[0]["exe"] == "/usr/bin/sleep"
     and procs[0]["ppid"] == os.getpid() and procs[0]["cwd"] == work and procs[0]["comm"] == "sleep",
     "a process started before recording has a proc record", procs)
socks = [e for e in ev if e["event"] == "socket" and e["port"] == lport]
t.ok(len(socks) == 1 and socks[0]["pid"] == os.getpid() and socks[0]["proto"] == "tcp"
     and socks[0]["addr"] == "127.0.0.1", "a socket listening before recording has a socket record", socks)
later = [e for e in ev if e["pid"] == os.getpid() and e["event"] == "create"]
t.ok(later and later[0]["exe"] == os.path.realpath("/proc/self/exe") and later[0]["pstart"] == procs_self[0]["pstart"]
     if (procs_self := [e for e in ev if e["event"] == "proc" and e["pid"] == os.getpid()]) else False,
     "a later event of an earlier process carries the same exe and start as its proc record")
sleeper.kill()
lsock.close()

# --no-modify: no modify events; writes still seen as opens for writing
rec = Recorder("--no-modify")
with open(os.path.join(work, "nm.txt"), "w") as f:
    f.write("x")
with open(os.path.join(work, "nm.txt"), "a") as f:
    f.write("y")
ev = rec.stop()
t.eq([e for e in ev if e["event"] == "modify"], [], "--no-modify: no modify events at all")
t.ok(any(e["event"] == "open" and e["path"] == os.path.join(work, "nm.txt") and "append" in e["flags"] for e in ev),
     "--no-modify: the open for writing is still recorded")

# --no-reads: no read-only opens; writes still seen
rec = Recorder("--no-reads")
open("/etc/hostname").read()
with open(os.path.join(work, "nr.txt"), "w") as f:
    f.write("x")
ev = rec.stop()
t.eq([e for e in ev if e["event"] == "open" and e["flags"][0] == "rdonly"], [], "--no-reads: no read-only opens")
t.ok(any(e["event"] == "create" and e["path"] == os.path.join(work, "nr.txt") for e in ev),
     "--no-reads: creates are still recorded")

# --time-resolution: milliseconds by default, nanoseconds on request
def subms(ev):
    return [e["ts"] for e in ev if not e["ts"].endswith("000000Z")]
rec = Recorder()
for i in range(20):
    open(os.path.join(work, "tr%d" % i), "w").close()
ev = rec.stop()
t.ok(len(ev) > 20 and not subms(ev), "default: every time is a whole millisecond", subms(ev)[:5])
rec = Recorder("--time-resolution", "ns")
for i in range(20):
    open(os.path.join(work, "tn%d" % i), "w").close()
ev = rec.stop()
t.ok(len(subms(ev)) > len(ev) // 2, "--time-resolution ns: nanosecond times (%d of %d not whole ms)"
     % (len(subms(ev)), len(ev)))
rec = Recorder("--time-resolution", "s")
open(os.path.join(work, "ts0"), "w").close()
ev = rec.stop()
t.ok(ev and all(e["ts"].endswith(".000000000Z") for e in ev), "--time-resolution s: whole seconds")
r = subprocess.run([FLIGHTREC, "record", "--time-resolution", "fortnight"], capture_output=True, text=True)
t.ok(r.returncode == 2 and "--time-resolution takes ns, us, ms or s" in r.stderr,
     "--time-resolution fortnight: usage error, exit 2", r.stderr)

# losses are never silent: stop the reader, overflow a 1 MiB ring buffer
rec = Recorder("--ring-buffer", "1")
os.kill(rec.proc.pid, signal.SIGSTOP)
subprocess.run(["/bin/bash", "-c", "for ((i=0; i<1500; i++)); do /bin/true; done"])
os.kill(rec.proc.pid, signal.SIGCONT)
ev = rec.stop()
lost = [e for e in ev if e["event"] == "lost"]
total = sum(e["count"] for e in lost)
t.ok(lost and total > 0 and all(e["reason"] == "ring buffer full" for e in lost),
     "overflow gives `lost` events with a count (%d)" % total, lost)
t.ok(("%d lost" % total) in rec.stderr(), "the stderr summary gives the same loss count", rec.stderr())

# stdout closed: a runtime failure, exit 1
p = subprocess.Popen([FLIGHTREC, "record", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
p.stdout.read(100)
p.stdout.close()
for _ in range(20):
    open(os.path.join(work, "pipe-%d" % _), "w").close()
    time.sleep(0.05)
try:
    rc = p.wait(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    rc = None
t.ok(rc == 1 and b"cannot write" in p.stderr.read(), "closed stdout: exit 1 with a message")
t.done()
