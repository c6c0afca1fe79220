"""True types and probed facts, end to end through the real mfud.

The client's declared Content-Type and the filename are ignored: the
record carries what libmagic and libavformat say about the bytes, a file
whose content does not belong in its group is refused with 422 (415 for a
kind the group forbids, such as SVG), and nothing of a refused request is
stored.
"""
import subprocess

import requests

from conftest import assert_nothing_stored, problem


def ffmpeg(out, *args):
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel",
                    "error", "-y", *args, str(out)], check=True, timeout=60)
    return out


def make(d):
    return {
        "mp3": ffmpeg(d / "tone.mp3", "-f", "lavfi", "-i",
                      "sine=frequency=440:duration=3"),
        "mp4": ffmpeg(d / "clip.mp4", "-f", "lavfi", "-i",
                      "testsrc=size=320x240:rate=25:duration=2",
                      "-pix_fmt", "yuv420p"),
        "m4a": ffmpeg(d / "tone.m4a", "-f", "lavfi", "-i",
                      "sine=duration=2", "-c:a", "aac"),
        "png": ffmpeg(d / "pic.png", "-f", "lavfi", "-i",
                      "testsrc=size=64x48", "-frames:v", "1"),
    }


def post(m, files, text=None):
    data = {"text": text} if text is not None else None
    return requests.post(m.url + "/v1/items", params={"username": "media"},
                         files=files, data=data, timeout=60)


def near(got, want):
    assert isinstance(got, (int, float)) and abs(got - want) <= 0.2, got


def test_true_types_and_probe(mfud, tmp_path):
    f = make(tmp_path)
    # Every declared type is a lie; the server must not care.
    r = post(mfud, [
        ("images", ("12_pic.png", f["png"].read_bytes(), "video/mp4")),
        ("images", ("pic.gif", f["png"].read_bytes(), "image/gif")),
        ("audios", ("tone.jpg", f["mp3"].read_bytes(), "image/jpeg")),
        ("audios", ("tone.m4a", f["m4a"].read_bytes(), "audio/x-m4a")),
        ("videos", ("clip.bin", f["mp4"].read_bytes(),
                    "application/octet-stream")),
    ], text="media")
    assert r.status_code == 201, r.text
    rec = r.json()
    img, img2 = rec["images"]
    assert img["name"] == "pic.png" and img["duration"] == 12
    assert img["content_type"] == "image/png"
    assert (img["width"], img["height"], img["codec"]) == (64, 48, "png")
    assert img2["duration"] is None and img2["content_type"] == "image/png"

    mp3, m4a = rec["audios"]
    assert mp3["content_type"] == "audio/mpeg" and mp3["codec"] == "mp3"
    near(mp3["duration_probed"], 3.0)
    near(mp3["duration"], 3.0)   # no prefix: the probed duration
    assert m4a["content_type"] == "audio/mp4" and m4a["codec"] == "aac"
    near(m4a["duration_probed"], 2.0)

    (mp4,) = rec["videos"]
    assert mp4["content_type"] == "video/mp4" and mp4["codec"] == "h264"
    assert (mp4["width"], mp4["height"]) == (320, 240)
    near(mp4["duration_probed"], 2.0)

    # The bytes go back with the type they really have.
    g = requests.get(mp3["url"], timeout=10)
    assert g.status_code == 200
    assert g.headers["Content-Type"].startswith("audio/mpeg")
    assert g.headers["X-Content-Type-Options"] == "nosniff"
    assert g.content == f["mp3"].read_bytes()


def test_picture_among_audios_is_422(mfud, tmp_path):
    f = make(tmp_path)
    r = post(mfud, [
        ("audios", ("ok.mp3", f["mp3"].read_bytes(), "audio/mpeg")),
        ("audios", ("song.mp3", f["png"].read_bytes(), "audio/mpeg")),
    ])
    body = problem(r, 422, "content-mismatch")
    assert "song.mp3" in body["detail"]
    assert_nothing_stored(mfud)


def test_garbage_video_is_422(mfud, tmp_path):
    junk = bytes((i * 7919 + 13) % 251 for i in range(50000))
    r = post(mfud, [("videos", ("movie.mp4", junk, "video/mp4"))])
    problem(r, 422, "content-mismatch")
    assert_nothing_stored(mfud)


def test_group_needs_its_stream(mfud, tmp_path):
    """An MP4 with no sound is no audio; an MP3 is no video."""
    f = make(tmp_path)
    r = post(mfud, [("audios", ("silent.mp4", f["mp4"].read_bytes(),
                                "audio/mp4"))])
    problem(r, 422, "content-mismatch")
    r = post(mfud, [("videos", ("tone.mp3", f["mp3"].read_bytes(),
                                "video/mp4"))])
    problem(r, 422, "content-mismatch")
    assert_nothing_stored(mfud)


def test_svg_image_is_415(mfud):
    svg = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">'
           b'<script>alert(1)</script></svg>\n')
    r = post(mfud, [("images", ("x.svg", svg, "image/svg+xml"))])
    problem(r, 415, "type-not-allowed")
    assert_nothing_stored(mfud)


def test_truncated_media_does_not_hurt(mfud, tmp_path):
    """Cut files are refused or kept with unknown facts; the server lives."""
    f = make(tmp_path)
    data = f["mp4"].read_bytes()
    for cut in (len(data) // 2, len(data) - 10):
        r = post(mfud, [("videos", ("cut.mp4", data[:cut], "video/mp4"))])
        assert r.status_code in (201, 422), r.text
    data = f["mp3"].read_bytes()
    r = post(mfud, [("audios", ("cut.mp3", data[:len(data) // 2],
                                "audio/mpeg"))])
    # Its Xing header still claims the 3 s of the whole file, and that is
    # what libavformat reports; the point is that it is read safely.
    assert r.status_code == 201, r.text
    assert r.json()["audios"][0]["codec"] == "mp3"
    assert requests.get(mfud.url + "/healthz", timeout=5).status_code == 200
