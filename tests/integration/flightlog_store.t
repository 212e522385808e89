#!/usr/bin/python3
# The flight log on disk, through the real recorder: dump equals the live
# --json stream byte for byte; stats and verify agree; segments close by
# count; a kill -9 loses nothing the recorder had journaled and the restart
# says what it recovered; the disk cap drops the oldest segments with a gap
# record, and the journal counts in it; a full disk does not stop the
# recorder nor lose what fits in memory, and a gap record says what
# happened; damage (flipped byte, deleted, swapped segment) is found and named,
# and the other segments still read; segments after the first are compressed
# against the store's prior, which a restart reuses and whose loss or damage
# verify names.
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from frtest import FLIGHTREC, Recorder, Tap, run

t = Tap()
if os.geteuid() != 0:
    t.bail("needs root (eBPF)")

work = tempfile.mkdtemp(prefix="frtest-log-")


def workload(tag, n=50):
    d = os.path.join(work, tag)
    os.makedirs(d, exist_ok=True)
    subprocess.run(["/bin/bash", "-c",
                    "cd %s && for i in $(seq %d); do echo $i > f$i; mv f$i g$i; done; rm -f g*" % (d, n)],
                   check=True)


def dump(path):
    r = run([FLIGHTREC, "dump", "--json", path])
    return r, [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]


# 1. dump == record --json, stats, verify
store = os.path.join(work, "log1")
rec = Recorder("--output", store, "--segment-events", "400")
workload("w1")
rec.stop()
live = open(rec.out_path).read()
r = run([FLIGHTREC, "dump", "--json", store])
t.eq(r.returncode, 0, "dump exits 0")
t.ok(r.stdout == live, "dump --json is byte-identical to the live record --json stream (%d lines)"
     % live.count("\n"))
segs = sorted(glob.glob(os.path.join(store, "seg-*.frl")))
# one poll can bring more than 400 events (the ASan build on a busy CI
# machine did): the event that fills a segment must close it
per_seg = [run([FLIGHTREC, "dump", "--json", s]).stdout.count("\n") for s in segs]
t.ok(len(segs) >= 3 and all(n == 400 for n in per_seg[:-1]) and 1 <= per_seg[-1] <= 400,
     "segments close every 400 events (%d segments)" % len(segs), per_seg)
t.ok(not os.path.exists(os.path.join(store, "open.frj")), "a clean stop leaves no journal")
r = run([FLIGHTREC, "stats", "--json", store])
st = json.loads(r.stdout)
evs = [json.loads(l) for l in live.splitlines()]
t.ok(r.returncode == 0 and st["events"] == len(evs) and st["segments"] == len(segs)
     and st["bytes"] == sum(os.path.getsize(s) for s in segs), "stats: events, segments and bytes", st)
kinds = {}
for e in evs:
    kinds[e["event"]] = kinds.get(e["event"], 0) + 1
t.eq(st["kinds"], kinds, "stats: counts per kind")
# kind, pid code and the masks go in the shape stream (docs/FORMAT.md 5.8)
t.ok({"header", "summary", "shape", "shapes", "ts", "paths"} <= set(st["streams"])
     and sum(v["bytes"] for v in st["streams"].values()) == st["bytes"],
     "stats: the size of each stream, adding up to the log's bytes", st["streams"])
r = run([FLIGHTREC, "stats", store])
t.ok(r.returncode == 0 and "bytes per event" in r.stdout, "stats: text output", r.stdout)
r = run([FLIGHTREC, "verify", store])
t.ok(r.returncode == 0 and "intact" in r.stdout, "verify: intact", r)
r = run([FLIGHTREC, "dump", "--json", segs[1]])
t.ok(r.returncode == 0 and r.stdout and live.find(r.stdout) >= 0, "dump of one segment file", r.stderr)

# 2. damage
def damaged_copy(name):
    d = os.path.join(work, name)
    shutil.copytree(store, d)
    return d, sorted(glob.glob(os.path.join(d, "seg-*.frl")))

d, s = damaged_copy("flip")
with open(s[1], "r+b") as f:
    f.seek(os.path.getsize(s[1]) // 2)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0x40]))
r = run([FLIGHTREC, "verify", d])
t.ok(r.returncode == 1 and os.path.basename(s[1]) in r.stderr, "verify: a flipped byte names its segment", r)
r, got = dump(d)
seg1 = run([FLIGHTREC, "dump", "--json", os.path.join(store, os.path.basename(s[1]))]).stdout.count("\n")
seg1_events = run([FLIGHTREC, "dump", "--json", segs[0]]).stdout.count("\n")
t.ok(r.returncode == 1 and os.path.basename(s[1]) in r.stderr and "offset" in r.stderr,
     "dump: the damaged segment is reported with file and offset", r.stderr)
t.eq(len(got), len(evs) - seg1, "dump: every other segment still reads")

d, s = damaged_copy("deleted")
os.unlink(s[1])
r = run([FLIGHTREC, "verify", d])
t.ok(r.returncode == 1 and ("%012d" % 2) in r.stderr, "verify: a deleted segment is named", r)

d, s = damaged_copy("swapped")
tmp = s[0] + ".tmp"
os.rename(s[0], tmp)
os.rename(s[1], s[0])
os.rename(tmp, s[1])
r = run([FLIGHTREC, "verify", d])
t.ok(r.returncode == 1 and "seg-" in r.stderr, "verify: swapped segments are found", r)

junk = os.path.join(work, "junk.frl")
with open(junk, "wb") as f:
    f.write(b"this is not a flight log segment" * 10)
r = run([FLIGHTREC, "dump", junk])
t.ok(r.returncode == 1 and "junk.frl" in r.stderr and "offset" in r.stderr, "dump: a non-segment is a clear error",
     r.stderr)
r = run([FLIGHTREC, "dump", os.path.join(work, "nonexistent")])
t.ok(r.returncode == 1 and "No such file" in r.stderr, "dump: a missing path is a clear error", r.stderr)

# 3. kill -9: the journal keeps what the recorder was given
store2 = os.path.join(work, "log2")
rec = Recorder("--output", store2)
workload("w2", 20)
time.sleep(1.5)  # past a poll and a journal sync
os.kill(rec.proc.pid, signal.SIGKILL)
rec.proc.wait()
t.ok(os.path.exists(os.path.join(store2, "open.frj")) and not glob.glob(os.path.join(store2, "seg-*")),
     "after kill -9: an open journal, no closed segment")
r, got = dump(store2)
created = {e["path"] for e in got if e["event"] == "create" and e.get("path", "").startswith(os.path.join(work, "w2"))}
t.ok(r.returncode == 0 and len(created) == 20, "dump reads the unclosed segment from its journal (%d creates)"
     % len(created), r.stderr)
r = run([FLIGHTREC, "verify", store2])
m = re.search(r"the segment being recorded: (\d+) events in open.frj\n", r.stdout)
t.ok(r.returncode == 0 and m and int(m.group(1)) == len(got), "verify counts the journal's events", r.stdout)
j = json.loads(run([FLIGHTREC, "verify", "--json", store2]).stdout)
t.ok(j["journal"] == {"readable": True, "segment_written": False, "events": len(got), "torn_bytes": 0},
     "verify --json: the journal", j)
torn = os.path.join(work, "log2-torn")
shutil.copytree(store2, torn)
with open(os.path.join(torn, "open.frj"), "ab") as f:
    f.write(b"\x40\0\0\0partial record")
r = run([FLIGHTREC, "verify", torn])
t.ok(r.returncode == 0 and "a torn record of 18 bytes at its end (a crash)" in r.stdout,
     "verify reports a torn journal tail, which is not damage", r.stdout)
rec2 = Recorder("--output", store2)
ev2 = rec2.stop()
t.ok("recovered" in rec2.stderr(), "restart says it recovered the unclosed segment", rec2.stderr())
gaps = [e for e in ev2 if e["event"] == "gap"]
t.ok(len(gaps) == 1 and "recovered" in gaps[0]["reason"], "a gap record says what was recovered", gaps)
r, got = dump(store2)
created = {e["path"] for e in got if e["event"] == "create" and e.get("path", "").startswith(os.path.join(work, "w2"))}
t.eq(len(created), 20, "all 20 creates made before the kill -9 are in the log")
t.eq(run([FLIGHTREC, "verify", store2]).returncode, 0, "the recovered log verifies")

# 4. disk cap
store3 = os.path.join(work, "log3")
# the cap is well under what the workload writes (about 38 KB of 300-event
# segments: small blocks are packed since 2026-11-22, and a 40k cap was
# then reached only when the machine was busy), so segments must be dropped
rec = Recorder("--output", store3, "--segment-events", "300", "--max-disk", "16k")


def dir_sizes(d):
    """(bytes of every file in d, bytes of the journal, biggest segment)"""
    total = journal = biggest = 0
    for name in os.listdir(d):
        try:
            n = os.path.getsize(os.path.join(d, name))
        except FileNotFoundError:  # deleted by the cap meanwhile
            continue
        total += n
        journal += n if name == "open.frj" else 0
        biggest = max(biggest, n) if name.startswith("seg-") else biggest
    return total, journal, biggest


# the directory, journal included, is sampled while the recorder writes
samples = []
for i in range(6):
    workload("w3-%d" % i, 60)
    samples.append(dir_sizes(store3))
rec.stop()
total = sum(os.path.getsize(p) for p in glob.glob(os.path.join(store3, "seg-*.frl")))
biggest = max(os.path.getsize(p) for p in glob.glob(os.path.join(store3, "seg-*.frl")))
t.ok(total <= 16 * 1024 + biggest, "the store stays within the cap (+ the newest segment): %d bytes" % total)
t.ok(max(s[1] for s in samples) <= 2048,
     "the journal stays within its eighth of the cap while recording", samples)
t.ok(all(s[0] <= 16 * 1024 + s[2] for s in samples),
     "the whole directory, journal included, stays within the cap (+ the newest segment)", samples)
r, got = dump(store3)
caps = [e for e in got if e["event"] == "gap" and "disk cap" in e["reason"]]
t.ok(caps and all(e["count"] > 0 for e in caps), "gap records say what the cap dropped", caps[:2])
t.ok(min(int(os.path.basename(p)[4:16]) for p in glob.glob(os.path.join(store3, "seg-*.frl"))) > 1,
     "the oldest segments went first")
t.eq(run([FLIGHTREC, "verify", store3]).returncode, 0, "a capped log still verifies")

# 4b. a full disk: recording goes on in memory, and nothing is lost
class Filler:
    """Another process filling the disk: it takes every byte that frees
    up, until stopped (then its file is removed)."""

    def __init__(self, path):
        self.path = path
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        # the first fill is done before the test goes on
        deadline = time.time() + 10
        while time.time() < deadline and shutil.disk_usage(os.path.dirname(path)).free > 0:
            time.sleep(0.05)

    def _run(self):
        fd = None
        while self.running:
            try:
                if fd is None:
                    fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                for size in (65536, 4096, 1):  # then the last partial blocks
                    try:
                        while self.running:
                            os.write(fd, b"\0" * size)
                    except OSError:
                        pass
            except OSError:
                pass  # no room even for the file yet
            time.sleep(0.02)
        if fd is not None:
            os.close(fd)

    def stop(self):
        self.running = False
        self.thread.join()
        os.unlink(self.path)


def wait_for(rec, text, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline and text not in rec.stderr():
        time.sleep(0.1)
    return text in rec.stderr()


small = os.path.join(work, "small")
os.makedirs(small)
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "frtest-full", small], check=True)
try:
    store7 = os.path.join(small, "log")
    filler = os.path.join(small, "filler")
    rec = Recorder("--output", store7)
    workload("w7a", 30)
    fill = Filler(filler)
    workload("w7b", 30)
    t.ok(wait_for(rec, "cannot write the flight log"),
         "a full disk is said, and the recorder goes on", rec.stderr())
    t.eq(rec.proc.poll(), None, "the recorder is still running on the full disk")
    time.sleep(2.5)  # retries that fail
    fill.stop()
    workload("w7c", 30)
    t.ok(wait_for(rec, "writable again"), "the recorder says when it can write again", rec.stderr())
    ev7 = rec.stop()
    t.eq(rec.rc, 0, "and stops cleanly")
    live7 = open(rec.out_path).read()
    r, got = dump(store7)
    t.ok(r.returncode == 0 and r.stdout == live7,
         "dump --json of the log is byte-identical to the live stream: nothing lost (%d lines)" % len(got))
    gaps = [e for e in got if e["event"] == "gap" and "could not be written" in e["reason"]]
    said = rec.stderr().count("cannot write the flight log")
    t.ok(said >= 1 and said == rec.stderr().count("writable again") == len(gaps),
         "each time the disk was full is said once (not per retry), with its end, and has a gap record "
         "(%d)" % said, rec.stderr())
    t.ok(gaps and all("No space left on device" in g["reason"] and g["count"] == 0 for g in gaps),
         "the gap records say from when to when the disk was full, and that nothing was dropped", gaps)
    for tag in ("w7a", "w7b", "w7c"):
        made = {e["path"] for e in got if e["event"] == "create"
                and e.get("path", "").startswith(os.path.join(work, tag) + "/")}
        t.eq(len(made), 30, "the 30 creates made %s are in the log" % {
            "w7a": "before the disk filled", "w7b": "while it was full", "w7c": "after"}[tag])
    t.eq(run([FLIGHTREC, "verify", store7]).returncode, 0, "the log verifies")

    # more than memory holds while the disk is full: counted, said, and the
    # rest kept
    store8 = os.path.join(small, "log8")
    rec = Recorder("--output", store8, "--segment-events", "100")
    fill = Filler(filler)
    workload("w8", 200)
    t.ok(wait_for(rec, "cannot write the flight log"), "full again", rec.stderr())
    time.sleep(1.5)
    fill.stop()
    t.ok(wait_for(rec, "writable again"), "writable again", rec.stderr())
    rec.stop()
    live8 = [json.loads(l) for l in open(rec.out_path)]
    r, got = dump(store8)
    gaps = [e for e in got if e["event"] == "gap" and "could not be written" in e["reason"]]
    lost = sum(g["count"] for g in gaps)
    t.ok(gaps and lost > 0 and all("did not fit in memory" in g["reason"] for g in gaps if g["count"]),
         "the gap record counts the events that did not fit in memory", gaps)
    t.ok(len(got) + lost == len(live8),
         "the log holds every event shown live but those counted (%d + %d = %d)" % (len(got), lost, len(live8)))
    t.ok(re.search(r"but \d+ did not fit and are lost", rec.stderr()) is not None,
         "stderr says how many were lost", rec.stderr())

    # stopped while the disk is full: the error says what is lost, and the
    # journal's events come back at the next start
    store9 = os.path.join(small, "log9")
    rec = Recorder("--output", store9)
    workload("w9a", 20)
    time.sleep(1.5)  # journaled and synced
    fill = Filler(filler)
    workload("w9b", 20)
    t.ok(wait_for(rec, "cannot write the flight log"), "full once more", rec.stderr())
    rec.stop()
    t.ok(rec.rc == 1 and re.search(r"\d+ events held in memory only are lost", rec.stderr()),
         "stopping on a full disk exits 1 and says how many events are lost", rec.stderr())
    fill.stop()
    rec = Recorder("--output", store9)
    rec.stop()
    t.ok(rec.rc == 0, "the next start, on a disk with room, runs", rec.stderr())
    r, got = dump(store9)
    made = {e["path"] for e in got if e["event"] == "create"
            and e.get("path", "").startswith(os.path.join(work, "w9a") + "/")}
    t.eq(len(made), 20, "the 20 creates journaled before the disk filled are in the log")
    t.eq(run([FLIGHTREC, "verify", store9]).returncode, 0, "and it verifies")
finally:
    subprocess.run(["umount", "-l", small])

# 5. priors (docs/FORMAT.md 10), on the log of part 1
def header(path, n=160):
    with open(path, "rb") as f:
        return f.read(n)


priors = sorted(glob.glob(os.path.join(store, "prior-*.frp")))
t.eq([os.path.basename(p) for p in priors], ["prior-000000000001.frp"],
     "the first segment made the store's prior")
prior_hash = header(priors[0], 96)[56:88]
flagged = [bool(header(p)[21] & 0x40) for p in segs]
t.ok(flagged[0] is False and all(flagged[1:]), "every segment after the first has the PRIOR flag", flagged)
t.ok(all(header(p)[128:160] == prior_hash and int.from_bytes(header(p)[12:16], "little") == 160 for p in segs[1:]),
     "and names the prior by its content hash, in a 160-byte header")
st = json.loads(run([FLIGHTREC, "stats", "--json", store]).stdout)
t.ok(st["priors"] == {"files": 1, "bytes": os.path.getsize(priors[0])}, "stats --json counts the prior", st["priors"])
t.ok("priors" in run([FLIGHTREC, "stats", store]).stdout, "stats shows it")
nseg = len(segs)
rec = Recorder("--output", store, "--segment-events", "400")
workload("w5")
rec.stop()
segs5 = sorted(glob.glob(os.path.join(store, "seg-*.frl")))
t.ok(len(segs5) > nseg and all(header(p)[128:160] == prior_hash for p in segs5[nseg:])
     and len(glob.glob(os.path.join(store, "prior-*.frp"))) == 1,
     "a restarted recorder compresses against the same prior (%d new segments)" % (len(segs5) - nseg))
t.eq(run([FLIGHTREC, "verify", store]).returncode, 0, "and the log verifies")
r, got = dump(store)
t.ok(r.returncode == 0 and len(got) > len(evs), "dump reads every segment with the prior", r.stderr)

d, s = damaged_copy("noprior")
os.unlink(os.path.join(d, "prior-000000000001.frp"))
r = run([FLIGHTREC, "verify", d])
t.ok(r.returncode == 1 and "seg-000000000002.frl" in r.stderr and "needs prior" in r.stderr
     and prior_hash[:8].hex() in r.stderr, "verify: a deleted prior is named with the segment that needs it", r)
r, got = dump(d)
t.ok(r.returncode == 1 and "needs prior" in r.stderr and len(got) == seg1_events,
     "dump: segments without their prior are reported, the first still reads", r.stderr[-300:])

d, s = damaged_copy("badprior")
bad = os.path.join(d, "prior-000000000001.frp")
with open(bad, "r+b") as f:
    f.seek(100)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0x01]))
r = run([FLIGHTREC, "verify", d])
t.ok(r.returncode == 1 and "prior-000000000001.frp" in r.stderr, "verify: a damaged prior file is named", r)

lone = os.path.join(work, "lone")
os.makedirs(lone)
shutil.copy2(segs[1], lone)
r = run([FLIGHTREC, "dump", "--json", os.path.join(lone, os.path.basename(segs[1]))])
t.ok(r.returncode == 1 and "needs prior" in r.stderr, "a lone segment without its prior: a clear error", r.stderr)
shutil.copy2(priors[0], lone)
r = run([FLIGHTREC, "dump", "--json", os.path.join(lone, os.path.basename(segs[1]))])
t.ok(r.returncode == 0 and r.stdout and live.find(r.stdout) >= 0, "with the prior beside it, it reads", r.stderr)

store6 = os.path.join(work, "log6")
rec = Recorder("--output", store6, "--segment-events", "400", "--no-prior")
workload("w6")
rec.stop()
segs6 = sorted(glob.glob(os.path.join(store6, "seg-*.frl")))
t.ok(len(segs6) >= 2 and not glob.glob(os.path.join(store6, "prior-*"))
     and not any(header(p)[21] & 0x40 for p in segs6), "--no-prior: no prior file, no segment needs one")
r = run([FLIGHTREC, "record", "--no-prior", "--json"])
t.ok(r.returncode == 2 and "--output" in r.stderr, "--no-prior without --output is a usage error", r.stderr)

r = run([FLIGHTREC, "record", "--max-disk", "10G", "--json"])
t.ok(r.returncode == 2 and "--output" in r.stderr, "--max-disk without --output is a usage error", r.stderr)
r = run([FLIGHTREC, "record", "--output", store3, "--max-disk", "lots"])
t.ok(r.returncode == 2 and "--max-disk" in r.stderr, "a bad size is a usage error", r.stderr)
t.done()
