"""--auth token: users and tokens made by `mfud user/token`, bearer tokens
on every item route, owners only, revocation at once, file URLs public."""
import hashlib
import re
import sqlite3

import pytest
import requests

from conftest import assert_nothing_stored, assert_serving, problem

TOKEN_RE = re.compile(r"^mfu_[A-Za-z0-9_-]{43}$")


def add_user(m, name, *extra):
    r = m.run("user", "add", name, *extra)
    assert r.returncode == 0, r.stderr
    tok = r.stdout.strip()
    assert TOKEN_RE.match(tok), tok
    return tok


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def upload(m, tok=None, params=None, text="最喜小儿无赖", headers=None):
    h = dict(headers or {})
    if tok:
        h.update(bearer(tok))
    return requests.post(m.url + "/v1/items", params=params or {},
                         files=[("text", (None, text))], headers=h,
                         timeout=30)


@pytest.fixture
def srv(mfud_factory):
    return mfud_factory("--auth=token")


def test_tokens_are_shown_once_and_stored_as_hashes(srv):
    tok = add_user(srv, "alice", "--label", "laptop")
    tok2 = srv.run("token", "add", "--label=phone", "alice").stdout.strip()
    assert TOKEN_RE.match(tok2) and tok2 != tok
    with sqlite3.connect(srv.db_path) as db:
        rows = db.execute("select id, username, hash, label, revoked_at "
                          "from tokens order by id").fetchall()
    assert rows == [
        (1, "alice", hashlib.sha256(tok.encode()).hexdigest(), "laptop", None),
        (2, "alice", hashlib.sha256(tok2.encode()).hexdigest(), "phone", None)]
    raw = open(srv.db_path, "rb").read()
    assert tok.encode() not in raw and tok2.encode() not in raw
    listing = srv.run("token", "list", "alice").stdout
    assert "laptop" in listing and "phone" in listing and tok not in listing
    assert srv.run("user", "list").stdout.split() == ["alice"]


def test_admin_usage_errors(srv):
    assert srv.run("user", "add", "alice").returncode == 0
    r = srv.run("user", "add", "alice")
    assert r.returncode == 1 and "exists" in r.stderr
    r = srv.run("token", "add", "nobody")
    assert r.returncode == 1 and "no user" in r.stderr and r.stdout == ""
    assert srv.run("user", "add", "../etc").returncode == 2
    assert srv.run("token", "revoke", "x1").returncode == 2
    assert srv.run("token", "revoke", "99").returncode == 1
    assert srv.run("token", "frobnicate").returncode == 2


def test_upload_needs_a_token(srv):
    r = upload(srv, params={"username": "alice"})
    problem(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="mfu"'
    assert_nothing_stored(srv)


@pytest.mark.parametrize("value", [
    "Bearer mfu_" + "A" * 43,                 # the right shape, unknown
    "Basic YWxpY2U6c2VjcmV0",
    "Bearer",
    "Bearer ",
    "bearer  mfu_" + "A" * 42 + "B",          # bad last character
    "Bearer mfu_" + "A" * 43 + " extra",
    "Bearer mfu_" + "A" * 43 + ", Bearer x",
    "Bearer " + "x" * 4000,
])
def test_bad_authorization_is_401(srv, value):
    add_user(srv, "alice")
    r = requests.post(srv.url + "/v1/items", files=[("text", (None, "x"))],
                      headers={"Authorization": value}, timeout=30)
    problem(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"].startswith('Bearer realm="mfu"')
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    assert_nothing_stored(srv)
    assert_serving(srv)


def test_the_item_belongs_to_the_token_user(srv):
    tok = add_user(srv, "alice")
    r = upload(srv, tok)
    assert r.status_code == 201, r.text
    assert r.json()["username"] == "alice"
    r = upload(srv, tok, params={"username": "alice"})
    assert r.status_code == 201, r.text
    # scheme names are case-insensitive (RFC 9110 section 11.1)
    r = upload(srv, headers={"Authorization": "bEaReR   " + tok})
    assert r.status_code == 201, r.text


def test_username_that_disagrees_is_403(srv, media):
    tok = add_user(srv, "alice")
    add_user(srv, "bob")
    r = requests.post(srv.url + "/v1/items", params={"username": "bob"},
                      headers=bearer(tok), timeout=30,
                      files=[("images", ("a.png", open(media["png"], "rb")))])
    problem(r, 403, "forbidden")
    assert_nothing_stored(srv)


def test_seed_route_takes_the_token_too(srv):
    tok = add_user(srv, "user1")
    r = requests.post(srv.url + "/item_explain", params={"username": "user1"},
                      files=[("text", (None, "x"))], headers=bearer(tok),
                      timeout=30)
    assert r.status_code == 201, r.text


def test_owners_only(srv, media):
    alice, bob = add_user(srv, "alice"), add_user(srv, "bob")
    r = requests.post(srv.url + "/v1/items", headers=bearer(alice),
                      files=[("text", (None, "mine")),
                             ("images", ("a.png", open(media["png"], "rb")))],
                      timeout=30)
    assert r.status_code == 201, r.text
    item = r.json()
    url = srv.url + "/v1/items/" + item["id"]
    assert requests.get(url, headers=bearer(alice), timeout=10).json() == item
    problem(requests.get(url, timeout=10), 401)
    # another user cannot tell the item from one that does not exist
    other = requests.get(url, headers=bearer(bob), timeout=10)
    absent = requests.get(srv.url + "/v1/items/0123456789abcdef01234567",
                          headers=bearer(bob), timeout=10)
    problem(other, 404, "not-found")
    problem(absent, 404, "not-found")
    assert other.json()["title"] == absent.json()["title"]
    problem(requests.delete(url, headers=bearer(bob), timeout=10), 404)
    problem(requests.delete(url, timeout=10), 401)
    assert requests.get(url, headers=bearer(alice), timeout=10).status_code == 200
    # lists hold one's own items only
    lst = requests.get(srv.url + "/v1/items", headers=bearer(alice), timeout=10)
    assert [i["id"] for i in lst.json()["items"]] == [item["id"]]
    lst = requests.get(srv.url + "/v1/items", headers=bearer(bob), timeout=10)
    assert lst.json()["items"] == []
    problem(requests.get(srv.url + "/v1/items", params={"username": "alice"},
                         headers=bearer(bob), timeout=10), 403, "forbidden")
    problem(requests.get(srv.url + "/v1/items", timeout=10), 401)
    # file URLs are content addresses and stay public
    f = requests.get(item["images"][0]["url"], timeout=10)
    assert f.status_code == 200 and f.content == open(media["png"], "rb").read()
    r = requests.delete(url, headers=bearer(alice), timeout=10)
    assert r.status_code == 204
    assert_nothing_stored(srv)


def test_revoked_token_stops_at_once(srv):
    tok = add_user(srv, "alice")
    keep = srv.run("token", "add", "alice").stdout.strip()
    assert upload(srv, tok).status_code == 201
    listing = srv.run("token", "list", "alice").stdout.splitlines()
    first = listing[1].split("\t")[0]
    assert srv.run("token", "revoke", first).returncode == 0
    r = upload(srv, tok)
    problem(r, 401, "unauthorized")
    assert "revoked" in r.json()["detail"]
    assert upload(srv, keep).status_code == 201
    assert "\t-\t" not in srv.run("token", "list", "alice").stdout.splitlines()[1]


def test_non_loopback_defaults_to_token(tmp_path):
    from conftest import Mfud, free_port
    m = Mfud(tmp_path, [])
    port = free_port()
    m.args = [f"--listen=0.0.0.0:{port}"]
    m.start(port=port)
    try:
        problem(upload(m, params={"username": "u"}), 401)
        assert "auth token" in m.read_log()
    finally:
        assert m.stop() == 0


def test_auth_none_keeps_the_seed_username(mfud):
    r = upload(mfud, params={"username": "user1"})
    assert r.status_code == 201 and r.json()["username"] == "user1"
    r = requests.get(mfud.url + "/v1/items", params={"username": "user1"},
                     timeout=10)
    assert len(r.json()["items"]) == 1
