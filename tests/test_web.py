"""The web page, served by the real mfud, in Debian's headless chromium.

tests/web/e2e.mjs (playwright-core, nothing downloaded) chooses files,
uploads them in one request, watches the progress bars, lands on the item
view, plays the audio, checks that a hostile filename stays text, that a
server error reads as sentences, that the keyboard reaches every button,
and that the Content-Security-Policy is never violated.  Screenshots go to
$MFU_ARTIFACTS (default: the test's tmp dir).
"""
import os
import shutil
import subprocess

import requests

from conftest import TOP

WEB_TESTS = os.path.join(TOP, "tests", "web")
NODE = shutil.which("node") or "/usr/bin/node"


def ffmpeg(out, *args):
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel",
                    "error", "-y", *args, str(out)], check=True, timeout=60)


def make_media(d):
    ffmpeg(d / "t.png", "-f", "lavfi", "-i", "testsrc=size=320x240",
           "-frames:v", "1")
    ffmpeg(d / "t.mp3", "-f", "lavfi", "-i",
           "sine=frequency=440:duration=3")
    ffmpeg(d / "t.mp4", "-f", "lavfi", "-i",
           "testsrc=size=320x240:rate=25:duration=2", "-pix_fmt", "yuv420p")


def ensure_playwright():
    if not os.path.isdir(os.path.join(WEB_TESTS, "node_modules",
                                      "playwright-core")):
        subprocess.run(["npm", "ci", "--prefix", WEB_TESTS, "--no-audit",
                        "--no-fund"], check=True, timeout=300)


def test_pages_and_assets(mfud):
    """Every route of the page answers with its file and the CSP."""
    for path, marker in (("/", 'id="upload-form"'),
                         ("/items/6571d2a4c3f1e2b0a1000001", 'id="item"'),
                         ("/users/someone", 'id="items"')):
        r = requests.get(mfud.url + path, timeout=10)
        assert r.status_code == 200, (path, r.status_code)
        assert r.headers["Content-Type"].startswith("text/html"), path
        assert marker in r.text, path
        csp = r.headers.get("Content-Security-Policy", "")
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
    for name, ctype in (("app.css", "text/css"),
                        ("upload.js", "text/javascript"),
                        ("common.js", "text/javascript"),
                        ("favicon.svg", "image/svg+xml")):
        r = requests.get(f"{mfud.url}/static/{name}", timeout=10)
        assert r.status_code == 200, name
        assert r.headers["Content-Type"].startswith(ctype), name
        with open(os.path.join(TOP, "web", name), "rb") as f:
            assert r.content == f.read(), name
    for bad in ("nope.js", "..%2fmeson.build", "%2e%2e/README.md"):
        r = requests.get(f"{mfud.url}/static/{bad}", timeout=10)
        assert r.status_code == 404, bad


def test_browser(mfud, tmp_path):
    ensure_playwright()
    media = tmp_path / "media"
    media.mkdir()
    make_media(media)
    art = os.environ.get("MFU_ARTIFACTS") or str(tmp_path / "artifacts")
    env = dict(os.environ, MFU_URL=mfud.url, MFU_MEDIA=str(media),
               MFU_ARTIFACTS=art)
    p = subprocess.run([NODE, os.path.join(WEB_TESTS, "e2e.mjs")], env=env,
                       capture_output=True, text=True, timeout=240)
    print(p.stdout)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:] + \
        "\n--- mfud log ---\n" + mfud.read_log()[-3000:]
    assert "PASS" in p.stdout
    for shot in ("upload-desktop.png", "upload-phone.png",
                 "item-desktop.png", "item-phone.png", "error-desktop.png"):
        assert os.path.getsize(os.path.join(art, shot)) > 10000, shot


def test_page_csp_allows_public_url_origin(mfud_factory):
    m = mfud_factory("--public-url=https://cdn.example.com:8443/media/")
    csp = requests.get(m.url + "/", timeout=10).headers["Content-Security-Policy"]
    assert "img-src 'self' blob: data: https://cdn.example.com:8443;" in csp
    assert "media-src 'self' blob: https://cdn.example.com:8443;" in csp
    assert "script-src 'self';" in csp          # scripts stay our own
    evil = mfud_factory("--public-url=https://x.example.com;script-src *")
    csp = requests.get(evil.url + "/", timeout=10).headers["Content-Security-Policy"]
    assert "script-src *" not in csp


def test_browser_with_token_auth(mfud_factory, tmp_path):
    """--auth token: the page asks for a token, then uploads as its user."""
    ensure_playwright()
    m = mfud_factory("--auth=token")
    assert m.run("user", "add", "webtoken").returncode == 0
    out = m.run("token", "add", "webtoken")
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    media = tmp_path / "media"
    media.mkdir()
    make_media(media)
    env = dict(os.environ, MFU_URL=m.url, MFU_MEDIA=str(media), MFU_TOKEN=token,
               MFU_USER="webtoken")
    p = subprocess.run([NODE, os.path.join(WEB_TESTS, "token.mjs")], env=env,
                       capture_output=True, text=True, timeout=240)
    print(p.stdout)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    items = requests.get(m.url + "/v1/items", timeout=10,
                         headers={"Authorization": "Bearer " + token}).json()
    assert [i["username"] for i in items["items"]] == ["webtoken"]
