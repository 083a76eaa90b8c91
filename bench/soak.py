"""Durability soak: is every acknowledged reading stored exactly once across crashes?

    python -m bench.soak                       # 8 clients, 120 s, the app killed every 5-12 s
    python -m bench.soak --duration 40 --clients 4     # the short run of `make soak`

Starts a private PostgreSQL cluster (initdb/pg_ctl from /usr/lib/postgresql/*/bin, in a temporary
directory, on a free port; never the shared server), migrates it, enrols people and starts the app under
uvicorn. Clients then post readings with ids they chose, half as the person (`POST /readings`), half as a
clinician (`POST /subjects/{id}/readings`), and retry each reading on any failure (connection refused,
timeout, 5xx) with the same id and body until it is acknowledged (201/200 with that id) or they give up.
Some first tries use a tiny timeout, so the retry races a first try that is still running. Meanwhile the
app process is killed with SIGKILL and restarted again and again, and PostgreSQL is stopped in immediate
mode (a crash: recovery from its WAL) and started once, half-way.

At the end, read straight from the database: every acknowledged reading must be stored exactly once
(matched by id and by a logical key in its note, so a reading stored twice under two ids is seen), every
given-up reading once or not at all; every stored fever has exactly one alert; each person's summary
(last reading time) agrees with their readings. Exits 1 on any loss, duplicate or 500."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

from bench.app_process import REPOSITORY, free_port, stop

PASSWORD = "soak-password-soak"
SECRET = "soak-secret-key-soak-secret-key-soak"


# --- a private PostgreSQL cluster --------------------------------------------------------------------

class PrivateCluster:
    """A throwaway PostgreSQL cluster of our own, which the soak may crash and restart at will."""

    def __init__(self) -> None:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        found = shutil.which("pg_ctl")
        if not candidates and not found:
            sys.exit("the soak needs PostgreSQL's server binaries (initdb, pg_ctl): apt-get install postgresql")
        self.bin = Path(candidates[-1] if candidates else str(found)).parent
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="homewatch-soak-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        # initdb refuses to run as root: there, the cluster belongs to the postgres user.
        self.run_as: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.run_as:
            shutil.chown(self.root, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.run_as, str(self.bin / args[0]), *args[1:]], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale", "C.UTF-8")
        with open(self.data / "postgresql.conf", "a") as conf:
            # Durability settings stay at their defaults (fsync, synchronous_commit on): that is the point.
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.root}'\nmax_connections = 200\n")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def crash(self) -> None:
        """Stop without a checkpoint, as a power cut would; the next start replays the WAL."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


# --- the app under uvicorn, killed at will ----------------------------------------------------------

class App:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.child: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.child = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "server.asgi:app", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "error", "--no-access-log", "--timeout-graceful-shutdown", "2"],
            env=self.env, cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=self.log.open("ab"),
        )
        self.starts += 1

    async def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.base}/healthz")).status_code == 200:
                        return
                assert self.child is not None
                if self.child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the app did not start")
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        assert self.child is not None
        self.child.send_signal(signal.SIGKILL)
        self.child.wait()

    def stop(self) -> None:
        if self.child is not None and self.child.poll() is None:
            stop(self.child)


# --- clients ----------------------------------------------------------------------------------------

@dataclass
class Sent:
    reading_id: str
    key: str
    subject_id: str
    temperature_c: float
    acknowledged: bool = False
    gave_up: bool = False
    rejected: str | None = None  # a 4xx: the soak's own bug or the app's, reported either way
    attempts: int = 0


@dataclass
class Tally:
    sent: list[Sent] = field(default_factory=list)
    causes: Counter[str] = field(default_factory=Counter)  # why attempts failed
    server_errors: list[str] = field(default_factory=list)  # 500s: never a clean, retryable answer


async def post_until_done(http: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, object],
                          reading: Sent, tally: Tally, *, timeout: float, race_share: float,
                          max_attempts: int, give_up_after: float) -> None:
    started = time.monotonic()
    delay = 0.05
    while True:
        reading.attempts += 1
        # A tiny timeout on some first tries: the retry then runs while the first try may still commit.
        this_timeout = 0.02 if reading.attempts == 1 and random.random() < race_share else timeout
        try:
            response = await http.post(url, headers=headers, json=body, timeout=this_timeout)
        except httpx.TimeoutException:
            tally.causes["timeout"] += 1
        except httpx.HTTPError as error:
            tally.causes[type(error).__name__] += 1
        else:
            if response.status_code in (200, 201) and response.json().get("id") == reading.reading_id:
                reading.acknowledged = True
                return
            tally.causes[f"HTTP {response.status_code}"] += 1
            if response.status_code >= 500 and response.status_code != 503:
                tally.server_errors.append(f"{response.status_code} {response.text[:200]}")
            elif response.status_code < 500:
                reading.rejected = f"{response.status_code} {response.text[:200]}"
                return
        if reading.attempts >= max_attempts or time.monotonic() - started > give_up_after:
            reading.gave_up = True
            return
        await asyncio.sleep(delay * random.uniform(0.5, 1.5))
        delay = min(delay * 2, 1.0)


async def client(number: int, app: App, token: str, path: str, subject_id: str, tally: Tally,
                 stop_at: float, args: argparse.Namespace) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    sequence = 0
    async with httpx.AsyncClient(base_url=app.base) as http:
        while time.monotonic() < stop_at:
            sequence += 1
            reading_id = str(uuid.uuid4())
            key = f"soak {number}-{sequence}"
            # One in ten is a fever: its alert must be opened exactly once too.
            temperature = 38.2 if random.random() < 0.1 else round(random.uniform(36.0, 37.0), 1)
            body = {"id": reading_id, "temperature_c": temperature, "note": key,
                    "taken_at": datetime.now(UTC).isoformat()}
            reading = Sent(reading_id, key, subject_id, temperature)
            tally.sent.append(reading)
            await post_until_done(http, path, headers, body, reading, tally, timeout=args.timeout,
                                  race_share=args.race_share, max_attempts=args.max_attempts,
                                  give_up_after=args.give_up_after)
            await asyncio.sleep(args.pause)


# --- setup, the fault schedule, the check -----------------------------------------------------------

async def enrol_people(app: App, people: int) -> tuple[str, list[tuple[str, str]]]:
    """An admin creates a grid, a clinician and the people; answers the clinician's token and each
    person's (id, token), all through the API."""
    async with httpx.AsyncClient(base_url=app.base, timeout=30) as http:
        async def token(username: str) -> str:
            response = await http.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
            response.raise_for_status()
            return str(response.json()["access_token"])

        admin = {"Authorization": f"Bearer {await token('soak-admin')}"}
        grid = (await http.post("/api/v1/grids", headers=admin, json={"name": "soak"})).raise_for_status().json()
        (await http.post("/api/v1/users", headers=admin, json={
            "username": "soak-doctor", "password": PASSWORD, "role": "clinician", "grid_ids": [grid["id"]],
        })).raise_for_status()
        people_tokens = []
        for i in range(people):
            enrolled = (await http.post("/api/v1/subjects", headers=admin, json={
                "full_name": f"测试{i}", "phone": f"1380000{i:04d}", "grid_id": grid["id"],
                "observation_type": "home", "reason": "soak",
            })).raise_for_status().json()
            code = enrolled["access_url"].rsplit("/", 1)[1]
            signed_in = (await http.post("/api/v1/auth/subject-token", json={"access_code": code})).raise_for_status()
            people_tokens.append((str(enrolled["id"]), str(signed_in.json()["access_token"])))
        return await token("soak-doctor"), people_tokens


async def faults(app: App, cluster: PrivateCluster, stop_at: float, args: argparse.Namespace,
                 log: list[str]) -> None:
    """Kill and restart the app every few seconds; crash and restart PostgreSQL once, half-way."""
    start = time.monotonic()
    database_restarted = False
    while time.monotonic() < stop_at:
        await asyncio.sleep(random.uniform(args.kill_min, args.kill_max))
        if time.monotonic() >= stop_at:
            break
        if not database_restarted and time.monotonic() - start > (stop_at - start) / 2:
            database_restarted = True
            await asyncio.to_thread(cluster.crash)
            log.append(f"{time.monotonic() - start:6.1f} s  PostgreSQL crashed (immediate stop)")
            await asyncio.sleep(2)
            await asyncio.to_thread(cluster.start)
            log.append(f"{time.monotonic() - start:6.1f} s  PostgreSQL started again")
            continue
        await asyncio.to_thread(app.kill)
        log.append(f"{time.monotonic() - start:6.1f} s  app killed (SIGKILL)")
        await asyncio.sleep(random.uniform(0, 1))
        app.start()
        await app.wait_ready()
        log.append(f"{time.monotonic() - start:6.1f} s  app answering again")


@dataclass
class Verdict:
    acknowledged: int
    gave_up: int
    rejected: int
    stored: int
    duplicated: int
    lost: int
    mismatched: int
    alert_errors: int
    summary_errors: int


async def check(cluster: PrivateCluster, tally: Tally) -> Verdict:
    conn = await asyncpg.connect(cluster.dsn)
    try:
        rows = await conn.fetch("SELECT id::text AS id, note, subject_id::text AS subject_id, temperature_c "
                                "FROM readings WHERE note LIKE 'soak %'")
        alerts = Counter(str(r["reading_id"]) for r in await conn.fetch(
            "SELECT reading_id FROM alerts WHERE reading_id IS NOT NULL"))
        summaries = await conn.fetch(
            "SELECT s.id::text AS id, s.last_reading_at, max(r.taken_at) AS newest FROM subjects s "
            "LEFT JOIN readings r ON r.subject_id = s.id GROUP BY s.id, s.last_reading_at")
    finally:
        await conn.close()
    by_key = Counter(r["note"] for r in rows)
    by_id = {r["id"]: r for r in rows}
    lost = duplicated = mismatched = alert_errors = 0
    for reading in tally.sent:
        copies = by_key[reading.key]
        if copies > 1:
            duplicated += 1
        stored = by_id.get(reading.reading_id)
        if reading.acknowledged and (copies == 0 or stored is None):
            lost += 1
        if stored is not None and (stored["subject_id"] != reading.subject_id
                                   or abs(stored["temperature_c"] - reading.temperature_c) > 1e-6):
            mismatched += 1
        if stored is not None and reading.temperature_c >= 37.3 and alerts[reading.reading_id] != 1:
            alert_errors += 1
    summary_errors = sum(1 for s in summaries if s["last_reading_at"] != s["newest"])
    return Verdict(
        acknowledged=sum(r.acknowledged for r in tally.sent), gave_up=sum(r.gave_up for r in tally.sent),
        rejected=sum(r.rejected is not None for r in tally.sent), stored=len(rows), duplicated=duplicated,
        lost=lost, mismatched=mismatched, alert_errors=alert_errors, summary_errors=summary_errors,
    )


@contextlib.contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    cluster = PrivateCluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


async def soak(args: argparse.Namespace) -> int:
    with private_cluster() as cluster:
        env = {**os.environ, "HOMEWATCH_DATABASE_URL": cluster.url, "HOMEWATCH_SECRET_KEY": SECRET,
               "HOMEWATCH_ENVIRONMENT": "test", "HOMEWATCH_MEDIA_DIR": str(cluster.root / "media"),
               "HOMEWATCH_REDIS_URL": "", "HOMEWATCH_LOGIN_MAX_FAILURES": "1000"}
        for line in (["migrate"], ["create-user", "soak-admin", "--role", "admin", "--password", PASSWORD]):
            subprocess.run([sys.executable, "-c", "import sys; from server.cli import main; sys.exit(main())",
                            *line], env=env, cwd=REPOSITORY, check=True, stdout=subprocess.DEVNULL)
        app = App(env, cluster.root / "app.log")
        app.start()
        try:
            await app.wait_ready()
            doctor_token, people = await enrol_people(app, args.people)
            tally, log = Tally(), []
            stop_at = time.monotonic() + args.duration
            workers = []
            for number in range(args.clients):
                subject_id, person_token = people[number % len(people)]
                if number % 2 == 0:
                    path, token = "/api/v1/readings", person_token
                else:
                    path, token = f"/api/v1/subjects/{subject_id}/readings", doctor_token
                workers.append(client(number, app, token, path, subject_id, tally, stop_at, args))
            await asyncio.gather(faults(app, cluster, stop_at, args, log), *workers)
        finally:
            app.stop()
        verdict = await check(cluster, tally)
        errors = Counter(line.split(":")[0] for line in (cluster.root / "app.log").read_text().splitlines()
                         if line and not line[0].isspace() and "Error" in line.split(":")[0])
        if args.keep_log:
            shutil.copy(cluster.root / "app.log", args.keep_log)
    print("\n".join(log))
    print(f"\nclients {args.clients}, people {args.people}, {args.duration:.0f} s, "
          f"app started {app.starts} times ({app.starts - 1} SIGKILLs), PostgreSQL crashed and restarted once")
    print("failed attempts (retried): " + (", ".join(f"{k} {v}" for k, v in tally.causes.most_common()) or "none"))
    print(f"readings sent {len(tally.sent)}: acknowledged {verdict.acknowledged}, gave up {verdict.gave_up}, "
          f"refused (4xx) {verdict.rejected}")
    print(f"stored {verdict.stored}, duplicated {verdict.duplicated}, lost {verdict.lost}, "
          f"stored wrong {verdict.mismatched}, fevers without exactly one alert {verdict.alert_errors}, "
          f"summaries behind their readings {verdict.summary_errors}, 500 answers {len(tally.server_errors)}")
    logged = ", ".join(f"{k} {v}" for k, v in errors.most_common()) or "none"
    print(f"errors the app logged (its background loops included): {logged}")
    for reading in [r for r in tally.sent if r.rejected][:5]:
        print("  refused:", reading.key, reading.rejected)
    bad = (verdict.lost or verdict.duplicated or verdict.mismatched or verdict.alert_errors
           or verdict.summary_errors or verdict.rejected or tally.server_errors)
    return 1 if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--people", type=int, default=4, help="clients share people: their readings contend")
    parser.add_argument("--duration", type=float, default=120, help="seconds of posting and faults")
    parser.add_argument("--kill-min", type=float, default=5, help="seconds between faults, at least")
    parser.add_argument("--kill-max", type=float, default=12, help="seconds between faults, at most")
    parser.add_argument("--timeout", type=float, default=5, help="a request's timeout before it is retried")
    parser.add_argument("--race-share", type=float, default=0.1,
                        help="share of first tries sent with a tiny timeout, so their retry races them")
    parser.add_argument("--max-attempts", type=int, default=200)
    parser.add_argument("--give-up-after", type=float, default=60, help="seconds before a client gives up")
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between one client's readings")
    parser.add_argument("--keep-log", type=Path, help="copy the app's error log here")
    sys.exit(asyncio.run(soak(parser.parse_args())))


if __name__ == "__main__":
    main()
