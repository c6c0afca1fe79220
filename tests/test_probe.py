"""The mfu-probe workers: kept across requests, gone with their server."""
import os
import time

import requests


def probe_children(pid):
    """Pids of mfu-probe processes whose parent is pid."""
    out = set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")[0]
        except OSError:
            continue
        if int(fields[1]) == pid and cmd.endswith(b"mfu-probe"):
            out.add(int(d))
    return out


def upload_png(m, png):
    # a new connection each time: the worker must outlive its thread
    r = requests.post(m.url + "/v1/items?username=u", timeout=20,
                      files=[("images", ("a.png", png, "image/png"))],
                      headers={"Connection": "close"})
    assert r.status_code == 201, r.text
    assert r.json()["images"][0]["width"] == 64


def test_workers_outlive_connections(mfud, media):
    png = open(media["png"], "rb").read()
    upload_png(mfud, png)
    first = probe_children(mfud.proc.pid)
    assert len(first) == 1
    for _ in range(5):
        upload_png(mfud, png)
    assert probe_children(mfud.proc.pid) == first


def test_workers_end_with_a_killed_server(mfud_factory, media):
    m = mfud_factory()
    upload_png(m, open(media["png"], "rb").read())
    workers = probe_children(m.proc.pid)
    assert workers
    m.kill9()
    deadline = time.time() + 10
    while time.time() < deadline and any(os.path.exists(f"/proc/{p}") for p in workers):
        for p in workers:          # reap if we inherited them
            try:
                os.waitpid(p, os.WNOHANG)
            except ChildProcessError:
                pass
        time.sleep(0.05)
    alive = []
    for p in workers:
        try:
            with open(f"/proc/{p}/stat", encoding="ascii") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    alive.append(p)
        except OSError:
            pass
    assert not alive, alive


def test_probe_workers_flag_and_sharing(mfud_factory, media):
    """A batch of files is shared by idle workers, up to --probe-workers."""
    png = open(media["png"], "rb").read()
    files = [("images", ("p%02d.png" % i, png + b"%d" % i, "image/png"))
             for i in range(20)]
    for n in (1, 3):
        m = mfud_factory("--probe-workers=%d" % n)
        r = requests.post(m.url + "/v1/items?username=u", files=files,
                          timeout=60)
        assert r.status_code == 201, r.text
        assert all(f["width"] == 64 for f in r.json()["images"])
        assert len(probe_children(m.proc.pid)) == n
        assert m.stop() == 0
