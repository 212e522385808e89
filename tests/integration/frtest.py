"""frtest - shared helpers for flightrec's integration tests (TAP output).

Why: every integration test runs a real workload while the real recorder
runs, then asserts on the NDJSON it printed. This module starts and stops the
recorder, parses its output and prints TAP that `prove` reads.
"""
import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("FLIGHTREC_BUILD") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
FLIGHTREC = os.path.join(BUILD, "flightrec")
HELPERS = os.path.join(BUILD, "helpers")


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        print(("ok" if cond else "not ok") + " %d - %s" % (self.n, desc))
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines()[:40]:
                    print("#   " + line)
        sys.stdout.flush()
        return cond

    def eq(self, got, want, desc):
        return self.ok(got == want, desc, "got:  %r\nwant: %r" % (got, want))

    def bail(self, why):
        print("Bail out! " + why)
        sys.exit(255)

    def done(self):
        print("1..%d" % self.n)
        sys.exit(1 if self.failed else 0)


class Recorder:
    """A running `flightrec record --json`, writing to a temporary file."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="frtest-rec-")
        self.out_path = os.path.join(self.dir, "events.json")
        self.err_path = os.path.join(self.dir, "stderr.txt")
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen([FLIGHTREC, "record", "--json"] + list(args),
                                     stdout=self.out, stderr=self.err)
        deadline = time.time() + 30
        while time.time() < deadline:
            if b"flightrec: recording" in open(self.err_path, "rb").read():
                break
            if self.proc.poll() is not None:
                raise RuntimeError("recorder exited early: " + self.stderr())
            time.sleep(0.05)
        else:
            self.proc.kill()
            raise RuntimeError("recorder did not start: " + self.stderr())
        self.events = None
        self.rc = None
        # a test that dies before stop() must not leave a system-wide
        # recorder behind (it would record, and slow, everything after)
        atexit.register(self._kill_if_running)

    def _kill_if_running(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stderr(self):
        return open(self.err_path, "rb").read().decode(errors="replace")

    def stop(self, sig=signal.SIGINT):
        self.proc.send_signal(sig)
        self.rc = self.proc.wait(timeout=60)
        self.out.close()
        self.err.close()
        self.events = []
        with open(self.out_path, "rb") as f:
            for line in f:
                self.events.append(json.loads(line))
        return self.events


def run(cmd, **kw):
    """Run a command, return the CompletedProcess (text mode)."""
    return subprocess.run(cmd, text=True, capture_output=True, **kw)


def descendants(events, root_pid):
    """The set of pids forked, transitively, from root_pid."""
    pids = {root_pid}
    changed = True
    while changed:
        changed = False
        for e in events:
            if e["event"] == "fork" and e["pid"] in pids and e["child_pid"] not in pids:
                pids.add(e["child_pid"])
                changed = True
    return pids


def select(events, **match):
    """Events whose fields equal every given value."""
    out = []
    for e in events:
        if all(e.get(k) == v for k, v in match.items()):
            out.append(e)
    return out
