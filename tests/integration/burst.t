#!/usr/bin/python3
# Bursts: 200,000 writes to one file by one process give exactly one
# `modify`; 5,000 short-lived processes all appear (fork, exec, exit), or
# the loss count says exactly how many did not.
import os
import subprocess
import tempfile

from frtest import Recorder, Tap

t = Tap()
if os.geteuid() != 0:
    t.bail("needs root (eBPF)")

work = tempfile.mkdtemp(prefix="frtest-burst-")
target = os.path.join(work, "big")

rec = Recorder()
p = subprocess.run(["dd", "if=/dev/zero", "of=" + target, "bs=1", "count=200000"],
                   capture_output=True, text=True)
ev = rec.stop()
t.eq(p.returncode, 0, "dd wrote 200,000 single bytes")
t.ok("200000 bytes" in p.stderr, "dd made 200,000 one-byte writes", p.stderr)
dd = [e for e in ev if e["comm"] == "dd"]
mods = [e for e in dd if e["event"] == "modify" and e["path"] == target]
t.eq(len(mods), 1, "exactly one modify for 200,000 writes")
t.eq(len([e for e in dd if e["event"] == "create" and e["path"] == target]), 1, "one create")
t.eq(sum(e["count"] for e in ev if e["event"] == "lost"), 0, "nothing lost")

N = 5000
rec = Recorder()
p = subprocess.Popen(["/bin/bash", "-c", "for ((i=0; i<%d; i++)); do /bin/true; done" % N])
p.wait()
ev = rec.stop()
lost = sum(e["count"] for e in ev if e["event"] == "lost")
forks = [e for e in ev if e["event"] == "fork" and e["pid"] == p.pid]
children = {e["child_pid"] for e in forks}
execs = [e for e in ev if e["event"] == "exec" and e["pid"] in children and e["argv"] == ["/bin/true"]]
exits = [e for e in ev if e["event"] == "exit" and e["pid"] in children]
print("# %d forks, %d execs, %d exits, %d lost" % (len(forks), len(execs), len(exits), lost))
t.ok(len(forks) + lost >= N, "every fork recorded or counted as lost")
t.ok(len(execs) + lost >= N, "every exec recorded or counted as lost")
t.ok(len(exits) + lost >= N, "every exit recorded or counted as lost")
t.ok(len(forks) <= N and len(execs) <= N and len(exits) <= N, "no duplicates")
t.eq(lost, 0, "at 5,000 processes nothing is lost")
t.ok("0 lost" in rec.stderr(), "summary on stderr reports the loss count", rec.stderr())
t.done()
