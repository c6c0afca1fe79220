"""The PostgreSQL catalog against a real PostgreSQL 15 cluster started for
this module, held to the same scenario as SQLite (mfu-catalog-check)."""
import os
import subprocess

from conftest import BUILD, free_port
from services import pg_cluster, pg_url  # noqa: F401 (fixtures)

CHECK = os.path.join(BUILD, "src", "catalog", "mfu-catalog-check")


def run(url, *args, timeout=120):
    return subprocess.run([CHECK, url] + list(args), capture_output=True,
                          text=True, timeout=timeout)


def test_scenario_on_postgresql(pg_url):
    r = run(pg_url, "check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok delete returns only unshared blobs" in r.stdout
    assert "ok revoked token finds nobody" in r.stdout


def test_same_scenario_on_sqlite(tmp_path):
    r = run(f"sqlite://{tmp_path}/mfu.db", "check")
    assert r.returncode == 0, r.stdout + r.stderr


def test_schema_matches_the_migrations(pg_cluster, pg_url):
    assert run(pg_url, "version").stdout.strip() == "2"
    db = pg_url.rsplit("/", 1)[1]
    cols = pg_cluster.psql(
        "SELECT table_name || '.' || column_name FROM "
        "information_schema.columns WHERE table_schema = 'public' "
        "ORDER BY 1", db=db).split()
    assert "files.sha256" in cols and "idempotency.key" in cols
    assert "tokens.hash" in cols and "users.username" in cols
    assert pg_cluster.psql("SELECT COUNT(*) FROM schema_version",
                           db=db).strip() == "2"


def test_nodes_migrating_at_once_apply_each_step_once(pg_cluster, pg_url):
    procs = [subprocess.Popen([CHECK, pg_url, "version"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(6)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert all(o[0].strip() == "2" for o in outs)
    db = pg_url.rsplit("/", 1)[1]
    assert pg_cluster.psql("SELECT COUNT(*) FROM schema_version",
                           db=db).strip() == "2"


def test_many_nodes_and_threads_write_at_once(pg_url):
    # three processes (nodes) of eight threads each, one transaction per item
    assert run(pg_url, "version").returncode == 0
    procs = [subprocess.Popen([CHECK, pg_url, "load", "loaduser", "200",
                               "8"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert run(pg_url, "count", "loaduser").stdout.strip() == "600"


def test_down_is_unavailable_and_reconnects(pg_cluster, pg_url):
    p = subprocess.Popen([CHECK, pg_url, "ping"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "ok"
        pg_cluster.pg_ctl("stop", "-m", "fast")
        p.stdin.write("\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "unavailable"
        pg_cluster.pg_ctl("start")
        p.stdin.write("\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "ok"
    finally:
        p.stdin.close()
        p.wait(timeout=30)


def test_unreachable_at_open(pg_cluster):
    r = run(f"postgresql://postgres@127.0.0.1:{free_port()}/mfu", "ping")
    assert r.returncode == 1 and "cannot be reached" in r.stderr
