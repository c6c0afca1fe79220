"""What mfud keeps when things go wrong: memory flat for a 1 GiB upload,
nothing left by a client that disconnects or by a server that is stopped
or killed mid-upload, and gc removing what a crash left."""
import os
import socket
import subprocess
import threading
import time

import requests

from conftest import SANITIZED, assert_nothing_stored, assert_serving, sha256_file

GIB = 1 << 30


def big_video(media, tmp_path, size):
    """A real MP4 padded with zeros to size bytes (sparse: no disk used)."""
    path = tmp_path / "big.mp4"
    with open(media["mp4"], "rb") as src, open(path, "wb") as dst:
        dst.write(src.read())
        dst.truncate(size)
    return path


def in_flight(m):
    text = requests.get(m.url + "/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("mfu_uploads_in_flight "):
            return int(line.split()[1])
    raise AssertionError("no in-flight gauge")


def wait_idle(m, timeout=30):
    deadline = time.time() + timeout
    while in_flight(m) and time.time() < deadline:
        time.sleep(0.05)
    assert in_flight(m) == 0


def test_1gib_upload_memory_stays_flat(mfud, media, tmp_path):
    path = big_video(media, tmp_path, GIB)
    out = subprocess.run(
        ["curl", "-sS", "-o", str(tmp_path / "resp"), "-w", "%{http_code}",
         "-F", f"videos=@{path};type=video/mp4",
         f"{mfud.url}/v1/items?username=big"],
        capture_output=True, text=True, timeout=600)
    assert out.stdout == "201", (out.stdout, out.stderr,
                                 (tmp_path / "resp").read_text()[:500])
    peak = mfud.rss_peak_kib()
    limit = 400 * 1024 if SANITIZED else 32 * 1024
    assert peak < limit, f"server peak RSS {peak} KiB"
    rec = requests.get(f"{mfud.url}/v1/items", params={"username": "big"},
                       timeout=10).json()["items"][0]
    assert rec["videos"][0]["size"] == GIB
    assert rec["videos"][0]["sha256"] == sha256_file(path)


def send_partial(m, total, sent):
    """Declare total body bytes, send only sent of them, then vanish."""
    prefix = (b"--b\r\nContent-Disposition: form-data; name=\"videos\"; "
              b"filename=\"v.mp4\"\r\nContent-Type: video/mp4\r\n\r\n")
    head = (f"POST /v1/items?username=u HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {total}\r\n\r\n").encode()
    s = socket.create_connection(("127.0.0.1", m.port), timeout=20)
    s.sendall(head + prefix)
    block = b"\0" * 65536
    left = sent - len(prefix)
    while left > 0:
        n = min(left, len(block))
        s.sendall(block[:n])
        left -= n
    return s


def test_client_disconnect_half_way_leaves_nothing(mfud, media):
    # a real MP4 head so the file is past the type check and being stored
    s = send_partial(mfud, 64 << 20, 32 << 20)
    time.sleep(0.5)
    s.close()
    wait_idle(mfud)
    assert_nothing_stored(mfud)
    assert_serving(mfud)


def slow_upload(m, media, stop):
    """An upload that keeps sending until stop is set."""
    def gen():
        yield (b"--b\r\nContent-Disposition: form-data; name=\"videos\"; "
               b"filename=\"v.mp4\"\r\n\r\n")
        yield open(media["mp4"], "rb").read()
        while not stop.is_set():
            yield b"\0" * 65536
            time.sleep(0.01)
    try:
        requests.post(m.url + "/v1/items?username=u", data=gen(), timeout=60,
                      headers={"Content-Type": "multipart/form-data; boundary=b"})
    except requests.RequestException:
        pass


def test_sigterm_mid_upload_exits_cleanly_and_keeps_nothing(mfud, media):
    stop = threading.Event()
    t = threading.Thread(target=slow_upload, args=(mfud, media, stop))
    t.start()
    deadline = time.time() + 20
    while in_flight(mfud) == 0 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    rc = mfud.stop()
    stop.set()
    t.join(timeout=30)
    assert rc == 0, mfud.read_log()[-2000:]
    assert_nothing_stored(mfud)


def test_kill9_restart_gc(mfud_factory, media, tmp_path):
    m = mfud_factory()
    png = open(media["png"], "rb").read()
    keep = requests.post(m.url + "/v1/items?username=u", timeout=20,
                         files=[("images", ("a.png", png, "image/png"))]).json()
    stop = threading.Event()
    threads = [threading.Thread(target=slow_upload, args=(m, media, stop))
               for _ in range(3)]
    for t in threads:
        t.start()
    deadline = time.time() + 20
    while in_flight(m) < 3 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    m.kill9()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    # A crash may leave temporary files and unreferenced blobs, never a row
    # without its blob.  gc (no grace here) takes the leftovers.
    gc = m.run("gc", "--gc-grace=0")
    assert gc.returncode == 0, gc.stdout + gc.stderr
    assert m.tmp_files() == []
    assert len(m.blobs()) == 1
    m.start(port=m.port)       # the same address: the record's URLs hold
    got = requests.get(m.url + f"/v1/items/{keep['id']}", timeout=10)
    assert got.status_code == 200 and got.json() == keep
    assert requests.get(keep["images"][0]["url"], timeout=10).content == png


def test_gc_keeps_young_and_referenced_blobs(mfud, media):
    png = open(media["png"], "rb").read()
    requests.post(mfud.url + "/v1/items?username=u", timeout=20,
                  files=[("images", ("a.png", png, "image/png"))])
    # an orphan as a crash leaves it: a blob no row names
    orphan_dir = os.path.join(mfud.store_dir, "sha256", "ab", "cd")
    os.makedirs(orphan_dir, exist_ok=True)
    orphan = os.path.join(orphan_dir, "abcd" + "0" * 60)
    with open(orphan, "wb") as f:
        f.write(b"orphan")
    young = mfud.run("gc")                     # default grace: an hour
    assert young.returncode == 0 and os.path.exists(orphan), young.stdout
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    gc = mfud.run("gc")
    assert gc.returncode == 0, gc.stdout
    assert not os.path.exists(orphan)
    assert len(mfud.blobs()) == 1              # the referenced png stays
    assert "1 unreferenced removed" in gc.stdout
