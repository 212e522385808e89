#!/usr/bin/python3
# A real TCP listener and UDP listener on 127.0.0.1 open and close, with one
# connection: listen, connect, accept and unlisten must each appear exactly
# once, with the right process, protocol, addresses and ports.
import os
import subprocess

from frtest import HELPERS, Recorder, Tap

t = Tap()
if os.geteuid() != 0:
    t.bail("needs root (eBPF)")

rec = Recorder()
p = subprocess.run([os.path.join(HELPERS, "netops")], capture_output=True, text=True)
ev = rec.stop()
t.eq(p.returncode, 0, "netops ran")
tport, uport, cport = map(int, p.stdout.split())
mine = [e for e in ev if e["comm"] == "netops"]


def one(desc, **m):
    got = [e for e in mine if all(e.get(k) == v for k, v in m.items())]
    t.ok(len(got) == 1, desc, [e for e in mine if e["event"] == m.get("event")])
    return got[0] if got else None


e = one("tcp listen once", event="listen", proto="tcp", addr="127.0.0.1", port=tport)
e = one("udp listen once", event="listen", proto="udp", addr="127.0.0.1", port=uport)
e = one("tcp connect once", event="connect", proto="tcp", addr="127.0.0.1", port=cport,
        raddr="127.0.0.1", rport=tport)
e = one("tcp accept once", event="accept", proto="tcp", addr="127.0.0.1", port=tport,
        raddr="127.0.0.1", rport=cport)
e = one("tcp unlisten once", event="unlisten", proto="tcp", addr="127.0.0.1", port=tport)
e = one("udp unlisten once", event="unlisten", proto="udp", addr="127.0.0.1", port=uport)
t.eq(len([x for x in mine if x["event"] in ("listen", "unlisten", "connect", "accept")]), 6,
     "no other socket events from netops")
t.ok(all(x["exe"] == os.path.realpath(os.path.join(HELPERS, "netops")) for x in mine),
     "every netops event carries its exe")

# A process that exits without closing its UDP socket still unlistens.
rec = Recorder()
p = subprocess.run(["/usr/bin/python3", "-c",
                    "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                    "s.bind(('127.0.0.1', 0)); print(s.getsockname()[1]); sys.stdout.flush(); os=__import__('os'); os._exit(0)"],
                   capture_output=True, text=True)
ev = rec.stop()
uport = int(p.stdout)
got = [e for e in ev if e["event"] == "unlisten" and e["proto"] == "udp" and e["port"] == uport]
t.ok(len(got) == 1 and got[0]["pid"] == [e for e in ev if e["event"] == "listen" and e.get("port") == uport][0]["pid"],
     "udp unlisten at exit without close, by the exiting process", got)
t.done()
