"""Every request mfud refuses: a fitting 4xx, RFC 9457 problem JSON that
names the field, the file and the limit, nothing stored, still serving."""
import socket

import pytest
import requests

from conftest import assert_nothing_stored, assert_serving, problem


def post(m, files=None, data=None, params=None, headers=None, path="/v1/items"):
    p = {"username": "u"} if params is None else params
    return requests.post(m.url + path, params=p, files=files, data=data,
                         headers=headers, timeout=60)


def raw(m, head, body=b""):
    """Send bytes as they are; return (status, body) of the answer."""
    with socket.create_connection(("127.0.0.1", m.port), timeout=20) as s:
        s.sendall(head + body)
        chunks = []
        while True:
            c = s.recv(65536)
            if not c:
                break
            chunks.append(c)
    resp = b"".join(chunks)
    status = int(resp.split(b" ", 2)[1])
    return status, resp.split(b"\r\n\r\n", 1)[1]


def check(m, resp, status, code, field=None):
    body = problem(resp, status, code)
    if field:
        assert body.get("field") == field, body
    assert_nothing_stored(m)
    assert_serving(m)
    return body


def test_missing_username(mfud, media):
    r = post(mfud, files=[("images", ("a.png", open(media["png"], "rb")))], params={})
    check(mfud, r, 400, "bad-username", "username")


def test_malformed_username(mfud):
    r = post(mfud, files=[("text", (None, "x"))], params={"username": "../etc"})
    check(mfud, r, 400, "bad-username")


def test_unknown_field(mfud, media):
    r = post(mfud, files=[("images", ("a.png", open(media["png"], "rb"))),
                          ("documents", ("a.pdf", b"%PDF-1.4"))])
    body = check(mfud, r, 400, "unknown-field")
    assert "documents" in body["detail"]


def test_second_text(mfud):
    r = post(mfud, files=[("text", (None, "one")), ("text", (None, "two"))])
    check(mfud, r, 400, "duplicate-field", "text")


def test_file_part_without_filename(mfud, media):
    r = post(mfud, files=[("images", (None, open(media["png"], "rb").read()))])
    body = check(mfud, r, 400, "bad-filename", "images")
    assert body["index"] == 0


def test_text_not_utf8(mfud):
    r = post(mfud, files=[("text", (None, b"\xff\xfe bad"))])
    check(mfud, r, 400, "invalid-utf8", "text")


def test_filename_not_utf8(mfud, media):
    body = (b"--b\r\nContent-Disposition: form-data; name=\"images\"; "
            b"filename=\"\xff.png\"\r\n\r\n" + open(media["png"], "rb").read() +
            b"\r\n--b--\r\n")
    r = requests.post(mfud.url + "/v1/items?username=u", data=body, timeout=20,
                      headers={"Content-Type": "multipart/form-data; boundary=b"})
    check(mfud, r, 400, "invalid-utf8", "images")


def test_empty_upload(mfud):
    body = b"--b--\r\n"
    r = requests.post(mfud.url + "/v1/items?username=u", data=body, timeout=20,
                      headers={"Content-Type": "multipart/form-data; boundary=b"})
    check(mfud, r, 400, "empty-upload")


def test_not_multipart(mfud):
    r = requests.post(mfud.url + "/v1/items?username=u", json={"text": "x"}, timeout=20)
    check(mfud, r, 415, "unsupported-media-type")


def test_bad_boundary(mfud):
    r = requests.post(mfud.url + "/v1/items?username=u", data=b"x", timeout=20,
                      headers={"Content-Type": "multipart/form-data; boundary=" + "a" * 71})
    check(mfud, r, 400, "bad-boundary")


def test_truncated_body(mfud, media):
    body = (b"--b\r\nContent-Disposition: form-data; name=\"images\"; "
            b"filename=\"a.png\"\r\n\r\n" + open(media["png"], "rb").read())
    r = requests.post(mfud.url + "/v1/items?username=u", data=body, timeout=20,
                      headers={"Content-Type": "multipart/form-data; boundary=b"})
    check(mfud, r, 400, "truncated-body")


def test_malformed_part_headers(mfud):
    body = b"--b\r\nno colon here\r\n\r\nx\r\n--b--\r\n"
    r = requests.post(mfud.url + "/v1/items?username=u", data=body, timeout=20,
                      headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 400
    check(mfud, r, 400, None)


def test_file_too_large(mfud_factory, media):
    m = mfud_factory("--max-file=10K")
    big = open(media["mp4"], "rb").read()
    assert len(big) > 10240
    r = post(m, files=[("images", ("a.png", open(media["png"], "rb"))),
                       ("videos", ("清平乐.mp4", big, "video/mp4"))])
    body = check(m, r, 413, "file-too-large", "videos")
    assert body["limit"] == 10240 and body["index"] == 0
    assert "清平乐.mp4" in body["detail"] and "10240" in body["detail"]


def test_text_too_large(mfud_factory):
    m = mfud_factory("--max-text=100")
    r = post(m, files=[("text", (None, "x" * 101))])
    body = check(m, r, 413, "text-too-large", "text")
    assert body["limit"] == 100


def test_too_many_parts(mfud_factory, media):
    m = mfud_factory("--max-parts=3")
    png = open(media["png"], "rb").read()
    r = post(m, files=[("images", (f"{i}.png", png)) for i in range(5)])
    body = check(m, r, 413, "too-many-parts")
    assert body["limit"] == 3


def test_declared_body_too_large_answered_before_body(mfud_factory):
    m = mfud_factory("--max-body=1M")
    head = (f"POST /v1/items?username=u HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {10 << 30}\r\nExpect: 100-continue\r\n\r\n").encode()
    status, body = raw(m, head)          # no body sent at all
    assert status == 413
    assert b"body-too-large" in body
    assert_nothing_stored(m)
    assert_serving(m)


def test_chunked_body_over_limit_is_cut(mfud_factory, media):
    m = mfud_factory("--max-body=64K")

    def gen():
        yield b"--b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n"
        for _ in range(100):
            yield b"y" * 4096

    try:
        r = requests.post(m.url + "/v1/items?username=u", data=gen(), timeout=20,
                          headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert r.status_code == 413
    except requests.ConnectionError:
        pass                             # closed past the limit: also fine
    assert_nothing_stored(m)
    assert_serving(m)


@pytest.mark.parametrize("group,key", [("audios", "png"), ("images", "mp3"),
                                       ("videos", "mp3"), ("audios", "jpeg")])
def test_content_in_wrong_group(mfud, media, group, key):
    r = post(mfud, files=[(group, ("x." + key, open(media[key], "rb"),
                                   "audio/mpeg"))])
    body = check(mfud, r, 422, "content-mismatch", group)
    assert body["index"] == 0


def test_garbage_is_not_a_video(mfud):
    r = post(mfud, files=[("videos", ("v.mp4", b"\x00\x01garbage" * 1000, "video/mp4"))])
    check(mfud, r, 422, "content-mismatch", "videos")


def test_second_file_fails_first_is_removed(mfud, media):
    r = post(mfud, files=[("images", ("a.png", open(media["png"], "rb"))),
                          ("audios", ("a.mp3", open(media["mp3"], "rb"))),
                          ("audios", ("b.mp3", open(media["png"], "rb")))])
    body = check(mfud, r, 422, "content-mismatch", "audios")
    assert body["index"] == 1


def test_wrong_method(mfud):
    r = requests.put(mfud.url + "/v1/items/0123456789abcdef01234567", timeout=10)
    problem(r, 405, "method-not-allowed")
    assert r.headers["Allow"] == "GET, DELETE"
    r = requests.get(mfud.url + "/item_explain", timeout=10)
    problem(r, 405)
    assert r.headers["Allow"] == "POST"


def test_unknown_route_and_bad_ids(mfud):
    problem(requests.get(mfud.url + "/nope", timeout=10), 404, "not-found")
    problem(requests.get(mfud.url + "/v1/items/xyz", timeout=10), 404)
    problem(requests.get(mfud.url + "/v1/items/0123456789abcdef01234567", timeout=10), 404)
    problem(requests.get(mfud.url + "/files/../../etc/passwd", timeout=10), 404)
    problem(requests.get(mfud.url + "/files/" + "a" * 64 + ".x/y", timeout=10), 404)


def test_bad_idempotency_key(mfud):
    r = post(mfud, files=[("text", (None, "x"))],
             headers={"Idempotency-Key": "a" * 200})
    check(mfud, r, 400, "bad-request")


def many_pngs(png, n):
    """n distinct PNGs that decode: bytes after IEND are ignored."""
    return [("images", ("p%03d.png" % i, png + b"tail %d" % i, "image/png"))
            for i in range(n)]


# a PNG signature and header that sniff as image/png, then noise
BROKEN_PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x10"
              b"\x00\x00\x00\x10\x08\x02\x00\x00\x00" + bytes(range(256)) * 12)


def test_late_probe_failure_removes_earlier_batches(mfud, media):
    """Files are published and probed in batches while the body arrives;
    one that fails its probe after several batches takes them all back."""
    files = many_pngs(open(media["png"], "rb").read(), 70)
    files.append(("images", ("broken.png", BROKEN_PNG, "image/png")))
    r = post(mfud, files=files)
    body = check(mfud, r, 422, "content-mismatch", "images")
    assert body["index"] == 70 and "broken.png" in body["detail"]


def test_late_sniff_failure_removes_earlier_batches(mfud, media):
    """Refused mid-body while earlier batches are being published."""
    files = many_pngs(open(media["png"], "rb").read(), 70)
    files.append(("images", ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>',
                             "image/svg+xml")))
    files += many_pngs(open(media["png"], "rb").read(), 5)
    r = post(mfud, files=files)
    body = check(mfud, r, 415, "type-not-allowed", "images")
    assert body["index"] == 70
