#!/usr/bin/python3
# flightrec query: every answer equals a brute-force scan of `dump --json`
# (in this file), on a log recorded from a real workload (several segments,
# files under a fake persistence path /etc/cron.d/frtest-PID, a listener, a
# read of a config file) and on a generated fleet (bench/fleetgen). Also:
# deterministic order whatever the threads, session ids as `sessions` shows
# them, --count-by, --limit, usage errors and exit codes, and a query while
# the recorder runs sees the segment it is filling.
import calendar
import fnmatch
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from frtest import BUILD, FLIGHTREC, Recorder, Tap, run

t = Tap()
if os.geteuid() != 0:
    t.bail("needs root (eBPF)")

work = tempfile.mkdtemp(prefix="frtest-query-")
store = os.path.join(work, "log")
wd = os.path.join(work, "w")
os.makedirs(wd)
cron = "/etc/cron.d/frtest-%d" % os.getpid()
os.makedirs("/etc/cron.d", exist_ok=True)
keys = os.path.join(wd, "home", ".ssh", "authorized_keys")


def ns(ts):
    """RFC 3339 with nanoseconds -> UTC ns."""
    base, frac = ts.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) * 10**9 + int(frac.ljust(9, "0"))


def fmt(n):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(n // 10**9)) + ".%09dZ" % (n % 10**9)


rec = Recorder("--output", store, "--segment-events", "300")
t_start = time.time_ns()
subprocess.run(["/bin/bash", "-c", """
cd %(wd)s
for i in $(seq 40); do echo $i > f$i.txt; done
for i in $(seq 10); do echo more >> f$i.txt; mv f$i.txt g$i.txt; done
chmod 600 g1.txt; chown nobody g2.txt; truncate -s 1 g3.txt
ln g4.txt hard4; ln -s g5.txt soft5; rm -f f2*.txt
mkdir -p home/.ssh && echo key > home/.ssh/authorized_keys
echo '* * * * * root true' > %(cron)s; cat %(cron)s > /dev/null; rm -f %(cron)s
cat /etc/hostname > /dev/null; head -c1 /etc/hostname > /dev/null
/bin/true frq-argv-marker one two
""" % {"wd": wd, "cron": cron}], check=True)
# Event times are truncated to the millisecond: the window starts on a
# millisecond boundary that the events before it have passed.
time.sleep(0.002)
t_mid = time.time_ns() // 10**6 * 10**6
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
port = s.getsockname()[1]
time.sleep(0.3)
s.close()
subprocess.run(["/bin/bash", "-c", "cd %s && for i in $(seq 30); do echo $i > h$i.txt; done; rm -f h*.txt" % wd],
               check=True)
time.sleep(0.3)
rec.stop()
t_end = time.time_ns()

r = run([FLIGHTREC, "dump", "--json", store])
t.eq(r.returncode, 0, "dump exits 0")
ALL = [json.loads(l) for l in r.stdout.splitlines()]
nseg = len([n for n in os.listdir(store) if n.startswith("seg-")])
t.ok(nseg >= 3, "the recording has several segments (%d)" % nseg)

CHANGED = {"create", "modify", "delete", "rename", "chmod", "chown", "truncate", "link", "symlink"}
WHAT = CHANGED | {"mkdir", "rmdir", "listen", "unlisten"}
PERSIST = [("prefix", "/etc/systemd/"), ("prefix", "/lib/systemd/system/"), ("prefix", "/usr/lib/systemd/"),
           ("prefix", "/run/systemd/system/"), ("glob", "/etc/cron*"), ("exact", "/etc/crontab"),
           ("prefix", "/var/spool/cron/"), ("glob", "/etc/init.d/*"), ("exact", "/etc/rc.local"),
           ("glob", "/etc/profile*"), ("exact", "/etc/bash.bashrc"), ("exact", "/etc/environment"),
           ("glob", "*/.bashrc"), ("glob", "*/.profile"), ("glob", "*/.bash_profile"), ("glob", "*/.bash_login"),
           ("exact", "/etc/ld.so.preload"), ("glob", "*/authorized_keys"), ("glob", "*/authorized_keys2"),
           ("glob", "/etc/sudoers*")]


def parse_pat(p):
    if any(c in p for c in "*?["):
        return ("glob", p)
    if len(p) > 1 and p.endswith("/"):
        return ("prefix", p)
    return ("exact", p)


def pmatch(pat, path):
    mode, p = pat
    if path is None:
        return False
    if mode == "exact":
        return path == p
    if mode == "prefix":
        return path.startswith(p)
    return fnmatch.fnmatchcase(path, p)


def persistent(p):
    if p.startswith("/dev/") or p == "/dev":
        return False
    return not (p.startswith("/proc/") and not p.startswith("/proc/sys/"))


def sessions_of(events):
    first = {}
    for e in events:
        if e.get("ses") is None or e["event"] in ("lost", "socket", "gap"):
            continue
        k = (e["host"], e["ses"])
        if k not in first:
            first[k] = e["pstart"] if e["event"] == "proc" else ns(e["ts"])
    return {k: "%s-%d-%d" % (k[0], k[1], v // 10**9) for k, v in first.items()}


def brute(events, kinds=None, paths=None, ok=False, reads=False, pers=False, since=None, until=None,
          comm=None, exe=None, argv=None, auid=None, ses=None, host=None):
    procs = None
    if argv is not None:
        procs = set()
        for e in events:
            if (e["event"] == "exec" and "error" not in e) or e["event"] == "proc":
                if until is not None and ns(e["ts"]) > until:
                    continue
                blob = " ".join(e.get("argv") or []) + " "
                if e.get("argv") and argv in blob:
                    procs.add((e.get("host"), e.get("pid", 0), e.get("pstart", 0)))
    out = []
    for e in events:
        k = e["event"]
        if kinds is not None and k not in kinds:
            continue
        ts = ns(e["ts"])
        if (since is not None and ts < since) or (until is not None and ts > until):
            continue
        if auid is not None and e["auid"] != auid:
            continue
        if ses is not None and e["ses"] != ses:
            continue
        if host is not None and e["host"] != host:
            continue
        if ok and "error" in e:
            continue
        if reads and k == "open" and e["flags"][0] != "rdonly":
            continue
        names = [e.get("path")] + ([e.get("path2")] if k in ("rename", "link") else [])
        if paths is not None and not any(pmatch(p, n) for p in paths for n in names):
            continue
        if pers and e.get("path") is not None and not any(persistent(n) for n in names if n is not None):
            continue
        if comm is not None and e.get("comm") != comm:
            continue
        if exe is not None and e.get("exe") != exe:
            continue
        if procs is not None and (e.get("host"), e.get("pid", 0), e.get("pstart", 0)) not in procs:
            continue
        out.append(e)
    return out


def query(args, data=None):
    data = data or [store]
    cmd = [FLIGHTREC, "query"] + args
    for d in data:
        cmd += ["--data", d]
    r = run(cmd + ["--json"])
    got = [json.loads(l) for l in r.stdout.splitlines()]
    return r, got


def check(desc, args, want, events, data=None, want_nonempty=True):
    r, got = query(args, data)
    # what-changed: the file and port results name their section; the
    # services section (checked on its own below) follows them
    sections_ok = all(g.get("section", "file") in ("file", "port", "service") for g in got)
    if args and args[0] == "what-changed":
        sections_ok = sections_ok and all(
            g.get("section") == ("port" if g["event"] in ("listen", "unlisten") else "file")
            for g in got if g.get("section") != "service")
        svc = [i for i, g in enumerate(got) if g.get("section") == "service"]
        sections_ok = sections_ok and svc == list(range(len(got) - len(svc), len(got)))
        got = [g for g in got if g.get("section") != "service"]
    ses = sessions_of(events)
    sess_ok = all(g.get("session") == (ses.get((g["host"], g["ses"])) if g.get("ses") is not None else None)
                  for g in got)
    stripped = [{k: v for k, v in g.items() if k not in ("session", "section")} for g in got]
    cond = (r.returncode == 0 and stripped == want and sess_ok and sections_ok
            and (len(want) > 0 or not want_nonempty))
    diag = "rc %d, got %d events, want %d, sessions ok %s, sections ok %s\n%s" % (
        r.returncode, len(got), len(want), sess_ok, sections_ok, r.stderr)
    if stripped != want:
        for a, b in zip(stripped, want):
            if a != b:
                diag += "\nfirst difference:\n got  %s\n want %s" % (a, b)
                break
    t.ok(cond, "%s: %d events equal the brute force, with sessions" % (desc, len(want)), diag)
    return got


ses_map = sessions_of(ALL)

# ---- the ready-made questions, on the recording ----
check("who-changed DIR/", ["who-changed", wd + "/"], brute(ALL, CHANGED, [("prefix", wd + "/")], ok=True), ALL)
check("who-changed exact path (rename's new name)", ["who-changed", wd + "/g1.txt"],
      brute(ALL, CHANGED, [("exact", wd + "/g1.txt")], ok=True), ALL)
got = check("who-changed glob", ["who-changed", wd + "/g*.txt"],
            brute(ALL, CHANGED, [("glob", wd + "/g*.txt")], ok=True), ALL)
t.ok({"rename", "chmod", "chown", "truncate", "link", "symlink", "modify"} <= {g["event"] for g in got}
     | {g["event"] for g in query(["who-changed", wd + "/*"])[1]},
     "who-changed sees rename, chmod, chown, truncate, link, symlink and modify")
t.ok(all(k in g for g in got for k in ("event", "path", "ts", "host", "pid", "comm", "auid", "session")),
     "each result carries event, path, ts, host, pid, comm, auid and session")
got = check("persistence", ["persistence"], brute(ALL, CHANGED | {"mkdir"}, PERSIST, ok=True), ALL)
t.ok({(g["event"], g["path"]) for g in got} >= {("create", cron), ("delete", cron), ("create", keys)},
     "persistence finds the cron file's create and delete and the authorized_keys", got)
got = check("reads", ["reads", "/etc/hostname"],
            brute(ALL, {"open"}, [("exact", "/etc/hostname")], ok=True, reads=True), ALL)
t.ok(any(g["comm"] == "cat" for g in got) and any(g["comm"] == "head" for g in got), "reads: cat and head")
got = check("new-listeners", ["new-listeners"], brute(ALL, {"listen"}, ok=True), ALL)
t.ok(any(g["port"] == port for g in got), "new-listeners: our port %d" % port)
since, until = fmt(t_mid), fmt(t_end)
got = check("what-changed window", ["what-changed", "--since", since, "--until", until],
            brute(ALL, WHAT, ok=True, pers=True, since=t_mid, until=t_end), ALL)
t.ok(any(g["event"] == "listen" and g["port"] == port for g in got)
     and any((g.get("path") or "").startswith(wd + "/h") for g in got)
     and not any((g.get("path") or "").startswith(wd + "/f") for g in got),
     "what-changed: the window's files and port, not the earlier files", "\n".join("%s %s %s" % (g["ts"], g["event"], g.get("path") or g.get("port")) for g in got[:40]))

# ---- general filters ----
check("--kind exec --comm true --argv", ["--kind", "exec", "--argv", "frq-argv-marker"],
      brute(ALL, {"exec"}, argv="frq-argv-marker"), ALL)
check("--argv (every event of the process)", ["--argv", "frq-argv-marker one"], brute(ALL, argv="frq-argv-marker one"),
      ALL)
check("--comm mv --kind rename", ["--comm", "mv", "--kind", "rename"], brute(ALL, {"rename"}, comm="mv"), ALL)
check("--exe glob", ["--exe", "/usr/bin/c*", "--kind", "open,create", "--prefix", wd + "/"],
      [e for e in brute(ALL, {"open", "create"}, [("prefix", wd + "/")])
       if e.get("exe") and fnmatch.fnmatchcase(e["exe"], "/usr/bin/c*")], ALL, want_nonempty=False)
check("--since/--until and --kind", ["--kind", "delete", "--since", fmt(t_start), "--until", fmt(t_mid)],
      brute(ALL, {"delete"}, since=t_start, until=t_mid), ALL)
me = [e for e in ALL if (e.get("path") or "").startswith(wd + "/")]
auid = me[0]["auid"] if me and me[0]["auid"] is not None else 0
check("--user AUID", ["--user", str(auid), "--prefix", wd + "/"],
      brute(ALL, paths=[("prefix", wd + "/")], auid=auid), ALL, want_nonempty=False)
host = ALL[0]["host"]
check("--host", ["--host", host, "--kind", "exit"], brute(ALL, {"exit"}, host=host), ALL)
r, none = query(["--host", "no-such-host"])
t.ok(r.returncode == 0 and none == [], "--host of another machine: nothing, exit 0", r.stderr)
if ses_map:
    (h, sesno), sid = sorted(ses_map.items())[0]
    check("--ses N --host H", ["--ses", str(sesno), "--host", h], brute(ALL, ses=sesno, host=h), ALL)
    check("--session ID", ["--session", sid],
          [e for e in brute(ALL, ses=sesno, host=h)], ALL)
    r = run([FLIGHTREC, "sessions", "--data", store, "--json"])
    ids = {json.loads(l)["id"] for l in r.stdout.splitlines() if l.startswith("{")}
    qs = {g["session"] for g in query(["--kind", "exec"])[1] if g.get("session")}
    t.ok(qs <= ids, "session ids are those `flightrec sessions` lists", (qs - ids, ids))
else:
    t.ok(True, "no audit session in this recording: session ids checked as null")

# ---- order and threads ----
a = run([FLIGHTREC, "query", "--data", store, "--json", "--threads", "1", "--prefix", wd + "/"]).stdout
b = run([FLIGHTREC, "query", "--data", store, "--json", "--threads", "4", "--prefix", wd + "/"]).stdout
t.ok(a == b and a, "output is identical with 1 and 4 threads")
r, got = query(["--prefix", wd + "/", "--limit", "5"])
t.eq(len(got), 5, "--limit 5")

# ---- count-by ----
def brute_count(evs, key):
    groups = {}
    for e in evs:
        k = key(e)
        g = groups.setdefault(k, [0, None, None])
        g[0] += 1
        n = ns(e["ts"])
        g[1] = n if g[1] is None else min(g[1], n)
        g[2] = n if g[2] is None else max(g[2], n)
    return groups


sel = brute(ALL, paths=[("prefix", wd + "/")])
for by, field, key in (("path", "path", lambda e: e.get("path")), ("process", "process", lambda e: e.get("comm")),
                       ("host", "host", lambda e: e.get("host")), ("user", "auid", lambda e: e.get("auid"))):
    r, got = query(["--prefix", wd + "/", "--count-by", by])
    want = brute_count(sel, key)
    have = {g[field]: [g["count"], ns(g["first"]), ns(g["last"])] for g in got}
    counts = [g["count"] for g in got]
    t.ok(r.returncode == 0 and have == {k: v for k, v in want.items()} and counts == sorted(counts, reverse=True),
         "--count-by %s: %d groups equal the brute force, most first" % (by, len(want)), (r.stderr, have, want))

# ---- text output and errors ----
r = run([FLIGHTREC, "query", "who-changed", wd + "/g1.txt", "--data", store])
t.ok(r.returncode == 0 and "rename" in r.stdout and "TIME" in r.stdout and "\033[" not in r.stdout,
     "table output, no colour when not a terminal", r)
r = run([FLIGHTREC, "query", "--help"])
t.ok(r.returncode == 0 and all(w in r.stdout for w in ("who-changed", "what-changed", "reads", "persistence",
                                                        "new-listeners", "Examples", "Exit status")),
     "--help documents every question with examples")
for args, desc in ((["what-changed", "--since", "1h"], "what-changed without --until"),
                   (["who-changed"], "who-changed without a path"),
                   (["--since", "yesterday-ish"], "a bad time"),
                   (["--kind", "nonsense"], "an unknown kind"),
                   (["--count-by", "color"], "an unknown group"),
                   (["no-such-question"], "an unknown question")):
    r = run([FLIGHTREC, "query", "--data", store] + args)
    t.ok(r.returncode == 2 and r.stderr, "usage error (exit 2): %s" % desc, r)
r = run([FLIGHTREC, "query", "--data", os.path.join(work, "nonexistent")])
t.ok(r.returncode == 1 and "No such file" in r.stderr, "a missing log: exit 1", r)
bad = os.path.join(work, "bad")
shutil.copytree(store, bad)
segs = sorted(n for n in os.listdir(bad) if n.startswith("seg-"))
with open(os.path.join(bad, segs[1]), "r+b") as f:
    f.seek(os.path.getsize(os.path.join(bad, segs[1])) // 2)
    c = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([c[0] ^ 0x55]))
r = run([FLIGHTREC, "query", "--data", bad, "--json", "--kind", "exit"])
t.ok(r.returncode == 1 and segs[1] in r.stderr and r.stdout, "a damaged segment is named, the rest is searched", r.stderr)

# ---- generated data (bench/fleetgen), two stores at once ----
fleetgen = os.path.join(BUILD, "bench", "fleetgen")
gen = os.path.join(work, "fleet")
r = run([fleetgen, "--out", gen, "--hosts", "2", "--days", "0.3", "--events-per-day", "200000", "--segment-events", "5000", "--seed", "7"])
t.ok(r.returncode == 0, "fleetgen writes a small fleet", r.stderr)
hosts = sorted(os.listdir(gen)) if os.path.isdir(gen) else []
dirs = [os.path.join(gen, h) for h in hosts]
G = []
for d in dirs:
    G += [json.loads(l) for l in run([FLIGHTREC, "dump", "--json", d]).stdout.splitlines()]
t.ok(len(G) > 50000 and len(hosts) == 2, "generated: %d events on %d hosts" % (len(G), len(hosts)))
check("generated: who-changed /etc/ prefix", ["who-changed", "/etc/"], brute(G, CHANGED, [("prefix", "/etc/")], ok=True),
      G, data=dirs)
check("generated: persistence", ["persistence"], brute(G, CHANGED | {"mkdir"}, PERSIST, ok=True), G, data=dirs)
check("generated: reads glob", ["reads", "/etc/*.conf"], brute(G, {"open"}, [("glob", "/etc/*.conf")], ok=True,
                                                                  reads=True), G, data=dirs)
check("generated: new-listeners", ["new-listeners"], brute(G, {"listen"}, ok=True), G, data=dirs)
check("generated: --comm and --kind", ["--comm", "sshd", "--kind", "exec,fork"], brute(G, {"exec", "fork"}, comm="sshd"),
      G, data=dirs, want_nonempty=False)
if G:
    h0 = sorted(ns(e["ts"]) for e in G if e.get("host") == hosts[0])
    mid, end = h0[len(h0) // 3], h0[len(h0) // 3 * 2]
    check("generated: what-changed", ["what-changed", "--since", fmt(mid), "--until", fmt(end), "--host", hosts[0]],
          brute(G, WHAT, ok=True, pers=True, since=mid, until=end, host=hosts[0]), G, data=dirs)
    ex = [e for e in G if e["event"] == "create"]
    p = ex[len(ex) // 2]["path"] if ex else "/nonexistent"
    check("generated: who-changed exact", ["who-changed", p], brute(G, CHANGED, [("exact", p)], ok=True), G, data=dirs)
    sel = brute(G, {"open"}, ok=True, reads=True)
    r, got = query(["reads", "/*", "--count-by", "process"], dirs)
    want = brute_count(sel, lambda e: e.get("comm"))
    have = {g["process"]: [g["count"], ns(g["first"]), ns(g["last"])] for g in got}
    t.ok(r.returncode == 0 and have == want, "generated: reads --count-by process equals the brute force")
    # exact paths counted from the path streams alone (no event decoded),
    # and listed with a decode that stops at the last hit: both equal the
    # brute force
    opened = {}
    for e in G:
        if e["event"] == "open":
            opened[e.get("path")] = opened.get(e.get("path"), 0) + 1
    hot = max(opened, key=opened.get) if opened else "/nonexistent"
    renamed = [e for e in G if e["event"] == "rename"]
    two = renamed[len(renamed) // 2]["path2"] if renamed else "/nonexistent"
    for by, field, key in (("host", "host", lambda e: e.get("host")), ("path", "path", lambda e: e.get("path"))):
        sel = brute(G, None, [("exact", hot), ("exact", two)])
        r, got = query(["--path", hot, "--path", two, "--count-by", by, "--stats"], dirs)
        want = brute_count(sel, key)
        have = {g[field]: [g["count"], ns(g["first"]), ns(g["last"])] for g in got}
        st = json.loads(r.stderr.strip().splitlines()[-1]) if r.returncode == 0 else {}
        t.ok(r.returncode == 0 and have == want and st.get("path_scanned", 0) > 0 and st.get("decoded") == 0
             and st.get("events_decoded") == 0,
             "generated: two exact paths --count-by %s from the path streams alone (%d events, %s segments "
             "scanned, none decoded) equal the brute force" % (by, len(sel), st.get("path_scanned")),
             (r.stderr, have, want))
    mid = ns(G[len(G) // 2]["ts"])
    sel = brute(G, {"open", "rename"}, [("exact", hot), ("exact", two)], since=mid)
    r, got = query(["--path", hot, "--path", two, "--kind", "open,rename", "--since", fmt(mid), "--count-by",
                    "host"], dirs)
    want = brute_count(sel, lambda e: e.get("host"))
    have = {g["host"]: [g["count"], ns(g["first"]), ns(g["last"])] for g in got}
    t.ok(r.returncode == 0 and have == want, "generated: exact paths, kinds and --since counted from the path "
         "streams equal the brute force", (r.stderr, have, want))
    sel = brute(G, None, [("exact", hot)], comm="nginx")
    r, got = query(["--path", hot, "--comm", "nginx", "--count-by", "host"], dirs)
    want = brute_count(sel, lambda e: e.get("host"))
    have = {g["host"]: [g["count"], ns(g["first"]), ns(g["last"])] for g in got}
    t.ok(r.returncode == 0 and have == want, "generated: an exact path with --comm (a decode) equals the brute "
         "force", (r.stderr, have, want))
    check("generated: events of two exact paths", ["--path", hot, "--path", two],
          brute(G, None, [("exact", hot), ("exact", two)]), G, data=dirs)
    # progress on stderr (forced with --progress when stderr is a pipe):
    # counts climb to every segment of both stores, the line is cleared at
    # the end, and stdout carries only results
    nseg = sum(len([n for n in os.listdir(d) if n.startswith("seg-")]) for d in dirs)
    r = run([FLIGHTREC, "query", "--progress", "--kind", "exit", "--json"] + sum((["--data", d] for d in dirs), []))
    marks = re.findall(r"query: (\d+)/(\d+) segments", r.stderr)
    t.ok(r.returncode == 0 and marks and all(int(b) == nseg for _, b in marks) and int(marks[-1][0]) == nseg
         and "\033[K" in r.stderr and all(l.startswith("{") for l in r.stdout.splitlines()),
         "--progress: segments done up to %d of %d on stderr, results alone on stdout" % (nseg, nseg),
         r.stderr[-300:])
    r = run([FLIGHTREC, "query", "--kind", "exit", "--json"] + sum((["--data", d] for d in dirs), []))
    t.ok(r.returncode == 0 and "segments" not in r.stderr, "no progress when stderr is not a terminal", r.stderr)
    ges = [e for e in G if e.get("ses") is not None]
    if ges:
        e0 = ges[len(ges) // 2]
        check("generated: --ses --host", ["--ses", str(e0["ses"]), "--host", e0["host"], "--kind", "exec,modify"],
              brute(G, {"exec", "modify"}, ses=e0["ses"], host=e0["host"]), G, data=dirs)

# ---- what-changed: the services section, from real systemctl, service,
# update-rc.d and init.d runs (no systemd here: `systemctl --root=/` edits
# files offline, `systemctl start` fails, and its exit status is shown) ----
U = "frtest-svc-%d" % os.getpid()
UV = U + "-sysv"
UNIT_FILE = "/etc/systemd/system/%s.service" % U
WANTS = "/etc/systemd/system/multi-user.target.wants/%s.service" % U
INITD = "/etc/init.d/" + UV


def svc_cleanup():
    for p in (UNIT_FILE, WANTS, INITD):
        if os.path.lexists(p):
            os.unlink(p)
    for rc in "0123456S":
        d = "/etc/rc%s.d" % rc
        if os.path.isdir(d):
            for n in os.listdir(d):
                if n[3:] == UV:
                    os.unlink(os.path.join(d, n))


svc_store = os.path.join(work, "svc-log")
have_tools = all(os.path.exists(x) for x in ("/usr/bin/systemctl", "/usr/sbin/service", "/usr/sbin/update-rc.d"))
SVC = []
if have_tools:
    try:
        rec = Recorder("--output", svc_store)
        s_start = time.time_ns() // 10**6 * 10**6
        subprocess.run(["/bin/bash", "-c", r"""
printf '[Unit]\nDescription=flightrec test\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' > %(uf)s
systemctl --root=/ enable %(u)s
systemctl start %(u)s
service %(u)s restart
systemctl --root=/ disable %(u)s.service
rm -f %(uf)s
systemctl --root=/ mask %(u)s
systemctl --root=/ unmask %(u)s
printf '#!/bin/sh\n### BEGIN INIT INFO\n# Provides: %(uv)s\n# Required-Start: $remote_fs\n# Required-Stop: $remote_fs\n# Default-Start: 2 3 4 5\n# Default-Stop: 0 1 6\n# Short-Description: t\n### END INIT INFO\nexit 0\n' > %(initd)s
chmod 755 %(initd)s
update-rc.d %(uv)s defaults
%(initd)s restart
update-rc.d %(uv)s remove
sed -i 's/exit 0/exit 0 # edited/' %(initd)s
rm -f %(initd)s
true
""" % {"u": U, "uf": UNIT_FILE, "uv": UV, "initd": INITD}], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        s_end = time.time_ns()
    finally:
        svc_cleanup()
        try:
            rec.stop()
        except Exception:
            pass
    SVC = [json.loads(l) for l in run([FLIGHTREC, "dump", "--json", svc_store]).stdout.splitlines()]

UNIT_TYPES = (".service", ".socket", ".target", ".timer", ".path", ".mount", ".automount", ".swap", ".device",
              ".slice", ".scope")
UNIT_DIRS = ("/etc/systemd/system/", "/run/systemd/system/", "/lib/systemd/system/", "/usr/lib/systemd/system/",
             "/usr/local/lib/systemd/system/", "/etc/systemd/user/", "/run/systemd/user/", "/lib/systemd/user/",
             "/usr/lib/systemd/user/")
SC_VERBS = set("start stop reload restart try-restart reload-or-restart try-reload-or-restart force-reload "
               "condrestart condreload condstop reload-or-try-restart isolate kill clean freeze thaw enable "
               "disable reenable preset mask unmask link revert edit set-property add-wants add-requires "
               "set-default".split())
SC_PLAIN = set("daemon-reload daemon-reexec preset-all default rescue emergency halt poweroff reboot kexec "
               "soft-reboot".split())
SC_VALUE = set("--type --property --signal --host --machine --lines --output --root --image --kill-whom "
               "--kill-value --job-mode --state --what --timestamp --preset-mode --boot-loader-entry "
               "--boot-loader-menu --reboot-argument --message --drop-in --when --check-inhibitors".split())
SYSV = set("start stop restart reload force-reload try-restart condrestart reload-or-restart force-stop".split())
UPDRC = set("defaults defaults-disabled remove enable disable".split())


def unit_name(a):
    """The reference normalisation (docs/QUERY.md, Services)."""
    if not a or a.startswith("-"):
        return None
    if "/" in a:
        b = a.rsplit("/", 1)[1]
        if not a.startswith("/") or not (b.endswith(UNIT_TYPES) and len(b) > min(len(t) for t in UNIT_TYPES)):
            return None
        a = b
    if a.startswith("."):
        return None
    out, glob = "", False
    for c in a.encode("utf-8", "surrogateescape"):
        ch = chr(c)
        if ch in "*?[]":
            glob = True
        if ch.isascii() and (ch.isalnum() or ch in ":-_.\\@*?[]"):
            out += ch
        else:
            out += "\\x%02x" % c
    if not glob and not any(out.endswith(t) and len(out) > len(t) for t in UNIT_TYPES):
        out += ".service"
    return out if len(out) <= 255 else None


def ref_command(e):
    """(verb, [units]) of a service command, or None."""
    argv = e.get("argv") or []
    if not argv:
        return None
    a0 = argv[0]
    if a0.startswith("/etc/init.d/") and "/" not in a0[12:]:
        name = a0[12:]
        name = name[:-3] if name.endswith(".sh") and len(name) > 3 else name
        return (argv[1], [name]) if len(argv) > 1 and argv[1] in SYSV else None
    prog = os.path.basename(e.get("path") or "")
    if prog not in ("systemctl", "service", "invoke-rc.d", "update-rc.d"):
        prog = os.path.basename(a0)
    if prog == "systemctl":
        verb, units, i = None, [], 1
        while i < len(argv):
            a = argv[i]
            if a.startswith("-"):
                if a == "--":
                    units += argv[i + 1:] if verb else []
                    break
                if (a.startswith("--") and a in SC_VALUE) or (len(a) == 2 and a[1] in "tpPsHMno"):
                    i += 1
            elif verb is None:
                if a not in SC_VERBS and a not in SC_PLAIN:
                    return None
                verb = a
            elif verb in SC_VERBS and not (verb == "set-property" and units):
                units.append(a)
            i += 1
        return (verb, units) if verb else None
    if prog in ("service", "invoke-rc.d"):
        rest = argv[1:]
        if prog == "invoke-rc.d":
            while rest and rest[0].startswith("--") and len(rest[0]) > 2:
                rest = rest[1:]
        if len(rest) < 2 or rest[0].startswith("-"):
            return None
        verb = "restart" if rest[1] == "--full-restart" else rest[1]
        return (verb, [rest[0]]) if verb in SYSV else None
    if prog == "update-rc.d":
        rest = argv[1:]
        while rest and rest[0].startswith("-") and len(rest[0]) >= 2:
            rest = rest[1:]
        return (rest[1], [rest[0]]) if len(rest) >= 2 and rest[1] in UPDRC else None
    return None


def place(p):
    """(place, unit) of a path."""
    if p is None:
        return (None, None)
    rest = next((p[len(d):] for d in UNIT_DIRS if p.startswith(d)), None)
    if rest is None and "/.config/systemd/user/" in p:
        rest = p.split("/.config/systemd/user/", 1)[1]
    if rest is not None:
        parts = rest.split("/")
        if len(parts) == 1:
            return ("unit", unit_name(rest)) if rest.endswith(UNIT_TYPES) and unit_name(rest) else (None, None)
        if len(parts) != 2 or not parts[1]:
            return (None, None)
        d = parts[0]
        if d.endswith(".d") and d[:-2].endswith(UNIT_TYPES):
            return ("dropin", unit_name(d[:-2]))
        if d.endswith((".wants", ".requires", ".upholds")) and parts[1].endswith(UNIT_TYPES):
            return ("wants", unit_name(parts[1]))
        return (None, None)
    for d in ("/etc/init.d/", "/etc/rc.d/init.d/"):
        if p.startswith(d):
            n = p[len(d):]
            if not n or n.startswith(".") or "/" in n:
                return (None, None)
            n = n[:-3] if n.endswith(".sh") and len(n) > 3 else n
            return ("initd", unit_name(n))
    import re
    m = re.match(r"^/etc/(?:rc\.d/)?rc[0-6S]\.d/([SK])[0-9]+([^/]+)$", p)
    if m:
        n = m.group(2)
        n = n[:-3] if n.endswith(".sh") and len(n) > 3 else n
        return ("rcS" if m.group(1) == "S" else "rcK", unit_name(n))
    return (None, None)


def appeared(pl, symlink=False, to_null=False, by_rename=False):
    if pl == "unit":
        return ("masked" if to_null else "linked") if symlink else ("modified" if by_rename else "created")
    return {"initd": "modified" if by_rename else "created", "dropin": "modified", "wants": "enabled",
            "rcS": "enabled"}.get(pl)


def went(pl):
    return {"unit": "deleted", "initd": "deleted", "dropin": "modified", "wants": "disabled",
            "rcS": "disabled"}.get(pl)


def ref_file(e, frm=None):
    k = e["event"]
    path = e.get("path") if frm is None else frm
    if k in ("create", "symlink"):
        pl, u = place(path)
        return u, appeared(pl, k == "symlink", k == "symlink" and e.get("path2") == "/dev/null")
    if k == "link":
        pl, u = place(e.get("path2"))
        return u, appeared(pl)
    if k in ("modify", "truncate"):
        pl, u = place(path)
        return u, ("modified" if pl in ("unit", "initd", "dropin") else None)
    if k == "delete":
        pl, u = place(path)
        return u, went(pl)
    if k == "rename":
        (pf, uf), (pt, ut) = place(path), place(e.get("path2"))
        if pf in ("unit", "initd") and pt in ("unit", "initd") and uf != ut:
            return uf, "renamed"
        if pt is not None and appeared(pt, by_rename=True):
            return ut, appeared(pt, by_rename=True)
        if pf in ("unit", "initd"):
            return uf, "renamed"
        return uf, went(pf)
    return None, None


def brute_services(events, since, until):
    """The services section by a plain scan of every event."""
    slack = 600 * 10**9
    exits = {}
    for e in events:
        if e["event"] == "exit" and ns(e["ts"]) <= until + slack:
            exits.setdefault((e["host"], e["pid"], e["pstart"]), e)
    out, fold = [], {}
    def add(e, unit, action, command, rank, idx):
        key = (e["host"], e["pid"], e["pstart"], unit, action)
        if key in fold:
            fold[key]["count"] += 1
            return
        x = {"e": e, "unit": unit, "action": action, "count": 1, "rank": rank, "idx": idx}
        if command:
            x["exit"] = exits.get((e["host"], e["pid"], e["pstart"]))
        fold[key] = x
        out.append(x)
    for i, e in enumerate(events):
        if not (since <= ns(e["ts"]) <= until):
            continue
        if e["event"] == "exec" and "error" not in e:
            c = ref_command(e)
            if c:
                units = [u for u in (unit_name(a) for a in c[1][:16]) if u]
                rank = 1 if (e.get("argv") or [""])[0].startswith("/etc/init.d/") else 0
                for u in units or [None]:
                    add(e, u, c[0], True, rank, i)
    for i, e in enumerate(events):
        if not (since <= ns(e["ts"]) <= until) or "error" in e:
            continue
        if e["event"] not in ("create", "modify", "truncate", "delete", "rename", "link", "symlink"):
            continue
        if not any(pmatch(p, e.get("path")) or (e["event"] in ("rename", "link") and pmatch(p, e.get("path2")))
                   for p in SVC_PATHS):
            continue
        frm = None
        if e["event"] == "rename":
            pl, u = place(e.get("path"))
            if appeared(pl) == "created" and (e["host"], e["pid"], e["pstart"], u, "created") in fold:
                fold[(e["host"], e["pid"], e["pstart"], u, "created")]["dropped"] = True
                frm = ""
        u, a = ref_file(e, frm)
        if not a:
            continue
        proc = (e["host"], e["pid"], e["pstart"])
        if a == "modified" and proc + (u, "created") in fold:
            a = "created"
        if a == "deleted" and proc + (u, "unmask") in fold:
            a = "unmasked"
        add(e, u, a, False, 2, i)
    out = [x for x in out if not x.get("dropped")]
    out.sort(key=lambda x: (ns(x["e"]["ts"]), x["rank"], x["idx"]))
    want = []
    for x in out:
        w = dict(x["e"], section="service", unit=x["unit"], action=x["action"], count=x["count"])
        if "exit" in x:
            ex = x["exit"]
            w["exit_code"] = None if ex is None or ex.get("signal") else ex.get("code")
            if ex is not None and ex.get("signal"):
                w["exit_signal"] = ex["signal"]
        want.append(w)
    return want


SVC_PATHS = [parse_pat(p) for p in UNIT_DIRS + ("/etc/init.d/", "/etc/rc.d/init.d/")] + [
    ("glob", "*/.config/systemd/user/*"), ("glob", "/etc/rc[0-6S].d/*"), ("glob", "/etc/rc.d/rc[0-6].d/*")]

if not have_tools:
    # scripts/install-deps.sh installs them (systemd, init-system-helpers):
    # missing tools are a broken setup, not a reason to skip
    t.ok(False, "systemctl, service and update-rc.d are installed (scripts/install-deps.sh)")
else:
    since, until = fmt(s_start), fmt(s_end)
    r, got = query(["what-changed", "--since", since, "--until", until], [svc_store])
    svc = [g for g in got if g.get("section") == "service"]
    want = brute_services(SVC, s_start, s_end)
    ses = sessions_of(SVC)
    strip = [{k: v for k, v in g.items() if k != "session"} for g in svc]
    diag = "rc %d, got %d, want %d\n%s" % (r.returncode, len(svc), len(want), r.stderr)
    for a, b in zip(strip, want):
        if a != b:
            diag += "\nfirst difference:\n got  %s\n want %s" % (a, b)
            break
    diag += "\ngot:\n" + "\n".join("%s %s %s %s" % (g["ts"], g["action"], g["unit"], g.get("argv") or g.get("path"))
                                   for g in svc)
    t.ok(r.returncode == 0 and strip == want and len(want) > 0
         and all(g["session"] == (ses.get((g["host"], g["ses"])) if g.get("ses") is not None else None) for g in svc),
         "what-changed services: %d results equal the brute force over dump --json" % len(want), diag)

    unit, unitv = U + ".service", UV + ".service"
    def one(action, u=unit, **kw):
        m = [g for g in svc if g["unit"] == u and g["action"] == action
             and all(g.get(k) == v for k, v in kw.items())]
        return m[0] if len(m) == 1 else None
    def exec_of(argv):
        m = [e for e in SVC if e["event"] == "exec" and e.get("argv") == argv and "error" not in e]
        return m[0] if len(m) == 1 else None
    for argv, action, code in ((["systemctl", "--root=/", "enable", U], "enable", 0),
                               (["systemctl", "start", U], "start", "nonzero"),
                               (["service", U, "restart"], "restart", "nonzero"),
                               (["systemctl", "--root=/", "disable", U + ".service"], "disable", 0),
                               (["systemctl", "--root=/", "mask", U], "mask", 0),
                               (["systemctl", "--root=/", "unmask", U], "unmask", 0),
                               (["update-rc.d", UV, "defaults"], "defaults", 0),
                               ([INITD, "restart"], "restart", 0),
                               (["update-rc.d", UV, "remove"], "remove", 0)):
        u = unitv if UV in " ".join(argv) else unit
        g, e = one(action, u, event="exec", argv=argv), exec_of(argv)
        code_ok = g is not None and (g.get("exit_code") not in (0, None) if code == "nonzero"
                                     else g.get("exit_code") == code)
        t.ok(g is not None and e is not None and g["pid"] == e["pid"] and g["comm"] == e["comm"]
             and g["ts"] == e["ts"] and g["auid"] == e["auid"] and code_ok,
             "services: `%s` is %s of %s, by its pid and comm, exit %s" % (" ".join(argv), action, u, code),
             (g, e))
    for action, event, comm_of, path, u in (
            ("created", "create", "bash", UNIT_FILE, unit),
            ("enabled", "symlink", ["systemctl", "--root=/", "enable", U], WANTS, unit),
            ("disabled", "delete", ["systemctl", "--root=/", "disable", U + ".service"], WANTS, unit),
            ("deleted", "delete", "rm", UNIT_FILE, unit),
            ("masked", "symlink", ["systemctl", "--root=/", "mask", U], UNIT_FILE, unit),
            ("unmasked", "delete", ["systemctl", "--root=/", "unmask", U], UNIT_FILE, unit),
            ("created", "create", "bash", INITD, unitv),
            ("enabled", "symlink", ["update-rc.d", UV, "defaults"], "/etc/rc2.d/S01" + UV, unitv),
            ("disabled", "delete", ["update-rc.d", UV, "remove"], None, unitv),
            ("modified", "rename", "sed", None, unitv),
            ("deleted", "delete", "rm", INITD, unitv)):
        g = one(action, u, event=event)
        if isinstance(comm_of, list):
            e = exec_of(comm_of)
            who_ok = g is not None and e is not None and g["pid"] == e["pid"] and g["pstart"] == e["pstart"]
        else:
            who_ok = g is not None and g["comm"] == comm_of
        t.ok(who_ok and (path is None or g["path"] == path) and "exit_code" not in g,
             "services: %s %s (%s) by the right process" % (action, u, event), g)
    t.ok(not any(g["unit"].startswith("sed") for g in svc if g["unit"]),
         "services: sed -i's temporary file is not a unit of its own")
    order = [(g["action"], g["unit"]) for g in svc if g["unit"] in (unit, unitv)]
    t.ok(order.index(("enable", unit)) < order.index(("enabled", unit)) < order.index(("start", unit))
         < order.index(("disabled", unit)) < order.index(("deleted", unit)) < order.index(("masked", unit)),
         "services: in time order, a command before its file changes", order)
    r = run([FLIGHTREC, "query", "what-changed", "--since", since, "--until", until, "--data", svc_store])
    t.ok(r.returncode == 0 and "Services:" in r.stdout and "systemctl start " + U in r.stdout
         and "(failed: exit" in r.stdout, "services: the table names the section, the command line, the failure",
         r.stdout[-3000:])
    r, got = query(["what-changed", "--since", since, "--until", until, "--kind", "create"], [svc_store])
    t.ok(r.returncode == 0 and got and not any(g.get("section") == "service" for g in got),
         "services: --kind selects raw events, no services section")
    r, got = query(["what-changed", "--since", since, "--until", until, "--comm", "systemctl"], [svc_store])
    t.ok(r.returncode == 0 and {g["comm"] for g in got if g.get("section") == "service"} == {"systemctl"},
         "services: --comm narrows the section too")
    t.ok(not os.path.lexists(UNIT_FILE) and not os.path.lexists(INITD) and not os.path.lexists(WANTS),
         "services: the test unit and script are gone")

# While the recorder runs, the segment it is filling (its journal) is
# queried too: "who changed it?" right after the change, not ten minutes on.
live_store = os.path.join(work, "livelog")
rec = Recorder("--output", live_store)
changed = os.path.join(wd, "live-%d.conf" % os.getpid())
subprocess.run(["/bin/bash", "-c", "echo on > %s; chmod 640 %s" % (changed, changed)], check=True)
deadline = time.time() + 10
while True:  # journaled within a poll (100 ms)
    r, got = query(["who-changed", changed], [live_store])
    if len(got) >= 3 or time.time() > deadline:
        break
    time.sleep(0.2)
t.ok(not [n for n in os.listdir(live_store) if n.startswith("seg-")],
     "live: no segment is closed yet", os.listdir(live_store))
t.ok(r.returncode == 0 and [(g["event"], g["path"]) for g in got] == [("create", changed), ("modify", changed), ("chmod", changed)]
     and all(g["comm"] in ("bash", "chmod") for g in got),
     "live: who-changed finds a change made a moment ago, from the journal", got)
r = run([FLIGHTREC, "dump", "--json", live_store])
t.ok(r.returncode == 0 and changed in r.stdout, "live: dump shows it too", r.stderr)
rec.stop()
r2, got2 = query(["who-changed", changed], [live_store])
t.ok(r2.returncode == 0 and [{k: v for k, v in g.items() if k != "seq"} for g in got2]
     == [{k: v for k, v in g.items() if k != "seq"} for g in got],
     "live: the same answer from the closed segment after the stop", (got, got2))

shutil.rmtree(work, ignore_errors=True)
t.done()
