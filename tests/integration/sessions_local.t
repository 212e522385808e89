#!/usr/bin/python3
# Sessions that do not come through sshd: a console-style login on a tty
# (/bin/login on a pty, PAM on, so pam_loginuid gives it its own ses),
# `sudo -s` inside it, and a tmux started inside it (a nested session shown
# under its parent). Also `flightrec sessions --live` following the log
# while the recorder writes it.
import json
import os
import subprocess
import tempfile
import time

from frtest import FLIGHTREC, Recorder, Tap, run
from sshlib import SshHarness

t = Tap()
if os.geteuid() != 0:
    t.bail("needs root (eBPF, login, users)")

T = tempfile.mkdtemp(prefix="frtest-local-")
os.chmod(T, 0o1777)
log = os.path.join(T, "log")
name = "frtest-login-%d" % os.getpid()


def tmux(*args, check=True):
    return subprocess.run(["tmux"] + list(args), capture_output=True, text=True, check=check)


def pane():
    return tmux("capture-pane", "-p", "-t", name).stdout


def wait_for(pred, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def typed(line, settle=0.6):
    tmux("send-keys", "-t", name, "-l", line)
    tmux("send-keys", "-t", name, "Enter")
    time.sleep(settle)


with SshHarness(users=["fralice"]) as h:  # the test user and its sudoers entry
    alice = h.uids["fralice"]
    rec = Recorder("--output", log)
    t0 = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    live = subprocess.Popen([FLIGHTREC, "sessions", "--live", "--json", "--data", log],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tmux("new-session", "-d", "-s", name, "-x", "160", "-y", "40", "login -f fralice")
    ok_prompt = wait_for(lambda: "$" in pane())
    t.ok(ok_prompt, "login on a tty gave a shell prompt", pane())
    typed("export PS1='L$ '", 0.5)
    typed("touch %s/console.txt" % T)
    typed("sudo -s", 1.5)
    typed("touch %s/sudos.txt" % T)
    typed("exit", 0.8)
    # wait for each step rather than sleep a fixed time: on a loaded
    # machine the nested tmux took longer than 2 s to start, the next
    # `exit` then ended the login shell, and the last one had no session
    # (the nested tmux is fralice's: its status line in the pane shows it)
    nested = lambda: "[nested]" in pane()
    typed("tmux -L frnested new-session -s nested", 0.5)
    t.ok(wait_for(nested, 20), "the nested tmux started", pane())
    typed("touch %s/in-tmux.txt" % T)
    wait_for(lambda: os.path.exists(os.path.join(T, "in-tmux.txt")))
    typed("exit", 0.5)
    wait_for(lambda: not nested(), 20)
    time.sleep(0.5)
    typed("exit", 1.5)
    wait_for(lambda: tmux("has-session", "-t", name, check=False).returncode != 0, 10)
    time.sleep(2.5)  # --live polls every second
    live.terminate()
    live_out, _ = live.communicate(timeout=10)
    rec.stop()

r = run([FLIGHTREC, "sessions", "--data", log, "--json", "--user", "fralice"])
ss = [json.loads(l) for l in r.stdout.splitlines()]
ss = [s for s in ss if s["start"] >= t0 and s["interactive"]
      and "console.txt" in run([FLIGHTREC, "show", s["id"], "--data", log, "--json", "--all"]).stdout]
t.eq(len(ss), 1, "one login session of fralice")
S = ss[0] if ss else {"id": "?"}
t.ok(S.get("ses") is not None and S.get("auid") == alice and (S.get("tty") or "").startswith("pts/")
     and S.get("client") is None and S.get("end"), "tty login: its own ses, fralice's auid, a tty, no client", S)
tree = json.loads(run([FLIGHTREC, "show", S["id"], "--data", log, "--json", "--all"]).stdout or '{"commands":[]}')
lines = [c["line"] for c in tree["commands"]]
t.eq(lines, ["export PS1='L$ '", "touch %s/console.txt" % T, "sudo -s",
             "tmux -L frnested new-session -s nested", "exit"], "the login shell's lines")
cmds = {c["line"]: c for c in tree["commands"]}


def walk(node):
    yield node
    for k in node.get("children", []):
        yield from walk(k)


def creates(node):
    return [e for n in walk(node) for e in n["effects"] if e["event"] == "create"]


c = cmds.get("sudo -s", {})
nested_lines = [n["line"] for n in walk(c) if n is not c and n.get("line")]
cr = [e for e in creates(c) if e["path"] == os.path.join(T, "sudos.txt")]
t.ok(nested_lines == ["touch %s/sudos.txt" % T, "exit"] and len(cr) == 1 and cr[0]["uid"] == 0
     and cr[0]["auid"] == alice, "sudo -s: a root shell's lines nested under it, auid kept", (nested_lines, cr))
c = cmds.get("tmux -L frnested new-session -s nested", {})
nested_lines = [n["line"] for n in walk(c) if n is not c and n.get("line")]
cr = [e for e in creates(c) if e["path"] == os.path.join(T, "in-tmux.txt")]
t.ok("touch %s/in-tmux.txt" % T in nested_lines and len(cr) == 1 and cr[0]["auid"] == alice
     and cr[0]["ses"] == S.get("ses"), "tmux: the pane's shell and its lines are nested under the tmux command",
     (nested_lines, cr))

changes = [json.loads(l) for l in live_out.splitlines() if l.startswith("{")]
mine = [c for c in changes if c["session"]["id"] == S["id"]]
t.eq([c["change"] for c in mine], ["start", "end"], "--live printed the session's start and end as they happened")
t.done()
