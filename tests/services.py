"""Real backing services for the integration tests, on 127.0.0.1 free ports:

- S3Server: s3rver (an S3-compatible server over a directory) behind the
  SigV4-checking proxy of tests/s3/server.js.  Its npm packages are installed
  from the committed lock file (`npm ci`) the first time.
- PgCluster: a throw-away PostgreSQL 15 cluster (initdb in a temporary
  directory owned by `postgres`, trust auth, socket in that directory).

Both are context managers and stop what they started.  Fixtures `s3server`
and `pg_url` wrap them; a test module takes them with
`pytest_plugins = ["services"]` or by importing them.
"""
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
S3_DIR = os.path.join(HERE, "s3")
PG_BIN = "/usr/lib/postgresql/15/bin"

S3_KEY = "mfu-test-key"
S3_SECRET = "mfu-test-secret-0123456789"
S3_BUCKET = "mfu-blobs"
S3_REGION = "us-east-1"


def npm_ready():
    """Install the S3 test server's packages once (from the lock file)."""
    marker = os.path.join(S3_DIR, "node_modules", ".package-lock.json")
    if os.path.exists(marker):
        return
    subprocess.run(["npm", "ci", "--prefix", S3_DIR, "--no-audit",
                    "--no-fund", "--loglevel=error"], check=True, timeout=300)


class S3Server:
    """s3rver + signature proxy.  `env` holds the AWS_* a client needs."""

    def __init__(self, root, key=S3_KEY, secret=S3_SECRET, token=None,
                 list_page=None):
        self.root = str(root)
        self.data = os.path.join(self.root, "s3data")
        self.key, self.secret, self.token = key, secret, token
        self.list_page = list_page
        self.proc = None
        self.port = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def bucket(self):
        return S3_BUCKET

    def store_url(self, **extra):
        q = {"endpoint": self.endpoint, "region": S3_REGION,
             "path_style": "1"}
        q.update(extra)
        qs = "&".join(f"{k}={v}" for k, v in q.items())
        return f"s3://{S3_BUCKET}?{qs}"

    @property
    def env(self):
        env = {"AWS_ACCESS_KEY_ID": self.key,
               "AWS_SECRET_ACCESS_KEY": self.secret}
        if self.token:
            env["AWS_SESSION_TOKEN"] = self.token
        return env

    def start(self, port=None):
        npm_ready()
        env = dict(os.environ, **self.env)
        if not self.token:
            env.pop("AWS_SESSION_TOKEN", None)
        self.log = open(os.path.join(self.root, "s3server.log"), "ab")
        cmd = ["node", os.path.join(S3_DIR, "server.js"), "--dir", self.data,
               "--bucket", S3_BUCKET, "--region", S3_REGION,
               "--port", str(port or 0)]
        if self.list_page:
            cmd += ["--list-page", str(self.list_page)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=self.log, env=env)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("ready "):
            self.stop()
            raise RuntimeError("S3 test server did not start: " + line)
        self.port = int(line.split()[1])
        return self

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        self.proc = None

    def restart(self):
        """Stop and start again on the same port and data (a store outage)."""
        port = self.port
        self.stop()
        for _ in range(50):
            try:
                return self.start(port)
            except RuntimeError:
                time.sleep(0.1)
        raise RuntimeError("S3 test server did not come back")

    def control(self, what, **q):
        qs = "&".join(f"{k}={v}" for k, v in q.items())
        with urllib.request.urlopen(f"{self.endpoint}/__mfu/{what}?{qs}",
                                    timeout=5) as r:
            return json.load(r)

    def fault(self, method="", word="", status=500, count=1):
        """Fail the next `count` requests with that method and query word
        (a sub-resource such as uploadId, partNumber, uploads; "object" for
        none) with `status`."""
        return self.control("fault", method=method, word=word,
                            status=status, count=count)

    def objects(self, prefix=""):
        """{key: size} of every object s3rver holds in the bucket."""
        base = os.path.join(self.data, S3_BUCKET)
        out = {}
        suffix = "._S3rver_object"
        for d, _, files in os.walk(base):
            for f in files:
                if f.endswith(suffix) and "._S3rver_uploads" not in d:
                    p = os.path.join(d, f)
                    key = os.path.relpath(p, base)[:-len(suffix)]
                    if key.startswith(prefix):
                        out[key] = os.path.getsize(p)
        return out

    def object_path(self, key):
        return os.path.join(self.data, S3_BUCKET, key + "._S3rver_object")

    def object_metadata(self, key):
        p = os.path.join(self.data, S3_BUCKET, key + "._S3rver_metadata.json")
        with open(p, encoding="utf-8") as f:
            return json.load(f)

    def uploads(self):
        """Multipart uploads begun and neither completed nor aborted."""
        d = os.path.join(self.data, S3_BUCKET, "._S3rver_uploads")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class PgCluster:
    """A PostgreSQL cluster of its own; initdb refuses root, so it runs as
    the `postgres` user in a directory that user owns."""

    def __init__(self):
        self.dir = None
        self.port = None

    def _as_pg(self, *cmd, **kw):
        if os.geteuid() == 0:
            cmd = ("runuser", "-u", "postgres", "--") + cmd
        return subprocess.run(cmd, check=True, capture_output=True,
                              text=True, timeout=120, **kw)

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="mfu-pg-")
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        data = os.path.join(self.dir, "data")
        self._as_pg(f"{PG_BIN}/initdb", "-D", data, "-A", "trust", "-U",
                    "postgres", "-E", "UTF8", "--no-sync")
        self.port = free_port()
        self.pg_ctl("start")
        self.createdb("mfu")
        return self

    def pg_ctl(self, action, *args):
        """start (on the same port and data), stop, restart."""
        data = os.path.join(self.dir, "data")
        opts = (f"-h 127.0.0.1 -p {self.port} -k {self.dir} "
                "-c fsync=off -c max_connections=100")
        self._as_pg(f"{PG_BIN}/pg_ctl", "-D", data, "-l",
                    os.path.join(self.dir, "log"), "-o", opts, "-w",
                    action, *args)

    def createdb(self, name):
        self._as_pg(f"{PG_BIN}/createdb", "-h", "127.0.0.1", "-p",
                    str(self.port), "-U", "postgres", name)

    def url(self, db="mfu"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def psql(self, sql, db="mfu"):
        """Run sql and return its unaligned, tuples-only output."""
        r = self._as_pg("/usr/bin/psql", "-h", "127.0.0.1", "-p",
                        str(self.port), "-U", "postgres", "-d", db, "-X",
                        "-At", "-v", "ON_ERROR_STOP=1", "-c", sql)
        return r.stdout

    def stop(self):
        if self.dir is None:
            return
        data = os.path.join(self.dir, "data")
        try:
            self._as_pg(f"{PG_BIN}/pg_ctl", "-D", data, "-m", "immediate",
                        "-w", "stop")
        except subprocess.SubprocessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


@pytest.fixture
def s3server(tmp_path):
    with S3Server(tmp_path) as s:
        yield s


@pytest.fixture(scope="module")
def pg_cluster():
    with PgCluster() as pg:
        yield pg


@pytest.fixture
def pg_url(pg_cluster, request):
    """A fresh empty database in the module's cluster for each test."""
    name = "t_" + format(abs(hash(request.node.nodeid)), "x")[:12]
    pg_cluster.createdb(name)
    return pg_cluster.url(name)
