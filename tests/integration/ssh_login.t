#!/usr/bin/python3
# Real logins through a private sshd (tests/integration/sshlib.py): the events
# of what a person types must carry that person's login uid (auid) and the
# login's audit session id (ses), across sudo -i and su, with the login's pts.
#
#  1. fralice logs in with a pty, touches a, writes b from the shell, runs
#     `sudo -i`, touches c as root, exits twice.
#  2. fralice logs in again and runs `su - frbob` (typing frbob's password),
#     touches e as frbob.
#  3. fralice and frbob are logged in at the same time (each waits until the
#     other's file exists): two sessions, two ses.
#  4. `ssh frbob@127.0.0.1 touch d`: no pty, frbob's auid, its own ses.
#
# What the recorder shows along a login (observed with OpenSSH 9.2, Debian 12;
# asserted below where it is the contract), for the session builder:
#  - the sshd listener (`sshd -D ...`): auid null, ses null, tty null. It
#    accepts and forks; the child re-execs sshd (-R) and becomes the
#    privileged monitor, `sshd: fralice [priv]`, uid 0.
#  - the monitor's events before and during authentication (setuid to euid
#    fralice and back, reading authorized_keys): auid null, ses null. Then
#    pam_loginuid (PAM session) opens, truncates and writes
#    /proc/<pid>/loginuid in the monitor (those three events: auid null, the
#    modify event included); every later event of the monitor has auid
#    fralice and a new ses S, while still uid 0. One process, two identities: the builder must take ses per event,
#    not per process.
#  - still in the monitor, as root with auid/ses S: pam_motd runs
#    `sh -c ... run-parts /etc/update-motd.d` (uname), not typed by anyone.
#  - the user's child, `sshd: fralice@pts/N` (forked by the monitor, then
#    setuid to fralice): auid fralice, ses S, tty null. Its fork for the shell
#    gets the pts (tty pts/N from the child's setsid/open of the pts, before
#    the exec).
#  - the login shell: exec of /usr/bin/bash with argv ["-bash"], uid fralice,
#    auid fralice, ses S, tty pts/N. Its .bash_logout runs clear_console.
#  - sudo -i keeps auid and ses (sudo's PAM stack has no pam_loginuid). With
#    Debian's `Defaults use_pty` sudo (on pts/N) forks a monitor that opens a
#    new pts/M: the root shell and its children show uid 0, auid fralice,
#    ses S, tty pts/M, not the login's pts/N. root's profile runs whatever it
#    runs (on the dev VM, pyenv: ~200 processes) in the same ses.
#  - su - frbob (setuid root: uid fralice, euid 0) keeps auid and ses and the
#    login's pts/N; its child setuids to frbob and execs -bash: uid frbob,
#    auid fralice, ses S.
#  - every new ssh connection gets a new ses, with a pty or without; a
#    non-interactive command has tty null.
#  - the harness's first typed line is its ready marker
#    (`echo FRSSH_READY_$((6*7))`), visible in the sensor's `line` events.
import os
import re
import shutil
import tempfile
import time

from frtest import Recorder, Tap, descendants
import sshlib

UNSET = 4294967295

t = Tap()
if os.geteuid() != 0:
    t.bail("needs root (eBPF, useradd, sshd)")
for tool in (sshlib.SSHD, "/usr/bin/ssh", "/usr/bin/sudo", "/usr/bin/su"):
    if not os.access(tool, os.X_OK):
        t.bail("%s missing (scripts/install-deps.sh installs it)" % tool)

try:
    h = sshlib.SshHarness()
except Exception as e:  # noqa: any set-up failure is a bail-out, never a skip
    t.bail("ssh harness: %s" % e)
UA, UB = h.uids["fralice"], h.uids["frbob"]

w = tempfile.mkdtemp(prefix="frtest-ssh-w-")
os.chmod(w, 0o777)
p = lambda n: os.path.join(w, n)
# a loop bounded to 20 s that waits for a file, then prints "gotpeer"
wait_for = lambda n: ("for i in $(seq 200); do [ -e %s ] && echo got''peer && break; sleep 0.1; done"
                      % p(n))

try:
    rec = Recorder()
except Exception as e:  # noqa
    h.close()
    t.bail("recorder: %s" % e)
try:
    r1 = h.session("fralice", ["touch " + p("a"), "echo x > " + p("b"), "sudo -i",
                               "touch " + p("c"), "exit", "exit"])
    r2 = h.session("fralice", ["su - frbob", "touch " + p("e"), "exit", "exit"])
    ca, cb = h.concurrent([
        ("fralice", ["touch " + p("ga"), wait_for("gb"), "exit"]),
        ("frbob", ["touch " + p("gb"), wait_for("ga"), "exit"]),
    ])
    r4 = h.run("frbob", "touch " + p("d"))
except sshlib.SessionError as e:
    rec.stop()
    log = h.log()
    h.close()
    print("\n".join("# " + ln for ln in (str(e) + "\n--- sshd log ---\n" + log[-3000:]).splitlines()))
    t.bail("a session failed: %s" % e.args[0])
ev = rec.stop()

t.eq(rec.rc, 0, "recorder exited 0")
t.eq(r1.rc, 0, "fralice's session (sudo -i) ended with exit 0")
t.eq(r2.rc, 0, "fralice's session (su - frbob) ended with exit 0")
t.ok("Password:" in r2.transcript and "Authentication failure" not in r2.transcript,
     "su asked for frbob's password and accepted it", r2.transcript[-1500:])
t.ok(ca.rc == 0 and cb.rc == 0, "both concurrent sessions ended with exit 0", (ca.rc, cb.rc))
t.ok(all(re.search(r"^gotpeer$", _r.text, re.M) for _r in (ca, cb)),
     "each concurrent session saw the other's file while it was logged in",
     ca.transcript[-800:] + "\n----\n" + cb.transcript[-800:])
t.eq((r4.returncode, r4.stderr), (0, ""), "ssh frbob@127.0.0.1 touch d ran")

by_pid_exec = {}
for e in ev:
    if e["event"] == "exec" and not e.get("error"):
        by_pid_exec.setdefault(e["pid"], []).append(e)


def one_create(name):
    got = [e for e in ev if e["event"] == "create" and e["path"] == p(name)]
    t.eq(len(got), 1, "one create event for %s" % name)
    return got[0] if len(got) == 1 else None


def fork_of(pid):
    got = [e for e in ev if e["event"] == "fork" and e["child_pid"] == pid]
    return got[-1] if got else None


def good_ses(s):
    return isinstance(s, int) and s != UNSET and s != 0


PTS = re.compile(r"^pts/\d+$")
A, B, C = one_create("a"), one_create("b"), one_create("c")

# --- 1. fralice, sudo -i -------------------------------------------------
S1 = A["ses"] if A else None
if A and B and C:
    t.ok(good_ses(S1), "a: ses is set (%r)" % S1)
    t.eq([x["auid"] for x in (A, B, C)], [UA] * 3, "a, b, c: auid is fralice's uid")
    t.eq([x["ses"] for x in (A, B, C)], [S1] * 3, "a, b, c: the same ses")
    t.eq([(x["uid"], x["euid"]) for x in (A, B, C)], [(UA, UA), (UA, UA), (0, 0)],
         "a, b as fralice; c as root (after sudo -i)")
    t.ok(PTS.match(A["tty"] or "") and A["tty"] == B["tty"], "a, b: the login's pts (%r)" % A["tty"],
         (A["tty"], B["tty"]))
    t.ok(PTS.match(C["tty"] or ""), "c: a pts (%r; sudo's use_pty gives its own)" % C["tty"], C["tty"])
    t.eq((A["comm"], B["comm"], C["comm"]), ("touch", "bash", "touch"),
         "a, c by touch; b by the shell's redirect")
    shell = B["pid"]
    t.eq(A["ppid"], shell, "touch a forked by the login shell")
    sx = by_pid_exec.get(shell, [])
    t.ok(len(sx) == 1 and sx[0]["argv"] == ["-bash"] and sx[0]["path"] == "/usr/bin/bash"
         and (sx[0]["uid"], sx[0]["auid"], sx[0]["ses"], sx[0]["tty"]) == (UA, UA, S1, A["tty"]),
         "the login shell: one exec of -bash as fralice, auid fralice, ses, the login's pts", sx)
    fk = fork_of(shell)
    t.ok(fk is not None and fk["comm"] == "sshd" and fk["exe"] == "/usr/sbin/sshd"
         and (fk["uid"], fk["auid"], fk["ses"], fk["tty"]) == (UA, UA, S1, None),
         "the login shell forked by sshd's user child (uid fralice, auid, ses, no tty)", fk)
    mon = fork_of(fk["pid"]) if fk else None
    t.ok(mon is not None and mon["comm"] == "sshd" and mon["uid"] == 0
         and (mon["auid"], mon["ses"]) == (UA, S1),
         "sshd's user child forked by the privileged monitor (root, auid fralice, ses)", mon)
    lis = fork_of(mon["pid"]) if mon else None
    t.ok(lis is not None and lis["pid"] == h.sshd.pid and lis["comm"] == "sshd" and lis["uid"] == 0
         and (lis["auid"], lis["ses"], lis["tty"]) == (None, None, None),
         "the monitor forked by the listener, which has no auid, ses or tty", lis)
    sudo = [e for e in ev if e["event"] == "exec" and e["argv"] == ["sudo", "-i"] and e["ppid"] == shell]
    t.ok(len(sudo) == 1 and (sudo[0]["uid"], sudo[0]["euid"], sudo[0]["auid"], sudo[0]["ses"],
                             sudo[0]["tty"]) == (UA, 0, UA, S1, A["tty"]),
         "sudo -i exec'd by the login shell: uid fralice, euid 0, auid, ses, the login's pts", sudo)
    rootsh = by_pid_exec.get(C["ppid"], [])
    t.ok(len(rootsh) == 1 and rootsh[0]["argv"] == ["-bash"]
         and (rootsh[0]["uid"], rootsh[0]["auid"], rootsh[0]["ses"], rootsh[0]["tty"]) == (0, UA, S1, C["tty"]),
         "c's parent is sudo's root login shell: uid 0, auid fralice, ses", rootsh)

# --- 2. su - frbob -------------------------------------------------------
E = one_create("e")
S2 = None
if E:
    S2 = E["ses"]
    t.ok(good_ses(S2) and S2 != S1, "e: ses is set, and a new login's (%r, first %r)" % (S2, S1))
    t.eq((E["uid"], E["euid"], E["auid"]), (UB, UB, UA), "e: uid frbob, auid still fralice")
    t.ok(PTS.match(E["tty"] or ""), "e: the login's pts (%r)" % E["tty"], E["tty"])
    su = [e for e in ev if e["event"] == "exec" and e["argv"] == ["su", "-", "frbob"]]
    t.ok(len(su) == 1 and (su[0]["uid"], su[0]["euid"], su[0]["auid"], su[0]["ses"], su[0]["tty"])
         == (UA, 0, UA, S2, E["tty"]), "su - frbob exec'd as fralice (euid 0), auid, ses, pts", su)
    bsh = by_pid_exec.get(E["ppid"], [])
    t.ok(len(bsh) == 1 and bsh[0]["argv"] == ["-bash"]
         and (bsh[0]["uid"], bsh[0]["auid"], bsh[0]["ses"]) == (UB, UA, S2),
         "frbob's shell under su: uid frbob, auid fralice, the same ses", bsh)
    # from the exec of frbob's shell on (before it, su's child was still
    # changing its ids)
    i0 = ev.index(bsh[0]) if len(bsh) == 1 else len(ev)
    after = [e for e in ev[i0:] if e["pid"] == E["ppid"] or e["ppid"] == E["ppid"]]
    t.ok(len(after) >= 3 and all((e["uid"], e["auid"], e["ses"]) == (UB, UA, S2) for e in after),
         "every event of frbob's shell and its children: auid fralice, ses; uid frbob",
         [e for e in after if (e["auid"], e["ses"]) != (UA, S2) or e["uid"] != UB][:5])

# --- 3. concurrent logins ------------------------------------------------
GA, GB = one_create("ga"), one_create("gb")
if GA and GB:
    t.eq((GA["uid"], GA["auid"], GB["uid"], GB["auid"]), (UA, UA, UB, UB),
         "concurrent: ga by fralice, gb by frbob, each their own auid")
    t.ok(good_ses(GA["ses"]) and good_ses(GB["ses"]) and GA["ses"] != GB["ses"],
         "concurrent: two sessions, two ses (%r, %r)" % (GA["ses"], GB["ses"]))
    t.ok(GA["tty"] != GB["tty"] and PTS.match(GA["tty"] or "") and PTS.match(GB["tty"] or ""),
         "concurrent: two pts (%r, %r)" % (GA["tty"], GB["tty"]))

# --- 4. non-interactive --------------------------------------------------
D = one_create("d")
if D:
    t.eq((D["uid"], D["auid"], D["tty"]), (UB, UB, None), "d: uid frbob, auid frbob, no tty")
    t.ok(good_ses(D["ses"]), "d: ses is set (%r)" % D["ses"])

allses = [x["ses"] for x in (A, E, GA, GB, D) if x]
t.eq(len(set(allses)), 5, "five logins, five distinct ses %r" % allses)

# within each login every event names its person; and every event of our
# sshd's descendants that names a test user belongs to one of the five logins
# (other tests' logins on the same machine are not our business)
owner = {x["ses"]: (UB if x is GB or x is D else UA) for x in (A, E, GA, GB, D) if x}
wrong = [e for e in ev if e["ses"] in owner and e["auid"] != owner[e["ses"]]]
t.eq(wrong[:3], [], "every event of the five logins has the login's auid")
tree = descendants(ev, h.sshd.pid)
stray = [e for e in ev if e["pid"] in tree and e["auid"] in (UA, UB) and e["ses"] not in owner]
t.eq(stray[:3], [], "every event of sshd's descendants with a test user's auid is in one of the logins")

# --- cleanup: no sshd, no process of the logins left ---------------------
sshd_pid = h.sshd.pid
h.close()
time.sleep(0.2)
left = []
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            sid = int(open("/proc/%s/sessionid" % d).read())
            st = open("/proc/%s/stat" % d).read()
        except (OSError, ValueError):
            continue
        if sid in allses and st[st.rindex(")") + 2] not in "ZX":
            left.append((int(d), st[:60]))
t.eq(left, [], "no process of the logins is left")
t.ok(not os.path.exists("/proc/%d" % sshd_pid), "the private sshd is gone")
t.eq(h.leftovers(), [], "no process of fralice or frbob started by the test is left")
shutil.rmtree(w, ignore_errors=True)
t.done()
