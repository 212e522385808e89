#!/usr/bin/python3
# flightrec query: every answer equals a brute-force scan of `dump --json`
# (in this file), on a log recorded from a real workload (several segments,
# files under a fake persistence path /etc/cron.d/frtest-PID, a listener, a
# read of a config file) and on a generated fleet (bench/fleetgen). Also:
# deterministic order whatever the threads, session ids as `sessions` shows
# them, --count-by, --limit, usage errors and exit codes.
import calendar
import fnmatch
import json
import os
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
    ses = sessions_of(events)
    sess_ok = all(g.get("session") == (ses.get((g["host"], g["ses"])) if g.get("ses") is not None else None)
                  for g in got)
    stripped = [{k: v for k, v in g.items() if k != "session"} for g in got]
    cond = r.returncode == 0 and stripped == want and sess_ok and (len(want) > 0 or not want_nonempty)
    diag = "rc %d, got %d events, want %d, sessions ok %s\n%s" % (r.returncode, len(got), len(want), sess_ok,
                                                                   r.stderr)
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
    ges = [e for e in G if e.get("ses") is not None]
    if ges:
        e0 = ges[len(ges) // 2]
        check("generated: --ses --host", ["--ses", str(e0["ses"]), "--host", e0["host"], "--kind", "exec,modify"],
              brute(G, {"exec", "modify"}, ses=e0["ses"], host=e0["host"]), G, data=dirs)

shutil.rmtree(work, ignore_errors=True)
t.done()
