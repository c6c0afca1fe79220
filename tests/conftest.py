"""Shared fixtures: start the real mfud on a free loopback port with its
data in a temporary directory, and stop it afterwards.

MFU_BUILD names the build directory whose binaries are tested (default
./build); MFU_SANITIZED=1 says they carry ASan/UBSan, which changes memory
figures, not behaviour.
"""
import os
import signal
import socket
import subprocess
import time

import pytest
import requests

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MFU_BUILD", os.path.join(TOP, "build"))
MFUD = os.path.join(BUILD, "src", "http", "mfud")
MFU = os.path.join(BUILD, "src", "client", "mfu")
SANITIZED = os.environ.get("MFU_SANITIZED") == "1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_hwm_kib(pid):
    """Peak resident set (VmHWM) of a live process, in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM")


class Mfud:
    """One running mfud.  args are extra flags; data lives under root."""

    def __init__(self, root, args=(), env=None):
        self.root = str(root)
        self.args = list(args)
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.root, "mfud.log")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def store_dir(self):
        return os.path.join(self.root, "blobs")

    @property
    def db_path(self):
        return os.path.join(self.root, "mfu.db")

    def defaults(self):
        args = self.args
        out = []
        if not any(a.startswith("--store") for a in args):
            out.append("--store=file://" + self.store_dir)
        if not any(a.startswith("--catalog") for a in args):
            out.append("--catalog=sqlite://" + self.db_path)
        return out

    def start(self, port=None):
        for _ in range(5):
            self.port = port or free_port()
            cmd = [MFUD, f"--listen=127.0.0.1:{self.port}"] + self.defaults() + self.args
            self.log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log,
                                         env=self.env, cwd=self.root)
            if self.wait_ready():
                return self
            self.stop()
            if port:
                break
        raise RuntimeError("mfud did not start:\n" + self.read_log())

    def wait_ready(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False

    def read_log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def rss_peak_kib(self):
        return vm_hwm_kib(self.proc.pid)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        """SIGTERM and wait; returns the exit code.  A sanitizer report or a
        crash shows as a non-zero code and fails the test that owns us."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.log.close()
        return rc

    def run(self, *args, **kw):
        """Run `mfud ARGS` (gc, user add, ...) against the same data."""
        cmd = [MFUD] + list(args) + self.defaults()
        return subprocess.run(cmd, capture_output=True, text=True,
                              env=self.env, cwd=self.root, timeout=120, **kw)

    def blobs(self):
        """Relative paths of every stored blob (file store only)."""
        out = []
        base = os.path.join(self.store_dir, "sha256")
        for d, _, files in os.walk(base):
            out += [os.path.relpath(os.path.join(d, f), base) for f in files]
        return sorted(out)

    def tmp_files(self):
        tmp = os.path.join(self.store_dir, "tmp")
        return sorted(os.listdir(tmp)) if os.path.isdir(tmp) else []


@pytest.fixture
def mfud_factory(tmp_path):
    """Start any number of servers; all are stopped (and must exit 0)."""
    started = []

    def make(*args, env=None, root=None):
        root = root or tmp_path / f"mfud{len(started)}"
        os.makedirs(root, exist_ok=True)
        m = Mfud(root, args, env)
        started.append(m)
        return m.start()

    yield make
    bad = []
    for m in started:
        rc = m.stop()
        if rc not in (0, -9):
            bad.append(f"mfud exited {rc}:\n{m.read_log()[-4000:]}")
    assert not bad, "\n".join(bad)


@pytest.fixture
def mfud(mfud_factory):
    """A server on its defaults (auth none, file store, SQLite)."""
    return mfud_factory()


def problem(resp, status, code=None):
    """Assert resp is an RFC 9457 problem with this status (and code)."""
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    if code is not None:
        assert body["code"] == code, body
    return body


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y"] + list(args),
                   check=True, timeout=120)


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    """Real small media made with ffmpeg: png, jpeg, mp3 (3 s), mp4 (2 s)."""
    d = tmp_path_factory.mktemp("media")
    out = {
        "png": d / "picture001.png",
        "jpeg": d / "清平乐·村居.jpeg",
        "mp3": d / "清平乐·村居.mp3",
        "mp4": d / "清平乐·村居.mp4",
    }
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1", str(out["png"]))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=80x60", "-frames:v", "1", str(out["jpeg"]))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-b:a", "64k",
           str(out["mp3"]))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2",
           "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast",
           "-movflags", "+faststart", str(out["mp4"]))
    return out


def sha256_file(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def assert_nothing_stored(m):
    """No blob, no temporary file, no item: what a rejected request leaves."""
    assert m.blobs() == [], m.blobs()
    assert m.tmp_files() == [], m.tmp_files()
    if os.path.exists(m.db_path):
        import sqlite3
        with sqlite3.connect(m.db_path) as db:
            assert db.execute("select count(*) from items").fetchone()[0] == 0
            assert db.execute("select count(*) from files").fetchone()[0] == 0


def assert_serving(m):
    r = requests.get(m.url + "/healthz", timeout=10)
    assert r.status_code == 200, r.text
