"""`flask desk …`: set up the database and demo data, tokens, outbound endpoints, the worker and
the scheduler."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import secrets
import signal
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import func, select

from . import metrics, reference
from .auth import set_password
from .extensions import db
from .models import (
    ItemEvent,
    Municipality,
    Queue,
    Role,
    User,
    WorkItem,
    utcnow,
)
from .tasks import enqueue
from .tasks.inbound import process_delivery
from .training import spaces

log = logging.getLogger(__name__)

desk = AppGroup("desk", help="Set up and run the desk.")

# The demo accounts: (username, name, role, language, queue kinds or codes, municipalities).
DEMO_ACCOUNTS = [
    (
        "hoitaja",
        "Hanna Hoitaja",
        Role.PROFESSIONAL,
        "fi",
        [
            "chat-regional",
            "help-regional",
            "callback-regional",
            "chat-id-porvoo",
            "omaolo-porvoo",
            "health-porvoo",
        ],
        None,
    ),
    (
        "sjukskotare",
        "Sara Sjöberg",
        Role.PROFESSIONAL,
        "sv",
        [
            "chat-regional",
            "callback-regional",
            "chat-id-loviisa-lapinjarvi",
            "omaolo-loviisa-lapinjarvi",
            "health-loviisa-lapinjarvi",
            "omaolo-sipoo",
            "health-sipoo",
        ],
        None,
    ),
    (
        "sosiaali",
        "Sami Sosiaaliohjaaja",
        Role.PROFESSIONAL,
        "fi",
        [
            "social-porvoo",
            "social-loviisa-lapinjarvi",
            "social-sipoo",
            "social-askola",
            "help-regional",
        ],
        None,
    ),
    ("tiiminvetaja", "Tiina Tiiminvetäjä", Role.TEAM_LEAD, "fi", None, None),
    ("kouluttaja", "Kalle Kouluttaja", Role.TRAINER, "fi", [], None),
    ("admin", "Aino Ylläpitäjä", Role.ADMIN, "en", [], None),
    ("tarkastaja", "Tuula Tarkastaja", Role.AUDITOR, "fi", [], None),
    ("harjoittelija", "Heikki Harjoittelija", Role.TRAINEE, "fi", [], None),
]

#: demo accounts that also hold a training role beside their real one
DEMO_TRAINING_ROLES = {"tiiminvetaja": Role.TRAINER}


def _demo_credentials_file() -> Path:
    return Path(current_app.instance_path) / "demo-accounts.json"


def _create_demo_accounts() -> dict[str, str]:
    """Create the missing demo accounts with fresh random passwords; return all of them."""
    path = _demo_credentials_file()
    saved: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    all_queues = db.session.scalars(select(Queue)).all()
    all_municipalities = db.session.scalars(select(Municipality)).all()
    for username, name, role, language, queues, municipalities in DEMO_ACCOUNTS:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username, display_name=name, role=role.value, language=language)
            db.session.add(user)
        if username not in saved or not user.password_hash:
            saved[username] = secrets.token_urlsafe(9)
            set_password(user, saved[username])
        training_role = DEMO_TRAINING_ROLES.get(username)
        user.training_role = training_role.value if training_role else None
        user.queues = [q for q in all_queues if queues is None or q.code in queues]
        user.municipalities = [
            m for m in all_municipalities if municipalities is None or m.code in municipalities
        ]
    db.session.commit()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(saved, indent=1))
    path.chmod(0o600)
    return saved


def _load_demo_items(count: int, seed: int) -> int:
    """Receive synthetic deliveries as the API does and run them through the intake job."""
    from .demo import deliveries
    from .extensions import channel_registry
    from .inbound.receive import receive

    channels = channel_registry()
    rng = random.Random(seed)
    ids = []
    for channel, payload in deliveries(rng, utcnow(), count):
        if adapter := channels.get(channel):  # only the channels in use
            ids.append(receive(db.session, adapter, payload).delivery_id)
    db.session.commit()
    for delivery_id in ids:
        enqueue(process_delivery, delivery_id, job_id=f"delivery-{delivery_id}")
    return len(ids)


def _print_accounts(passwords: dict[str, str]) -> None:
    click.echo("\nDemo accounts (local sign-in at http://127.0.0.1:5000/login):")
    for username, name, role, *_ in DEMO_ACCOUNTS:
        also = DEMO_TRAINING_ROLES.get(username)
        roles = f"{role.value}+{also.value}" if also else role.value
        click.echo(f"  {roles:<18} {username:<13} {passwords[username]:<14} {name}")
    click.echo("")


@desk.command("init")
@click.option("--demo", is_flag=True, help="Also load demo items and demo accounts.")
@click.option("--items", default=300, show_default=True, help="Demo items to create.")
@click.option("--seed", default=2026, show_default=True)
def init_command(demo: bool, items: int, seed: int) -> None:
    """Migrate the database and load reference data; idempotent."""
    upgrade()
    reference.load(db.session, current_app.config["DESK_REFERENCE_FILE"])
    db.session.commit()
    spaces.prepare(current_app)
    click.echo("Databases migrated (the desk's and the training space's); reference data loaded.")
    if current_app.config["DESK_JOBS_INLINE"]:
        # Without a worker and scheduler, whatever an earlier run left unprocessed goes now.
        from .tasks.retention import erase_expired
        from .tasks.sweep import sweep_pending

        sweep_pending(0)
        erase_expired()
    if not demo:
        return
    passwords = _create_demo_accounts()
    if not db.session.scalar(select(func.count()).select_from(WorkItem)):
        created = _load_demo_items(items, seed)
        _settle_demo_history(seed)
        _demo_phone_calls(seed)
        _demo_targets(seed)
        click.echo(f"Loaded {created} demo deliveries.")
    _print_accounts(passwords)


def _settle_demo_history(seed: int) -> None:
    """Give the demo a lived-in look: most older items were handled by colleagues, a backlog
    of overdue ones remains, and colleagues hold a few items right now."""
    from .work import calls
    from .work.lifecycle import resolve, take

    rng = random.Random(seed)
    now = utcnow()
    users = db.session.scalars(
        select(User).where(User.role.in_([Role.PROFESSIONAL.value, Role.TEAM_LEAD.value]))
    ).all()
    outcomes = [
        "self-care-guidance",
        "appointment-booked",
        "callback-arranged",
        "forwarded-municipal-system",
        "forwarded-professional",
        "no-action-needed",
    ]
    items = db.session.scalars(select(WorkItem).order_by(WorkItem.submitted_at)).all()
    for item in items:
        # The demo's deliveries all arrive at once; date them as they would have arrived.
        item.created_at = item.updated_at = item.submitted_at + timedelta(
            seconds=rng.randint(1, 20)
        )
        for event in item.events:
            event.at = item.created_at
        age = now - item.submitted_at
        old = (item.due_at is not None and item.due_at < now - timedelta(hours=1)) or (
            item.due_at is None and age > timedelta(hours=3)
        )
        if not old or rng.random() < 0.12:
            continue
        handler = rng.choice([u for u in users if item.queue_code in u.queue_codes])
        take(db.session, item, handler)
        resolve(db.session, item, handler, rng.choice(outcomes))
        # Backdate the handling to when it would have happened: taken (its first action) and
        # resolved in that order, both in the past; events and the item's moments alike.
        started = item.submitted_at + timedelta(minutes=rng.randint(3, 240))
        # A callback was called: most residents answer the first time, some the second or
        # third, a few never (an hour between tries, as the queues' rule has it).
        results = []
        if item.channel == "callback":
            results = rng.choices(list(_DEMO_CALLS), list(_DEMO_CALLS.values()))[0]
        calls_end = started + timedelta(minutes=65 * max(len(results) - 1, 0))
        finished = calls_end + timedelta(minutes=rng.randint(4, 45))
        if finished > now - timedelta(minutes=1):
            early = finished - (now - timedelta(minutes=1))
            started, finished = max(item.created_at, started - early), finished - early
        for event in item.events:
            if event.kind == "taken":
                event.at = started
            elif event.kind == "resolved":
                event.at = finished
                if results and results[-1] != "reached":
                    event.outcome_code = item.outcome_code = "resident-unreachable"
        for n, result in enumerate(results):
            at = min(started + timedelta(minutes=65 * n + 2), finished)
            db.session.add(
                ItemEvent(item=item, kind="call_attempt", at=at, actor=handler, outcome_code=result)
            )
        item.call_attempts, item.call_result = len(results), (results or [None])[-1]
        item.first_action_at = started
        item.resolved_at = item.updated_at = finished
    colleague = db.session.scalar(select(User).where(User.username == "sjukskotare"))
    lead = db.session.scalar(select(User).where(User.username == "tiiminvetaja"))
    for user, codes in ((colleague, ["chat-regional"]), (lead, ["help-regional"])):
        waiting = db.session.scalars(
            select(WorkItem)
            .where(WorkItem.queue_code.in_(codes), WorkItem.status == "new")
            .order_by(WorkItem.submitted_at.desc())
            .limit(2)
        )
        for item in waiting:
            take(db.session, item, user)
    # A colleague called three callbacks a moment ago without an answer: they wait in their
    # queue for the next try.
    unanswered = db.session.scalars(
        select(WorkItem)
        .where(WorkItem.queue_code == "callback-regional", WorkItem.status == "new")
        .order_by(WorkItem.submitted_at.desc())
        .limit(3)
    )
    for item in unanswered:
        called = max(item.created_at, now - timedelta(minutes=rng.randint(5, 40)))
        take(db.session, item, colleague)
        calls.record_attempt(db.session, item, colleague, "no-answer", now=called)
    db.session.commit()


#: the demo's callbacks as they went: each call's results, and how often
_DEMO_CALLS = {
    ("reached",): 70,
    ("no-answer", "reached"): 12,
    ("busy", "no-answer", "reached"): 5,
    ("no-answer", "voicemail", "no-answer"): 4,
    ("wrong-number",): 2,
}


#: residents per municipality (rounded, 2024): the demo's phone calls follow them
_DEMO_RESIDENTS = {
    "porvoo": 51_000,
    "sipoo": 23_000,
    "loviisa": 14_500,
    "askola": 4_800,
    "lapinjarvi": 2_600,
    "pukkila": 1_900,
    "myrskyla": 1_800,
}


def _demo_phone_calls(seed: int) -> None:
    """TeleQ's daily call counts for the demo's days, as a lead would import them, so the
    reports can say whether the 2025 target for the digital share is met: somewhat more calls
    than digital contacts, as in the region today."""
    from .inbound.deadlines import HELSINKI
    from .reports import import_phone_calls

    rng = random.Random(seed)
    first = db.session.scalar(select(func.min(WorkItem.submitted_at)))
    if first is None:
        return
    day, today = first.astimezone(HELSINKI).date(), utcnow().astimezone(HELSINKI).date()
    arrivals = db.session.scalar(select(func.count()).select_from(WorkItem))
    daily = arrivals / ((today - day).days + 1) * 1.2  # the phone still carries the most
    everyone = sum(_DEMO_RESIDENTS.values())
    lines = ["day;municipality;calls"]
    while day <= today:
        for code, residents in _DEMO_RESIDENTS.items():
            calls = round(daily * residents / everyone * rng.uniform(0.7, 1.3))
            lines.append(f"{day.isoformat()};{code};{calls}")
        day += timedelta(days=1)
    _, problems = import_phone_calls(db.session, "\n".join(lines), set(_DEMO_RESIDENTS))
    if problems:  # the reference data changed under the demo: say so, load the rest
        click.echo(f"Demo phone calls not imported: {problems}", err=True)
    db.session.commit()


def _demo_targets(seed: int) -> None:
    """What the targets page needs beyond the desk's own items: residents' satisfaction
    answers on the resolved demo items (through the same path as the API's), and a year of
    other contacts and care imported month by month up to the last full month."""
    from .demo import care_contacts, feedback
    from .inbound import feedback as answers
    from .inbound.deadlines import HELSINKI
    from .reports.targets import import_care_contacts, months_between

    rng = random.Random(seed)
    resolved = db.session.scalars(
        select(WorkItem).where(WorkItem.status == "resolved").order_by(WorkItem.id)
    )
    now = utcnow()
    for item in resolved:
        answer = feedback(rng, item.id, item.language, item.resolved_at)
        if answer is not None and datetime.fromisoformat(answer["at"]) < now:
            answers.record(db.session, item, answer)
    this_month = now.astimezone(HELSINKI).date().replace(day=1)
    months = months_between(this_month.replace(year=this_month.year - 1), this_month)[:-1]
    lines = care_contacts(rng, _DEMO_RESIDENTS, months)
    _, problems = import_care_contacts(db.session, "\n".join(lines), set(_DEMO_RESIDENTS))
    if problems:
        click.echo(f"Demo care contacts not imported: {problems}", err=True)
    db.session.commit()


@desk.command("accounts")
def accounts_command() -> None:
    """Print the demo accounts and their passwords."""
    path = _demo_credentials_file()
    if not path.exists():
        raise click.ClickException("no demo accounts yet: run `flask desk init --demo`")
    _print_accounts(json.loads(path.read_text()))


@desk.command("sweep")
@click.option(
    "--grace",
    default=0.0,
    show_default=True,
    help="Leave deliveries younger than this many seconds alone.",
)
def sweep_command(grace: float) -> None:
    """Hand deliveries not yet in an item to the intake job again (once)."""
    from .tasks.sweep import sweep_pending

    click.echo(f"Re-enqueued {sweep_pending(grace)} deliveries.")


@desk.command("erase")
def erase_command() -> None:
    """Erase the resident data past its retention period now (the scheduler does it hourly)."""
    from .tasks.retention import erase_expired

    erased = erase_expired(budget_seconds=float("inf"))
    click.echo(
        f"Erased the resident data of {erased['items']} items "
        f"and {erased['training_items']} training items."
    )


@desk.command("counts")
def counts_command() -> None:
    """Check the situation view's kept counts against a full count now, correcting and
    logging any drift, and fold them (the scheduler does both periodically)."""
    from .tasks.counts import fold_counts, reconcile_counts

    drifted = reconcile_counts()
    folded = fold_counts()
    click.echo(f"{drifted} counts had drifted (corrected); {folded} rows folded.")


#: the waits between tries to reach Redis again: doubling from the first up to the last
RECONNECT = (0.5, 10.0)

# The scheduler's lock is renewed only while it is still this scheduler's (ARGV[1]); gone
# (Redis restarted empty, or it expired unseen), it is taken again. 1: ours, 0: another's.
_RENEW_LOCK = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
elseif not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
SCHEDULER_LOCK = "desk:scheduler"


def _next_wait(wait: float | None) -> float:
    return RECONNECT[0] if wait is None else min(wait * 2, RECONNECT[1])


@desk.command("scheduler")
@click.option("--interval", default=30, show_default=True, help="Seconds between sweeps.")
def scheduler_command(interval: int) -> None:
    """Run the one scheduler process: the sweep every `interval` seconds (rq cron)."""
    from redis.exceptions import RedisError
    from rq.cron import CronScheduler
    from rq.exceptions import StopRequested

    from .tasks import QUEUE_NAME, redis_connection
    from .tasks.calls import RETRY_SWEEP_SECONDS, return_retries
    from .tasks.counts import fold_counts, reconcile_counts
    from .tasks.outbound import sweep_outbox
    from .tasks.retention import erase_expired
    from .tasks.sweep import sweep_pending
    from .work.counts import FOLD_SECONDS, RECONCILE_SECONDS

    if current_app.config["DESK_JOBS_INLINE"]:
        raise click.ClickException("REDIS_URL is not set: there is nothing to schedule")
    connection = redis_connection()
    lock, ttl = SCHEDULER_LOCK, interval * 3
    renew = connection.register_script(_RENEW_LOCK)
    release = connection.register_script(_RELEASE_LOCK)

    class SingleScheduler(CronScheduler):
        """Refuses to run beside another: two would sweep twice as often, for nothing. Keeps
        running while Redis is unavailable, and sweeps as soon as it is back."""

        def heartbeat(self) -> None:
            super().heartbeat()
            if not renew(keys=[lock], args=[self.name, ttl]):
                raise click.ClickException(
                    f"another scheduler took over ({connection.get(lock)!r}); this one stops"
                )

        def start(self) -> None:
            # rq's loop, except that a Redis error waits and tries again instead of ending it.
            self._install_signal_handlers()
            wait, born = None, False
            try:
                while True:
                    try:
                        if not born:
                            self.register_birth()
                            born = True
                        if self.enqueue_jobs():
                            self.save()
                        self.heartbeat()
                    except RedisError as error:
                        if wait is None:
                            self.log.warning("Redis unavailable (%s); trying again", error)
                        wait = _next_wait(wait)
                        time.sleep(wait)
                        continue
                    if wait is not None:
                        self.log.warning("Redis answers again")
                        wait = None
                    time.sleep(self.calculate_sleep_interval())
            except (KeyboardInterrupt, StopRequested):
                self.log.info("CronScheduler %s: stopping", self.name)
            finally:
                with contextlib.suppress(RedisError):
                    self.register_death()

    scheduler = SingleScheduler(connection)
    taken, wait = None, None
    while taken is None:
        try:
            taken = bool(connection.set(lock, scheduler.name, nx=True, ex=ttl))
        except RedisError as error:
            wait = _next_wait(wait)
            log.warning("Redis unavailable (%s); trying again in %g s", error, wait)
            time.sleep(wait)
    if not taken:
        raise click.ClickException(f"another scheduler is running ({connection.get(lock)!r})")
    scheduler.register(sweep_pending, queue_name=QUEUE_NAME, interval=interval)
    # The outbox's retries are due seconds apart (5 s, 30 s, …): looked for every 5 s.
    scheduler.register(sweep_outbox, queue_name=QUEUE_NAME, interval=min(interval, 5))
    # Resident data past its retention period: erased hourly, in batches.
    scheduler.register(erase_expired, queue_name=QUEUE_NAME, interval=max(interval, 3600))
    # Items waiting for their next call come back within RETRY_SWEEP_SECONDS of its time.
    scheduler.register(
        return_retries, queue_name=QUEUE_NAME, interval=min(interval, RETRY_SWEEP_SECONDS)
    )
    # The situation view's kept counts: folded, and now and then checked against a full count.
    scheduler.register(fold_counts, queue_name=QUEUE_NAME, interval=FOLD_SECONDS)
    scheduler.register(reconcile_counts, queue_name=QUEUE_NAME, interval=RECONCILE_SECONDS)
    try:
        scheduler.start()
    finally:
        with contextlib.suppress(RedisError):
            release(keys=[lock], args=[scheduler.name])


@desk.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option(
    "--fork/--no-fork",
    default=False,
    show_default=True,
    help="Run each job in a forked process (isolation) or in this one (speed).",
)
def worker_command(burst: bool, fork: bool) -> None:
    """Run an rq worker for the desk's jobs, in this app's context.

    The worker outlives Redis: when Redis is unavailable it waits and tries again (longer
    after each failure, at most RECONNECT[1] seconds), and once Redis answers it asks for a
    drain, so that deliveries accepted meanwhile are routed without waiting for the sweep."""
    from redis.exceptions import RedisError
    from rq import SimpleWorker, Worker

    from .tasks import QUEUE_NAME, JobContext, redis_connection
    from .tasks.inbound import request_drain

    if current_app.config["DESK_JOBS_INLINE"]:
        raise click.ClickException("REDIS_URL is not set: jobs run in-process, no worker needed")
    if fork:
        # Connections opened before forking must not be shared with the job processes.
        db.engine.dispose()
    # The desk's jobs are short database transactions: forking for each costs more than the
    # job itself, so by default they run in the worker's own process.
    base = Worker if fork else SimpleWorker
    stopping = threading.Event()
    lost = threading.Event()  # Redis failed, and no drain was asked for since
    reached = threading.Event()  # this worker reached Redis (so its failure is a new one)

    class AppWorker(JobContext, base):
        """Each job starts with a fresh database session (JobContext)."""

        # rq's own waits between tries to reach Redis while it waits for jobs
        max_connection_wait_time = RECONNECT[1]

        def heartbeat(self, timeout=None, pipeline=None):
            # rq beats before every wait for a job, also while it retries a lost connection.
            try:
                super().heartbeat(timeout, pipeline)
            except RedisError:
                lost.set()
                raise
            if pipeline is not None:
                return  # only queued: the pipeline's caller learns how it went
            reached.set()
            if lost.is_set():
                request_drain()
                lost.clear()
                self.log.warning("Redis answers again; a drain is asked for")

        def request_stop(self, signum, frame):
            stopping.set()
            super().request_stop(signum, frame)

    connection = redis_connection()
    wait = None
    while not stopping.is_set():
        worker = None
        reached.clear()
        try:
            worker = AppWorker(
                [QUEUE_NAME], connection=connection, exception_handlers=[_count_failure]
            )
            worker.work(burst=burst)
            if burst or stopping.is_set():
                return
            problem = "its loop ended"  # rq ends its loop on an error it does not handle
        except RedisError as error:
            problem = error
        if stopping.is_set():
            return
        if worker is not None and getattr(worker, "pubsub_thread", None) is not None:
            worker.pubsub_thread.stop()  # rq could not unsubscribe without Redis
        wait = RECONNECT[0] if reached.is_set() else _next_wait(wait)
        lost.set()
        log.warning("The worker lost Redis (%s); starting again in %g s", problem, wait)
        # Until then, a signal to stop is only noted (rq's handlers belong to the old worker).
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        signal.signal(signal.SIGINT, lambda *_: stopping.set())
        stopping.wait(wait)


def _count_failure(job, exc_type, exc_value, traceback) -> bool:
    """rq's handler of a job that raised: counted by task (desk_job_failures_total); rq's own
    handling (retry, or the failed job registry) follows."""
    metrics.JOB_FAILURES.labels(job.func_name.rsplit(".", 1)[-1]).inc()
    return True


def init_app(app: Flask) -> None:
    """Register the `flask desk` commands."""
    app.cli.add_command(desk)


token = AppGroup("token", help="Bearer tokens of source systems.")
desk.add_command(token)


@token.command("create")
@click.option("--name", required=True, help='Which source system, e.g. "Omaolo production".')
@click.option(
    "--channel",
    "channel_names",
    multiple=True,
    required=True,
    help="A channel the token may deliver to; repeat for several.",
)
def token_create(name: str, channel_names: tuple[str, ...]) -> None:
    """Create a token and print it once; only its hash is stored."""
    from .extensions import channel_registry
    from .inbound import tokens

    channels = channel_registry()
    unknown = [c for c in channel_names if channels.get(c) is None]
    if unknown:
        raise click.BadParameter(
            f"unknown channel(s): {', '.join(unknown)}; use {', '.join(channels.names())}"
        )
    from .models import ApiToken

    same = db.session.scalar(select(func.count()).where(ApiToken.name == name))
    row, secret = tokens.create(db.session, name, list(dict.fromkeys(channel_names)))
    db.session.commit()
    if same:
        # The name is the source system: its tokens read each other's processing states.
        click.echo(f"{name} has {same} earlier token(s): this one reads their deliveries' states.")
    click.echo(f"Token {row.id} for {name} ({row.channels}). It is shown only now:")
    click.echo(secret)


@token.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""
    from .models import ApiToken

    for row in db.session.scalars(select(ApiToken).order_by(ApiToken.id)):
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
        click.echo(f"{row.id:>4}  {row.name:<30} {row.channels:<36} {state:<24} used {used}")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token: its source system gets 401 from now on."""
    from .inbound import tokens

    row = tokens.revoke(db.session, token_id)
    if row is None:
        raise click.ClickException(f"no token {token_id}")
    db.session.commit()
    click.echo(f"Token {row.id} ({row.name}) revoked.")


endpoint = AppGroup("endpoint", help="Outbound endpoints: where source systems receive events.")
desk.add_command(endpoint)

#: InvalidEndpoint's reasons, as the command line says them
ENDPOINT_PROBLEMS = {
    "url": "the URL is not a whole web address (https://host/path)",
    "scheme": "the URL must be https (http only on loopback: localhost, 127.0.0.1, ::1)",
    "name": "give a name of 1 to 120 characters",
    "name_taken": "another endpoint already has that name",
    "channels": "choose at least one channel in use",
}


def _endpoint_problem(error) -> click.ClickException:
    reason = error.params.get("reason", "")
    return click.ClickException(ENDPOINT_PROBLEMS.get(reason, f"refused ({reason})"))


def _endpoint_row(endpoint_id: int):
    from .models import OutboundEndpoint

    row = db.session.get(OutboundEndpoint, endpoint_id)
    if row is None:
        raise click.ClickException(f"no endpoint {endpoint_id}")
    return row


@endpoint.command("create")
@click.option("--name", required=True, help='Which source system, e.g. "Chat platform".')
@click.option("--url", required=True, help="Where it receives events: https (http on loopback).")
@click.option(
    "--channel",
    "channel_names",
    multiple=True,
    required=True,
    help="A channel it serves; repeat for several.",
)
def endpoint_create(name: str, url: str, channel_names: tuple[str, ...]) -> None:
    """Register an endpoint and print its signing secret once."""
    from .errors import InvalidEndpoint
    from .extensions import channel_registry
    from .outbound import endpoints

    channels = channel_registry()
    unknown = [c for c in channel_names if channels.get(c) is None]
    if unknown:
        raise click.BadParameter(
            f"unknown channel(s): {', '.join(unknown)}; use {', '.join(channels.names())}"
        )
    try:
        row, secret = endpoints.register(db.session, name, url, channel_names, channels.names())
    except InvalidEndpoint as error:
        raise _endpoint_problem(error) from None
    db.session.commit()
    click.echo(f"Endpoint {row.id} for {row.name} ({row.channels}) at {row.url}.")
    click.echo("Its signing secret is shown only now:")
    click.echo(secret)


@endpoint.command("list")
def endpoint_list() -> None:
    """List endpoints with their backlog and failures (never their secrets)."""
    from .models import OutboundEndpoint
    from .outbound.endpoints import Counts, event_counts

    def at(moment) -> str:
        return f"{moment:%Y-%m-%d %H:%M}" if moment else "never"

    counts = event_counts(db.session)
    for row in db.session.scalars(select(OutboundEndpoint).order_by(OutboundEndpoint.id)):
        count = counts.get(row.id, Counts())
        state = "enabled" if row.enabled else f"disabled: {row.disabled_reason or ''}"
        click.echo(f"{row.id:>4}  {row.name:<30} {row.url}")
        click.echo(f"      channels {row.channels}; {state}")
        click.echo(
            f"      backlog {count.pending}, failed {count.failed}; "
            f"last success {at(row.last_success_at)}; last failure {at(row.last_failure_at)}"
            + (f": {row.last_failure}" if row.last_failure_at and row.last_failure else "")
        )


@endpoint.command("disable")
@click.argument("endpoint_id", type=int)
def endpoint_disable(endpoint_id: int) -> None:
    """Stop sending to an endpoint; its events wait until it is enabled again."""
    from .outbound import endpoints
    from .outbound.endpoints import BY_ADMINISTRATOR

    row = _endpoint_row(endpoint_id)
    if row.enabled:
        endpoints.disable(row, f"{BY_ADMINISTRATOR} (command line) at {utcnow().isoformat()}")
        db.session.commit()
    click.echo(f"Endpoint {row.id} ({row.name}) disabled: nothing is sent to it.")


@endpoint.command("enable")
@click.argument("endpoint_id", type=int)
def endpoint_enable(endpoint_id: int) -> None:
    """Send to an endpoint again, its waiting events first."""
    from .outbound import endpoints

    row = _endpoint_row(endpoint_id)
    endpoints.enable(row)
    db.session.commit()
    click.echo(f"Endpoint {row.id} ({row.name}) enabled.")


@endpoint.command("rotate")
@click.argument("endpoint_id", type=int)
def endpoint_rotate(endpoint_id: int) -> None:
    """Give an endpoint a new secret and print it once; the old one signs for 24 h more."""
    from .outbound import endpoints

    row = _endpoint_row(endpoint_id)
    secret = endpoints.rotate(row, utcnow())
    db.session.commit()
    click.echo(
        f"Endpoint {row.id} ({row.name}) has a new secret. The old one keeps signing beside "
        f"it for 24 hours (until {row.previous_until:%Y-%m-%d %H:%M} UTC)."
    )
    click.echo("The new secret is shown only now:")
    click.echo(secret)


#: the demo's reference source system: its endpoint's and inbound token's name
PARTNER = "Reference source system (demo)"


@desk.command("partner")
@click.option("--url", default="http://127.0.0.1:5001/desk-events", show_default=True)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the settings  [default: instance/partner.json]",
)
@click.option("--desk-url", default="http://127.0.0.1:5000", show_default=True)
def partner_command(url: str, output: Path | None, desk_url: str) -> None:
    """Connect the demo's reference source system: an endpoint for all channels at `--url`
    (a new secret each run), a new inbound token, and both in a file only you can read."""
    from .errors import InvalidEndpoint
    from .extensions import channel_registry
    from .inbound import tokens
    from .models import ApiToken, OutboundEndpoint
    from .outbound import endpoints

    if current_app.config.get("DESK_PRODUCTION"):
        raise click.ClickException("the demo's reference source system is not for production")
    channels = channel_registry().names()
    row = db.session.scalar(select(OutboundEndpoint).where(OutboundEndpoint.name == PARTNER))
    try:
        if row is None:
            row, secret = endpoints.register(db.session, PARTNER, url, channels, channels)
        else:
            row.url = endpoints.check_url(url)
            row.channels = ",".join(sorted(channels))
            endpoints.enable(row)
            secret = endpoints.rotate(row, utcnow())
    except InvalidEndpoint as error:
        raise _endpoint_problem(error) from None
    # The file is the only place the earlier tokens were written, and it is written anew.
    for earlier in db.session.scalars(
        select(ApiToken).where(ApiToken.name == PARTNER, ApiToken.revoked_at.is_(None))
    ):
        tokens.revoke(db.session, earlier.id)
    token_row, token = tokens.create(db.session, PARTNER, channels)
    db.session.commit()
    path = output or Path(current_app.instance_path) / "partner.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = {"desk_url": desk_url, "token": token, "secret": secret}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # also when the file was there before with another mode
    with os.fdopen(descriptor, "w") as file:
        json.dump(settings, file, indent=1)
    click.echo(
        f"{PARTNER}: endpoint {row.id} at {row.url} ({row.channels}), token {token_row.id}; "
        f"the token and the secret are in {path} (mode 600)."
    )


@desk.command("simulate")
@click.option("--rate", default=1.0, show_default=True, help="Deliveries a second.")
@click.option("--minutes", default=10.0, show_default=True)
@click.option("--url", default="http://127.0.0.1:5000", show_default=True)
@click.option(
    "--token",
    "secret",
    help="A token for all four channels; without one, a token "
    "is created in this desk's database (for a local demo).",
)
@click.option("--seed", type=int, default=None)
def simulate_command(
    rate: float, minutes: float, url: str, secret: str | None, seed: int | None
) -> None:
    """Post realistic synthetic deliveries over HTTP: a living desk for demos and load tests."""
    from .demo import simulate
    from .extensions import channel_registry
    from .inbound import tokens

    channels = channel_registry().names()
    if secret is None:
        upgrade()
        _, secret = tokens.create(db.session, "Simulator", channels)
        db.session.commit()

    def report(counts) -> None:
        text = ", ".join(f"{status or 'unreachable'}: {n}" for status, n in sorted(counts.items()))
        click.echo(f"sent {sum(counts.values())} ({text})")

    simulate.run(
        url, secret, rate, minutes, seed=seed, clock=utcnow, report=report, channels=channels
    )
