#!/usr/bin/python3
"""Capture the exact multipart bodies that real clients send.

    /usr/bin/python3 capture.py [requests|curl|chromium ...]

Listens on a free 127.0.0.1 port, makes the client post the seed's upload
(small fake file contents) and writes, per client, NAME.body (the raw
request body), NAME.ctype (its Content-Type) and NAME.trace (what the parser
must report, built here from what was sent and from what the client is
known to do to filenames).  Run it again only to refresh the fixtures; the
unit tests read the committed files.

Trace format: per part "[B name|filename|content-type]" ("-" for an absent
filename or type), the part's data bytes, "[E]"; "[Z]" at the close
delimiter.
"""
import http.server
import os
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
TEXT = '最喜小儿无赖，溪头卧剥莲蓬。'.encode()
# Fake media that contain CR, LF, "--" and a near-delimiter, so the
# fixtures exercise the delimiter search, not only the happy path.
PNG = b'\x89PNG\r\n\x1a\n' + bytes(range(256)) + b'\r\n--not-a-boundary\r\n'
JPEG = b'\xff\xd8\xff\xe0\r\n\r\n--\r\n-' + bytes(range(255, -1, -3))
MP3 = b'ID3\x04\x00\x00\x00\x00\x00\x00' + b'\r' * 7 + b'\n-- ' * 5
MP4 = b'\x00\x00\x00\x18ftypmp42' + b'\r\n' * 3 + b'-' * 9

# The seed's request (seed/000_378b987164403ad4.txt).
SEED = [
    ('images', '123_picture001.png', PNG, 'image/png'),
    ('images', '338_清平乐·村居.jpeg', JPEG, 'image/jpeg'),
    ('audios', '234_清平乐·村居.mp3', MP3, 'audio/mp3'),
    ('audios', '234_清平乐·村居.mp3', MP3, 'audio/mp3'),
    ('audios', '234_清平乐·村居.mp3', MP3, 'audio/mp3'),
    ('videos', '554_清平乐·村居.mp4', MP4, 'video/x-mpg'),
    ('videos', '554_清平乐·村居.mp4', MP4, 'video/x-mpg'),
    ('text', 'explain_text', TEXT, None),
]

PAGE = '''<!doctype html><meta charset="utf-8"><script>
const enc = new TextEncoder();
const bytes = s => Uint8Array.from(atob(s), c => c.charCodeAt(0));
const fd = new FormData();
fd.append('text', new Blob([enc.encode(%(text)s)]), 'explain_text');
fd.append('note', 'plain field, no filename');
fd.append('images', new File([bytes('%(png)s')], '123_picture001.png',
                             {type: 'image/png'}));
fd.append('audios', new File([bytes('%(mp3)s')], '234_清平乐·村居.mp3',
                             {type: 'audio/mpeg'}));
fd.append('images', new File([bytes('%(jpeg)s')], '338_"清平乐".jpeg',
                             {type: 'image/jpeg'}));
fetch('/upload', {method: 'POST', body: fd});
</script>'''


class Capture(http.server.BaseHTTPRequestHandler):
    got = None
    page = b''

    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-Type', 'text/html; charset=utf-8')
        self.send_header('Content-Length', str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def do_POST(self):
        n = int(self.headers['Content-Length'])
        body = self.rfile.read(n)
        type(self).got = (self.headers['Content-Type'], body)
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


def trace(parts):
    out = b''
    for name, fname, data, ctype in parts:
        out += b'[B %s|%s|%s]' % (name.encode(), (fname or '-').encode(),
                                  (ctype or '-').encode())
        out += data + b'[E]'
    return out + b'[Z]'


def run_requests(url, tmp):
    import requests
    files = [(n, (f, d, t) if t else (f, d)) for n, f, d, t in SEED]
    requests.post(url + '/item_explain', params={'username': 'user1'},
                  files=files, timeout=10)
    # urllib3 1.26 (Debian 12) omits Content-Type when none is given and
    # writes the raw UTF-8 of filenames inside the quotes.
    return SEED


def run_curl(url, tmp):
    args = ['curl', '-sS', '-o', '/dev/null', '--max-time', '10']
    sent = []
    extra = [('images', 'say "hi".png', PNG, 'image/png')]
    for i, (n, f, d, t) in enumerate(SEED + extra):
        path = os.path.join(tmp, 'f%d' % i)
        with open(path, 'wb') as fh:
            fh.write(d)
        esc = f.replace('"', '\\"')
        spec = '%s=@%s;filename="%s"' % (n, path, esc)
        if t:
            spec += ';type=' + t
        args += ['-F', spec]
        # curl >= 7.81 percent-encodes '"' in filenames; with no type it
        # guesses from the extension, else application/octet-stream.
        guess = 'application/octet-stream'
        sent.append((n, f.replace('"', '%22'), d, t or guess))
    subprocess.run(args + [url + '/item_explain?username=user1'],
                   check=True, timeout=20)
    return sent


def run_chromium(url, tmp):
    import base64
    import json
    b64 = lambda b: base64.b64encode(b).decode()
    Capture.page = (PAGE % {'text': json.dumps(TEXT.decode()),
                            'png': b64(PNG), 'mp3': b64(MP3),
                            'jpeg': b64(JPEG)}).encode()
    proc = subprocess.Popen(
        ['chromium', '--headless', '--no-sandbox', '--disable-gpu',
         '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run', '--user-data-dir=' + tmp,
         url + '/'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if Capture.got:
                break
            threading.Event().wait(0.1)
    finally:
        proc.kill()
        proc.wait()
    # Chromium follows the HTML form encoding: '"' becomes %22.  A Blob
    # without a type is sent as application/octet-stream.
    return [
        ('text', 'explain_text', TEXT, 'application/octet-stream'),
        ('note', None, b'plain field, no filename', None),
        ('images', '123_picture001.png', PNG, 'image/png'),
        ('audios', '234_清平乐·村居.mp3', MP3, 'audio/mpeg'),
        ('images', '338_%22清平乐%22.jpeg', JPEG, 'image/jpeg'),
    ]


CLIENTS = {'requests': run_requests, 'curl': run_curl,
           'chromium': run_chromium}


def main(names):
    srv = socketserver.TCPServer(('127.0.0.1', 0), Capture)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    url = 'http://127.0.0.1:%d' % srv.server_address[1]
    try:
        for name in names:
            Capture.got = None
            tmp = tempfile.mkdtemp()
            try:
                parts = CLIENTS[name](url, tmp)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            if not Capture.got:
                sys.exit('capture.py: %s sent nothing' % name)
            ctype, body = Capture.got
            for ext, data in (('body', body), ('ctype', ctype.encode()),
                              ('trace', trace(parts))):
                with open(os.path.join(HERE, name + '.' + ext), 'wb') as fh:
                    fh.write(data)
            print('%s: %d bytes, %s' % (name, len(body), ctype))
    finally:
        srv.shutdown()
        srv.server_close()


if __name__ == '__main__':
    main(sys.argv[1:] or list(CLIENTS))
