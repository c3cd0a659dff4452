"""A TLS producer for the specs: Python's ssl module against a moongate
ingest listener. Prints the server certificate's SHA-256 and the protocol,
then, for each hex-encoded msgpack message in argv, sends it and prints
the reply as hex. --cert CERT KEY presents a client certificate; --hold DIR
writes DIR/step before the last message and waits (at most 20 s) for
DIR/go, so a spec can act while the connection stays open."""
import hashlib
import os
import socket
import ssl
import sys
import time


def reply(s):
    s.settimeout(5)
    buf = s.recv(65536)
    s.settimeout(0.3)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
    except (socket.timeout, TimeoutError):
        pass
    return buf


def main():
    a = sys.argv[1:]
    host, port, ca = a[0], int(a[1]), a[2]
    cert = key = hold = None
    msgs = []
    i = 3
    while i < len(a):
        if a[i] == "--cert":
            cert, key = a[i + 1], a[i + 2]
            i += 3
        elif a[i] == "--hold":
            hold = a[i + 1]
            i += 2
        else:
            msgs.append(bytes.fromhex(a[i]))
            i += 1
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert:
        ctx.load_cert_chain(cert, key)
    try:
        raw = socket.create_connection((host, port), timeout=5)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        print("cert", hashlib.sha256(s.getpeercert(True)).hexdigest(), s.version(), flush=True)
        for k, m in enumerate(msgs):
            if hold and k == len(msgs) - 1:
                open(os.path.join(hold, "step"), "w").close()
                deadline = time.time() + 20
                while not os.path.exists(os.path.join(hold, "go")) and time.time() < deadline:
                    time.sleep(0.05)
            s.sendall(m)
            r = reply(s)
            print("reply", r.hex() if r else "none", flush=True)
        s.close()
    except (OSError, ssl.SSLError) as e:
        print("error", type(e).__name__, str(e).replace("\n", " "), flush=True)
        return 1
    return 0


sys.exit(main())
