# A raw client of nbench's control protocol for the security tests: it sends what a real client would
# not (numbers out of range, oversize hellos, half frames) and reads the responder's answers.
import hashlib, hmac, json, socket, struct, time

VERSION = 5
(HELLO, HELLO_ACK, ERROR, TEST, TEST_ACK, READY, START, MEASURE, STOP, RESULT, DATA_HELLO, DATA_ACK, CHALLENGE,
 AUTH, PATH, PATH_ACK) = range(1, 17)
FRAME_MAC = 0x8000  # in a frame's type: a 32-byte MAC follows the body (a keyed session after the handshake)


class Tid(int):
    """A test's id as TEST_ACK gives it, with the token its data hellos must carry."""
    def __new__(cls, test_id, token=""):
        t = int.__new__(cls, test_id)
        t.token = token
        return t


def data_hello(test_id, flow=0, **kw):
    """A DATA_HELLO body for the test (its token when test_id is a Tid), with kw replacing keys."""
    b = {"test_id": test_id, "flow": flow, "token": getattr(test_id, "token", "")}
    b.update(kw)
    return b


def frame(typ, body=None, version=VERSION):
    b = body if isinstance(body, bytes) else json.dumps(body if body is not None else {}).encode()
    return b"NBCP" + struct.pack(">HHI", version, typ, len(b)) + b


def settings(**kw):
    """A TEST body as nbench's client sends it (nb_cfg_to_json), with kw replacing keys."""
    s = dict(kind="rr", proto="tcp", engine="sock", host="127.0.0.1", port=12865, duration_ns=1_000_000_000,
             warmup_ns=0, interval_ns=0, flows=1, reverse=False, msg_bytes=128 * 1024, req_bytes=100,
             resp_bytes=200, depth=1, rate_tps=0, rate_bps=0, udp_timeout_ns=200_000_000, cpu_gen=-1,
             cpu_resp=-1, wait="block", busy_poll_us=0, nodelay=True)
    s.update(kw)
    return s


def mac(skey, sender, seq, hdr, body):
    """auth.h's MAC of a frame: HMAC-SHA-256(session key, label || seq (8 bytes) || header || body)."""
    label = b"nbench %s frame v1" % sender.encode()
    return hmac.new(skey, label + struct.pack(">Q", seq) + hdr + body, hashlib.sha256).digest()


class Conn:
    def __init__(self, port, host="127.0.0.1", src=None, timeout=5):
        self.s = socket.create_connection((host, port), timeout, (src, 0) if src else None)
        self.s.settimeout(timeout)
        self.buf = b""
        self.skey = None  # the session key, once keyed_hello proved the key: every frame carries a MAC
        self.tx = self.rx = 0

    def send(self, typ, body=None, version=VERSION):
        if not self.skey:
            self.s.sendall(frame(typ, body, version))
            return
        f = frame(typ | FRAME_MAC, body, version)
        self.s.sendall(f + mac(self.skey, "client", self.tx, f[:12], f[12:]))
        self.tx += 1

    def recv(self):
        """(type, body) of the next frame; None when the responder closed the connection. In a keyed session
        a frame without the responder's valid MAC raises SystemExit."""
        while True:
            if len(self.buf) >= 12:
                ln = struct.unpack(">I", self.buf[8:12])[0]
                typ = struct.unpack(">H", self.buf[6:8])[0]
                end = 12 + ln + (32 if typ & FRAME_MAC else 0)
                if len(self.buf) >= end:
                    hdr, body = self.buf[:12], self.buf[12:12 + ln]
                    if self.skey and (not typ & FRAME_MAC or not hmac.compare_digest(
                            self.buf[12 + ln:end], mac(self.skey, "server", self.rx, hdr, body))):
                        raise SystemExit("a frame without the responder's valid MAC: %r" % self.buf[:end])
                    self.rx += 1 if self.skey else 0
                    self.buf = self.buf[end:]
                    return typ & ~FRAME_MAC, json.loads(body)
            try:
                b = self.s.recv(65536)
            except ConnectionResetError:
                return None
            if not b:
                return None
            self.buf += b

    def expect(self, typ):
        got = self.recv()
        if not got or got[0] != typ:
            raise SystemExit("expected message %d, got %r" % (typ, got))
        return got[1]

    def hello(self):
        self.send(HELLO)
        return self.expect(HELLO_ACK)

    def test(self, **kw):
        """HELLO, TEST: the TEST_ACK's test_id and token (a Tid)."""
        self.hello()
        self.send(TEST, settings(**kw))
        ack = self.expect(TEST_ACK)
        return Tid(ack["test_id"], ack["token"])

    def closed_within(self, seconds):
        """True when the responder closes the connection within seconds (frames before are read)."""
        end = time.time() + seconds
        while time.time() < end:
            self.s.settimeout(max(0.05, end - time.time()))
            try:
                if self.recv() is None:
                    return True
            except socket.timeout:
                return False
        return False


def udp_flow(port, test_id, flow=0, host="127.0.0.1", pad=0):
    """A UDP socket that sent the flow's hello (padded with pad spaces in its JSON); returns (socket, acked)."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.connect((host, port))
    u.settimeout(0.3)
    body = json.dumps(data_hello(test_id, flow)).encode() + b" " * pad
    for _ in range(5):
        u.send(frame(DATA_HELLO, body))
        try:
            d = u.recv(2048)
            if struct.unpack(">H", d[6:8])[0] == DATA_ACK:
                return u, True
        except (socket.timeout, ConnectionRefusedError):
            pass
    return u, False


def read_key(path):
    """The 32 bytes of a key file written by `nbench key gen`."""
    return bytes.fromhex(open(path).read().strip())


def transcript(client_nonce, server_nonce, hello_body, version=VERSION):
    """auth.h's transcript: version (2 bytes) || client nonce || server nonce || SHA-256(HELLO's body)."""
    return struct.pack(">H", version) + client_nonce + server_nonce + hashlib.sha256(hello_body).digest()


def proof(key, role, tr):
    """auth.h's proof: HMAC-SHA-256(key, label || transcript)."""
    return hmac.new(key, b"nbench %s proof v1" % role.encode() + tr, hashlib.sha256).digest()


def keyed_hello(c, key):
    """The client's side of the key's handshake on Conn c, checking the responder's proof; c then carries
    the session key's MAC. Returns the frames the client sent (bytes, as on the wire) and the HELLO_ACK's
    body."""
    import os
    cn = os.urandom(32)
    body = json.dumps({"nonce": cn.hex(), "data_src": ""}).encode()
    sent = [frame(HELLO, body)]
    c.s.sendall(sent[0])
    ch = c.expect(CHALLENGE)
    tr = transcript(cn, bytes.fromhex(ch["nonce"]), body)
    if bytes.fromhex(ch["proof"]) != proof(key, "server", tr):
        raise SystemExit("the responder's proof does not check")
    sent.append(frame(AUTH, {"proof": proof(key, "client", tr).hex()}))
    c.s.sendall(sent[1])
    c.skey = hmac.new(key, b"nbench session key v1" + tr, hashlib.sha256).digest()
    c.tx = c.rx = 0
    return sent, c.expect(HELLO_ACK)
