#!/usr/bin/python3
# Sessions end to end: real logins through a real sshd on 127.0.0.1 (PAM on,
# so pam_loginuid sets auid and ses), scripted lines typed into a pty, the
# real recorder writing a flight log, then `flightrec sessions` and `show`.
# Each kind of command must come out in the tree exactly as specified.
import json
import os
import pwd
import subprocess
import tempfile
import time

from frtest import FLIGHTREC, Recorder, Tap, run
from sshlib import READY_CMD, SshHarness

t = Tap()
if os.geteuid() != 0:
    t.bail("needs root (eBPF, sshd, users)")

T = tempfile.mkdtemp(prefix="frtest-sess-")
os.chmod(T, 0o1777)
script = os.path.join(T, "fifty.sh")
with open(script, "w") as f:
    f.write("for i in {1..49}; do /bin/true; done\nrm -f victim.txt\n")
os.chmod(script, 0o755)
log = os.path.join(T, "log")

with SshHarness() as h:
    alice = h.uids["fralice"]
    bob = h.uids["frbob"]
    # a process of fralice's that is not part of any session
    # (setpriv execs in place, so the pid is sleep's)
    outside = subprocess.Popen(["setpriv", "--reuid=%d" % alice, "--regid=%d" % pwd.getpwnam("fralice").pw_gid,
                                "--init-groups", "sleep", "600"])
    rec = Recorder("--output", log)
    t0 = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    lines = [
        "cd %s" % T,
        "touch a.txt",
        "ls -l",
        "echo hello > b.txt",
        "cat a.txt | grep -c x | wc -l > c.txt",
        "touch victim.txt",
        "(mkdir sub; cd sub && touch d.txt)",
        "bash ./fifty.sh",
        "sleep 300 &",
        "nohup sleep 400 > /dev/null 2>&1 &",
        "kill -TERM %d" % outside.pid,
        "sudo -i",
        "touch %s/root.txt" % T,
        "exit",
        "su - frbob",
        "touch %s/bob.txt" % T,
        "exit",
        "kill %1",
        "exit",
    ]
    r1 = h.session("fralice", lines)
    both = h.concurrent([("fralice", ["touch %s/conc-alice" % T, "exit"]),
                         ("frbob", ["touch %s/conc-bob" % T, "exit"])])
    nonint = h.run("frbob", "touch %s/nonint" % T)
    time.sleep(0.5)
    rec.stop()
    outside.wait(timeout=10)
t.eq(r1.rc, 0, "the scripted ssh session ended cleanly")
t.ok(all(r.rc == 0 for r in both) and nonint.returncode == 0, "the concurrent and non-interactive logins ran")

r = run([FLIGHTREC, "sessions", "--data", log, "--json"])
t.eq(r.returncode, 0, "sessions --json exits 0")
sessions = [json.loads(l) for l in r.stdout.splitlines()]
# only this test's sessions (another test or a person may log in meanwhile):
# those whose tree mentions this test's directory
mine = [s for s in sessions if s["auid"] in (alice, bob) and s["start"] >= t0
        and T in run([FLIGHTREC, "show", s["id"], "--data", log, "--json", "--all"]).stdout]
t.eq(len(mine), 4, "four sessions of the test users (one scripted, two concurrent, one non-interactive)")
# the login shell's own lines; those typed after `sudo -i` and `su -` belong
# to the nested shells, up to their `exit`
top = lines[:12] + [lines[14]] + lines[17:]
main = [s for s in mine if s["auid"] == alice and s["commands"] == len(top) + 1]
t.eq(len(main), 1, "the scripted session is found")
S = main[0] if main else {}
t.ok(S.get("user") == "fralice" and S.get("tty", "").startswith("pts/") and S.get("client") == "127.0.0.1"
     and S.get("interactive") and S.get("complete") and S.get("end") and S.get("ses") is not None,
     "session fields: user, tty, client, interactive, complete, ended, ses", S)
t.eq(S.get("commands_with_effects"), 11, "commands with side effects counted")
conc = [s for s in mine if s["commands"] == 3]
t.ok(len(conc) == 2 and {s["user"] for s in conc} == {"fralice", "frbob"} and conc[0]["ses"] != conc[1]["ses"],
     "two concurrent sessions of two users, with different ses", conc)
ni = [s for s in mine if not s["interactive"]]
t.ok(len(ni) == 1 and ni[0]["user"] == "frbob" and ni[0]["tty"] is None and ni[0]["commands_with_effects"] >= 1,
     "ssh host cmd is a non-interactive session with a side effect", ni)
if ni:
    nt = json.loads(run([FLIGHTREC, "show", ni[0]["id"], "--data", log, "--json"]).stdout)
    t.ok([c["argv"] for c in nt["commands"]] == [["touch", os.path.join(T, "nonint")]],
         "ssh host cmd: the command is the process the shell ran", nt["commands"])
r = run([FLIGHTREC, "sessions", "--data", log, "--json", "--user", "frbob"])
t.ok(r.returncode == 0 and all(json.loads(l)["auid"] == bob for l in r.stdout.splitlines())
     and len(r.stdout.splitlines()) >= 2, "--user filters by login user")
r = run([FLIGHTREC, "sessions", "--data", log, "--json", "--since", "2099-01-01"])
t.ok(r.returncode == 0 and r.stdout == "", "--since in the future: no session", r.stdout[:300])
r = run([FLIGHTREC, "sessions", "--data", log, "--json", "--since", "1h"])
t.ok(r.returncode == 0 and S.get("id", "?") in r.stdout, "--since 1h: this session", r.stderr)
r = run([FLIGHTREC, "sessions", "--data", log, "--since", "yesterday-ish"])
t.ok(r.returncode == 2 and "--since" in r.stderr, "--since with a bad time is a usage error", r.stderr)

r = run([FLIGHTREC, "show", S.get("id", "?"), "--data", log, "--json", "--all"])
t.eq(r.returncode, 0, "show --json --all exits 0")
tree = json.loads(r.stdout) if r.returncode == 0 else {"commands": []}
cmds = {c["line"]: c for c in tree["commands"]}
t.eq([c["line"] for c in tree["commands"]], [READY_CMD] + top, "commands are the lines as typed, in order")


def procs(node):
    """All process nodes under a node (depth first)."""
    out = []
    for k in node.get("children", []):
        if k["line"] is None:
            out.append(k)
        out.extend(procs(k))
    return out


def effects(node, kind=None):
    out = [e for e in node["effects"] if kind is None or e["event"] == kind]
    for k in node.get("children", []):
        out.extend(effects(k, kind))
    return out


def P(name):
    return os.path.join(T, name)


c = cmds.get("touch a.txt", {"children": [], "effects": []})
kids = c["children"]
t.ok(c.get("side_effects") and len(kids) == 1 and kids[0]["argv"] == ["touch", "a.txt"]
     and [e["path"] for e in kids[0]["effects"] if e["event"] == "create"] == [P("a.txt")]
     and kids[0]["uid"] == alice and kids[0]["exit_code"] == 0,
     "plain command: one child, its create, its exit status", c)
c = cmds.get("ls -l", {"children": [], "effects": []})
t.ok(not c.get("side_effects", True) and len(c["children"]) == 1 and c["children"][0]["argv"][0] == "ls"
     and not [e for e in effects(c) if e["side_effect"]], "read-only command: kept, no side effects", c)
c = cmds.get("echo hello > b.txt", {"children": [], "effects": []})
t.ok(c.get("side_effects") and c["children"] == [] and [e["path"] for e in c["effects"] if e["event"] == "create"]
     == [P("b.txt")] and c["pid"] == c["effects"][0]["pid"], "builtin with a redirect: the shell's own create", c)
c = cmds.get("cat a.txt | grep -c x | wc -l > c.txt", {"children": [], "effects": []})
argvs = [k["argv"] for k in c["children"]]
wc = [k for k in c["children"] if k["argv"] == ["wc", "-l"]]
t.ok(sorted(map(tuple, argvs)) == sorted([("cat", "a.txt"), ("grep", "-c", "x"), ("wc", "-l")])
     and wc and [e["path"] for e in wc[0]["effects"] if e["event"] == "create"] == [P("c.txt")],
     "pipeline: three children, the redirect's create in wc", argvs)
c = cmds.get("(mkdir sub; cd sub && touch d.txt)", {"children": [], "effects": []})
sub = c["children"]
t.ok(len(sub) == 1 and sub[0]["comm"] == "bash" and
     sorted(k["argv"][0] for k in sub[0]["children"]) == ["mkdir", "touch"] and
     P("sub/d.txt") in [e["path"] for e in effects(sub[0], "create")], "subshell: a forked bash with its children", c)
c = cmds.get("bash ./fifty.sh", {"children": [], "effects": []})
scr = c["children"]
ps = procs(c)
t.ok(len(scr) == 1 and scr[0]["argv"] == ["bash", "./fifty.sh"] and len(scr[0]["children"]) == 50
     and len([p for p in ps if p["argv"] == ["/bin/true"]]) == 49
     and [e["path"] for e in effects(c, "delete")] == [P("victim.txt")]
     and [p["argv"] for p in ps if effects(p, "delete") and p["argv"][0] == "rm"] == [["rm", "-f", "victim.txt"]],
     "script: 50 children, one of which deletes the file", len(ps))
c = cmds.get("sleep 300 &", {"children": [{}]})
t.ok(c["children"] and c["children"][0].get("argv") == ["sleep", "300"] and c["children"][0].get("exit_signal") == 15,
     "background job: its process, killed later by `kill %1`", c["children"])
c = cmds.get("nohup sleep 400 > /dev/null 2>&1 &", {"children": [{}]})
t.ok(c["children"] and c["children"][0].get("argv") == ["sleep", "400"] and c["children"][0].get("outlived_session"),
     "nohup daemon: outlived the session", c["children"])
c = cmds.get("kill -TERM %d" % outside.pid, {"effects": [], "children": []})
k = effects(c, "kill")
t.ok(len(k) == 1 and k[0]["target_pid"] == outside.pid and k[0]["target_comm"] == "sleep" and k[0]["signal"] == 15
     and k[0]["target_died"] is True, "kill of a process started outside the session: target named, died", k)
c = cmds.get("sudo -i", {"children": []})
ps = procs(c)
root_shell = [p for p in ps if p["comm"] == "bash" and p["uid"] == 0]
root_lines = [k for p in root_shell for k in p["children"] if k["line"] is not None]
t.ok(root_shell and [k["line"] for k in root_lines] == ["touch %s/root.txt" % T, "exit"], "sudo -i: a root shell with its own lines",
     [p["argv"] for p in ps])
rt = [e for e in effects(c, "create") if e["path"] == P("root.txt")]
t.ok(len(rt) == 1 and rt[0]["uid"] == 0 and rt[0]["auid"] == alice, "sudo -i: root's create keeps fralice's auid", rt)
c = cmds.get("su - frbob", {"children": []})
bt = [e for e in effects(c, "create") if e["path"] == P("bob.txt")]
t.ok(len(bt) == 1 and bt[0]["uid"] == bob and bt[0]["auid"] == alice, "su -: frbob's create keeps fralice's auid", bt)
snap = tree.get("snapshots", {})
t.ok(snap.get("start") and snap.get("end") and any(p["comm"] == "sleep" for p in snap["diff"]["processes_new"]),
     "snapshots: the nohup daemon is new at the end", snap.get("diff"))

r = run([FLIGHTREC, "show", S.get("id", "?"), "--data", log, "--json"])
shown = [c["line"] for c in json.loads(r.stdout)["commands"]] if r.returncode == 0 else []
t.ok("ls -l" not in shown and "touch a.txt" in shown and READY_CMD not in shown,
     "without --all, commands with no side effects are hidden", shown)
r = run([FLIGHTREC, "show", S.get("id", "?"), "--data", log])
t.ok(r.returncode == 0 and "$ touch a.txt" in r.stdout and "create %s" % P("a.txt") in r.stdout
     and "\033[" not in r.stdout, "text tree (no colour when not a terminal)", r.stdout[:2000])
r = run([FLIGHTREC, "show", "no-such-session", "--data", log])
t.ok(r.returncode == 1 and "no session" in r.stderr, "an unknown session id is a clear error", r.stderr)
t.done()
