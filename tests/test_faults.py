"""Faults under a real mfud: a full disk, a busy catalog, a store that
cannot be written, clients that vanish at every stage of an upload.  Each
answers with the right problem, leaves no row, and after
`mfud gc --gc-grace=0` no blob; the server keeps serving."""
import os
import socket
import sqlite3
import subprocess
import threading
import time

import pytest
import requests

from conftest import assert_nothing_stored, assert_serving, ffmpeg, problem


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                    str(path)], check=True)


def umount(path):
    subprocess.run(["umount", "-l", str(path)], check=False)


def remount(path, mode):
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


def gc_leaves_nothing(m):
    r = m.run("gc", "--gc-grace=0")
    assert r.returncode == 0, r.stderr
    assert_nothing_stored(m)


def idle(m, timeout=20):
    """Wait until no upload is in flight (the server saw the end)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        t = requests.get(m.url + "/metrics", timeout=5).text
        if "mfu_uploads_in_flight 0" in t:
            return
        time.sleep(0.05)
    raise AssertionError("an upload stayed in flight")


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    """About 2.6 MB of real audio: more than the tiny store holds."""
    p = tmp_path_factory.mktemp("wav") / "long.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:duration=30",
           "-ac", "1", "-ar", "44100", "-c:a", "pcm_s16le", str(p))
    return p


def test_disk_full_is_507(mfud_factory, tmp_path, wav, media):
    root = tmp_path / "full"
    blobs = root / "blobs"
    mount_tmpfs(blobs, "1m")
    try:
        m = mfud_factory(root=root)
        assert os.path.getsize(wav) > 2 << 20
        r = requests.post(m.url + "/v1/items", params={"username": "u"},
                          files=[("text", (None, "x")),
                                 ("images", ("a.png", open(media["png"], "rb"))),
                                 ("audios", ("long.wav", open(wav, "rb")))],
                          timeout=60)
        body = problem(r, 507, "insufficient-storage")
        assert body["field"] == "audios" and body["index"] == 0
        assert_nothing_stored(m)
        assert_serving(m)
        # space is there again once the failed upload is gone
        r = requests.post(m.url + "/v1/items", params={"username": "u"},
                          files=[("images", ("a.png", open(media["png"], "rb")))],
                          timeout=60)
        assert r.status_code == 201, r.text
        requests.delete(m.url + "/v1/items/" + r.json()["id"], timeout=10)
        gc_leaves_nothing(m)
        assert m.stop() == 0
    finally:
        umount(blobs)


def test_catalog_busy_is_503_with_retry_after(mfud, media):
    r = requests.post(mfud.url + "/v1/items", params={"username": "u"},
                      files=[("text", (None, "first"))], timeout=30)
    assert r.status_code == 201
    first = r.json()["id"]
    lock = sqlite3.connect(mfud.db_path, isolation_level=None, timeout=1)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.time()
        r = requests.post(mfud.url + "/v1/items", params={"username": "u"},
                          files=[("text", (None, "x")),
                                 ("images", ("a.png", open(media["png"], "rb")))],
                          timeout=60)
        problem(r, 503, "busy")
        assert r.headers["Retry-After"] == "1"
        assert time.time() - t0 < 30
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert mfud.blobs() == [] and mfud.tmp_files() == []
    with sqlite3.connect(mfud.db_path) as db:
        ids = [x[0] for x in db.execute("select id from items")]
        assert ids == [first]
        assert db.execute("select count(*) from files").fetchone()[0] == 0
    r = mfud.run("gc", "--gc-grace=0")
    assert r.returncode == 0 and mfud.blobs() == []
    assert_serving(mfud)


def test_unwritable_store_is_503(mfud_factory, tmp_path, media):
    root = tmp_path / "ro"
    blobs = root / "blobs"
    mount_tmpfs(blobs, "64m")
    try:
        m = mfud_factory(root=root)
        r = requests.post(m.url + "/v1/items", params={"username": "u"},
                          files=[("images", ("a.png", open(media["png"], "rb")))],
                          timeout=60)
        assert r.status_code == 201
        kept = r.json()
        before = m.blobs()
        remount(blobs, "ro")
        try:
            r = requests.post(m.url + "/v1/items", params={"username": "u"},
                              files=[("audios", ("a.mp3", open(media["mp3"], "rb")))],
                              timeout=60)
            body = problem(r, 503, "unavailable")
            assert r.headers["Retry-After"] == "1"
            assert body["field"] == "audios"
        finally:
            remount(blobs, "rw")
        assert m.blobs() == before and m.tmp_files() == []
        with sqlite3.connect(m.db_path) as db:
            assert db.execute("select count(*) from items").fetchone()[0] == 1
        assert m.run("gc", "--gc-grace=0").returncode == 0
        assert m.blobs() == before        # the recorded blob stays
        requests.delete(m.url + "/v1/items/" + kept["id"], timeout=10)
        gc_leaves_nothing(m)
        assert m.stop() == 0
    finally:
        umount(blobs)


# --- clients that vanish ------------------------------------------------

def body_of(media):
    png = open(media["png"], "rb").read()
    mp4 = open(media["mp4"], "rb").read()
    parts = [
        b'--b\r\nContent-Disposition: form-data; name="text"\r\n\r\n'
        b"\xe6\x9c\x80\xe5\x96\x9c\r\n",
        b'--b\r\nContent-Disposition: form-data; name="images"; '
        b'filename="1_a.png"\r\nContent-Type: image/png\r\n\r\n' + png + b"\r\n",
        b'--b\r\nContent-Disposition: form-data; name="videos"; '
        b'filename="2_v.mp4"\r\nContent-Type: video/mp4\r\n\r\n' + mp4 + b"\r\n",
        b"--b--\r\n",
    ]
    return parts


def head(n):
    return (b"POST /v1/items?username=u HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: %d\r\n\r\n" % n)


def cut_points(parts):
    body = b"".join(parts)
    p1 = len(parts[0])
    p2 = p1 + len(parts[1])
    vid = p2 + parts[2].index(b"\r\n\r\n") + 4
    return body, {
        "headers-only": 0,
        "mid-part-headers": 20,
        "mid-first-file": p1 + 120,
        "between-parts": p2,
        "mid-part-headers-of-second-file": p2 + 30,
        "mid-large-file": vid + (len(parts[2]) - (vid - p2)) // 2,
        "just-before-final-boundary": len(body) - len(parts[3]),
    }


STAGES = ["headers-only", "mid-part-headers", "mid-first-file",
          "between-parts", "mid-part-headers-of-second-file",
          "mid-large-file", "just-before-final-boundary"]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("how", ["close", "reset"])
def test_client_vanishes(mfud, media, stage, how):
    body, cuts = cut_points(body_of(media))
    s = socket.create_connection(("127.0.0.1", mfud.port), timeout=10)
    s.sendall(head(len(body)) + body[:cuts[stage]])
    time.sleep(0.2)
    if how == "reset":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
    idle(mfud)
    assert_nothing_stored(mfud)
    gc_leaves_nothing(mfud)
    assert_serving(mfud)


def test_client_vanishes_after_final_boundary(mfud, media):
    """The body is complete, so the upload may commit; whatever the race,
    the catalog and the store agree and gc takes nothing recorded."""
    body = b"".join(body_of(media))
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", mfud.port), timeout=10)
        s.sendall(head(len(body)) + body)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    idle(mfud)
    with sqlite3.connect(mfud.db_path) as db:
        items = db.execute("select count(*) from items").fetchone()[0]
        shas = {x[0] for x in db.execute("select sha256 from files")}
    assert mfud.tmp_files() == []
    assert mfud.run("gc", "--gc-grace=0").returncode == 0
    stored = {b.rsplit("/", 1)[1] for b in mfud.blobs()}
    assert stored == shas
    assert items == 0 or len(shas) == 2
    assert_serving(mfud)


def test_vanishing_clients_do_not_block_others(mfud, media):
    body, cuts = cut_points(body_of(media))
    errors = []

    def vanish(i):
        try:
            s = socket.create_connection(("127.0.0.1", mfud.port), timeout=10)
            s.sendall(head(len(body)) + body[:cuts[STAGES[i % len(STAGES)]]])
            s.close()
        except OSError as e:
            errors.append(e)

    threads = [threading.Thread(target=vanish, args=(i,)) for i in range(21)]
    for t in threads:
        t.start()
    r = requests.post(mfud.url + "/v1/items", params={"username": "u"},
                      files=[("images", ("a.png", open(media["png"], "rb")))],
                      timeout=60)
    for t in threads:
        t.join()
    assert r.status_code == 201 and not errors
    idle(mfud)
    with sqlite3.connect(mfud.db_path) as db:
        assert db.execute("select count(*) from items").fetchone()[0] == 1
    assert mfud.run("gc", "--gc-grace=0").returncode == 0
    assert len(mfud.blobs()) == 1
