"""mfud end to end on its embedded defaults: the seed's client unchanged,
curl -F, read-back, listing, delete, and the record field by field."""
import json
import os
import re
import shutil
import subprocess
import sys

import requests

from conftest import TOP, assert_nothing_stored, sha256_file

SEED = os.path.join(TOP, "tests", "seed", "client.py")
SHARED_SEED = os.path.join(TOP, "..", "shared", "seed")
TEXT = "最喜小儿无赖，溪头卧剥莲蓬。"


def seed_client_source():
    with open(SEED, encoding="utf-8") as f:
        src = f.read()
    # The committed copy must stay the tutorial's code, byte for byte.
    if os.path.isdir(SHARED_SEED):
        for name in os.listdir(SHARED_SEED):
            with open(os.path.join(SHARED_SEED, name), encoding="utf-8") as f:
                assert src in f.read(), "tests/seed/client.py differs from the seed"
    return src


def run_seed_client(m, media, tmp_path):
    """Run the seed's client as written.  It opens '~/Pictures/…' literally
    (open() does not expand ~), so the files go to ./~/Pictures under its
    working directory; the one change is the port, which tests pick free."""
    pics = tmp_path / "~" / "Pictures"
    pics.mkdir(parents=True)
    for key in ("png", "jpeg", "mp3", "mp4"):
        shutil.copy(media[key], pics / os.path.basename(media[key]))
    src = seed_client_source().replace("127.0.0.1:8134", f"127.0.0.1:{m.port}")
    script = tmp_path / "client.py"
    script.write_text(src, encoding="utf-8")
    out = subprocess.run(["/usr/bin/python3", str(script)], cwd=tmp_path,
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    # The client prints repr(res.content): b'{"id": ...}'
    body = eval(out.stdout.decode().strip())  # noqa: S307 - our own output
    return json.loads(body)


def test_seed_client_unchanged(mfud, media, tmp_path):
    rec = run_seed_client(mfud, media, tmp_path)
    assert re.fullmatch(r"[0-9a-f]{24}", rec["id"])
    assert rec["username"] == "user1"
    assert rec["text"] == TEXT
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rec["created_at"])
    assert [len(rec[g]) for g in ("images", "audios", "videos")] == [2, 3, 2]

    png, jpeg = rec["images"]
    assert png["name"] == "picture001.png" and png["duration"] == 123
    assert jpeg["name"] == "清平乐·村居.jpeg" and jpeg["duration"] == 338
    assert png["content_type"] == "image/png"
    assert jpeg["content_type"] == "image/jpeg"
    assert (png["width"], png["height"]) == (64, 48)
    for a in rec["audios"]:
        assert a["name"] == "清平乐·村居.mp3" and a["duration"] == 234
        # declared audio/mp3; the sniffed type is recorded
        assert a["content_type"] == "audio/mpeg"
        assert abs(a["duration_probed"] - 3.0) < 0.3
    for v in rec["videos"]:
        assert v["name"] == "清平乐·村居.mp4" and v["duration"] == 554
        assert v["content_type"] == "video/mp4"      # declared video/x-mpg
        assert (v["width"], v["height"]) == (320, 240)
    for group, key in (("images", "png"), ("audios", "mp3"), ("videos", "mp4")):
        assert rec[group][0]["sha256"] == sha256_file(media[key])
        assert rec[group][0]["size"] == os.path.getsize(media[key])
    for group in ("images", "audios", "videos"):
        for f in rec[group]:
            assert f["url"] == f"{mfud.url}/files/{f['sha256']}{os.path.splitext(f['name'])[1]}"

    # The same mp3 three times and the same mp4 twice are stored once each.
    assert len(mfud.blobs()) == 4
    assert mfud.tmp_files() == []

    # And the item was recorded: it reads back equal.
    got = requests.get(f"{mfud.url}/v1/items/{rec['id']}", timeout=10)
    assert got.status_code == 200 and got.json() == rec
    alias = requests.get(f"{mfud.url}/item_explain/{rec['id']}", timeout=10)
    assert alias.json() == rec


def test_curl_form(mfud, media):
    out = subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}",
         "-F", f"images=@{media['png']};filename=5_p.png",
         "-F", f"audios=@{media['mp3']}",
         "-F", f"videos=@{media['mp4']};type=video/x-mpg",
         "-F", f"text={TEXT}",
         f"{mfud.url}/v1/items?username=curl"],
        capture_output=True, timeout=60, check=True)
    body, code = out.stdout.decode().rsplit("\n", 1)
    assert code == "201", body
    rec = json.loads(body)
    assert rec["text"] == TEXT and rec["username"] == "curl"
    assert rec["images"][0]["name"] == "p.png"
    assert rec["images"][0]["duration"] == 5
    assert rec["images"][0]["duration_probed"] is None   # a still image
    assert rec["audios"][0]["name"] == "清平乐·村居.mp3"
    assert rec["audios"][0]["duration"] == 3             # probed, no prefix
    assert rec["videos"][0]["codec"] == "h264"


def upload(m, user="u", text="t", files=(), headers=None):
    """multipart/form-data always: text as a plain field, then the files."""
    parts = ([("text", (None, text))] if text is not None else []) + list(files)
    return requests.post(f"{m.url}/v1/items", params={"username": user},
                         files=parts, headers=headers, timeout=60)


def test_text_only_and_plain_text_field(mfud):
    r = upload(mfud, text=TEXT)
    assert r.status_code == 201, r.text
    assert r.json()["text"] == TEXT
    assert r.headers["Location"] == f"/v1/items/{r.json()['id']}"
    assert mfud.blobs() == []


def test_file_read_back(mfud, media):
    data = open(media["mp4"], "rb").read()
    r = upload(mfud, files=[("videos", ("v.mp4", data, "video/mp4"))])
    assert r.status_code == 201, r.text
    f = r.json()["videos"][0]
    url = f["url"]

    full = requests.get(url, timeout=10)
    assert full.status_code == 200 and full.content == data
    assert full.headers["Content-Type"] == "video/mp4"
    assert full.headers["X-Content-Type-Options"] == "nosniff"
    assert full.headers["ETag"] == f'"{f["sha256"]}"'
    assert full.headers["Accept-Ranges"] == "bytes"
    assert full.headers["Content-Disposition"].startswith("inline; filename=")

    head = requests.head(url, timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(data))

    part = requests.get(url, headers={"Range": "bytes=10-99"}, timeout=10)
    assert part.status_code == 206 and part.content == data[10:100]
    assert part.headers["Content-Range"] == f"bytes 10-99/{len(data)}"
    tail = requests.get(url, headers={"Range": "bytes=-16"}, timeout=10)
    assert tail.status_code == 206 and tail.content == data[-16:]
    bad = requests.get(url, headers={"Range": f"bytes={len(data)}-"}, timeout=10)
    assert bad.status_code == 416
    assert bad.headers["Content-Range"] == f"bytes */{len(data)}"

    cached = requests.get(url, headers={"If-None-Match": full.headers["ETag"]},
                          timeout=10)
    assert cached.status_code == 304 and cached.content == b""

    # without the extension too; an unknown hash is 404
    assert requests.get(f"{mfud.url}/files/{f['sha256']}", timeout=10).content == data
    r = requests.get(f"{mfud.url}/files/{'0' * 64}.mp4", timeout=10)
    assert r.status_code == 404


def test_list_and_paging(mfud):
    ids = [upload(mfud, user="pager", text=f"n{i}").json()["id"] for i in range(5)]
    upload(mfud, user="other", text="x")
    seen, after = [], None
    while True:
        params = {"username": "pager", "limit": 2}
        if after:
            params["after"] = after
        page = requests.get(f"{mfud.url}/v1/items", params=params, timeout=10).json()
        seen += [i["id"] for i in page["items"]]
        after = page["next"]
        if not after:
            break
    assert seen == ids[::-1]          # newest first, every item once
    bad = requests.get(f"{mfud.url}/v1/items", params={"username": "pager", "limit": 0},
                       timeout=10)
    assert bad.status_code == 400


def test_delete_removes_only_unreferenced_blobs(mfud, media):
    png = open(media["png"], "rb").read()
    jpg = open(media["jpeg"], "rb").read()
    a = upload(mfud, files=[("images", ("a.png", png, "image/png")),
                            ("images", ("b.jpeg", jpg, "image/jpeg"))]).json()
    b = upload(mfud, files=[("images", ("again.png", png, "image/png"))]).json()
    assert len(mfud.blobs()) == 2
    assert requests.delete(f"{mfud.url}/v1/items/{a['id']}", timeout=10).status_code == 204
    assert len(mfud.blobs()) == 1          # the png is still b's
    assert requests.get(a["images"][1]["url"], timeout=10).status_code == 404
    assert requests.get(b["images"][0]["url"], timeout=10).content == png
    assert requests.get(f"{mfud.url}/v1/items/{a['id']}", timeout=10).status_code == 404
    assert requests.delete(f"{mfud.url}/v1/items/{b['id']}", timeout=10).status_code == 204
    assert mfud.blobs() == []
    assert requests.delete(f"{mfud.url}/v1/items/{b['id']}", timeout=10).status_code == 404


def test_idempotency_key_returns_first_item(mfud, media):
    png = open(media["png"], "rb").read()
    h = {"Idempotency-Key": "k-123"}
    first = upload(mfud, files=[("images", ("a.png", png, "image/png"))], headers=h)
    again = upload(mfud, files=[("images", ("a.png", png, "image/png"))], headers=h)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    other_user = upload(mfud, user="someone", headers=h)
    assert other_user.status_code == 201
    listing = requests.get(f"{mfud.url}/v1/items", params={"username": "u"},
                           timeout=10).json()
    assert len(listing["items"]) == 1


def test_metrics_and_health(mfud):
    upload(mfud, text="x")
    upload(mfud, user="", text="x")                      # 400
    requests.get(f"{mfud.url}/nope", timeout=10)         # 404
    m = requests.get(f"{mfud.url}/metrics", timeout=10)
    assert m.status_code == 200
    assert m.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    lines = set(m.text.splitlines())
    assert "mfu_uploads_total 1" in lines
    assert "mfu_uploads_failed_total 0" in lines       # refused before the body
    assert 'mfu_http_requests_total{route="upload",status="2xx"} 1' in lines
    assert 'mfu_http_requests_total{route="upload",status="4xx"} 1' in lines
    assert 'mfu_http_requests_total{route="none",status="4xx"} 1' in lines
    assert 'mfu_upload_duration_seconds_bucket{le="+Inf"} 2' in lines
    assert "mfu_upload_duration_seconds_count 2" in lines
    assert "mfu_uploads_in_flight 0" in lines
    assert any(l.startswith("mfu_http_received_bytes_total ") for l in lines)
    h = requests.get(f"{mfud.url}/healthz", timeout=10).json()
    assert h == {"status": "ok", "store": "ok", "catalog": "ok"}


def test_help_and_version():
    from conftest import MFUD
    out = subprocess.run([MFUD, "--help"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and "--max-file" in out.stdout and "MFU_STORE" in out.stdout
    out = subprocess.run([MFUD, "--version"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and out.stdout.startswith("mfud ")
    out = subprocess.run([MFUD, "--bogus"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 2 and "unknown option" in out.stderr


def test_many_files_across_batches(mfud, media):
    """More files than a batch holds, some the same bytes in different
    batches: every one probed, each distinct blob stored once."""
    png = open(media["png"], "rb").read()
    files = [("images", ("p%03d.png" % i, png + b"tail %d" % (i % 45),
                         "image/png")) for i in range(100)]
    r = requests.post(mfud.url + "/v1/items", params={"username": "u"},
                      files=files, timeout=60)
    assert r.status_code == 201, r.text
    images = r.json()["images"]
    assert [f["name"] for f in images] == ["p%03d.png" % i for i in range(100)]
    assert all((f["width"], f["height"]) == (64, 48) for f in images)
    assert all(f["codec"] == "png" for f in images)
    assert len({f["sha256"] for f in images}) == 45
    assert len(mfud.blobs()) == 45
    requests.delete(mfud.url + "/v1/items/" + r.json()["id"], timeout=10)
    assert mfud.blobs() == []
