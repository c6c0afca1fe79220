"""mfu and libmfu against a real mfud: the seed's bundle through the command
line, get/ls/rm/fetch with resume, 1 GiB with flat memory on both sides,
files checked before a byte is sent, retries (no server, 503, a lost
answer that must not make a second item), the progress line on a terminal
only, and the installed library used through pkg-config."""
import http.server
import json
import os
import pty
import re
import select
import shutil
import socket
import subprocess
import threading
import time

import requests

from conftest import (BUILD, MFU, SANITIZED, TOP, assert_nothing_stored,
                      free_port, sha256_file)

TEXT = "最喜小儿无赖，溪头卧剥莲蓬。"
GIB = 1 << 30
MIB = 1 << 20
GROUPS = ("images", "audios", "videos")
# An ASan+UBSan build keeps quarantine and shadow memory: looser, still bound.
RSS_LIMIT_KIB = 400 * 1024 if SANITIZED else 32 * 1024


def clean_env(**extra):
    """The environment mfu runs in: none of the caller's MFU_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MFU_")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def mfu(*args, env=None, timeout=120, cwd=None):
    return subprocess.run([MFU] + [str(a) for a in args], capture_output=True,
                          text=True, env=env or clean_env(), timeout=timeout,
                          cwd=cwd)


def put_bundle(m, media, *extra):
    """The seed's request through mfu: durations given as SECONDS:PATH."""
    mp3, mp4 = media["mp3"], media["mp4"]
    return mfu("put", "--server", m.url, "--user", "user1", "--text", TEXT,
               "--images", f"123:{media['png']}", f"338:{media['jpeg']}",
               "--audios", f"234:{mp3}", f"234:{mp3}", f"234:{mp3}",
               "--videos", f"554:{mp4}", f"554:{mp4}", *extra)


def run_seed_client(m, media, tmp_path):
    """The seed's Python client as committed, pointed at m's port; its
    files go where it opens them, './~/Pictures' (open() does not expand
    '~')."""
    pics = tmp_path / "seed" / "~" / "Pictures"
    pics.mkdir(parents=True)
    for key in ("png", "jpeg", "mp3", "mp4"):
        shutil.copy(media[key], pics / os.path.basename(media[key]))
    with open(os.path.join(TOP, "tests", "seed", "client.py"),
              encoding="utf-8") as f:
        src = f.read().replace("127.0.0.1:8134", f"127.0.0.1:{m.port}")
    script = tmp_path / "seed" / "client.py"
    script.write_text(src, encoding="utf-8")
    out = subprocess.run(["/usr/bin/python3", str(script)],
                         cwd=tmp_path / "seed", capture_output=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(eval(out.stdout.decode().strip()))  # noqa: S307


def shape(rec):
    """A record without what differs between two uploads of one bundle."""
    return {k: v for k, v in rec.items() if k not in ("id", "created_at")}


def items_of(m, user):
    r = requests.get(f"{m.url}/v1/items", params={"username": user,
                                                  "limit": 100}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def padded_mp4(media, path, size):
    """A real MP4 padded with zeros to size bytes (sparse: no disk used)."""
    with open(media["mp4"], "rb") as src, open(path, "wb") as dst:
        dst.write(src.read())
        dst.truncate(size)
    return path


# ---- uploads ---------------------------------------------------------------

def test_seed_bundle_same_record_as_seed_client(mfud, media, tmp_path):
    seed = run_seed_client(mfud, media, tmp_path)
    out = put_bundle(mfud, media, "--json")
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    assert re.fullmatch(r"[0-9a-f]{24}", rec["id"]) and rec["id"] != seed["id"]
    assert shape(rec) == shape(seed)
    assert rec["text"] == TEXT and rec["username"] == "user1"
    assert [len(rec[g]) for g in GROUPS] == [2, 3, 2]
    assert [f["duration"] for f in rec["audios"]] == [234, 234, 234]
    assert {f["name"] for f in rec["audios"]} == {"清平乐·村居.mp3"}
    assert rec["images"][1]["name"] == "清平乐·村居.jpeg"
    assert rec["images"][1]["duration"] == 338
    assert rec["videos"][0]["sha256"] == sha256_file(media["mp4"])
    # The server's copy is the record mfu printed.
    got = requests.get(f"{mfud.url}/v1/items/{rec['id']}", timeout=10)
    assert got.json() == rec
    # Without --json only the id is printed.
    out = put_bundle(mfud, media)
    assert out.returncode == 0, out.stderr
    assert re.fullmatch(r"[0-9a-f]{24}\n", out.stdout)
    assert len(items_of(mfud, "user1")) == 3


def test_duration_from_name_and_text_file(mfud, media, tmp_path):
    named = tmp_path / "234_清平乐·村居.mp3"
    shutil.copy(media["mp3"], named)
    text = tmp_path / "t.txt"
    text.write_text(TEXT, encoding="utf-8")
    out = mfu("put", "--server", mfud.url, "--user", "u", "--text-file", text,
              "--duration-from-name", "--audios", named, "--json")
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    assert rec["text"] == TEXT
    assert rec["audios"][0]["name"] == "清平乐·村居.mp3"
    assert rec["audios"][0]["duration"] == 234
    # A name without the prefix is refused before anything is sent.
    out = mfu("put", "--server", mfud.url, "--user", "u",
              "--duration-from-name", "--audios", media["mp3"])
    assert out.returncode == 2 and "234_name" in out.stderr
    # Without a duration the server probes one (3 s of sine).
    out = mfu("put", "--server", mfud.url, "--user", "u", "--json",
              "--audios", media["mp3"])
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["audios"][0]["duration"] == 3


def test_idempotency_key_flag_repeats_the_first_item(mfud, media):
    args = ("put", "--server", mfud.url, "--user", "rep", "--text", "t",
            "--images", media["png"], "--idempotency-key", "nightly-42")
    first, again = mfu(*args), mfu(*args)
    assert first.returncode == 0 and again.returncode == 0, again.stderr
    assert first.stdout == again.stdout
    assert [i["id"] for i in items_of(mfud, "rep")] == [first.stdout.strip()]
    out = mfu(*args[:-1], "bad key\x01")
    assert out.returncode == 2


def test_rejection_is_exit_4_with_server_detail(mfud_factory, media):
    m = mfud_factory("--max-file=10K")
    out = mfu("put", "--server", m.url, "--user", "u", "--videos",
              media["mp4"], env=clean_env(MFU_RETRY_DELAY=10))
    assert out.returncode == 4, (out.returncode, out.stderr)
    assert "HTTP 413" in out.stderr and "file-too-large" in out.stderr
    assert "清平乐·村居.mp4" in out.stderr       # the server's detail
    assert out.stdout == ""
    assert_nothing_stored(m)


def test_unreadable_file_exit_3_before_any_byte(mfud, media, tmp_path):
    # A listener that records whether anybody connected at all.
    spy = socket.socket()
    spy.bind(("127.0.0.1", 0))
    spy.listen(4)
    spy.setblocking(False)
    spy_url = f"http://127.0.0.1:{spy.getsockname()[1]}"
    missing = tmp_path / "gone.mp3"
    for server in (mfud.url, spy_url):
        for bad in (missing, tmp_path):       # absent; a directory
            out = mfu("put", "--server", server, "--user", "u", "--text", "t",
                      "--images", media["png"], "--audios", media["mp3"], bad)
            assert out.returncode == 3, (out.returncode, out.stderr)
            assert str(bad) in out.stderr
    try:
        spy.accept()
        connected = True
    except BlockingIOError:
        connected = False
    spy.close()
    assert not connected, "mfu connected before checking its files"
    assert_nothing_stored(mfud)
    assert items_of(mfud, "u") == []


def test_1gib_upload_memory_flat_on_both_sides(mfud, media, tmp_path):
    path = padded_mp4(media, tmp_path / "big.mp4", GIB)
    # GNU time, not wait4() here: a child of this process would count our
    # own pages in its peak (Linux keeps the high-water mark across exec).
    peak_file = tmp_path / "peak"
    with open(tmp_path / "out", "w") as so, open(tmp_path / "err", "w") as se:
        rc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(peak_file),
                             MFU, "put", "--server", mfud.url, "--user", "big",
                             "--videos", str(path), "--json"],
                            stdout=so, stderr=se, env=clean_env(),
                            timeout=600).returncode
    err = (tmp_path / "err").read_text()
    assert rc == 0, err
    assert "\r" not in err and "%" not in err   # no bar into a file
    client_peak = int(peak_file.read_text().split()[-1])   # KiB
    server_peak = mfud.rss_peak_kib()
    print(f"1 GiB upload: client peak RSS {client_peak} KiB, "
          f"server {server_peak} KiB")
    assert client_peak < RSS_LIMIT_KIB, f"client peak RSS {client_peak} KiB"
    assert server_peak < RSS_LIMIT_KIB, f"server peak RSS {server_peak} KiB"
    rec = json.loads((tmp_path / "out").read_text())
    assert rec["videos"][0]["size"] == GIB
    assert rec["videos"][0]["sha256"] == sha256_file(path)


# ---- get, ls, rm, fetch ----------------------------------------------------

def test_get_ls_rm(mfud, media):
    env = clean_env(MFU_SERVER=mfud.url, MFU_USER="lister")
    ids = []
    for i in range(3):
        out = mfu("put", "--text", f"item {i}", "--images", media["png"],
                  env=env)
        assert out.returncode == 0, out.stderr
        ids.append(out.stdout.strip())
    newest_first = ids[::-1]

    out = mfu("get", ids[0], env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == requests.get(
        f"{mfud.url}/v1/items/{ids[0]}", timeout=10).json()

    out = mfu("ls", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert [r["id"] for r in json.loads(out.stdout)] == newest_first
    # --limit below the count, and paging across several server pages
    out = mfu("ls", "--json", "--limit", "2", env=env)
    assert [r["id"] for r in json.loads(out.stdout)] == newest_first[:2]
    out = mfu("ls", env=env)
    lines = out.stdout.splitlines()
    assert [ln.split()[0] for ln in lines] == newest_first
    assert "1 images" in lines[0] and "item 2" in lines[0]
    # Flags win over the environment.
    out = mfu("ls", "--json", "--user", "nobody", env=env)
    assert out.returncode == 0 and json.loads(out.stdout) == []

    out = mfu("rm", ids[1], env=env)
    assert out.returncode == 0 and out.stdout == "", out.stderr
    out = mfu("get", ids[1], env=env)
    assert out.returncode == 4 and "HTTP 404" in out.stderr
    out = mfu("rm", ids[1], env=env)
    assert out.returncode == 4
    out = mfu("ls", "--json", env=env)
    assert [r["id"] for r in json.loads(out.stdout)] == [ids[2], ids[0]]


def test_fetch_item_and_file_with_resume(mfud, media, tmp_path):
    out = put_bundle(mfud, media, "--json")
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    env = clean_env(MFU_SERVER=mfud.url, MFU_USER="user1")

    out = mfu("fetch", rec["id"], "-o", tmp_path / "item", env=env)
    assert out.returncode == 0, out.stderr
    item = tmp_path / "item"
    assert (item / "text.txt").read_text(encoding="utf-8") == TEXT
    want = {"images": ["png", "jpeg"], "audios": ["mp3"] * 3,
            "videos": ["mp4"] * 2}
    for g, keys in want.items():
        for i, key in enumerate(keys):
            got = item / g / f"{i}-{rec[g][i]['name']}"
            assert got.read_bytes() == media[key].read_bytes(), got
    assert len(out.stdout.splitlines()) == 1 + 7
    # Default directory: ./ID
    out = mfu("fetch", rec["id"], env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / rec["id"] / "videos" / "1-清平乐·村居.mp4").exists()

    # One file by its address, resumed from a partial copy.
    v = rec["videos"][0]
    name = v["sha256"] + ".mp4"
    whole = media["mp4"].read_bytes()
    part = tmp_path / name
    part.write_bytes(whole[:1000])
    out = mfu("fetch", name, "--verbose", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert part.read_bytes() == whole
    assert "Range: bytes=1000-" in out.stderr and " 206 " in out.stderr
    # A complete file is left as it is.
    out = mfu("fetch", name, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert part.read_bytes() == whole
    # A longer file is not a prefix: written again from the start.
    part.write_bytes(whole + b"junk")
    out = mfu("fetch", name, "-o", part, env=env)
    assert out.returncode == 0, out.stderr
    assert part.read_bytes() == whole
    # Unknown file: 404, no empty file left behind.
    out = mfu("fetch", "0" * 64 + ".mp4", env=env, cwd=tmp_path)
    assert out.returncode == 4, out.stderr
    assert not (tmp_path / ("0" * 64 + ".mp4")).exists()


# ---- retries ---------------------------------------------------------------

def test_server_down_retries_then_exit_5(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    out = mfu("put", "--server", url, "--user", "u", "--text", "t",
              "--retries", "2", "--retry-delay", "100", "--verbose")
    elapsed = time.monotonic() - t0
    assert out.returncode == 5, (out.returncode, out.stderr)
    assert f"cannot reach the server at {url}" in out.stderr
    assert "after 3 attempts" in out.stderr
    assert out.stderr.count("retrying in") == 2
    assert elapsed >= 0.15    # pauses of at least 50 and 100 ms
    # The environment sets the same knobs.
    out = mfu("ls", "--server", url, env=clean_env(MFU_RETRIES=0))
    assert out.returncode == 5 and "after 1 attempt)" in out.stderr


class Scripted(http.server.ThreadingHTTPServer):
    """A stand-in server answering from a list of (status, body) and
    recording every request's method, path and headers."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.seen = []
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class ScriptedHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n) if n else b""
        srv = self.server
        srv.seen.append((self.command, self.path, dict(self.headers), body))
        status, out = srv.answers.pop(0) if len(srv.answers) > 1 \
            else srv.answers[0]
        data = json.dumps(out).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/problem+json"
                         if status >= 400 else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = answer


def problem(status, code, detail):
    return status, {"type": f"/errors/{code}", "title": code, "status": status,
                    "detail": detail, "code": code}


def test_503_is_retried_with_one_key_then_exit_5(media):
    srv = Scripted([problem(503, "store-unavailable", "store is down")])
    try:
        out = mfu("put", "--server", srv.url, "--user", "u", "--text", "t",
                  "--images", media["png"], "--retries", "3",
                  "--retry-delay", "20")
    finally:
        srv.shutdown()
    assert out.returncode == 5, (out.returncode, out.stderr)
    assert "HTTP 503" in out.stderr and "store is down" in out.stderr
    assert len(srv.seen) == 4
    keys = {h["Idempotency-Key"] for _, _, h, _ in srv.seen}
    assert len(keys) == 1 and re.fullmatch(r"[0-9a-f]{32}", keys.pop())
    # Every attempt sent the whole body again.
    assert len({len(b) for *_, b in srv.seen}) == 1
    assert media["png"].read_bytes() in srv.seen[-1][3]


def test_4xx_is_not_retried_and_auth_headers(media):
    srv = Scripted([problem(401, "unauthorized", "bad token")])
    try:
        out = mfu("put", "--server", srv.url, "--token", "T0k", "--text", "t",
                  "--retry-delay", "10")
        tok_only = srv.seen[:]
        out2 = mfu("get", "6571d2a4c3f1e2b0a1000001", "--server", srv.url,
                   env=clean_env(MFU_TOKEN="T1", MFU_USER="u1"))
    finally:
        srv.shutdown()
    assert out.returncode == 4 and "bad token" in out.stderr
    assert "unauthorized" in out.stderr
    assert len(tok_only) == 1
    method, path, headers, _ = tok_only[0]
    assert method == "POST" and path == "/v1/items"   # no username
    assert headers["Authorization"] == "Bearer T0k"
    assert out2.returncode == 4
    assert srv.seen[-1][2]["Authorization"] == "Bearer T1"


class DropFirstAnswer:
    """A TCP proxy to mfud that, on its first connection, forwards the
    request but drops the answer: the item is created, the client sees the
    connection close.  Later connections pass both ways."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.heads = []
        self.dropped = threading.Event()
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            n = len(self.heads)
            self.heads.append(bytearray())
            threading.Thread(target=self.serve, args=(c, n),
                             daemon=True).start()

    def serve(self, c, n):
        up = socket.create_connection(("127.0.0.1", self.upstream))
        threading.Thread(target=self.pump_request, args=(c, up, n),
                         daemon=True).start()
        if n == 0:
            got = b""
            while not re.search(rb"HTTP/1\.1 (?!1\d\d)\d{3}", got):
                d = up.recv(65536)
                if not d:
                    break
                got += d
            c.shutdown(socket.SHUT_RDWR)
            c.close()
            up.close()
            self.dropped.set()
            return
        try:
            while True:
                d = up.recv(65536)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        c.close()
        up.close()

    def pump_request(self, c, up, n):
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                if len(self.heads[n]) < 4096:
                    self.heads[n] += d[:4096]
                up.sendall(d)
            up.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def keys(self):
        out = []
        for h in self.heads:
            m = re.search(rb"\r\nIdempotency-Key: ([^\r]+)\r\n", bytes(h))
            out.append(m.group(1).decode() if m else None)
        return out

    def close(self):
        self.sock.close()


def test_lost_answer_retry_creates_exactly_one_item(mfud, media):
    proxy = DropFirstAnswer(mfud.port)
    try:
        out = mfu("put", "--server", f"http://127.0.0.1:{proxy.port}",
                  "--user", "once", "--text", TEXT, "--images", media["png"],
                  "--retry-delay", "50", "--verbose", "--json")
    finally:
        proxy.close()
    assert proxy.dropped.is_set()
    assert out.returncode == 0, out.stderr
    assert "retrying in" in out.stderr
    rec = json.loads(out.stdout)
    keys = proxy.keys()
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys
    items = items_of(mfud, "once")
    assert [i["id"] for i in items] == [rec["id"]]
    assert rec == items[0]
    assert len(mfud.blobs()) == 1


# ---- the terminal ----------------------------------------------------------

def run_on_pty(args):
    """Run mfu with stderr on a pseudo-terminal; returns (rc, out, tty)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([MFU] + [str(a) for a in args], stdout=subprocess.PIPE,
                         stderr=slave, env=clean_env())
    os.close(slave)
    tty = b""
    deadline = time.time() + 120
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                d = os.read(master, 65536)
            except OSError:     # EIO: the other side is gone
                break
            if not d:
                break
            tty += d
        elif p.poll() is not None:
            break
    os.close(master)
    out = p.stdout.read()
    p.wait(timeout=30)
    return p.returncode, out, tty.decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_only(mfud, media, tmp_path):
    path = padded_mp4(media, tmp_path / "big.mp4", 256 * MIB)
    args = ["put", "--server", mfud.url, "--user", "bar", "--text", "t",
            "--videos", path]
    rc, out, tty = run_on_pty(args)
    assert rc == 0, tty
    assert re.fullmatch(rb"[0-9a-f]{24}\n", out)
    assert re.search(r"\[1/1\] big\.mp4 +\d+% \| total +\d+% \[[#> ]+\]", tty)
    assert "\r" in tty
    assert "total 100%" in tty and tty.endswith("\n")

    out = mfu(*args)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""          # nothing drawn into a pipe

    rc, out, tty = run_on_pty(args + ["--quiet"])
    assert rc == 0 and tty == ""


# ---- the command line, the man page, the library ---------------------------

def options_in(text):
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-[a-zA-Z])\b", text))


def test_help_matches_man_page_and_usage_errors():
    out = mfu("--help")
    assert out.returncode == 0 and out.stdout.startswith("Usage: mfu")
    with open(os.path.join(TOP, "docs", "mfu.1.scd"), encoding="utf-8") as f:
        man = f.read()
    opts = man.split("# OPTIONS")[1].split("# ENVIRONMENT")[0]
    man_opts = options_in(re.sub(r"\\", "", opts)) - {"--"}
    assert options_in(out.stdout.split("Options:")[1]) == man_opts
    for word in ("MFU_SERVER", "MFU_USER", "MFU_TOKEN", "MFU_RETRIES",
                 "MFU_RETRY_DELAY"):
        assert word in out.stdout and word in man
    for cmd in ("put", "get", "ls", "rm", "fetch"):
        assert re.search(rf"^\*{cmd}\*", man, re.M), cmd
        assert re.search(rf"^  {cmd}\b", out.stdout, re.M), cmd
    for code in "012345":
        assert f"\n*{code}*\n" in man

    out = mfu("--version")
    assert out.returncode == 0 and out.stdout.startswith("mfu 0.")
    for bad in (["--bogus", "ls"], ["frob"], ["put"], ["get"],
                ["put", "--images"], ["ls", "--limit", "x"],
                ["fetch", "not-an-id"], ["--server", "localhost:1", "ls"]):
        out = mfu(*bad)
        assert out.returncode == 2, (bad, out.stderr)
        assert out.stderr.startswith("mfu: "), (bad, out.stderr)


def test_installed_library_pkg_config_and_example(mfud, media, tmp_path):
    dest = tmp_path / "dest"
    out = subprocess.run(["meson", "install", "--no-rebuild", "--quiet",
                          "-C", BUILD, "--destdir", str(dest)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    files = {os.path.relpath(os.path.join(d, f), dest)
             for d, _, fs in os.walk(dest) for f in fs}
    pcs = [f for f in files if f.endswith("pkgconfig/mfu.pc")]
    assert len(pcs) == 1, sorted(files)
    for want in ("include/mfu/mfu.h", "libmfu.so.0", "libmfu.a",
                 "man/man1/mfu.1", "bin/mfu"):
        assert any(f.endswith(want) for f in files), (want, sorted(files))

    env = dict(os.environ, PKG_CONFIG_PATH=str(dest / os.path.dirname(pcs[0])),
               PKG_CONFIG_SYSROOT_DIR=str(dest))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "mfu"],
                           capture_output=True, text=True, env=env,
                           check=True).stdout.split()
    assert "-lmfu" in flags
    libdir = next(f[2:] for f in flags if f.startswith("-L"))
    exe = tmp_path / "upload"
    san = ["-fsanitize=address,undefined"] if SANITIZED else []
    cc = subprocess.run(["cc", "-std=c17", "-Wall", "-Wextra", "-Werror"]
                        + san + [os.path.join(TOP, "examples", "upload.c"),
                                 "-o", str(exe)] + flags,
                        capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    run = subprocess.run([str(exe), mfud.url, "example", TEXT,
                          f"12:{media['png']}", str(media["mp3"])],
                         capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, LD_LIBRARY_PATH=libdir))
    assert run.returncode == 0, run.stderr
    rec = json.loads(run.stdout)
    assert rec["text"] == TEXT and rec["username"] == "example"
    assert rec["images"][0]["duration"] == 12
    assert rec["audios"][0]["name"] == "清平乐·村居.mp3"
    assert [i["id"] for i in items_of(mfud, "example")] == [rec["id"]]
