"""Hostile requests, sent as raw bytes over sockets: the multipart and
HTTP framing tricks behind the CVEs of other parsers (Go CVE-2022-41725,
CVE-2023-24536; python-multipart CVE-2024-24762; Werkzeug CVE-2023-25577;
busboy CVE-2022-24434; libmicrohttpd CVE-2021-3466) and the edge cases of
RFC 2046, RFC 7578, RFC 9110 and RFC 9112.

Every case in REJECTED is refused with an exact status - RFC 9457 problem
JSON with its code where mfud answers, libmicrohttpd's own page where it
answers before mfud sees the request (code None), or a closed connection
(status None) - stores nothing, and leaves the server serving others.
Every case in ACCEPTED is an odd but valid request that must store exactly
what it says.  Slow clients are closed by --timeout while others are
served."""
import os
import socket
import sqlite3
import threading
import time

import pytest
import requests

from conftest import Mfud, assert_nothing_stored, assert_serving

B = b"b"
PNG = None          # filled from the media fixture
MP3 = None
EXE = (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" +
       b"\x00" * 44 + b"\x80\x00\x00\x00" + b"\x00" * 64 + b"PE\x00\x00" +
       b"\x4c\x01\x03\x00" + b"\x00" * 4000)
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 4000
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
       b'width="10" height="10"><script>alert(1)</script></svg>')
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b" " * 1000
ZIP = b"PK\x03\x04" + b"\x14\x00\x00\x00\x08\x00" + b"\x00" * 2000


# --- building requests -----------------------------------------------------

def part(disp, data=b"", extra=b""):
    return b"--b\r\nContent-Disposition: " + disp + b"\r\n" + extra + b"\r\n" + \
        data + b"\r\n"


def text_part(data):
    return part(b'form-data; name="text"', data)


def file_part(group, fname, data, ctype=b"application/octet-stream"):
    return part(b'form-data; name="' + group + b'"; filename="' + fname + b'"',
                data, b"Content-Type: " + ctype + b"\r\n")


END = b"--b--\r\n"


def req(body, ct=b"multipart/form-data; boundary=b",
        path=b"/v1/items?username=u", extra=b"", cl=True, method=b"POST",
        version=b"HTTP/1.1"):
    h = method + b" " + path + b" " + version + b"\r\nHost: mfu\r\n"
    if ct is not None:
        h += b"Content-Type: " + ct + b"\r\n"
    if cl:
        h += b"Content-Length: %d\r\n" % len(body)
    return h + extra + b"\r\n" + body


def chunked(body, size=b"%x"):
    return (size % len(body) if b"%" in size else size) + b"\r\n" + body + \
        b"\r\n0\r\n\r\n"


def lazy(fn):
    """A case whose bytes need the media files: built when run."""
    return fn


# --- talking ---------------------------------------------------------------

class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        import json
        return json.loads(self.body)


def read_response(s, deadline):
    buf = b""
    while b"\r\n\r\n" not in buf:
        if time.time() > deadline:
            raise AssertionError("no response in time")
        try:
            c = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            c = b""
        if not c:
            return None if not buf else _parse(buf, s, deadline)
        buf += c
    return _parse(buf, s, deadline)


def _parse(buf, s, deadline):
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        headers[k.strip().lower().decode()] = v.strip().decode("latin-1")
    n = int(headers.get("content-length", "0"))
    while len(body) < n and time.time() < deadline:
        try:
            c = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not c:
            break
        body += c
    return Resp(status, headers, body[:n])


def exchange(port, data, pieces=None, shut=False, timeout=30):
    """Send data (or the list pieces, one send each); return the first
    response, or None when the server closed without one."""
    deadline = time.time() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            for p in (pieces or [data]):
                s.sendall(p)
                if pieces:
                    time.sleep(0.005)
            if shut:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_response(s, deadline)


# --- the servers -----------------------------------------------------------

LIMITS = ["--max-file=1M", "--max-text=64K", "--max-body=32M", "--timeout=10"]


def start(root, args):
    os.makedirs(root, exist_ok=True)
    return Mfud(root, args).start()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    m = start(tmp_path_factory.mktemp("hostile"), LIMITS)
    yield m
    assert m.stop() == 0, m.read_log()[-3000:]


@pytest.fixture(scope="module")
def ok_srv(tmp_path_factory):
    m = start(tmp_path_factory.mktemp("accepted"), LIMITS)
    yield m
    assert m.stop() == 0, m.read_log()[-3000:]


@pytest.fixture(scope="module", autouse=True)
def media_bytes(media):
    global PNG, MP3
    PNG = open(media["png"], "rb").read()
    MP3 = open(media["mp3"], "rb").read()


# --- the rejected cases ----------------------------------------------------
# (id, bytes or a function returning them, status, code, send options)

TXT = text_part(b"hello")


def cases():
    c = []

    def add(name, data, status, code, **kw):
        c.append(pytest.param(data, status, code, kw, id=name))

    ok_body = TXT + END
    # HTTP framing: request smuggling (RFC 9112 sections 6.1, 6.3)
    add("cl-and-te", req(chunked(ok_body), cl=False,
        extra=b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n"),
        400, "bad-request")
    add("te-and-cl-zero", req(chunked(ok_body), cl=False,
        extra=b"Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"),
        400, "bad-request")
    add("two-cl-differ", req(ok_body, extra=b"Content-Length: 5\r\n"),
        400, "bad-request")
    add("two-cl-same", req(ok_body,
        extra=b"Content-Length: %d\r\n" % len(ok_body)), 400, "bad-request")
    add("cl-list", req(ok_body, cl=False,
        extra=b"Content-Length: %d, %d\r\n" % (len(ok_body), len(ok_body))),
        400, None)
    add("cl-not-a-number", req(ok_body, cl=False,
        extra=b"Content-Length: abc\r\n"), 400, None)
    add("cl-negative", req(ok_body, cl=False,
        extra=b"Content-Length: -1\r\n"), 400, None)
    add("cl-overflow", req(ok_body, cl=False,
        extra=b"Content-Length: 99999999999999999999999999\r\n"), 413, None)
    add("cl-huge-declared", req(b"", cl=False,
        extra=b"Content-Length: %d\r\n" % (1 << 40)), 413, "body-too-large")
    add("te-gzip", req(ok_body, cl=False,
        extra=b"Transfer-Encoding: gzip\r\n"), 400, "bad-request")
    add("te-gzip-chunked", req(chunked(ok_body), cl=False,
        extra=b"Transfer-Encoding: gzip, chunked\r\n"), 400, "bad-request")
    add("te-identity", req(ok_body, cl=False,
        extra=b"Transfer-Encoding: identity\r\n"), 400, "bad-request")
    add("te-twice", req(chunked(ok_body), cl=False,
        extra=b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
        400, "bad-request")
    add("te-with-space-name", req(chunked(ok_body), cl=False,
        extra=b"Transfer-Encoding : chunked\r\n"), 400, "bad-request")
    add("chunk-size-junk", req(b"zz\r\n" + ok_body + b"\r\n0\r\n\r\n",
        cl=False, extra=b"Transfer-Encoding: chunked\r\n"), 400, None)
    add("chunk-size-overflow", req(b"fffffffffffffffffffff\r\n" + ok_body,
        cl=False, extra=b"Transfer-Encoding: chunked\r\n"), 413, None)
    add("chunk-size-negative", req(b"-5\r\n" + ok_body + b"\r\n0\r\n\r\n",
        cl=False, extra=b"Transfer-Encoding: chunked\r\n"), 400, None)
    add("chunked-no-last-chunk", req(b"%x\r\n" % len(ok_body) + ok_body +
        b"\r\n", cl=False, extra=b"Transfer-Encoding: chunked\r\n"),
        None, None, shut=True)
    add("chunk-longer-than-sent", req(b"ffff\r\n" + ok_body, cl=False,
        extra=b"Transfer-Encoding: chunked\r\n"), None, None, shut=True)
    add("short-body-then-close", req(ok_body, cl=False,
        extra=b"Content-Length: 100000\r\n"), None, None, shut=True)
    add("space-before-colon", req(ok_body, cl=False,
        extra=b"Content-Length : %d\r\n" % len(ok_body)), 400, "bad-request")
    add("ctl-in-field-name", req(ok_body, extra=b"X-\x01: a\r\n"),
        400, "bad-request")
    add("no-host", req(ok_body).replace(b"Host: mfu\r\n", b""),
        400, "bad-request")
    add("http-2-0", req(ok_body, version=b"HTTP/2.0"), 505, None)
    add("tls-hello", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" +
        b"\x00" * 64, None, None, shut=True)
    # request heads too large (431, 414)
    add("header-20k", req(ok_body, extra=b"X-Big: " + b"a" * 20000 + b"\r\n"),
        431, "headers-too-large")
    add("headers-2000", req(ok_body, extra=b"".join(
        b"X-%d: a\r\n" % i for i in range(2000))), 431, "headers-too-large")
    add("header-300k", req(ok_body,
        extra=b"X-Big: " + b"a" * 300000 + b"\r\n"), 431, None)
    add("headers-10k", req(ok_body, extra=b"".join(
        b"X-%d: a\r\n" % i for i in range(10000))), 431, None)
    add("query-10k", req(ok_body, path=b"/v1/items?username=u&x=" +
        b"a" * 10000), 414, "query-too-long")
    add("query-many-args", req(ok_body, path=b"/v1/items?username=u&" +
        b"&".join(b"a%d=1" % i for i in range(2000))), 414, "query-too-long")
    add("url-300k", req(ok_body, path=b"/v1/items?x=" + b"a" * 300000),
        414, None)
    # usernames (--auth none)
    add("username-missing", req(ok_body, path=b"/v1/items"),
        400, "bad-username")
    add("username-traversal", req(ok_body,
        path=b"/v1/items?username=../../etc"), 400, "bad-username")
    add("username-too-long", req(ok_body,
        path=b"/v1/items?username=" + b"u" * 65), 400, "bad-username")
    add("username-nul", req(ok_body, path=b"/v1/items?username=u%00x"),
        400, "bad-request")
    add("username-utf8", req(ok_body,
        path=b"/v1/items?username=%E7%94%A8"), 400, "bad-username")
    # routes
    add("put-on-list", req(ok_body, method=b"PUT"), 405,
        "method-not-allowed")
    add("traversal-in-path", req(b"", method=b"GET", ct=None, cl=False,
        path=b"/files/../../etc/passwd"), 404, "not-found")
    add("nul-in-item-id", req(b"", method=b"GET", ct=None, cl=False,
        path=b"/v1/items/%00"), 404, "not-found")
    # Content-Type of the request
    add("json-body", req(b'{"text":"x"}', ct=b"application/json"),
        415, "unsupported-media-type")
    add("multipart-mixed", req(ok_body, ct=b"multipart/mixed; boundary=b"),
        415, "unsupported-media-type")
    add("no-content-type", req(ok_body, ct=None), 415,
        "unsupported-media-type")
    add("no-boundary", req(ok_body, ct=b"multipart/form-data"),
        400, "bad-boundary")
    add("empty-boundary", req(ok_body, ct=b"multipart/form-data; boundary="),
        400, "bad-boundary")
    add("boundary-71", req(ok_body, ct=b"multipart/form-data; boundary=" +
        b"a" * 71), 400, "bad-boundary")
    add("boundary-bad-char", req(ok_body,
        ct=b'multipart/form-data; boundary="a@b"'), 400, "bad-boundary")
    add("boundary-twice", req(ok_body,
        ct=b"multipart/form-data; boundary=b; boundary=c"), 400,
        "bad-boundary")
    add("boundary-trailing-space", req(ok_body,
        ct=b'multipart/form-data; boundary="b "'), 400, "bad-boundary")
    # the multipart body (RFC 2046 section 5.1, RFC 7578)
    add("no-final-boundary", req(TXT), 400, "truncated-body")
    add("no-delimiter-at-all", req(b"just some bytes\r\n"), 400,
        "truncated-body")
    add("empty-body", req(b""), 400, "truncated-body")
    add("only-close-delimiter", req(END), 400, "empty-upload")
    add("lf-only", req(b'--b\nContent-Disposition: form-data; name="text"'
        b"\n\nhello\n--b--\n"), 400, "malformed-multipart")
    add("boundary-prefix-in-data", req(text_part(b"x\r\n--bX") + END), 400,
        "malformed-multipart")
    add("no-disposition", req(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n"
        + END), 400, "bad-content-disposition")
    add("disposition-attachment", req(part(b'attachment; name="text"',
        b"x") + END), 400, "bad-content-disposition")
    add("disposition-no-name", req(part(b"form-data", b"x") + END), 400,
        "bad-content-disposition")
    add("name-twice", req(part(b'form-data; name="text"; name="images"',
        b"x") + END), 400, "bad-content-disposition")
    add("filename-twice", req(part(b'form-data; name="images"; '
        b'filename="a.png"; filename="b.exe"', b"x") + END), 400,
        "bad-content-disposition")
    add("disposition-twice", req(b'--b\r\nContent-Disposition: form-data; '
        b'name="text"\r\nContent-Disposition: form-data; name="images"\r\n'
        b"\r\nx\r\n" + END), 400, "bad-content-disposition")
    add("content-type-twice", req(part(b'form-data; name="text"', b"x",
        b"Content-Type: text/plain\r\nContent-Type: image/png\r\n") + END),
        400, "malformed-multipart")
    add("part-obs-fold", req(b'--b\r\nContent-Disposition: form-data;\r\n'
        b' name="text"\r\n\r\nx\r\n' + END), 400, "malformed-multipart")
    add("part-header-ctl", req(part(b'form-data; name="te\x01xt"', b"x") +
        END), 400, "malformed-multipart")
    add("part-space-before-colon", req(b'--b\r\nContent-Disposition : '
        b'form-data; name="text"\r\n\r\nx\r\n' + END), 400,
        "malformed-multipart")
    add("part-header-9k", req(part(b'form-data; name="text"', b"x",
        b"X-Pad: " + b"a" * 9000 + b"\r\n") + END), 431,
        "part-header-too-large")
    add("part-headers-10k", req(part(b'form-data; name="text"', b"x",
        b"".join(b"X-%d: a\r\n" % i for i in range(10000))) + END), 431,
        "too-many-part-headers")
    add("parts-100k-empty", req(b"--b\r\n\r\n\r\n" * 100000 + END), 400,
        "bad-content-disposition")
    add("parts-100k-unnamed", req(part(b'form-data; name=""') * 100000 +
        END), 400, "unknown-field")
    add("unknown-field", req(part(b'form-data; name="documents"; '
        b'filename="a.pdf"', PDF) + END), 400, "unknown-field")
    add("text-twice", req(TXT + TXT + END), 400, "duplicate-field")
    add("file-without-filename", req(part(b'form-data; name="images"',
        b"x") + END), 400, "bad-filename")
    add("filename-empty", req(part(b'form-data; name="images"; filename=""',
        b"x") + END), 400, "bad-filename")
    add("filename-dots", req(part(b'form-data; name="images"; '
        b'filename="..."', b"x") + END), 400, "bad-filename")
    add("filename-slashes-only", req(part(b'form-data; name="images"; '
        b'filename="../../"', b"x") + END), 400, "bad-filename")
    add("filename-bad-utf8", req(part(b'form-data; name="images"; '
        b'filename="\xff\xfe.png"', b"x") + END), 400, "invalid-utf8")
    add("filename-overlong-utf8", req(part(b'form-data; name="images"; '
        b'filename="\xc0\xae\xc0\xae.png"', b"x") + END), 400,
        "invalid-utf8")
    add("filename-star-latin1", req(part(b'form-data; name="images"; '
        b"filename*=ISO-8859-1''%E9.png", b"x") + END), 400, "bad-encoding")
    add("filename-star-nul", req(part(b'form-data; name="images"; '
        b"filename*=UTF-8''a%00.png", b"x") + END), 400, "bad-encoding")
    add("filename-star-overlong", req(part(b'form-data; name="images"; '
        b"filename*=UTF-8''%C0%AF%C0%AFetc.png", b"x") + END), 400,
        "bad-encoding")
    add("filename-star-bad-percent", req(part(b'form-data; name="images"; '
        b"filename*=UTF-8''a%G1.png", b"x") + END), 400, "bad-encoding")
    add("filename-star-quoted", req(part(b'form-data; name="images"; '
        b"filename*=\"UTF-8''a.png\"", b"x") + END), 400, "bad-encoding")
    add("filename-star-surrogate", req(part(b'form-data; name="images"; '
        b"filename*=UTF-8''%ED%A0%80.png", b"x") + END), 400,
        "bad-encoding")
    add("filename-star-twice", req(part(b'form-data; name="images"; '
        b"filename*=UTF-8''a.png; filename*=UTF-8''b.exe", b"x") + END),
        400, "bad-content-disposition")
    add("unterminated-quote", req(part(b'form-data; name="images"; '
        b'filename="a.png', b"x") + END), 400, "bad-encoding")
    add("text-bad-utf8", req(text_part(b"\xff\xfe") + END), 400,
        "invalid-utf8")
    add("text-overlong", req(text_part(b"\xc0\xaf") + END), 400,
        "invalid-utf8")
    add("text-surrogate", req(text_part(b"\xed\xa0\x80") + END), 400,
        "invalid-utf8")
    add("text-above-u10ffff", req(text_part(b"\xf4\x90\x80\x80") + END), 400,
        "invalid-utf8")
    add("text-nul", req(text_part(b"a\x00b") + END), 400, "invalid-utf8")
    add("text-too-large", req(text_part(b"t" * (64 * 1024 + 1)) + END), 413,
        "text-too-large")
    # content-type lies: the sniffed type decides (RFC 7578 section 4.4
    # makes the declared type a hint)
    add("png-as-mp3-in-audios", lazy(lambda: req(file_part(b"audios",
        b"1_a.mp3", PNG, b"audio/mpeg") + END)), 422, "content-mismatch")
    add("exe-as-png-in-images", req(file_part(b"images", b"a.png", EXE,
        b"image/png") + END), 422, "content-mismatch")
    add("elf-in-videos", req(file_part(b"videos", b"v.mp4", ELF,
        b"video/mp4") + END), 422, "content-mismatch")
    add("svg-in-images", req(file_part(b"images", b"a.svg", SVG,
        b"image/svg+xml") + END), 415, "type-not-allowed")
    add("html-as-png", req(file_part(b"images", b"a.png", HTML,
        b"image/png") + END), 422, "content-mismatch")
    add("pdf-in-videos", req(file_part(b"videos", b"a.mp4", PDF,
        b"video/mp4") + END), 422, "content-mismatch")
    add("zip-in-audios", req(file_part(b"audios", b"a.mp3", ZIP,
        b"audio/mpeg") + END), 422, "content-mismatch")
    add("nested-multipart-mixed", req(file_part(b"images", b"a.png",
        b"--inner\r\nContent-Type: image/png\r\n\r\nx\r\n--inner--",
        b"multipart/mixed; boundary=inner") + END), 422, "content-mismatch")
    add("png-header-only", lazy(lambda: req(file_part(b"images", b"a.png",
        PNG[:40], b"image/png") + END)), 422, "content-mismatch")
    add("png-then-exe-second-fails", lazy(lambda: req(file_part(
        b"images", b"a.png", PNG, b"image/png") + file_part(b"images",
        b"b.png", EXE, b"image/png") + END)), 422, "content-mismatch")
    add("file-too-large", lazy(lambda: req(file_part(b"images", b"a.png",
        PNG + b"\x00" * (1 << 20), b"image/png") + END)), 413,
        "file-too-large")
    add("idempotency-key-long", req(ok_body,
        extra=b"Idempotency-Key: " + b"k" * 200 + b"\r\n"), 400,
        "bad-request")
    add("idempotency-key-space", req(ok_body,
        extra=b"Idempotency-Key: a b\r\n"), 400, "bad-request")
    return c


@pytest.mark.parametrize("data,status,code,kw", cases())
def test_rejected(srv, data, status, code, kw):
    if callable(data):
        data = data()
    r = exchange(srv.port, data, **kw)
    if status is None:
        assert r is None, (r.status, r.body[:300])
    else:
        assert r is not None, "closed without an answer"
        assert r.status == status, (r.status, r.body[:300])
        if code is not None:
            assert r.headers["content-type"] == "application/problem+json"
            body = r.json()
            assert body["code"] == code and body["status"] == status, body
            assert body["detail"]
    assert_nothing_stored(srv)
    assert_serving(srv)


def test_case_count():
    assert len(cases()) + len(ACCEPTED) >= 80


# --- odd but valid -----------------------------------------------------------

def files_of(rec):
    return [(f["name"], f["sha256"]) for g in ("images", "audios", "videos")
            for f in rec[g]]


def a_preamble(): return req(b"preamble to skip\r\n" + TXT + END +
                             b"epilogue\r\n--b\r\ngarbage")
def a_boundary70():
    bd = b"x" * 70
    return req(TXT.replace(b"--b", b"--" + bd) + b"--" + bd + b"--\r\n",
               ct=b"multipart/form-data; boundary=" + bd)
def a_quoted():
    bd = b"a b'()+_,-./:=?c"
    return req(TXT.replace(b"--b", b"--" + bd) + b"--" + bd + b"--\r\n",
               ct=b'Multipart/Form-Data; charset=utf-8; BOUNDARY="' + bd +
               b'"')
def a_padding(): return req(TXT.replace(b"--b\r\n", b"--b \t \r\n") +
                            b"--b--  \r\n")
def a_embedded(): return req(text_part(b"--b inside, \r\n--c and \r--b") +
                             END)
def a_star(): return req(file_part(b"images", b"x.png", PNG, b"image/png")
                         .replace(b'filename="x.png"',
                                  b"filename*=UTF-8''3_%E6%B8%85%E5%B9%B3"
                                  b"%E4%B9%90.png; filename=\"x.png\"") + END)
def a_traversal(): return req(file_part(b"images", b"../../etc/passwd.png",
                                        PNG, b"image/png") + END)
def a_windows(): return req(file_part(b"images", b"C:\\\\x\\\\y.png", PNG,
                                      b"image/png") + END)
def a_bidi(): return req(file_part(b"images",
                                   b"a\xe2\x80\xaegnp.exe", PNG) + END)
def a_fold(): return req(TXT + END, extra=b"X-Folded: a\r\n b\r\n")
def a_chunked(): return req(chunked(TXT + END), cl=False,
                            extra=b"Transfer-Encoding: chunked\r\n")
def a_http10(): return req(TXT + END, version=b"HTTP/1.0")
def a_lying_type(): return req(file_part(b"audios", b"a.png", MP3,
                                         b"image/png") + END)
def a_unquoted(): return req(part(b"form-data; name=images; filename=a.png",
                                  PNG) + END)


ACCEPTED = [
    ("preamble-epilogue", a_preamble, None, "hello", []),
    ("boundary-70", a_boundary70, None, "hello", []),
    ("boundary-quoted-odd-chars", a_quoted, None, "hello", []),
    ("transport-padding", a_padding, None, "hello", []),
    ("delimiter-lookalikes-in-data", a_embedded, None,
     "--b inside, \r\n--c and \r--b", []),
    ("filename-star-utf8-wins", a_star, None, "", ["清平乐.png"]),
    ("traversal-name-cleaned", a_traversal, None, "", ["passwd.png"]),
    ("windows-path-cleaned", a_windows, None, "", ["y.png"]),
    ("bidi-override-removed", a_bidi, None, "", ["agnp.exe"]),
    ("obs-fold-in-request-header", a_fold, None, "hello", []),
    ("chunked-body", a_chunked, None, "hello", []),
    ("http-1-0", a_http10, None, "hello", []),
    ("declared-type-ignored", a_lying_type, None, "", ["a.png"]),
    ("unquoted-params", a_unquoted, None, "", ["a.png"]),
    ("split-at-every-byte-near-delimiters", a_preamble, 1, "hello", []),
]


@pytest.mark.parametrize("build,split,text,names",
                         [pytest.param(*a[1:], id=a[0]) for a in ACCEPTED])
def test_accepted(ok_srv, build, split, text, names):
    data = build()
    pieces = None
    if split:
        pieces = [data[i:i + split] for i in range(0, len(data), split)]
    r = exchange(ok_srv.port, data, pieces=pieces)
    assert r is not None and r.status == 201, (r and r.status, r and r.body)
    rec = r.json()
    assert rec["text"] == text
    assert [n for n, _ in files_of(rec)] == names
    if names == ["清平乐.png"]:
        assert rec["images"][0]["duration"] == 3
    for f in rec["images"] + rec["audios"] + rec["videos"]:
        assert f["content_type"] in ("image/png", "audio/mpeg")
    d = requests.delete(ok_srv.url + "/v1/items/" + rec["id"], timeout=10)
    assert d.status_code == 204
    assert_nothing_stored(ok_srv)


# --- slow clients --------------------------------------------------------------

def serves_while(m, fn):
    """Run fn in a thread; meanwhile others must be served promptly."""
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", fn()))
    t.start()
    while t.is_alive():
        t0 = time.time()
        assert requests.get(m.url + "/healthz", timeout=5).status_code == 200
        assert time.time() - t0 < 1.0
        time.sleep(0.2)
    t.join()
    return out["r"]


def trickle(port, head, slow, gap, limit=20):
    """Send head, then slow one byte per gap seconds; return the seconds
    until the server closed the connection (or None if it never did)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=limit)
    t0 = time.time()
    try:
        s.sendall(head)
        for i in range(len(slow)):
            s.send(slow[i:i + 1])
            time.sleep(gap)
            if time.time() - t0 > limit:
                return None
        s.settimeout(limit)
        return time.time() - t0 if s.recv(1) == b"" else None
    except OSError:
        return time.time() - t0
    finally:
        s.close()


@pytest.fixture
def slow_srv(mfud_factory):
    return mfud_factory("--timeout=2", "--max-conns-per-ip=8")


def test_slowloris_headers_closed_by_timeout(slow_srv):
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
    took = serves_while(slow_srv, lambda: trickle(slow_srv.port, b"", head,
                                                  0.2))
    assert took is not None and 1.5 < took < 5, took
    assert_serving(slow_srv)


def test_slowloris_body_closed_by_min_rate(slow_srv):
    body = TXT + END
    head = req(b"", cl=False, extra=b"Content-Length: %d\r\n" % (10 * len(body)))
    took = serves_while(slow_srv, lambda: trickle(slow_srv.port, head,
                                                  body * 10, 0.2))
    assert took is not None and 1.5 < took < 6, took
    assert_nothing_stored(slow_srv)
    assert "mfu_slow_clients_closed_total 1" in requests.get(
        slow_srv.url + "/metrics", timeout=5).text


def test_many_slow_clients_from_one_address_do_not_starve_others(slow_srv):
    """Past --max-conns-per-ip the address gets no more connections; the
    slow ones are closed by --timeout; the server answers throughout."""
    socks = []
    try:
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", slow_srv.port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        time.sleep(0.3)
        refused = 0
        for s in socks:
            try:
                s.settimeout(0.2)
                refused += s.recv(1) == b""
            except socket.timeout:
                pass
            except ConnectionResetError:
                refused += 1
        assert refused >= 20 - 8, refused
        deadline = time.time() + 8
        while time.time() < deadline:
            try:
                if requests.get(slow_srv.url + "/healthz", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            raise AssertionError("never served while slow clients held on")
    finally:
        for s in socks:
            s.close()
    time.sleep(2.5)
    assert_serving(slow_srv)


def test_fast_client_is_not_cut(slow_srv, media):
    """A body that keeps flowing is not closed, however long it takes."""
    png = open(media["png"], "rb").read()
    body = text_part(b"t" * 12000) + file_part(b"images", b"a.png", png,
                                               b"image/png") + END
    data = req(body)
    s = socket.create_connection(("127.0.0.1", slow_srv.port), timeout=20)
    step = max(1, len(data) // 30)
    for i in range(0, len(data), step):       # ~3 s at ~4 KiB/s
        s.sendall(data[i:i + step])
        time.sleep(0.1)
    r = read_response(s, time.time() + 20)
    s.close()
    assert r is not None and r.status == 201, r and r.body
