#!/usr/bin/python3
# A shell script in a fresh temporary directory creates, appends to, renames,
# chmods, chowns, links, symlinks, truncates and deletes files. Each operation
# must appear exactly once, attributed to the right process (comm, exe, argv
# of its exec, ppid).
import os
import subprocess
import tempfile

from frtest import Recorder, Tap, descendants

t = Tap()
if os.geteuid() != 0:
    t.bail("needs root (eBPF)")

d = tempfile.mkdtemp(prefix="frtest-sh-")
script = os.path.join(d, "work.sh")
with open(script, "w") as f:
    f.write("""set -e
cd "$1"
echo hello > f1
echo more >> f1
mv f1 f2
chmod 600 f2
chown 1:1 f2
ln f2 f3
ln -s f2 f4
truncate -s 3 f2
rm f3 f4
mkdir dd
rmdir dd
rm f2
""")
work = tempfile.mkdtemp(prefix="frtest-shw-")
rec = Recorder()
p = subprocess.Popen(["/bin/bash", script, work])
rc = p.wait()
ev = rec.stop()
t.eq(rc, 0, "script ran")
pids = descendants(ev, p.pid)
mine = [e for e in ev if e["pid"] in pids]
execs = {e["pid"]: e for e in mine if e["event"] == "exec"}
w = lambda n: os.path.join(work, n)

cases = [
    # (event, path, path2, comm, argv of the process's exec or None for bash itself)
    ("create", w("f1"), None, "bash", None),
    ("open", w("f1"), None, "bash", None),
    ("rename", w("f1"), w("f2"), "mv", ["mv", "f1", "f2"]),
    ("chmod", w("f2"), None, "chmod", ["chmod", "600", "f2"]),
    ("chown", w("f2"), None, "chown", ["chown", "1:1", "f2"]),
    ("link", w("f2"), w("f3"), "ln", ["ln", "f2", "f3"]),
    ("symlink", w("f4"), "f2", "ln", ["ln", "-s", "f2", "f4"]),
    ("truncate", w("f2"), None, "truncate", ["truncate", "-s", "3", "f2"]),
    ("delete", w("f3"), None, "rm", ["rm", "f3", "f4"]),
    ("delete", w("f4"), None, "rm", ["rm", "f3", "f4"]),
    ("mkdir", w("dd"), None, "mkdir", ["mkdir", "dd"]),
    ("rmdir", w("dd"), None, "rmdir", ["rmdir", "dd"]),
    ("delete", w("f2"), None, "rm", ["rm", "f2"]),
]
for kind, path, path2, comm, argv in cases:
    got = [e for e in mine if e["event"] == kind and e.get("path") == path
           and (path2 is None or e.get("path2") == path2)]
    desc = "%s %s%s" % (kind, path, " -> " + path2 if path2 else "")
    if not t.ok(len(got) == 1, desc + " exactly once", [e for e in mine if e["event"] == kind]):
        continue
    e = got[0]
    if argv is None:
        t.ok(e["pid"] == p.pid and e["comm"] == "bash" and e["exe"] == "/usr/bin/bash",
             desc + ": by the script's bash", e)
    else:
        x = execs.get(e["pid"])
        t.ok(x is not None and x["argv"] == argv and e["comm"] == comm and e["ppid"] == p.pid
             and e["exe"] == x["path"], desc + ": by %s, a child of the script" % " ".join(argv), (e, x))
# the two writes through bash's two opens of f1: one modify each
mods = [e for e in mine if e["event"] == "modify" and e["path"] == w("f1")]
t.eq(len(mods), 2, "modify of f1 once per open (two opens by bash)")
t.eq(sorted(execs[k]["argv"][0] for k in execs if k != p.pid),
     sorted(["mv", "chmod", "chown", "ln", "ln", "truncate", "rm", "mkdir", "rmdir", "rm"]),
     "one exec per external command")
exits = [e for e in mine if e["event"] == "exit"]
t.eq(len(exits), len(pids), "one exit per process")
t.ok(all(e["code"] == 0 for e in exits), "all exited 0")
t.done()
