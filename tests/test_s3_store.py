"""The S3 store against a real S3-compatible server (s3rver behind a proxy
that checks every SigV4 signature and payload hash), driven through
mfu-store, which runs the same store code as mfud."""
import hashlib
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import BUILD, vm_hwm_kib
from services import S3Server, s3server  # noqa: F401 (fixture)

TOOL = os.path.join(BUILD, "src", "store", "mfu-store")
MIB = 1024 * 1024


def store(s3, *args, url=None, env=None, data=None, timeout=120):
    e = dict(os.environ, **s3.env)
    e.update(env or {})
    return subprocess.run([TOOL, url or s3.store_url()] + list(args),
                          input=data, capture_output=True, env=e,
                          timeout=timeout)


def put(s3, data, ctype="application/octet-stream", **kw):
    r = store(s3, "put", "-", ctype, data=data, **kw)
    assert r.returncode == 0, r.stderr.decode()
    h, size, created = r.stdout.decode().split()
    assert h == hashlib.sha256(data).hexdigest()
    assert int(size) == len(data)
    return h, int(created)


def key(h):
    return f"sha256/{h[:2]}/{h[2:4]}/{h}"


def test_small_blob_is_one_signed_put(s3server):
    data = "最喜小儿无赖，溪头卧剥莲蓬。\n".encode() * 50
    h, created = put(s3server, data, "text/plain; charset=utf-8")
    assert created == 1
    assert s3server.objects() == {key(h): len(data)}
    meta = s3server.object_metadata(key(h))
    assert meta["content-type"] == "text/plain; charset=utf-8"
    with open(s3server.object_path(key(h)), "rb") as f:
        assert f.read() == data
    # the same bytes again are found (created 0) and their mtime refreshed
    # so that a gc grace period spares them
    m1 = int(store(s3server, "stat", h).stdout.split()[1])
    time.sleep(1.1)
    assert put(s3server, data) == (h, 0)
    assert int(store(s3server, "stat", h).stdout.split()[1]) > m1
    assert s3server.objects() == {key(h): len(data)}
    assert s3server.uploads() == []


def test_empty_blob(s3server):
    h, created = put(s3server, b"")
    assert created == 1
    assert s3server.objects() == {key(h): 0}
    r = store(s3server, "get", h)
    assert r.returncode == 0 and r.stdout == b""


def test_large_blob_streams_as_multipart_then_copies(s3server):
    data = os.urandom(20 * MIB + 12345)
    h, created = put(s3server, data, "video/mp4")
    assert created == 1
    # only the final object: the temporary upload was completed, copied
    # and deleted
    assert s3server.objects() == {key(h): len(data)}
    assert s3server.uploads() == []
    assert s3server.object_metadata(key(h))["content-type"] == "video/mp4"
    r = store(s3server, "get", h)
    assert r.returncode == 0 and r.stdout == data
    # a second upload of the same bytes finds them and leaves nothing
    m1 = int(store(s3server, "stat", h).stdout.split()[1])
    time.sleep(1.1)
    assert put(s3server, data) == (h, 0)
    assert int(store(s3server, "stat", h).stdout.split()[1]) > m1
    assert s3server.objects() == {key(h): len(data)}
    assert s3server.uploads() == []


def test_exactly_one_part_is_a_single_put(s3server):
    data = os.urandom(8 * MIB)
    before = s3server.control("stats")["stats"]["requests"]
    h, _ = put(s3server, data)
    # ping, HEAD, PUT: no multipart calls for a blob that fits the buffer
    assert s3server.control("stats")["stats"]["requests"] - before == 3
    assert s3server.objects() == {key(h): len(data)}


def test_copy_above_copy_max_uses_upload_part_copy(s3server):
    data = os.urandom(11 * MIB + 7)
    url = s3server.store_url(part_size="5M", copy_max="5M")
    h, created = put(s3server, data, url=url)
    assert created == 1
    assert s3server.objects() == {key(h): len(data)}
    assert s3server.uploads() == []
    with open(s3server.object_path(key(h)), "rb") as f:
        assert f.read() == data


def test_range_reads(s3server):
    data = os.urandom(3 * MIB + 1)
    h, _ = put(s3server, data)
    for off, ln in [(0, 1), (1, 100), (MIB - 3, 2 * MIB), (len(data) - 1, 1),
                    (len(data) - 10, 1000)]:
        r = store(s3server, "get", h, str(off), str(ln))
        assert r.returncode == 0, r.stderr
        assert r.stdout == data[off:off + ln], (off, ln)
    r = store(s3server, "get", h, str(len(data)))
    assert r.returncode == 0 and r.stdout == b""
    r = store(s3server, "stat", h)
    size, mtime = r.stdout.split()
    assert int(size) == len(data) and abs(int(mtime) - time.time()) < 120


def test_missing_blob_is_not_found(s3server):
    h = "ab" * 32
    for args in (["stat", h], ["get", h], ["get", h, "5", "10"]):
        r = store(s3server, *args)
        assert r.returncode == 1
        assert b"no such" in r.stderr.lower() or b"not found" in \
            r.stderr.lower(), r.stderr
    assert store(s3server, "rm", h).returncode == 0


def test_list_pages_and_delete(tmp_path):
    with S3Server(tmp_path, list_page=2) as s3:
        hashes = sorted(put(s3, f"blob {i}".encode())[0] for i in range(5))
        r = store(s3, "ls")
        assert r.returncode == 0, r.stderr
        got = [line.split()[0] for line in r.stdout.decode().splitlines()]
        assert sorted(got) == hashes
        assert store(s3, "rm", hashes[0]).returncode == 0
        assert key(hashes[0]) not in s3.objects()
        assert len(s3.objects()) == 4


def test_wrong_secret_is_rejected_by_signature_check(s3server):
    r = store(s3server, "put", "-", data=b"x" * 100,
              env={"AWS_SECRET_ACCESS_KEY": "not-the-secret"})
    assert r.returncode == 1
    assert b"HTTP 403" in r.stderr
    assert s3server.control("stats")["stats"]["rejected"] >= 1
    assert s3server.objects() == {}
    # and the right one passes the same check
    put(s3server, b"x" * 100)


def test_wrong_access_key_and_missing_credentials(s3server):
    r = store(s3server, "ping", env={"AWS_ACCESS_KEY_ID": "someone-else"})
    assert r.returncode == 1 and b"HTTP 403" in r.stderr
    e = dict(os.environ)
    e.pop("AWS_ACCESS_KEY_ID", None)
    e.pop("AWS_SECRET_ACCESS_KEY", None)
    r = subprocess.run([TOOL, s3server.store_url(), "ping"], env=e,
                       capture_output=True, timeout=30)
    assert r.returncode == 1 and b"AWS_ACCESS_KEY_ID" in r.stderr


def test_session_token_is_sent_and_signed(tmp_path):
    with S3Server(tmp_path, token="tok-123/abc=") as s3:
        h, _ = put(s3, b"with a token")
        r = store(s3, "ping", env={"AWS_SESSION_TOKEN": "tok-other"})
        assert r.returncode == 1 and b"HTTP 403" in r.stderr
        assert list(s3.objects()) == [key(h)]


def test_virtual_hosted_style(s3server):
    # curl resolves *.localhost to the loopback address by itself
    url = (f"s3://{s3server.bucket}?endpoint=http://localhost:"
           f"{s3server.port}&region=us-east-1")
    data = os.urandom(9 * MIB)
    h, created = put(s3server, data, url=url)
    assert created == 1
    assert s3server.objects() == {key(h): len(data)}
    r = store(s3server, "get", h, "5", "7", url=url)
    assert r.stdout == data[5:12]


@pytest.mark.parametrize("method,word", [
    ("PUT", "partNumber"),     # a part fails
    ("POST", "uploadId"),      # completing fails
    ("PUT", "object"),         # the copy to the final key fails
])
def test_failure_leaves_nothing(s3server, method, word):
    s3server.fault(method=method, word=word, status=500)
    r = store(s3server, "put", "-", data=os.urandom(17 * MIB))
    assert r.returncode == 1
    assert b"cannot be reached" in r.stderr, r.stderr
    assert s3server.uploads() == []
    assert s3server.objects() == {}


def test_small_put_failure_leaves_nothing(s3server):
    s3server.fault(method="PUT", word="object", status=503)
    r = store(s3server, "put", "-", data=b"abc")
    assert r.returncode == 1
    assert s3server.objects() == {}


def test_out_of_space_is_reported(s3server):
    s3server.fault(method="PUT", word="object", status=507)
    r = store(s3server, "put", "-", data=b"abc")
    assert r.returncode == 1 and b"space" in r.stderr.lower(), r.stderr


def test_store_down_is_unavailable(s3server):
    h, _ = put(s3server, b"before the outage")
    url = s3server.store_url()
    s3server.stop()
    r = subprocess.run([TOOL, url, "ping"], env=dict(os.environ,
                       **s3server.env), capture_output=True, timeout=30)
    assert r.returncode == 1 and b"cannot be reached" in r.stderr
    s3server.restart()
    assert store(s3server, "get", h).stdout == b"before the outage"


def test_sweep_removes_what_a_crash_left(s3server):
    # a crash mid-upload leaves a multipart upload under tmp/
    e = dict(os.environ, **s3server.env)
    p = subprocess.Popen([TOOL, s3server.store_url(), "put", "-"],
                         stdin=subprocess.PIPE, env=e)
    p.stdin.write(os.urandom(10 * MIB))
    p.stdin.flush()
    deadline = time.time() + 30
    while not s3server.uploads() and time.time() < deadline:
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    p.stdin.close()
    assert len(s3server.uploads()) == 1
    # a failed cleanup after commit leaves a temporary object
    s3server.fault(method="DELETE", word="object", status=500)
    h, _ = put(s3server, os.urandom(9 * MIB))
    assert len(s3server.objects("tmp/")) == 1
    r = store(s3server, "sweep", "3600")
    assert r.stdout == b"0\n"
    time.sleep(2.1)
    r = store(s3server, "sweep", "1")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"2\n"
    assert s3server.uploads() == []
    assert list(s3server.objects()) == [key(h)]


def test_memory_is_flat_for_a_large_stream(s3server):
    """256 MiB through the store: the tool's peak RSS stays near one part
    buffer, not the blob size."""
    e = dict(os.environ, **s3server.env)
    p = subprocess.Popen([TOOL, s3server.store_url(), "put", "-"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         env=e)
    chunk = os.urandom(MIB)
    sha = hashlib.sha256()
    for _ in range(256):
        p.stdin.write(chunk)
        sha.update(chunk)
    p.stdin.flush()
    peak = vm_hwm_kib(p.pid)
    p.stdin.close()
    out = p.stdout.read().decode()
    assert p.wait(timeout=120) == 0
    assert out.split()[0] == sha.hexdigest()
    assert peak < 40 * 1024, f"peak RSS {peak} KiB"
    assert s3server.uploads() == []


# ---- through mfud: S3 store + PostgreSQL catalog -------------------------

import shutil  # noqa: E402
import threading  # noqa: E402

import requests  # noqa: E402

from conftest import SANITIZED, problem  # noqa: E402,F401
from conftest import media  # noqa: E402,F401 (fixture)
from services import PgCluster  # noqa: E402

BIG_MIB = int(os.environ.get("MFU_S3_BIG_MIB", "256"))


@pytest.fixture(scope="module")
def pg():
    with PgCluster() as cluster:
        yield cluster


@pytest.fixture
def pgdb(pg, request):
    name = "m_" + format(abs(hash(request.node.nodeid)), "x")[:12]
    pg.createdb(name)
    return name


def s3_mfud(factory, s3, pg, db, *extra):
    return factory(f"--store={s3.store_url()}", f"--catalog={pg.url(db)}",
                   *extra, env=s3.env)


def seed_files(media):
    mp3 = media["mp3"].read_bytes()
    return [
        ("images", ("1_picture001.png", media["png"].read_bytes(),
                    "image/png")),
        ("images", ("2_清平乐·村居.jpeg", media["jpeg"].read_bytes(),
                    "image/jpeg")),
        ("audios", ("234_清平乐·村居.mp3", mp3, "audio/mpeg")),
        ("audios", ("234_清平乐·村居.mp3", mp3, "audio/mpeg")),
        ("audios", ("234_清平乐·村居.mp3", mp3, "audio/mpeg")),
        ("videos", ("12_清平乐·村居.mp4", media["mp4"].read_bytes(),
                    "video/mp4")),
        ("videos", ("3_second.mp4", media["mp4"].read_bytes() + b"\0",
                    "video/mp4")),
        ("text", ("explain_text", "最喜小儿无赖，溪头卧剥莲蓬。".encode(),
                  "text/plain")),
    ]


def rows(pg, db, table):
    return int(pg.psql(f"SELECT COUNT(*) FROM {table}", db=db))


def test_mfud_seed_mix_on_s3_and_postgresql(mfud_factory, s3server, pg,
                                            pgdb, media):
    m = s3_mfud(mfud_factory, s3server, pg, pgdb)
    files = seed_files(media)
    r = requests.post(m.url + "/item_explain?username=user1", files=files,
                      timeout=60)
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["text"] == "最喜小儿无赖，溪头卧剥莲蓬。"
    assert [len(item[g]) for g in ("images", "audios", "videos")] == [2, 3, 2]
    # the mp3 sent three times is one object; every blob is in the bucket
    hashes = {f["sha256"] for g in ("images", "audios", "videos")
              for f in item[g]}
    assert len(hashes) == 5
    assert set(s3server.objects()) == {key(h) for h in hashes}
    assert s3server.uploads() == []
    assert rows(pg, pgdb, "files") == 7 and rows(pg, pgdb, "items") == 1
    for (_, (_, data, _)), f in zip(files, item["images"] + item["audios"] +
                                    item["videos"]):
        got = requests.get(f["url"], timeout=30)
        assert got.status_code == 200 and got.content == data
        part = requests.get(f["url"], headers={"Range": "bytes=10-99"},
                            timeout=30)
        assert part.status_code == 206 and part.content == data[10:100]
    again = requests.get(m.url + "/v1/items/" + item["id"], timeout=10)
    assert again.status_code == 200 and again.json()["id"] == item["id"]


def test_mfud_store_down_is_503_and_nothing_committed(
        mfud_factory, s3server, pg, pgdb, media):
    m = s3_mfud(mfud_factory, s3server, pg, pgdb)
    s3server.stop()
    r = requests.post(m.url + "/item_explain?username=user1",
                      files=seed_files(media), timeout=60)
    problem(r, 503)
    assert rows(pg, pgdb, "items") == 0 and rows(pg, pgdb, "files") == 0
    s3server.restart()
    r = requests.post(m.url + "/item_explain?username=user1",
                      files=seed_files(media), timeout=60)
    assert r.status_code == 201, r.text
    assert rows(pg, pgdb, "items") == 1


def test_mfud_catalog_down_is_503_and_gc_takes_the_blobs(
        mfud_factory, s3server, pg, pgdb, media):
    m = s3_mfud(mfud_factory, s3server, pg, pgdb)
    pg.pg_ctl("stop", "-m", "fast")
    try:
        r = requests.post(m.url + "/item_explain?username=user1",
                          files=seed_files(media), timeout=60)
        problem(r, 503)
    finally:
        pg.pg_ctl("start")
    # with the catalog away nobody can tell whether another node points at
    # the blobs just stored, so they stay, unreferenced, for gc
    assert s3server.uploads() == []
    assert rows(pg, pgdb, "items") == 0
    g = m.run("gc", f"--store={s3server.store_url()}",
              f"--catalog={pg.url(pgdb)}", "--gc-grace=0")
    assert g.returncode == 0, g.stdout + g.stderr
    assert s3server.objects() == {}
    r = requests.post(m.url + "/item_explain?username=user1",
                      files=seed_files(media), timeout=60)
    assert r.status_code == 201, r.text


def test_mfud_gc_on_s3(mfud_factory, s3server, pg, pgdb, media):
    m = s3_mfud(mfud_factory, s3server, pg, pgdb, "--gc-grace=0")
    r = requests.post(m.url + "/item_explain?username=user1",
                      files=seed_files(media), timeout=60)
    assert r.status_code == 201
    kept = set(s3server.objects())
    orphan, _ = put(s3server, b"no item points here")
    assert key(orphan) in s3server.objects()
    g = m.run("gc", f"--store={s3server.store_url()}",
              f"--catalog={pg.url(pgdb)}", "--gc-grace=0")
    assert g.returncode == 0, g.stdout + g.stderr
    assert set(s3server.objects()) == kept


def big_video(path, mp4, mib):
    """A real mp4 head with padding after it: sniffed as video/mp4."""
    head = mp4.read_bytes()
    block = os.urandom(MIB)
    with open(path, "wb") as f:
        f.write(head)
        for _ in range(mib):
            f.write(block)
    return path


def curl_upload(url, path, timeout=600):
    t = time.time()
    r = subprocess.run(["curl", "-sS", "-o", "/dev/stdout", "-w",
                        "\n%{http_code}", "-F", f"videos=@{path};type=video/mp4",
                        url + "/item_explain?username=big"],
                       capture_output=True, text=True, timeout=timeout)
    body, code = r.stdout.rsplit("\n", 1)
    return int(code), body, time.time() - t


def test_mfud_large_upload_into_s3_with_flat_memory(
        mfud_factory, s3server, pg, pgdb, media, tmp_path):
    path = big_video(tmp_path / "big.mp4", media["mp4"], BIG_MIB)
    size = os.path.getsize(path)
    fsm = mfud_factory()
    code, body, t_fs = curl_upload(fsm.url, path)
    assert code == 201, body
    m = s3_mfud(mfud_factory, s3server, pg, pgdb)
    code, body, t_s3 = curl_upload(m.url, path)
    assert code == 201, body
    peak_s3, peak_fs = m.rss_peak_kib(), fsm.rss_peak_kib()
    print(f"\n{size >> 20} MiB upload: file store {t_fs:.2f} s "
          f"({size / t_fs / MIB:.0f} MiB/s, peak RSS {peak_fs} KiB); "
          f"S3 {t_s3:.2f} s ({size / t_s3 / MIB:.0f} MiB/s, "
          f"peak RSS {peak_s3} KiB)")
    f = json.loads(body)["videos"][0]
    assert f["size"] == size
    assert s3server.objects() == {key(f["sha256"]): size}
    assert s3server.uploads() == []
    limit = 160 if SANITIZED else 64
    assert peak_s3 < limit * 1024, f"peak RSS {peak_s3} KiB"
    got = requests.get(f["url"], headers={"Range": f"bytes={size - 100}-"},
                       timeout=60)
    with open(path, "rb") as fh:
        fh.seek(size - 100)
        assert got.status_code == 206 and got.content == fh.read()
    os.remove(path)


# ---- several nodes behind nginx ----------------------------------------

NGINX_CONF = """\
# Two mfud nodes behind nginx; the same block is in docs/operators.md.
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log {dir}/access.log;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  upstream mfud {{
    server 127.0.0.1:{p1} max_fails=1 fail_timeout=5s;
    server 127.0.0.1:{p2} max_fails=1 fail_timeout=5s;
    keepalive 16;
  }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 0;          # mfud enforces --max-body itself
    proxy_request_buffering off;     # stream uploads, never spool them
    proxy_buffering off;             # and stream files back
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_read_timeout 300s;
    proxy_send_timeout 300s;
    location / {{ proxy_pass http://mfud; }}
  }}
}}
"""


class Nginx:
    def __init__(self, root, ports):
        from conftest import free_port
        self.dir = str(root)
        self.port = free_port()
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, port=self.port,
                                      p1=ports[0], p2=ports[1]))
        self.proc = subprocess.Popen(
            ["/usr/sbin/nginx", "-c", os.path.join(self.dir, "nginx.conf"),
             "-p", self.dir], stderr=subprocess.PIPE)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                requests.get(self.url + "/healthz", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def two_nodes(mfud_factory, s3server, pg, pgdb, tmp_path):
    nodes = [s3_mfud(mfud_factory, s3server, pg, pgdb) for _ in range(2)]
    ngx_dir = tmp_path / "nginx"
    ngx_dir.mkdir()
    ngx = Nginx(ngx_dir, [n.port for n in nodes])
    yield nodes, ngx
    ngx.stop()


def test_nodes_behind_nginx_share_store_and_catalog(two_nodes, s3server, pg,
                                                    pgdb, media):
    nodes, ngx = two_nodes
    ids = []
    for i in range(6):
        files = seed_files(media)
        files[0] = ("images", (f"{i}_p.png", media["png"].read_bytes(),
                               "image/png"))
        r = requests.post(ngx.url + "/item_explain?username=user1",
                          files=files, timeout=60)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    # round robin: both nodes took uploads
    seen = [n.read_log().count('"POST /item_explain" 201') for n in nodes]
    assert all(seen), seen
    for i in ids:
        for n in nodes:
            it = requests.get(f"{n.url}/v1/items/{i}", timeout=10).json()
            f = it["videos"][0]
            got = requests.get(f"{n.url}/files/{f['sha256']}", timeout=30)
            assert got.status_code == 200 and len(got.content) == f["size"]
    assert rows(pg, pgdb, "items") == 6
    assert len(s3server.objects()) == 5   # the seed's five distinct blobs
    assert s3server.uploads() == []


def test_concurrent_identical_uploads_are_one_object(two_nodes, s3server,
                                                     pg, pgdb, media,
                                                     tmp_path):
    nodes, ngx = two_nodes
    path = big_video(tmp_path / "same.mp4", media["mp4"], 24)  # multipart
    results = []

    def go(url):
        results.append(curl_upload(url, path))

    ts = [threading.Thread(target=go, args=(n.url,)) for n in nodes * 2]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=300)
    assert [r[0] for r in results] == [201] * 4, results
    shas = {json.loads(r[1])["videos"][0]["sha256"] for r in results}
    assert len(shas) == 1
    assert list(s3server.objects()) == [key(shas.pop())]
    assert s3server.uploads() == []
    assert rows(pg, pgdb, "items") == 4


def test_node_killed_mid_upload_leaves_catalog_consistent(
        two_nodes, s3server, pg, pgdb, media, tmp_path):
    nodes, ngx = two_nodes
    path = big_video(tmp_path / "slow.mp4", media["mp4"], 64)
    p = subprocess.Popen(["curl", "-sS", "--limit-rate", "8M", "-F",
                          f"videos=@{path};type=video/mp4",
                          nodes[0].url + "/item_explain?username=k"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while not s3server.uploads() and time.time() < deadline:
        time.sleep(0.05)
    assert s3server.uploads(), "the upload never reached the store"
    nodes[0].kill9()
    p.wait(timeout=30)
    assert rows(pg, pgdb, "items") == 0 and rows(pg, pgdb, "files") == 0
    # the other node serves on, and its gc sweeps what the crash left
    r = requests.post(ngx.url + "/item_explain?username=user1",
                      files=seed_files(media), timeout=60)
    assert r.status_code == 201, r.text
    time.sleep(1.1)
    g = nodes[1].run("gc", f"--store={s3server.store_url()}",
                     f"--catalog={pg.url(pgdb)}", "--gc-grace=0")
    assert g.returncode == 0, g.stdout + g.stderr
    assert s3server.uploads() == []
    assert s3server.objects("tmp/") == {}
    assert len(s3server.objects()) == 5
    for f in r.json()["audios"]:
        assert requests.get(f["url"], timeout=30).status_code == 200
