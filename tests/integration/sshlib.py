"""sshlib - real interactive logins for flightrec's integration tests.

Why: the sessions feature attributes command trees to the person who logged
in. Only a real login sets what it relies on: pam_loginuid gives the login
its own loginuid (auid) and audit session id (ses), sshd gives it a pts, and
sudo and su must keep both. This module makes such logins happen, for real,
through a private sshd on a loopback port, and types into them.

    with SshHarness() as h:                    # users, sudoers, sshd
        r = h.session("fralice", ["touch /tmp/x/a", "sudo -i", "exit", "exit"])
        r.rc, r.transcript                     # ssh's exit status, all output
        h.run("frbob", "touch /tmp/x/d")       # ssh frbob@127.0.0.1 CMD
        h.concurrent([("fralice", [...]), ("frbob", [...])])

API (all on SshHarness; h.uids maps name -> uid, h.passwords name -> password):
    SshHarness(users=None, log_level="VERBOSE", timeout=30)
    h.session(user, lines, delay=0.3, timeout=None, marker=True) -> Result
        log in with a pty, type each line at a prompt (su's and sudo's
        password prompts are answered), wait for ssh to exit
    h.concurrent([(user, lines), ...], delay, timeout, marker) -> [Result]
    h.run(user, cmd, timeout=None) -> subprocess.CompletedProcess (no pty)
    h.open(user, timeout=None, marker=True) -> Session, for step-by-step
        control: s.line(text), s.expect(pred), s.send(raw), s.close() -> rc
    h.log() (sshd's log), h.leftovers() (pids of the test users), h.close()
    Result: .rc, .transcript (raw), .text (without escapes and CRs), .pid

Before the first line, the harness waits for a prompt and then types
`echo FRSSH_READY_$((6*7))` (marker=False: the prompt only); tests that look
at the typed lines must expect it.

Everything is bounded by timeouts; a session that does not answer in time is
killed and raises SessionError (with the transcript so far). The harness stops
its sshd and every process of the logins it made on close(), at exit, and on
an exception inside `with`.

The test users persist on the machine (creating them is idempotent); their
keys live only in the harness's temporary directory and are added to, and
removed from, the users' authorized_keys with a tag per harness, so that two
harnesses may run at once.
"""
import atexit
import codecs
import ctypes
import fcntl
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

USERS = {
    # name: password (for su; sshd itself accepts only keys)
    "fralice": "frtest-Alice-7q",
    "frbob": "frtest-Bob-4k",
}
SUDOERS = "/etc/sudoers.d/flightrec-test"
SUDOERS_TEXT = ("# flightrec integration tests (tests/integration/sshlib.py)\n"
                "fralice ALL=(ALL:ALL) NOPASSWD: ALL\n")
LOCK = "/run/flightrec-sshlib.lock"
SSHD = "/usr/sbin/sshd"
TAG = "flightrec-sshlib"

# bash's prompt ends with "$ " or "# "; control sequences (bracketed paste)
# are removed before matching
PROMPT_RE = re.compile(r"[$#] ?$")
PASSWORD_RE = re.compile(r"(?i)password(?: for (\S+))?[^\n]*:\s*$")
ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]|\r")
READY_CMD = "echo FRSSH_READY_$((6*7))"
READY_OUT = "FRSSH_READY_42"


class SessionError(Exception):
    """A session timed out or ended early; .transcript has what it printed."""

    def __init__(self, msg, transcript=""):
        super().__init__(msg)
        self.transcript = transcript

    def __str__(self):
        tail = self.transcript[-2000:]
        return "%s\n--- transcript (tail) ---\n%s" % (self.args[0], tail)


class Result:
    """What a finished session gives back."""

    def __init__(self, user, rc, transcript, pid):
        self.user = user
        self.rc = rc                  # ssh client's exit status (the shell's)
        self.transcript = transcript  # everything ssh printed, as text
        self.pid = pid                # the local ssh client's pid

    @property
    def text(self):
        """The transcript without control sequences and carriage returns."""
        return _clean(self.transcript)

    def __repr__(self):
        return "Result(user=%r, rc=%r, %d chars)" % (self.user, self.rc, len(self.transcript))


def _clean(text):
    return ANSI_RE.sub("", text)


def _sh(cmd, **kw):
    return subprocess.run(cmd, text=True, capture_output=True, timeout=60, **kw)


def _check(cmd, **kw):
    r = _sh(cmd, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    return r


def _ppid_map():
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
            out[int(d)] = int(st[st.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            pass
    return out


UNSET = 4294967295  # loginuid and sessionid outside any login


def _starttime(pid):
    """When the process started, in clock ticks since boot."""
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    return int(st[st.rindex(")") + 2:].split()[19])


def _now_ticks():
    with open("/proc/uptime") as f:
        return int(float(f.read().split()[0]) * os.sysconf("SC_CLK_TCK"))


def _set_subreaper():
    """Orphans of the logins (sshd's per-user child outlives its monitor,
    sudo's pty monitor outlives sudo) come to us rather than to PID 1, which
    may reap late or never; we reap them (see SshHarness.reap)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _sessionid(pid):
    try:
        with open("/proc/%d/sessionid" % pid) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


class Session:
    """One interactive login: `ssh -tt` with its stdin and stdout on pipes.

    The remote pty echoes what is typed, as a terminal would. Use send(),
    expect(), wait_prompt() and close(), or let SshHarness.session() drive it.
    """

    def __init__(self, harness, user, timeout=30):
        self.h = harness
        self.user = user
        self.timeout = timeout
        self.buf = ""
        self._dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.eof = False
        self.rc = None
        self.whoami = [user]  # who the current shell runs as (su / sudo -i push)
        self.proc = subprocess.Popen(harness.ssh_argv(user, tty=True), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        os.set_blocking(self.proc.stdout.fileno(), False)
        harness._sessions.append(self)

    # -- low level --------------------------------------------------------
    def _read(self, until):
        """Read what is available, waiting at most until the deadline `until`."""
        if self.eof:
            return False
        wait = max(0.0, until - time.time())
        r, _, _ = select.select([self.proc.stdout], [], [], wait)
        if not r:
            return False
        try:
            data = self.proc.stdout.read()
        except (BlockingIOError, InterruptedError):
            return False
        if not data:
            self.eof = True
            return False
        self.buf += self._dec.decode(data)
        return True

    def expect(self, pred, timeout=None, start=0, what="output", soft=False):
        """Wait until pred(clean text of buf[start:]) is true; False on EOF.

        After `timeout` seconds: kills ssh and raises SessionError, or with
        soft=True returns None."""
        deadline = time.time() + (self.timeout if timeout is None else timeout)
        while True:
            m = pred(_clean(self.buf[start:]))
            if m:
                return m
            if self.eof:
                return False
            if time.time() >= deadline:
                if soft:
                    return None
                self.kill()
                raise SessionError("%s: timed out waiting for %s" % (self.user, what), self.buf)
            self._read(min(deadline, time.time() + 0.2))

    def send(self, text):
        try:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise SessionError("%s: ssh is gone, cannot send %r" % (self.user, text), self.buf)

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    # -- typing -----------------------------------------------------------
    def wait_ready(self, timeout=None, marker=True):
        """Wait for the login shell to run commands: waits for a prompt, then
        types a marker command (`echo FRSSH_READY_$((6*7))`, which bash's
        history and the sensor's `line` events will show) and waits for its
        output. marker=False: only the prompt (PS1 must end in "$ " or "# ")."""
        # first the prompt (or at most 10 s of anything else), so that the
        # marker is typed at a prompt; then the marker itself, which works
        # whatever PS1 is
        start = len(self.buf)
        self.expect(lambda s: PROMPT_RE.search(s), min(10, self.timeout if timeout is None
                                                        else timeout), start, soft=True)
        if self.eof:
            raise SessionError("%s: the login ended before a prompt" % self.user, self.buf)
        if not marker:
            if not PROMPT_RE.search(_clean(self.buf[start:])):
                self.kill()
                raise SessionError("%s: no prompt" % self.user, self.buf)
            return
        start = len(self.buf)
        self.send(READY_CMD + "\r")
        ok = self.expect(lambda s: READY_OUT in s and PROMPT_RE.search(s), timeout, start,
                         "the shell's ready marker and prompt")
        if not ok:
            raise SessionError("%s: the login ended before the ready marker" % self.user, self.buf)

    def line(self, text, timeout=None):
        """Type one line and wait until the shell prompts again (or asks for a
        password, which is answered, or the connection ends)."""
        start = len(self.buf)
        self.send(text + "\r")
        self._track(text)
        answered = False
        while True:
            s_end = [None]

            def pred(s):
                m = PASSWORD_RE.search(s)
                if m and not answered:
                    s_end[0] = ("password", m.group(1))
                    return True
                # the line's own echo comes first; a prompt after it is the
                # next prompt
                if PROMPT_RE.search(s) and "\n" in s:
                    s_end[0] = ("prompt", None)
                    return True
                return False

            ok = self.expect(pred, timeout, start, "the prompt after %r" % text)
            if not ok:  # EOF: the login ended (exit)
                return
            if s_end[0][0] == "password":
                who = s_end[0][1] or self._password_user(text)
                pw = self.h.passwords.get(who)
                if pw is None:
                    self.kill()
                    raise SessionError("%s: asked for a password for %r, unknown" % (self.user, who),
                                       self.buf)
                time.sleep(0.1)
                start = len(self.buf)
                self.send(pw + "\r")
                answered = True
                continue
            return

    def _password_user(self, text):
        m = re.match(r"\s*(?:exec\s+)?su\b((?:\s+-\S*)*)(?:\s+(\w[\w.-]*))?", text)
        if m:
            return m.group(2) or "root"
        return self.whoami[-1]

    def _track(self, text):
        t = text.strip()
        if re.match(r"(?:exec\s+)?su\b", t):
            self.whoami.append(self._password_user(t))
        elif re.match(r"sudo\s+(-i|-s|su\b)", t):
            self.whoami.append("root")
        elif t in ("exit", "logout") and len(self.whoami) > 1:
            self.whoami.pop()

    def close(self, timeout=None):
        """Wait for ssh to exit (after the last `exit`), else end it: closes
        its stdin, then kills it. Returns ssh's exit status."""
        deadline = time.time() + (self.timeout if timeout is None else timeout)
        while not self.eof and time.time() < deadline:
            self._read(min(deadline, time.time() + 0.2))
        if not self.eof:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            end = time.time() + 5
            while not self.eof and time.time() < end:
                self._read(min(end, time.time() + 0.2))
        try:
            self.rc = self.proc.wait(timeout=max(1.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            self.kill()
            self.rc = self.proc.returncode
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.stdout.close()
        self.h.reap()
        return self.rc

    def result(self):
        return Result(self.user, self.rc, self.buf, self.proc.pid)


class SshHarness:
    """Test users, a sudoers drop-in and a private sshd on a loopback port.

    users: names from USERS to create (all of them by default).
    log_level: sshd's LogLevel (its log is in self.log_path).
    """

    def __init__(self, users=None, log_level="VERBOSE", timeout=30):
        if os.geteuid() != 0:
            raise RuntimeError("sshlib needs root (useradd, sshd)")
        self.users = list(users or USERS)
        self.passwords = {u: USERS[u] for u in self.users}
        self.timeout = timeout
        self.dir = tempfile.mkdtemp(prefix="frtest-ssh-")
        self.tag = "%s:%s" % (TAG, os.path.basename(self.dir))
        self.keys = {}
        self.uids = {}
        self.sshd = None
        self.port = None
        self.log_path = os.path.join(self.dir, "sshd.log")
        self._sessions = []
        self._closed = False
        self._lock = threading.Lock()
        atexit.register(self.close)
        # a SIGTERM (prove's or a CI timeout's) cleans up too, through atexit
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL):
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
        _set_subreaper()
        self.my_ses = _sessionid(os.getpid())
        self.sessions = set()  # audit session ids of the logins seen
        self.t0 = _now_ticks() - 1
        try:
            self._setup_users()
            self._start_sshd(log_level)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- users ------------------------------------------------------------
    def _setup_users(self):
        os.makedirs("/run", exist_ok=True)
        with open(LOCK, "a") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            for u in self.users:
                self._ensure_user(u)
            self._ensure_sudoers()

    def _ensure_user(self, u):
        try:
            pw = pwd.getpwnam(u)
        except KeyError:
            _check(["useradd", "--create-home", "--shell", "/bin/bash", "--user-group", u])
            pw = pwd.getpwnam(u)
        if pw.pw_shell != "/bin/bash":
            _check(["usermod", "--shell", "/bin/bash", u])
        if not os.path.isdir(pw.pw_dir):
            os.makedirs(pw.pw_dir, 0o755)
            for f in os.listdir("/etc/skel"):
                src = os.path.join("/etc/skel", f)
                if os.path.isfile(src):
                    shutil.copy(src, pw.pw_dir)
            _check(["chown", "-R", "%s:%s" % (pw.pw_uid, pw.pw_gid), pw.pw_dir])
        _check(["chpasswd"], input="%s:%s\n" % (u, USERS[u]))
        # unlock (useradd leaves "!" until a password is set; chpasswd sets it)
        self.uids[u] = pw.pw_uid
        # the key: generated here, appended to authorized_keys with our tag
        key = os.path.join(self.dir, "id_" + u)
        _check(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", self.tag, "-f", key])
        self.keys[u] = key
        sshdir = os.path.join(pw.pw_dir, ".ssh")
        os.makedirs(sshdir, 0o700, exist_ok=True)
        os.chown(sshdir, pw.pw_uid, pw.pw_gid)
        os.chmod(sshdir, 0o700)
        ak = os.path.join(sshdir, "authorized_keys")
        lines = self._ak_lines(ak, drop_stale=True)
        lines.append(open(key + ".pub").read().strip())
        self._ak_write(ak, lines, pw)
        # StrictModes: the home must not be group/world writable
        os.chmod(pw.pw_dir, os.stat(pw.pw_dir).st_mode & ~0o022)

    @staticmethod
    def _ak_lines(ak, drop_stale=False, drop_tag=None):
        try:
            lines = open(ak).read().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for ln in lines:
            comment = ln.split()[-1] if ln.split() else ""
            if comment.startswith(TAG + ":"):
                if comment == drop_tag:
                    continue
                d = os.path.join(tempfile.gettempdir(), comment.split(":", 1)[1])
                if drop_stale and not os.path.isdir(d):
                    continue  # a harness that did not clean up
            out.append(ln)
        return out

    @staticmethod
    def _ak_write(ak, lines, pw):
        tmp = ak + ".tmp%d" % os.getpid()
        with open(tmp, "w") as f:
            f.write("".join(ln + "\n" for ln in lines))
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
        os.chmod(tmp, 0o600)
        os.rename(tmp, ak)

    def _ensure_sudoers(self):
        try:
            if open(SUDOERS).read() == SUDOERS_TEXT:
                return
        except FileNotFoundError:
            pass
        tmp = os.path.join(self.dir, "sudoers")
        with open(tmp, "w") as f:
            f.write(SUDOERS_TEXT)
        os.chmod(tmp, 0o440)
        _check(["visudo", "-c", "-q", "-f", tmp])
        os.makedirs(os.path.dirname(SUDOERS), exist_ok=True)
        staged = SUDOERS + ".frtmp"  # sudo ignores names with a dot
        shutil.copy(tmp, staged)
        os.chmod(staged, 0o440)
        os.rename(staged, SUDOERS)
        r = _sh(["visudo", "-c", "-q"])
        if r.returncode != 0:
            os.unlink(SUDOERS)
            raise RuntimeError("visudo -c failed with the drop-in: " + r.stdout + r.stderr)

    # -- sshd -------------------------------------------------------------
    def _start_sshd(self, log_level):
        os.makedirs("/run/sshd", 0o755, exist_ok=True)
        hostkey = os.path.join(self.dir, "ssh_host_ed25519_key")
        _check(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostkey])
        conf = os.path.join(self.dir, "sshd_config")
        last = None
        for attempt in range(5):
            port = self._free_port()
            with open(conf, "w") as f:
                f.write("\n".join([
                    "Port %d" % port,
                    "ListenAddress 127.0.0.1",
                    "HostKey " + hostkey,
                    "PidFile " + os.path.join(self.dir, "sshd.pid"),
                    "UsePAM yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "AuthorizedKeysFile .ssh/authorized_keys",
                    "StrictModes yes",
                    "UseDNS no",
                    "LogLevel " + log_level,
                    "PermitRootLogin no",
                    "AllowUsers " + " ".join(self.users),
                    "PrintMotd no",
                    "PrintLastLog no",
                    "X11Forwarding no",
                    "AllowTcpForwarding no",
                    "MaxStartups 50",
                    "MaxSessions 20",
                    "LoginGraceTime 30",
                    "ClientAliveInterval 15",
                    "",
                ]))
            _check([SSHD, "-t", "-f", conf])
            log = open(self.log_path, "ab")
            # -D: no daemon, so that it stays our child; -e: log to stderr
            self.sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", conf], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, start_new_session=True)
            log.close()
            self.port = port
            if self._wait_listening(port):
                return
            last = self.log()
            self._stop_sshd()
        raise RuntimeError("sshd did not start:\n" + (last or ""))

    @staticmethod
    def _free_port():
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def _wait_listening(self, port, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.sshd.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.settimeout(5)
                    if s.recv(64).startswith(b"SSH-2.0-"):
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def log(self):
        """sshd's log so far (for diagnostics)."""
        try:
            return open(self.log_path, errors="replace").read()
        except OSError:
            return ""

    def ssh_argv(self, user, cmd=None, tty=False):
        argv = ["ssh", "-F", "/dev/null",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR",
                "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=10",
                "-i", self.keys[user], "-p", str(self.port)]
        argv += ["-tt"] if tty else ["-T"]
        argv.append("%s@127.0.0.1" % user)
        if cmd is not None:
            argv.append(cmd)
        return argv

    # -- sessions ---------------------------------------------------------
    def open(self, user, timeout=None, marker=True):
        """Log `user` in (interactive, with a pty) and wait until the shell
        runs commands (see Session.wait_ready for marker). Returns the
        Session; type with .line(text), end with .close()."""
        s = Session(self, user, self.timeout if timeout is None else timeout)
        s.wait_ready(marker=marker)
        with self._lock:
            self._login_pids()  # learns the new login's ses
        return s

    def session(self, user, lines, delay=0.3, timeout=None, marker=True):
        """Log in, type each line (waiting for the prompt, and `delay` seconds
        more, before each; answering password prompts from su/sudo), then wait
        for ssh to exit. A session whose lines do not end it is ended by
        closing ssh's stdin. Returns a Result; raises SessionError on a
        timeout."""
        s = self.open(user, timeout, marker)
        for ln in lines:
            time.sleep(delay)
            s.line(ln)
            if s.eof:
                break
        s.close()
        return s.result()

    def concurrent(self, specs, delay=0.3, timeout=None, marker=True):
        """Run several sessions at once, one thread each. specs: a list of
        (user, lines). Returns their Results in the same order; raises the
        first SessionError."""
        results = [None] * len(specs)
        errors = [None] * len(specs)

        def one(i, user, lines):
            try:
                results[i] = self.session(user, lines, delay, timeout, marker)
            except BaseException as e:  # noqa: reported below
                errors[i] = e

        threads = [threading.Thread(target=one, args=(i, u, ls), daemon=True)
                   for i, (u, ls) in enumerate(specs)]
        for th in threads:
            th.start()
        limit = time.time() + (self.timeout if timeout is None else timeout) * (2 + max(
            len(ls) for _, ls in specs))
        for th in threads:
            th.join(max(0.0, limit - time.time()))
        for s in list(self._sessions):
            if s.proc.poll() is None and any(th.is_alive() for th in threads):
                s.kill()
        for e in errors:
            if e is not None:
                raise e
        if any(r is None for r in results):
            raise SessionError("concurrent sessions did not finish in time")
        return results

    def run(self, user, cmd, timeout=None):
        """Non-interactive: `ssh user@127.0.0.1 CMD`, without a pty. Returns a
        CompletedProcess (text)."""
        return subprocess.run(self.ssh_argv(user, cmd), stdin=subprocess.DEVNULL, text=True,
                              capture_output=True, timeout=self.timeout if timeout is None else timeout)

    # -- cleanup ----------------------------------------------------------
    def _login_pids(self):
        """Every process of the logins this sshd made: its descendants; the
        orphans that came to us as subreaper (a `nohup sleep &` whose shell
        has exited: our children in another audit session than ours) and
        theirs; and whatever shares the audit session of any login seen so
        far (self.sessions). Adds what it finds to self.sessions."""
        pp = _ppid_map()
        kids = {}
        for p, q in pp.items():
            kids.setdefault(q, []).append(p)
        me = os.getpid()
        mine = {s.proc.pid for s in self._sessions}
        roots = [self.sshd.pid] if self.sshd else []
        roots += [p for p in kids.get(me, []) if p not in mine and p not in roots
                  and _sessionid(p) not in (None, UNSET, self.my_ses)]
        tree, todo = set(roots), list(roots)
        while todo:
            p = todo.pop()
            for c in kids.get(p, []):
                if c not in tree:
                    tree.add(c)
                    todo.append(c)
        self.sessions |= {_sessionid(p) for p in tree} - {None, UNSET, self.my_ses}
        for p in pp:
            if _sessionid(p) in self.sessions:
                tree.add(p)
        tree -= mine | {me}
        return tree

    def _stop_sshd(self):
        if self.sshd is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self._login_pids()
            for p in pids:
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
            if self.sshd.poll() is None:
                self.sshd.send_signal(sig)
            if pids:
                self.reap()
            end = time.time() + 5
            while time.time() < end:
                gone = self.sshd.poll() is not None and all(self._is_zombie(p) for p in pids)
                if gone:
                    break
                time.sleep(0.05)
            if gone:
                break
        try:
            self.sshd.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.sshd = None
        self.reap()

    def reap(self):
        """Reap the logins' orphans that came to us (as subreaper): zombie
        children that are none of our own Popen children (they carry another
        audit session than ours)."""
        mine = {s.proc.pid for s in self._sessions}
        if self.sshd is not None:
            mine.add(self.sshd.pid)
        me = os.getpid()
        for p, q in _ppid_map().items():
            if q != me or p in mine or not self._is_zombie(p):
                continue
            if _sessionid(p) in (None, UNSET, self.my_ses):
                continue
            try:
                os.waitpid(p, os.WNOHANG)
            except ChildProcessError:
                pass

    @staticmethod
    def _is_zombie(pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
            return st[st.rindex(")") + 2] in "ZX"
        except (OSError, ValueError, IndexError):
            return True

    def leftovers(self):
        """Live processes this harness's logins left behind (for the test to
        check after close()): those in the audit session of a login it saw,
        and those of the test users started since the harness was made."""
        uids = set(self.uids.values())
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit() or self._is_zombie(int(d)):
                continue
            p = int(d)
            try:
                if _sessionid(p) in self.sessions:
                    out.append(p)
                elif os.stat("/proc/" + d).st_uid in uids and _starttime(p) >= self.t0:
                    out.append(p)
            except OSError:
                pass
        return sorted(out)

    def close(self):
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for s in self._sessions:
            s.kill()
        try:
            self._stop_sshd()
        finally:
            for u, key in self.keys.items():
                try:
                    pw = pwd.getpwnam(u)
                    ak = os.path.join(pw.pw_dir, ".ssh", "authorized_keys")
                    with open(LOCK, "a") as lk:
                        fcntl.flock(lk, fcntl.LOCK_EX)
                        self._ak_write(ak, self._ak_lines(ak, drop_tag=self.tag), pw)
                except (OSError, KeyError):
                    pass
            shutil.rmtree(self.dir, ignore_errors=True)
