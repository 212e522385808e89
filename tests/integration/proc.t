#!/usr/bin/python3
# Processes and signals: a script kills a `sleep` with SIGTERM, runs a
# pipeline, fails to open a missing file, changes uid with setpriv and exits
# 3. fork, exec, exit, kill and setuid must each appear exactly once per
# process, with exact attribution.
import os
import subprocess
import tempfile

from frtest import Recorder, Tap, descendants

t = Tap()
if os.geteuid() != 0:
    t.bail("needs root (eBPF)")

work = tempfile.mkdtemp(prefix="frtest-proc-")
script = os.path.join(work, "proc.sh")
with open(script, "w") as f:
    f.write("""cd "$1"
sleep 30 &
SLP=$!
# Kill it only once it sleeps: comm is already "sleep" in the middle of the
# exec, and a SIGTERM then can fail the exec itself (EINTR), which the
# recorder rightly reports as a failed exec. 35 and 230: nanosleep and
# clock_nanosleep on x86_64.
n=0
until read -r nr rest < /proc/$SLP/syscall && { [ "$nr" = 230 ] || [ "$nr" = 35 ]; }; do
    n=$((n + 1)); [ $n -lt 100000 ] || break  # a few seconds: never hang the suite
done
kill -TERM $SLP
wait $SLP
echo abc | tr a b | wc -c > out.txt
cat /nonexistent-flightrec-file
setpriv --reuid=65534 --regid=65534 --clear-groups /bin/true
exit 3
""")
rec = Recorder()
p = subprocess.Popen(["/bin/bash", script, work], stderr=subprocess.DEVNULL)
rc = p.wait()
ev = rec.stop()
t.eq(rc, 3, "script exited 3")
pids = descendants(ev, p.pid)
mine = [e for e in ev if e["pid"] in pids]
execs = {}
for e in mine:
    if e["event"] == "exec" and not e.get("error"):
        execs.setdefault(e["argv"][0], []).append(e)

def one_exec(name, argv):
    got = execs.get(name, [])
    t.ok(len(got) == 1 and got[0]["argv"] == argv, "exec %s once, argv %s" % (name, argv), got)
    return got[0] if got else None

sleep = one_exec("sleep", ["sleep", "30"])
tr = one_exec("tr", ["tr", "a", "b"])
wc = one_exec("wc", ["wc", "-c"])
cat = one_exec("cat", ["cat", "/nonexistent-flightrec-file"])
sp = one_exec("setpriv", ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/true"])
true = [e for e in mine if e["event"] == "exec" and e["argv"] == ["/bin/true"]]
t.ok(len(true) == 1 and sp and true[0]["pid"] == sp["pid"] and true[0]["uid"] == 65534
     and true[0]["path"] == "/usr/bin/true", "setpriv execs /bin/true in the same process, as uid 65534", true)

kills = [e for e in mine if e["event"] == "kill"]
t.ok(len(kills) == 1 and sleep and kills[0]["pid"] == p.pid and kills[0]["target_pid"] == sleep["pid"]
     and kills[0]["target_comm"] == "sleep" and kills[0]["signal"] == 15 and kills[0]["comm"] == "bash",
     "kill of sleep with SIGTERM, once, by the script's bash", kills)
if sleep:
    ex = [e for e in mine if e["event"] == "exit" and e["pid"] == sleep["pid"]]
    t.ok(len(ex) == 1 and ex[0]["signal"] == 15, "sleep exited by signal 15", ex)

for x in (sleep, tr, wc, cat):
    if not x:
        continue
    forks = [e for e in mine if e["event"] == "fork" and e["child_pid"] == x["pid"]]
    t.ok(len(forks) == 1 and forks[0]["pid"] == p.pid and x["ppid"] == p.pid,
         "%s forked once by the script's bash" % x["comm"], forks)
    exits = [e for e in mine if e["event"] == "exit" and e["pid"] == x["pid"]]
    t.eq(len(exits), 1, "%s exited once" % x["comm"])

# the pipeline: wc's stdout redirect is a create in wc's own process
if wc:
    out = [e for e in mine if e["event"] == "create" and e["path"] == os.path.join(work, "out.txt")]
    t.ok(len(out) == 1 and out[0]["pid"] == wc["pid"], "pipeline redirect creates out.txt in wc's process", out)
    # echo is a builtin, run in a forked subshell without exec
    subshells = [e["child_pid"] for e in mine if e["event"] == "fork" and e["pid"] == p.pid]
    t.eq(len(subshells), 6, "bash forked six children (sleep, echo, tr, wc, cat, setpriv)")

if cat:
    miss = [e for e in mine if e["event"] == "open" and e["path"] == "/nonexistent-flightrec-file"]
    t.ok(len(miss) == 1 and miss[0]["error"] == "ENOENT" and miss[0]["pid"] == cat["pid"],
         "failed open of a missing file, with error ENOENT", miss)
    ex = [e for e in mine if e["event"] == "exit" and e["pid"] == cat["pid"]]
    t.ok(len(ex) == 1 and ex[0]["code"] == 1, "cat exited 1", ex)

if sp:
    su = [e for e in mine if e["event"] == "setuid" and e["pid"] == sp["pid"]]
    t.ok(len(su) >= 1 and su[-1]["new_uid"] == 65534 and su[-1]["new_euid"] == 65534 and su[0]["uid"] == 0,
         "setpriv's setuid recorded with new uid 65534", su)

main_exit = [e for e in mine if e["event"] == "exit" and e["pid"] == p.pid]
t.ok(len(main_exit) == 1 and main_exit[0]["code"] == 3, "script's bash exit code 3", main_exit)
t.done()
