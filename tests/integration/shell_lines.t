#!/usr/bin/python3
# An interactive bash (in tmux, on a real pty) reads command lines through
# readline: each line must be recorded exactly as typed, as a `line` event of
# that shell, before the effects it causes.
import os
import subprocess
import tempfile
import time

from frtest import Recorder, Tap

t = Tap()
if os.geteuid() != 0:
    t.bail("needs root (eBPF)")

work = tempfile.mkdtemp(prefix="frtest-lines-")
name = "frtest-%d" % os.getpid()
lines = ["cd %s" % work, "echo one > typed.txt", "ls | wc -l  # a comment", "  spaced   out  ", "exit"]
rec = Recorder()
subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "200", "-y", "50",
                "env -i HOME=/root TERM=xterm PS1='$ ' /bin/bash --norc --noprofile -i"], check=True)
pid = int(subprocess.run(["tmux", "display-message", "-p", "-t", name, "#{pane_pid}"],
                         capture_output=True, text=True).stdout)
time.sleep(0.5)
for line in lines:
    subprocess.run(["tmux", "send-keys", "-t", name, "-l", line], check=True)
    subprocess.run(["tmux", "send-keys", "-t", name, "Enter"], check=True)
    time.sleep(0.3)
for _ in range(50):
    if subprocess.run(["tmux", "has-session", "-t", name], capture_output=True).returncode != 0:
        break
    time.sleep(0.1)
scripted = subprocess.Popen(["/bin/bash", "-c", "echo not-typed > /dev/null"])
scripted.wait()
ev = rec.stop()
got = [e for e in ev if e["event"] == "line" and e["pid"] == pid]
t.eq([e["line"] for e in got], lines, "every line recorded once, exactly as typed, in order")
t.ok(all(e["comm"] == "bash" and e["exe"] == "/usr/bin/bash" and e["tty"] and e["tty"].startswith("pts/")
         for e in got), "line events carry the shell's comm, exe and pts", got)
create = [e for e in ev if e["event"] == "create" and e["path"] == os.path.join(work, "typed.txt")]
# Times are truncated to the millisecond: "after" is the order of the stream.
t.ok(len(create) == 1 and create[0]["pid"] == pid and len(got) > 1
     and got[1]["ts"] <= create[0]["ts"] and ev.index(got[1]) < ev.index(create[0]),
     "the redirect's create is the shell's own, after its line", create)
t.eq([e for e in ev if e["event"] == "line" and e["pid"] == scripted.pid], [],
     "a non-interactive bash -c gives no line events")
t.done()
