#!/usr/bin/python3
# A small C program (tests/helpers/fsops.c) does every file operation with
# absolute paths, relative paths, dirfd-relative *at() calls and paths after
# chdir, on ext4, tmpfs and overlay. Each operation must be recorded exactly
# once, with the canonical absolute path(s), the right process and error.
import os
import shutil
import subprocess
import tempfile

from frtest import HELPERS, Recorder, Tap, run, select

t = Tap()
if os.geteuid() != 0:
    t.bail("needs root (eBPF, mounts)")

# (event, path relative to BASE or absolute, extra fields)
def expected(base):
    b = lambda rel: base if rel == "" else base + "/" + rel
    return [
        ("create", b("abs.txt"), {"flags": ["wronly", "creat", "trunc"], "mode": "0644"}),
        ("modify", b("abs.txt"), {}),
        ("chmod", b("abs.txt"), {"mode": "0755"}),
        ("create", b("rel.txt"), {"flags": ["wronly", "creat"], "mode": "0600"}),
        ("mkdir", b("sub"), {"mode": "0755"}),
        ("open", b("sub"), {"flags": ["rdonly", "directory"]}),
        ("create", b("sub/at.txt"), {"mode": "0640"}),
        ("rename", b("sub/at.txt"), {"path2": b("moved.txt")}),
        ("link", b("moved.txt"), {"path2": b("sub/hard.txt")}),
        ("symlink", b("sub/sym"), {"path2": "../moved.txt"}),
        ("chmod", b("sub/hard.txt"), {"mode": "0600"}),
        ("chown", b("sub/hard.txt"), {"owner": 1, "group": 1}),
        ("truncate", b("moved.txt"), {"length": 10}),
        ("truncate", b("rel.txt"), {"length": 5}),
        ("chmod", b("rel.txt"), {"mode": "0604"}),
        ("chown", b("rel.txt"), {"owner": 2, "group": 2}),
        ("modify", b("rel.txt"), {}),
        ("delete", b("rel.txt"), {}),
        ("delete", b("sub/sym"), {}),
        ("mkdir", b("sub/d2"), {"mode": "0700"}),
        ("rmdir", b("sub/d2"), {}),
        ("mkdir", b("sub/d3"), {"mode": "0711"}),
        ("rmdir", b("sub/d3"), {}),
        ("create", b("sub/viacreat.txt"), {"flags": ["wronly", "creat", "trunc"], "mode": "0644"}),
        ("rename", b("sub/hard.txt"), {"path2": b("final.txt")}),
        ("open", "/nonexistent-dir/x", {"error": "ENOENT"}),
        ("open", b("sub/missing.txt"), {"error": "ENOENT"}),
        ("delete", b("sub/missing2"), {"error": "ENOENT"}),
        ("mkdir", base, {"error": "EEXIST"}),
    ]


def check(label, base):
    rec = Recorder()
    p = subprocess.Popen([os.path.join(HELPERS, "fsops"), base])
    rc = p.wait()
    ev = rec.stop()
    t.eq(rc, 0, "%s: fsops ran" % label)
    t.eq(rec.rc, 0, "%s: recorder exited 0" % label)
    mine = [e for e in ev if e["pid"] == p.pid]
    execs = select(mine, event="exec")
    t.ok(len(execs) == 1 and execs[0]["argv"] == [os.path.join(HELPERS, "fsops"), base]
         and execs[0]["path"] == os.path.realpath(os.path.join(HELPERS, "fsops")),
         "%s: exec of fsops with its argv" % label, execs)
    for kind, path, extra in expected(base):
        # the failed open of a missing file also comes from the dynamic loader
        # for other paths; match on exact path
        got = [e for e in mine if e["event"] == kind and e.get("path") == path
               and (kind not in ("rename", "link", "symlink") or e.get("path2") == extra.get("path2"))
               and e.get("error") == extra.get("error")]
        desc = "%s: %s %s%s" % (label, kind, path, (" -> " + extra["path2"]) if "path2" in extra else "")
        if not t.ok(len(got) == 1, desc + " exactly once", [e for e in mine if e["event"] == kind]):
            continue
        e = got[0]
        bad = {k: (e.get(k), v) for k, v in extra.items() if e.get(k) != v}
        t.ok(not bad, desc + ": fields", bad)
        t.ok(e["comm"] == "fsops" and e["exe"] == os.path.realpath(os.path.join(HELPERS, "fsops"))
             and e["ppid"] == os.getpid() and e["tid"] == p.pid,
             desc + ": attributed to fsops (comm, exe, ppid, tid)", e)
    # a second write to abs.txt must not give a second modify
    t.eq(len([e for e in mine if e["event"] == "modify"]), 2, "%s: exactly two modify events" % label)


# ext4 (the root filesystem)
ext4 = tempfile.mkdtemp(prefix="frtest-ext4-", dir="/var/tmp")
fstype = run(["stat", "-f", "-c", "%T", ext4]).stdout.strip()
t.ok(fstype in ("ext2/ext3", "ext4"), "base directory is on ext4 (%s)" % fstype)
check("ext4", ext4)
shutil.rmtree(ext4)

# tmpfs
tm = tempfile.mkdtemp(prefix="frtest-tmpfs-")
subprocess.run(["mount", "-t", "tmpfs", "frtest", tm], check=True)
try:
    check("tmpfs", tm)
finally:
    subprocess.run(["umount", tm])
    os.rmdir(tm)

# overlay
ov = tempfile.mkdtemp(prefix="frtest-ovl-")
for d in ("lower", "upper", "work", "merged"):
    os.mkdir(os.path.join(ov, d))
subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                "lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work" % (ov, ov, ov),
                os.path.join(ov, "merged")], check=True)
try:
    check("overlay", os.path.join(ov, "merged"))
finally:
    subprocess.run(["umount", os.path.join(ov, "merged")])
    shutil.rmtree(ov)

t.done()
