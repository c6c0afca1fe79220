"""The README's run command, as a newcomer types it: builds, then serves."""
import os
import signal
import subprocess
import time

import requests

from conftest import TOP, free_port


def test_scripts_run_serves(tmp_path, media):
    port = free_port()
    env = dict(os.environ, MFU_STORE=f"file://{tmp_path}/blobs",
               MFU_CATALOG=f"sqlite://{tmp_path}/mfu.db", MFU_QUIET="1")
    p = subprocess.Popen([os.path.join(TOP, "scripts", "run"),
                          f"--listen=127.0.0.1:{port}"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 600       # includes the release build
        while time.time() < deadline:
            assert p.poll() is None, p.stdout.read().decode()
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        r = requests.post(url + "/item_explain", params={"username": "user1"},
                          files=[("images", ("1_a.png", open(media["png"], "rb"))),
                                 ("audios", ("a.mp3", open(media["mp3"], "rb")))],
                          timeout=60)
        assert r.status_code == 201, r.text
        assert r.json()["audios"][0]["codec"] == "mp3"    # probing works too
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        assert p.wait(timeout=30) == 0
