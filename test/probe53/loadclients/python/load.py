"""A Python service using certmint with grpcio (gRPC C-core: BDP pings, its own keepalive) as its
users run it: one channel over TLS, unary reads one after another and 64 threads at once, gzip,
the timeouts Python code passes (1 s to 40 days), a keepalive of 10 s that pings while idle
(keepalive_permit_without_calls, max_pings_without_data 0: the usual recipe), watches cancelled
in bulk, and a watch that resumes with its last cursor when the server recycles the connection.
Prints one JSON object; ../python-client.test.ts asserts on it.

Usage: load.py volume|rollover. Environment as for ../go/main.go.
"""

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc

from certmint.v1 import certificate_service_pb2 as pb
from certmint.v1 import certificate_service_pb2_grpc as rpc
from certmint.v1 import common_pb2

KEEPALIVE = [
    ("grpc.keepalive_time_ms", 10000),
    ("grpc.keepalive_timeout_ms", 5000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = self.errors = self.wrong = 0
        self.first = []

    def add(self, err, right=True):
        with self.lock:
            self.calls += 1
            if err is not None:
                self.errors += 1
                if len(self.first) < 3:
                    self.first.append(f"{err.code().name}: {err.details()}")
            elif not right:
                self.wrong += 1

    def json(self):
        return {"calls": self.calls, "errors": self.errors, "wrong": self.wrong, "first_errors": self.first}


class Readiness:
    """Counts the channel's transitions to READY: one while the server keeps the connection."""

    def __init__(self, channel):
        self.lock = threading.Lock()
        self.ready = 0
        self.last = None
        channel.subscribe(self.seen, try_to_connect=True)

    def seen(self, state):
        with self.lock:
            if state == grpc.ChannelConnectivity.READY and self.last != state:
                self.ready += 1
            self.last = state

    def count(self):
        with self.lock:
            return self.ready


def channel(compression=None):
    with open(os.environ["LOAD_CA_FILE"], "rb") as f:
        ca = f.read()
    creds = grpc.composite_channel_credentials(
        grpc.ssl_channel_credentials(root_certificates=ca),
        grpc.access_token_call_credentials(os.environ["CERTMINT_TOKEN"]),
    )
    return grpc.secure_channel(os.environ["LOAD_ADDR"], creds, options=KEEPALIVE, compression=compression)


def get(stub, cid, timeout=30):
    try:
        res = stub.GetCertificate(pb.GetCertificateRequest(certificate=cid), timeout=timeout)
        return None, res.certificate.id == cid
    except grpc.RpcError as e:
        return e, False


def issue(stub, name):
    try:
        res = stub.IssueCertificate(
            pb.IssueCertificateRequest(
                certificate_profile=os.environ["LOAD_PROFILE"],
                attributes=pb.CertificateAttributes(
                    subject=common_pb2.Subject(common_name=name),
                    subject_alternative_names=common_pb2.SubjectAlternativeNames(dns_names=[name]),
                ),
            ),
            timeout=30,
        )
        return None, res.certificate.certificate_id
    except grpc.RpcError as e:
        return e, None


def volume(out):
    cid = os.environ["LOAD_CERT_ID"]
    n = int(os.environ.get("LOAD_CALLS", "1500"))
    ch = channel()
    ready = Readiness(ch)
    stub = rpc.CertificateServiceStub(ch)

    seq = Tally()
    for _ in range(n):
        seq.add(*get(stub, cid))
    out["sequential"] = seq.json()

    conc = Tally()
    with ThreadPoolExecutor(64) as pool:
        for err, right in pool.map(lambda _: get(stub, cid), range(n)):
            conc.add(err, right)
    out["concurrent64"] = conc.json()

    gz = Tally()
    gzch = channel(grpc.Compression.Gzip)
    gzstub = rpc.CertificateServiceStub(gzch)
    for _ in range(300):
        gz.add(*get(gzstub, cid))
    for i in range(5):
        err, issued = issue(gzstub, f"py-gzip-{i}.example.com")
        gz.add(err, issued is not None)
    gzch.close()
    out["gzip"] = gz.json()

    deadlines = {}
    for name, t in (("1s", 1), ("30s", 30), ("48h", 48 * 3600), ("40d", 40 * 86400)):
        err, _ = get(stub, cid, t)
        deadlines[name] = "OK" if err is None else err.code().name
    out["deadlines"] = deadlines
    try:
        for _ in stub.WatchCertificates(pb.WatchCertificatesRequest(certificate_id=cid), timeout=1):
            pass
        out["watch_1s_deadline"] = "OK"
    except grpc.RpcError as e:
        out["watch_1s_deadline"] = e.code().name

    # 90 watches past their first message, then cancelled together.
    opened = Tally()
    calls = [stub.WatchCertificates(pb.WatchCertificatesRequest(certificate_id=cid)) for _ in range(90)]

    def first(call):
        try:
            next(call)
            return None
        except grpc.RpcError as e:
            return e

    with ThreadPoolExecutor(90) as pool:
        for err in pool.map(first, calls):
            opened.add(err)
    for call in calls:
        call.cancel()
    out["watches_opened"] = opened.json()
    after = Tally()
    for _ in range(200):
        after.add(*get(stub, cid))
    out["after_cancel"] = after.json()

    time.sleep(int(os.environ.get("LOAD_IDLE_MS", "21000")) / 1000)
    idle = Tally()
    for _ in range(20):
        idle.add(*get(stub, cid))
    out["after_idle"] = idle.json()
    out["connections"] = ready.count()
    ch.close()


def rollover(out):
    ch = channel()
    ready = Readiness(ch)
    stub = rpc.CertificateServiceStub(ch)
    lock = threading.Lock()
    seen = {}
    resumes = {}
    fatal = []
    started = threading.Event()
    stop = threading.Event()
    current = [None]

    def watch():
        cursor = ""
        while not stop.is_set():
            call = stub.WatchCertificates(
                pb.WatchCertificatesRequest(certificate_profile=os.environ["LOAD_PROFILE"], after_cursor=cursor)
            )
            with lock:
                current[0] = call
            try:
                for e in call:
                    cursor = e.cursor
                    started.set()
                    if e.type == pb.CERTIFICATE_EVENT_TYPE_ISSUED:
                        with lock:
                            seen[e.certificate.id] = seen.get(e.certificate.id, 0) + 1
                code = "OK"
            except grpc.RpcError as e:
                code = e.code().name
                if stop.is_set():
                    return
                if code != "UNAVAILABLE":
                    with lock:
                        fatal.append(f"{code}: {e.details()}")
            with lock:
                resumes[code] = resumes.get(code, 0) + 1
                if fatal or code != "UNAVAILABLE":
                    return

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    started.wait(60)
    # 16 readers the while, on the same channel, across every recycling.
    reads = Tally()
    reading = threading.Event()

    def read():
        while not reading.is_set():
            reads.add(*get(stub, os.environ["LOAD_CERT_ID"]))

    readers = [threading.Thread(target=read, daemon=True) for _ in range(16)]
    for r in readers:
        r.start()
    issued = []
    unary = Tally()

    def resumed():
        with lock:
            return resumes.get("UNAVAILABLE", 0)

    i = 0
    while i < 200 and (resumed() < 2 or ready.count() < 3):
        err, cid = issue(stub, f"py-roll-{i}.example.com")
        unary.add(err, cid is not None)
        if cid:
            issued.append(cid)
        i += 1
        time.sleep(0.2)  # a service's pace, not a synchronisation

    end = time.monotonic() + 60
    while time.monotonic() < end:
        with lock:
            if fatal or all(seen.get(c) for c in issued):
                break
        time.sleep(0.05)
    stop.set()
    with lock:
        if current[0] is not None:
            current[0].cancel()
    t.join(10)
    reading.set()
    for r in readers:
        r.join(60)
    out["reads"] = reads.json()
    with lock:
        out["issued"] = len(issued)
        out["missing"] = sum(1 for c in issued if not seen.get(c))
        out["repeated"] = sum(1 for c in issued if seen.get(c, 0) > 1)
        out["resumes"] = resumes
        if fatal:
            out["watch_fatal"] = fatal[0]
    out["unary"] = unary.json()
    out["reconnected_twice"] = ready.count() >= 3
    ch.close()


def main():
    out = {}
    {"volume": volume, "rollover": rollover}[sys.argv[1]](out)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
