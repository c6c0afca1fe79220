#!/usr/bin/env python3
"""measure.py - the driver behind bench/server (which builds everything and
passes the paths).  Starts mfud and the three references side by side, makes
the media and the request bodies once, runs each workload on every server in
turn (A B C D A B C D ...: the machine is shared and noisy, so neighbours in
time are compared), checks that every server really stored what it was sent,
and prints medians and ratios.  Standard library only."""

import argparse
import glob
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

BOUNDARY = "----mfubenchQ3d9V7kXr2Lp8sYw"
MB = 1e6  # MB/s = 10^6 bytes per second
SLOT = 16  # bytes at the end of each file rewritten per round (see Body)
SERVERS = ("mfud", "nginx", "go", "tornado")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    end = time.time() + 15
    while time.time() < end:
        if proc.poll() is not None:
            sys.exit("bench/server: %s exited %s at start"
                     % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("bench/server: %s did not listen on %d" % (what, port))


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y"]
                   + list(args), check=True)


# ---------------------------------------------------------------- media

def make_media(d):
    """Real media, made once: random-pixel PNG/JPEG (incompressible, so of
    realistic size), an MP3 and an H.264 MP4.  Returns name -> path."""
    os.makedirs(d, exist_ok=True)
    raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-framerate", "25"]
    m = {k: os.path.join(d, v) for k, v in
         (("png", "picture001.png"), ("jpeg", "photo.jpeg"),
          ("mp3", "song.mp3"), ("mp4", "clip.mp4"), ("small", "small.png"))}
    if all(os.path.exists(p) for p in m.values()):
        return m
    ffmpeg(*raw, "-s", "720x680", "-i", "/dev/urandom", "-frames:v", "1",
           m["png"])                                        # ~1.4 MiB
    ffmpeg(*raw, "-s", "800x600", "-i", "/dev/urandom", "-frames:v", "1",
           "-pix_fmt", "yuvj420p", "-q:v", "2", m["jpeg"])  # ~400 KiB
    ffmpeg(*raw, "-s", "58x58", "-i", "/dev/urandom", "-frames:v", "500",
           os.path.join(d, "tiny%03d.png"))                 # 500 x ~10 KiB
    ffmpeg(*raw, "-s", "26x26", "-i", "/dev/urandom", "-frames:v", "1",
           m["small"])                                      # ~2 KiB
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:sample_rate=44100",
           "-t", "20", "-c:a", "libmp3lame", "-b:a", "128k", m["mp3"])
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
           "-t", "4", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
           "-movflags", "+faststart", m["mp4"])
    return m


# ---------------------------------------------------------------- bodies

class Body:
    """One prebuilt multipart body on disk, sent unchanged to every server.

    Each distinct file content ends with a SLOT-byte stamp past the end of
    its media data (after PNG's IEND, JPEG's EOI, the MP3 frames, the MP4
    atoms), rewritten before every round so that mfud, which stores equal
    bytes once, stores new bytes each round like the others do.  Copies of
    one content in a body (the seed sends one MP3 three times) share a
    stamp.  Zero padding is written as a hole (sparse), so the 1 GiB body
    costs no disk and reads at memory speed."""

    def __init__(self, path):
        self.path = path
        self.files = []   # (field, size) of every file part, in order
        self.stamps = []  # (offset, key) of every stamp slot
        self.f = open(path, "wb")

    def part(self, field, filename, ctype):
        h = '--%s\r\nContent-Disposition: form-data; name="%s"' % (
            BOUNDARY, field)
        if filename is not None:
            h += '; filename="%s"' % filename
        h += "\r\n"
        if ctype:
            h += "Content-Type: %s\r\n" % ctype
        self.f.write((h + "\r\n").encode())

    def text(self, field, filename, s):
        self.part(field, filename, None)
        self.f.write(s.encode() + b"\r\n")

    def file(self, field, filename, ctype, src, size=None, key=0):
        """src's bytes, zero-padded to size - SLOT, then the stamp."""
        self.part(field, filename, ctype)
        with open(src, "rb") as s:
            data = s.read()
        size = size or len(data) + SLOT
        self.f.write(data)
        self.f.seek(size - SLOT - len(data), os.SEEK_CUR)
        self.stamps.append((self.f.tell(), key))
        self.f.write(b"\0" * SLOT)
        self.f.write(b"\r\n")
        self.files.append((field, size))

    def close(self):
        self.f.write(("--%s--\r\n" % BOUNDARY).encode())
        self.f.close()
        self.size = os.path.getsize(self.path)

    def stamp(self, rnd):
        with open(self.path, "r+b") as f:
            for off, key in self.stamps:
                f.seek(off)
                f.write(b"%08x%08x" % (rnd, key))


def make_bodies(d, m):
    b = {}
    # (a) one 1 GiB video
    a = Body(os.path.join(d, "big.body"))
    a.file("videos", "554_big.mp4", "video/mp4", m["mp4"], 1 << 30)
    a.close()
    b["a"] = a
    # (b) the seed's request: 2 images, the same MP3 three times, the same
    # MP4 twice, the text as a file part; its names and declared types.
    s = Body(os.path.join(d, "seed.body"))
    s.file("images", "123_picture001.png", "image/png", m["png"], key=1)
    s.file("images", "338_清平乐·村居.jpeg", "image/jpeg", m["jpeg"], key=2)
    for _ in range(3):
        s.file("audios", "234_清平乐·村居.mp3", "audio/mp3", m["mp3"],
               4 << 20, key=3)
    for _ in range(2):
        s.file("videos", "554_清平乐·村居.mp4", "video/x-mpg", m["mp4"],
               30 << 20, key=4)
    s.text("text", "explain_text", "最喜小儿无赖，溪头卧剥莲蓬。")
    s.close()
    b["b"] = s
    # (c) 500 distinct ~10 KiB PNGs
    c = Body(os.path.join(d, "tiny.body"))
    for i in range(500):
        c.file("images", "1_tiny%03d.png" % (i + 1), "image/png",
               os.path.join(os.path.dirname(m["png"]),
                            "tiny%03d.png" % (i + 1)), key=i)
    c.close()
    b["c"] = c
    # (d) the wrk body: split around the stamp slot, wrk fills it in
    w = Body(os.path.join(d, "small.body"))
    w.file("images", "1_small.png", "image/png", m["small"])
    w.text("text", "explain_text", "最喜小儿无赖，溪头卧剥莲蓬。")
    w.close()
    with open(w.path, "rb") as f:
        raw = f.read()
    off = w.stamps[0][0]
    w.head, w.tail = w.path + ".head", w.path + ".tail"
    with open(w.head, "wb") as f:
        f.write(raw[:off])
    with open(w.tail, "wb") as f:
        f.write(raw[off + SLOT:])
    b["d"] = w
    return b


# ---------------------------------------------------------------- servers

def children(pid):
    out = []
    for t in glob.glob("/proc/%d/task/*/children" % pid):
        try:
            out += [int(x) for x in open(t).read().split()]
        except OSError:
            pass
    return out


def cpu_ticks(pid):
    try:
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except (OSError, IndexError):
        return 0


def hwm_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def reset_hwm(pid):
    # proc(5): writing 5 to clear_refs resets the peak RSS (VmHWM).
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


def walk(top, sizes):
    n = size = 0
    for dp, _, fs in os.walk(top):
        n += len(fs)
        if sizes:
            size += sum(os.path.getsize(os.path.join(dp, f)) for f in fs)
    return n, size


class Server:
    name = "?"

    def __init__(self, root):
        self.root = os.path.join(root, self.name)
        os.makedirs(self.root)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/item_explain?username=bench" % (
            self.port)
        self.log = open(os.path.join(self.root, "log"), "wb")

    def spawn(self, cmd):
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log,
                                     stdin=subprocess.DEVNULL)
        wait_port(self.port, self.proc, self.name)

    def pid(self):
        """The process whose memory is reported."""
        return self.proc.pid

    def procs(self):
        """The processes whose CPU time is counted."""
        return [self.pid()] + children(self.pid())

    def cpu(self):
        return sum(cpu_ticks(p) for p in self.procs())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def count(self, sizes=True):
        """(files, bytes) stored so far; bytes 0 unless sizes."""
        return walk(self.store, sizes)

    def check(self, body, resp, before, after):
        """Did the upload of body store every file?  Returns an error."""
        want = sum(s for _, s in body.files)
        if (after[0] - before[0], after[1] - before[1]) != (
                len(body.files), want):
            return "stored %d files, %d bytes; sent %d, %d" % (
                after[0] - before[0], after[1] - before[1], len(body.files),
                want)
        return None

    def clean(self):
        """Remove what was stored.  Only (a)'s few large files are removed
        during a run: on ext4 without a journal (this machine's /), every
        new inode skips the inodes deleted in the last minutes, reading
        each one's table block, so deleting thousands of small files slows
        every create that follows, for whichever server runs next (seen:
        5x fewer uploads/s in (d) after a round's files were removed)."""
        shutil.rmtree(self.store, ignore_errors=True)
        os.makedirs(self.store, exist_ok=True)


class Mfud(Server):
    name = "mfud"
    ok = (201,)

    def __init__(self, root, exe):
        super().__init__(root)
        self.store = os.path.join(self.root, "blobs")
        self.db = os.path.join(self.root, "mfu.db")
        self.spawn([exe, "--listen=127.0.0.1:%d" % self.port,
                    "--store=file://" + self.store,
                    "--catalog=sqlite://" + self.db, "--quiet"])

    def count(self, sizes=True):
        return walk(os.path.join(self.store, "sha256"), sizes)

    def check(self, body, resp, before, after):
        try:
            rec = json.loads(resp)
        except ValueError:
            return "not JSON: %r" % resp[:200]
        got = [(g, f["size"]) for g in ("images", "audios", "videos")
               for f in rec.get(g, [])]
        if sorted(got) != sorted(body.files):
            return "record lists %d files, sent %d" % (len(got),
                                                       len(body.files))
        distinct = {(f["sha256"], f["size"]) for g in
                    ("images", "audios", "videos") for f in rec[g]}
        new = (len(distinct), sum(s for _, s in distinct))
        if (after[0] - before[0], after[1] - before[1]) != new:
            return "%d new blobs of %d bytes, record has %d of %d" % (
                after[0] - before[0], after[1] - before[1], *new)
        self.last = rec["id"]
        return None

    def clean(self):
        """Delete the last item, so its blobs go (1 GiB each for (a))."""
        if getattr(self, "last", None):
            req = urllib.request.Request(
                "http://127.0.0.1:%d/v1/items/%s" % (self.port, self.last),
                method="DELETE")
            urllib.request.urlopen(req).read()
            self.last = None


class Nginx(Server):
    name = "nginx"
    ok = (201,)

    def __init__(self, root, template):
        super().__init__(root)
        self.store = os.path.join(self.root, "bodies")
        os.makedirs(os.path.join(self.root, "root"))
        # the static file the POST is refused on (405, answered as 201)
        open(os.path.join(self.root, "root", "item_explain"), "w").close()
        conf = open(template).read().replace("@PORT@", str(self.port))
        conf = conf.replace("@DIR@", self.root)
        path = os.path.join(self.root, "nginx.conf")
        open(path, "w").write(conf)
        self.spawn(["nginx", "-e", os.path.join(self.root, "error.log"),
                    "-p", self.root, "-c", path])

    def pid(self):
        kids = children(self.proc.pid)
        if len(kids) != 1:
            sys.exit("bench/server: nginx has %d workers" % len(kids))
        return kids[0]

    def procs(self):
        return [self.pid()]

    def check(self, body, resp, before, after):
        if (after[0] - before[0], after[1] - before[1]) != (1, body.size):
            return "stored %d files, %d bytes; sent one body of %d" % (
                after[0] - before[0], after[1] - before[1], body.size)
        return None

    def clean(self):
        for f in glob.glob(os.path.join(self.store, "*")):
            os.unlink(f)

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        super().stop()


class Go(Server):
    name = "go"
    ok = (201,)

    def __init__(self, root, exe):
        super().__init__(root)
        self.store = os.path.join(self.root, "files")
        os.makedirs(self.store)
        self.spawn([exe, "-listen", "127.0.0.1:%d" % self.port,
                    "-dir", self.store])


class Tornado(Server):
    name = "tornado"
    ok = (200,)  # the seed answers 200 "complete."

    def __init__(self, root, script):
        super().__init__(root)
        self.store = os.path.join(self.root, "files")
        os.makedirs(self.store)
        self.spawn(["/usr/bin/python3", script, str(self.port), self.store])


# ---------------------------------------------------------------- runs

def upload(srv, body, out):
    r = subprocess.run(
        ["curl", "-sS", "--max-time", "600", "-o", out,
         "-w", "%{http_code} %{time_total}", "-X", "POST", "-H", "Expect:",
         "-H", "Content-Type: multipart/form-data; boundary=" + BOUNDARY,
         "-T", body.path, srv.url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    code, secs = r.stdout.split() if r.returncode == 0 else ("000", "0")
    return int(code), float(secs), r.stderr.strip()


def one_upload(srv, body, tmp):
    """Upload body once; returns a measurement dict or exits on a fault."""
    before = srv.count()
    c0 = srv.cpu()
    reset_hwm(srv.pid())
    out = os.path.join(tmp, "resp")
    code, secs, err = upload(srv, body, out)
    resp = open(out, "rb").read().decode("utf-8", "replace") \
        if os.path.exists(out) else ""
    if code not in srv.ok:
        sys.exit("bench/server: %s answered %d %s %s" % (srv.name, code,
                                                         err, resp[:300]))
    hwm = hwm_kib(srv.pid())
    cpu = (srv.cpu() - c0) / os.sysconf("SC_CLK_TCK")
    bad = srv.check(body, resp, before, srv.count())
    if bad:
        sys.exit("bench/server: %s did not store the upload: %s" % (
            srv.name, bad))
    return {"rate": body.size / secs / MB, "secs": secs, "hwm": hwm,
            "cpu": cpu}


WRK_RE = re.compile(r"(\d+) requests in ([\d.]+)(m?s)")


def one_wrk(srv, body, lua, secs, rnd):
    before = srv.count(sizes=False)
    c0 = srv.cpu()
    reset_hwm(srv.pid())
    r = subprocess.run(
        ["wrk", "-t2", "-c64", "-d%ds" % secs, "--timeout", "10s",
         "-s", lua, srv.url, "--", body.head, body.tail, BOUNDARY,
         str(rnd)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    hwm = hwm_kib(srv.pid())
    cpu = (srv.cpu() - c0) / os.sysconf("SC_CLK_TCK")
    m = WRK_RE.search(r.stdout)
    if r.returncode or not m:
        sys.exit("bench/server: wrk on %s failed:\n%s" % (srv.name, r.stdout))
    n = int(m.group(1))
    took = float(m.group(2)) / (1000 if m.group(3) == "ms" else 1)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    bad = int(bad.group(1)) if bad else 0
    errs = re.search(r"Socket errors:.*", r.stdout)
    if bad or errs:
        sys.exit("bench/server: %s under wrk: %d failed answers, %s\n%s" % (
            srv.name, bad, errs.group(0) if errs else "", r.stdout))
    time.sleep(0.5)  # let the last requests wrk did not wait for finish
    stored = srv.count(sizes=False)[0] - before[0]
    if stored < n:
        sys.exit("bench/server: %s answered %d uploads but stored %d files"
                 % (srv.name, n, stored))
    return {"rate": n / took, "hwm": hwm, "cpu": cpu / max(n, 1) * 1000,
            "n": n}


# ---------------------------------------------------------------- report

TITLES = {
    "a": ("(a) one 1 GiB video", "MB/s"),
    "b": ("(b) seed mix, 7 files + text", "MB/s"),
    "c": ("(c) 500 x 10 KiB images", "MB/s"),
    "d": ("(d) 2 KiB image + text, wrk -c64", "uploads/s"),
}
TARGETS = {
    "a": "mfud >= 0.8x nginx, RSS < 32 MiB",
    "b": "mfud >= 1.5x Go",
    "c": "mfud >= 3x Go",
    "d": "mfud >= 1x Go",
}


def report(res, bodies, reps, dreps, secs):
    med = {(w, s): statistics.median(r["rate"] for r in rs)
           for (w, s), rs in res.items()}
    print()
    print("mfud (durable: fsyncs every blob and the catalog before it "
          "answers) beside")
    print("nginx (raw body to a file), Go net/http + MultipartReader, "
          "the seed's Tornado;")
    print("none of the references fsyncs.  Medians of %d rounds ((d): %d), "
          "servers alternated." % (reps, dreps))
    print()
    hdr = "%-34s %-9s %9s %9s %9s %9s   %7s %7s %7s" % (
        "workload", "unit", *SERVERS, "/nginx", "/Go", "/Tornado")
    print(hdr)
    print("-" * len(hdr))
    for w in "abcd":
        if (w, "mfud") not in med:
            continue
        title, unit = TITLES[w]
        m = med[(w, "mfud")]
        print("%-34s %-9s %9.1f %9.1f %9.1f %9.1f   %6.2fx %6.2fx %6.2fx" % (
            title, unit, *(med[(w, s)] for s in SERVERS),
            m / med[(w, "nginx")], m / med[(w, "go")],
            m / med[(w, "tornado")]))
        print("%-34s %-9s %9s %9s %9s %9s   target: %s" % (
            "", "peak RSS", *("%.1fM" % (max(r["hwm"] for r in
                                              res[(w, s)]) / 1024)
                              for s in SERVERS), TARGETS[w]))
        unit = "CPU ms/up" if w == "d" else "CPU s"
        print("%-34s %-9s %9s %9s %9s %9s" % (
            "", unit, *("%.2f" % statistics.median(r["cpu"] for r in
                                                   res[(w, s)])
                        for s in SERVERS)))
    print()
    for w in "abc":
        if w in bodies and (w, "mfud") in med:
            print("(%s) body %d bytes, %d files" % (w, bodies[w].size,
                                                    len(bodies[w].files)))
    print("MB/s = body bytes / curl time_total / 10^6; peak RSS = VmHWM "
          "(MiB), highest of the rounds,")
    print("reset before each upload; nginx: its one worker; mfud: without "
          "its mfu-probe workers,")
    print("whose CPU time is counted in mfud's.  CPU = user+system of the "
          "server, median.")
    print("(d) runs wrk -t2 -c64 for %d s per round on the same 2 cores; "
          "every body distinct." % secs)
    print("Tornado buffers whole bodies in memory; its limits are raised "
          "to 1.5 GiB for (a).")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--mfud", required=True)
    ap.add_argument("--go", required=True)
    ap.add_argument("--servers", required=True)  # bench/servers
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--only", default="abcd")
    o = ap.parse_args()

    log("making media and bodies...")
    media = make_media(os.path.join(o.tmp, "media"))
    bodies = make_bodies(o.tmp, media)
    srvs = []
    try:
        srvs.append(Mfud(o.tmp, o.mfud))
        srvs.append(Nginx(o.tmp, os.path.join(o.servers, "nginx.conf.in")))
        srvs.append(Go(o.tmp, o.go))
        srvs.append(Tornado(o.tmp, os.path.join(o.servers,
                                                "server_tornado.py")))
        res = {}
        rnd = 0
        for w in o.only:
            # (d) keeps every file it makes (see Server.clean): fewer rounds
            reps = min(o.reps, 3) if w == "d" else o.reps
            for rep in range(reps):
                rnd += 1
                if w != "d":
                    bodies[w].stamp(rnd)
                for srv in srvs:
                    if w == "a":
                        srv.clean()  # 1 GiB each; few inodes (see clean)
                    os.sync()  # start each run with no dirty pages
                    log("%s round %d/%d %s..." % (TITLES[w][0], rep + 1,
                                                  reps, srv.name))
                    if w == "d":
                        r = one_wrk(srv, bodies[w],
                                    os.path.join(o.servers, "upload.lua"),
                                    o.duration, rnd)
                    else:
                        r = one_upload(srv, bodies[w], o.tmp)
                    res.setdefault((w, srv.name), []).append(r)
                    log("  %.1f %s, peak RSS %.1f MiB" % (
                        r["rate"], TITLES[w][1], r["hwm"] / 1024))
        report(res, bodies, o.reps, min(o.reps, 3), o.duration)
    finally:
        for s in srvs:
            s.stop()


if __name__ == "__main__":
    main()
