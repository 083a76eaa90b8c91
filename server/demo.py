"""A realistic demo district: grids, staff and ~50 people under observation in every state."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import uuid
from datetime import datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import day_start, local_date, windows_on
from server.alerts.service import acknowledge, open_alert
from server.areas import service as areas
from server.auth.principal import SYSTEM_STAFF, Admin, HouseholdPrincipal, Staff
from server.auth.security import hash_access_code
from server.db import Database, utcnow
from server.declarations.schemas import DeclarationCreate
from server.declarations.service import declare, record_tally
from server.errors import AppError
from server.grids.service import get_or_create_grids
from server.households.schemas import HouseholdCreate, HouseholdReadingCreate
from server.households.service import create_household, report_for_household
from server.models import Alert, Area, Grid, Subject, User
from server.models.case import Site
from server.models.households import Household
from server.readings.schemas import ReadingCreate
from server.readings.service import add_reading
from server.roster.status import reevaluate
from server.settings import Settings
from server.sites.service import create_site
from server.sms.schemas import SmsInboundCreate
from server.sms.service import receive as receive_sms
from server.subjects import course
from server.subjects.release import release
from server.subjects.schemas import (
    ActionCreate,
    ExtendCreate,
    LabTestCreate,
    SubjectCreate,
    SubjectUpdate,
    TransferCreate,
)
from server.subjects.service import correct, enrol, extend_observation
from server.users.service import create_user

# Public-domain NASA portrait (see demo_media/README.md): demo snapshots, and the tests' face on camera.
DEMO_FACE = Path(__file__).with_name("demo_media") / "face.jpg"

GRIDS = ["东园社区第一网格", "东园社区第二网格", "西岭村网格", "高新科技园集中观察点"]
# The district's tree (district > town | street > community | village > grid); the grids above are its
# leaves, placed under their community or village.
DISTRICT = "示范区"
TREE = [  # (name, kind, parent)
    ("东园街道", "street", DISTRICT), ("东园社区", "community", "东园街道"),
    ("西岭镇", "town", DISTRICT), ("西岭村", "village", "西岭镇"),
    ("高新街道", "street", DISTRICT), ("科技园社区", "community", "高新街道"),
]
GRID_PARENTS = {GRIDS[0]: "东园社区", GRIDS[1]: "东园社区", GRIDS[2]: "西岭村", GRIDS[3]: "科技园社区"}
# (username, role, password, areas: grid or area names)
STAFF = [
    ("admin", "admin", "homewatch-admin", []),
    ("doctor", "clinician", "homewatch-doctor", GRIDS[:2]),
    ("doctor2", "clinician", "homewatch-doctor2", GRIDS[2:]),
    ("worker", "grid_worker", "homewatch-worker", ["东园社区"]),
    ("command", "observer", "homewatch-command", [DISTRICT]),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
         "秀兰", "霞", "平", "刚", "桂英", "建华", "文", "华", "玉兰", "红", "志强", "海燕"]
REASONS = ["自武汉返回", "密切接触者", "自外省返回", "同航班乘客", "入境人员"]


def demo_access_code(secret_key: str, index: int) -> str:
    """Demo people get codes derived from the deployment secret, so `make run` can print their links
    again on every start; real enrolments use fresh random codes."""
    digest = hmac.new(secret_key.encode(), f"demo-subject-{index}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


# (label, how many, start days ago, scenario)
SCENARIOS = [
    ("high fever", 3, 5, "high_fever"),
    ("fever", 3, 7, "fever"),
    ("symptoms", 3, 4, "symptoms"),
    ("asked to be called", 2, 6, "callback"),
    ("missed a window", 6, 8, "missed"),
    ("enrolled today", 4, 0, "new"),
    ("regular", 20, 9, "ok"),
    ("ready for release", 6, 15, "ready"),
    ("released", 3, 16, "released"),
    # Appended, not inserted: a demo person's link is derived from their position in this list.
    ("starts tomorrow", 1, -1, "new"),
    ("released early (override)", 1, 6, "released_override"),
    # The course of a case (monitoring.course): each shows one thing that happens to real cases.
    ("referred, test result awaited", 1, 6, "referred"),
    ("two negative tests", 1, 12, "tested"),
    ("positive test", 1, 9, "positive"),
    ("hospitalised (case closed)", 1, 7, "closed"),
    ("extended after a new exposure", 1, 10, "extended"),
    ("moved to another grid", 1, 8, "transferred"),
    ("record corrected", 1, 5, "corrected"),
    ("at a centralised site", 3, 6, "site"),
]
DEMO_SITE = ("高新区如家酒店集中观察点", "高新区科技路 88 号")


async def seed_demo(settings: Settings, *, only_if_empty: bool = False) -> list[tuple[str, str]]:
    if settings.environment == "production":
        # Staff with published passwords and made-up people must never sit beside real ones.
        raise AppError("The demo data is never put into a production database (HOMEWATCH_ENVIRONMENT=production).")
    db = Database.from_url(settings.database_url)
    rules = settings.rules
    rng = random.Random(20200128)
    now = utcnow()
    try:
        async with db.session() as session:
            if only_if_empty and (await session.scalar(select(func.count()).select_from(Subject))):
                return await _links(db, settings)
            grids = await get_or_create_grids(session, actor=SYSTEM_STAFF, names=GRIDS)
            by_name = await _seed_tree(session, grids)
            for username, role, password, area_names in STAFF:
                if await session.scalar(select(User.id).where(User.username == username)) is None:
                    await create_user(session, actor=SYSTEM_STAFF, username=username, password=password, role=role,
                                      grid_ids=[], area_ids=[by_name[n] for n in area_names], full_name=None)
        doctor = await _staff(db, "doctor2")
        index = 0
        for _label, count, days_ago, scenario in SCENARIOS:
            for _ in range(count):
                await _seed_one(db, settings, rng, index, grids[index % len(grids)].id, days_ago, scenario, now,
                                doctor)
                index += 1
        await _seed_checkins(db, settings, now)
        await _seed_households(db, settings, now)
        await _seed_sms_and_declarations(db, settings, now)
        async with db.session() as session:
            for subject in (await session.scalars(select(Subject).where(Subject.state == "active"))).all():
                reevaluate(session, subject, now=now, rules=rules)
        return await _links(db, settings)
    finally:
        await db.dispose()


async def _seed_tree(session: AsyncSession, grids: list[Grid]) -> dict[str, int]:
    """The district's tree above the demo grids (made once; the grids are placed in it)."""
    by_name = {a.name: a.id for a in (await session.scalars(select(Area).where(Area.kind != "grid"))).all()}
    if DISTRICT not in by_name:
        by_name[DISTRICT] = (await areas.create_area(session, actor=SYSTEM_STAFF, name=DISTRICT,
                                                     kind="district")).id
    for name, kind, parent in TREE:
        if name not in by_name:
            by_name[name] = (await areas.create_area(session, actor=SYSTEM_STAFF, name=name, kind=kind,
                                                     parent_id=by_name[parent])).id
    for grid in grids:
        area = await session.get(Area, grid.id)
        if area is not None and area.parent_id is None and grid.name in GRID_PARENTS:
            await areas.move_area(session, actor=SYSTEM_STAFF, area_id=grid.id,
                                  parent_id=by_name[GRID_PARENTS[grid.name]])
        by_name[grid.name] = grid.id
    return by_name


async def _staff(db: Database, username: str) -> Staff:
    async with db.session() as session:
        user = await session.scalar(select(User).where(User.username == username))
        assert user is not None
        return Admin(user_id=user.id, username=user.username, grid_ids=frozenset())


async def _seed_one(db: Database, settings: Settings, rng: random.Random, index: int, grid_id: int, days_ago: int,
                    scenario: str, now: datetime, acting: Staff) -> None:
    rules = settings.rules
    today = local_date(now, rules)
    start = today - timedelta(days=days_ago)
    name = SURNAMES[index % len(SURNAMES)] + GIVEN[(index * 7) % len(GIVEN)]
    phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    body = SubjectCreate(full_name=name, phone=phone, grid_id=grid_id,
                         observation_type="centralized" if grid_id % 4 == 0 else "home",
                         reason=REASONS[index % len(REASONS)], start_date=start,
                         address=f"{rng.randrange(1, 30)}栋{rng.randrange(1, 6)}单元{rng.randrange(101, 2801)}",
                         language="en" if index == 7 else ("zh_Hant" if index == 11 else None))
    enrolled_at = min(now, datetime.combine(start, time(8, 0), tzinfo=rules.tz))
    async with db.session() as session:
        subject, _ = await enrol(session, actor=SYSTEM_STAFF, body=body, rules=rules, now=enrolled_at)
        subject.access_code_hash = hash_access_code(demo_access_code(settings.secret_key, index))
    # Two readings a day in the windows so far, normal unless the scenario says otherwise.
    readings: list[tuple[datetime, float, list[str]]] = []
    day = start
    while day <= today:
        for window in windows_on(day, rules):
            taken = window.start + timedelta(minutes=rng.randrange(10, 120))
            if taken > now:
                continue
            latest_closed = window.end <= now and window.end > now - timedelta(hours=14)
            if scenario == "missed" and latest_closed:
                continue
            readings.append((taken, round(rng.uniform(36.1, 37.0), 1), []))
        day += timedelta(days=1)
    if scenario == "new":
        readings = readings[-1:] if rng.random() < 0.5 else []
    recent = now - timedelta(hours=rng.randrange(1, 5))
    if scenario == "high_fever":
        readings.append((recent, round(rng.uniform(38.6, 39.4), 1), ["cough", "fatigue"]))
    elif scenario == "fever":
        readings.append((recent, round(rng.uniform(37.3, 38.2), 1), []))
    elif scenario == "symptoms":
        readings.append((recent, 36.8, [rng.choice(["cough", "sore_throat", "headache", "runny_nose"])]))
    for taken, temperature, symptoms in sorted(readings):
        async with db.session() as session:
            subject = await session.get_one(Subject, subject.id)
            await add_reading(session, subject=subject, actor=SYSTEM_STAFF, rules=rules,
                              now=taken + timedelta(minutes=1),
                              body=ReadingCreate(id=uuid.uuid4(), temperature_c=temperature, taken_at=taken,
                                                 method="forehead", symptoms=symptoms))
    async with db.session() as session:
        subject = await session.get_one(Subject, subject.id)
        if scenario == "callback":
            await open_alert(session, actor=SYSTEM_STAFF, subject=subject, kind="callback_request", now=recent,
                             rules=rules)
    if scenario in ("ready", "released", "released_override"):
        async with db.session() as session:
            open_ids = (await session.scalars(select(Alert.id).where(Alert.subject_id == subject.id,
                                                                   Alert.status == "open"))).all()
            for alert_id in open_ids:
                await acknowledge(session, staff=acting, alert_id=alert_id, note="已电话随访", now=now, rules=rules)
    if scenario in ("released", "released_override"):
        override = scenario == "released_override"
        async with db.session() as session:
            subject = await session.get_one(Subject, subject.id)
            await release(session, actor=acting, subject=subject, override=override,
                          note="转入定点医院，由医院继续观察" if override else "观察期满，无异常",
                          rules=rules, now=now - timedelta(hours=rng.randrange(1, 20)),
                          secret_key=settings.secret_key)
    if scenario == "high_fever":
        async with db.session() as session:
            subject = await session.get_one(Subject, subject.id)
            subject.clinician_note = "独居老人，电话随访时请大声说话"
    await _seed_course(db, settings, subject.id, scenario, now, acting, index)


async def _seed_course(db: Database, settings: Settings, subject_id: uuid.UUID, scenario: str, now: datetime,
                       acting: Staff, index: int) -> None:
    """What staff did on the demo cases: actions, tests, an extension, a move, a correction, a site."""
    rules = settings.rules
    async with db.session() as session:
        if scenario in ("referred", "closed"):
            await course.record_action(session, staff=acting, subject_id=subject_id, rules=rules, now=now,
                                       body=ActionCreate(kind="referred_fever_clinic", note="体温偏高，转发热门诊复查",
                                                         at=now - timedelta(hours=20)))
        if scenario == "referred":
            await course.record_test(session, staff=acting, subject_id=subject_id, rules=rules, now=now,
                                     body=LabTestCreate(kind="nucleic_acid", sampled_at=now - timedelta(hours=18),
                                                        lab="区疾控中心"))
        elif scenario == "tested":
            for hours in (50, 22):
                await course.record_test(session, staff=acting, subject_id=subject_id, rules=rules, now=now,
                                         body=LabTestCreate(kind="nucleic_acid", result="negative", lab="区疾控中心",
                                                            sampled_at=now - timedelta(hours=hours)))
        elif scenario == "positive":
            await course.record_test(session, staff=acting, subject_id=subject_id, rules=rules, now=now,
                                     body=LabTestCreate(kind="antigen", result="positive",
                                                        sampled_at=now - timedelta(hours=3)))
        elif scenario == "closed":
            await course.record_action(session, staff=acting, subject_id=subject_id, rules=rules, now=now,
                                       body=ActionCreate(kind="hospitalized", note="转入定点医院隔离治疗",
                                                         at=now - timedelta(hours=2)))
        elif scenario == "extended":
            await extend_observation(session, staff=acting, subject_id=subject_id, rules=rules, now=now,
                                     body=ExtendCreate(days=7, reason="同住家属确诊，重新计算观察期"))
        elif scenario == "transferred":
            subject = await session.get_one(Subject, subject_id)
            grids = (await session.scalars(select(Grid.id).where(Grid.id != subject.grid_id)
                                           .order_by(Grid.id))).all()
            await course.transfer(session, staff=acting, subject_id=subject_id, now=now,
                                  body=TransferCreate(grid_id=grids[0], reason="搬到父母家居住"))
        elif scenario == "corrected":
            await correct(session, staff=acting, subject_id=subject_id, now=now,
                          body=SubjectUpdate(address="东园社区 12栋3单元 501（更正）"))
        elif scenario == "site":
            site_id = await session.scalar(select(Site.id).where(Site.name == DEMO_SITE[0]))
            if site_id is None:
                site_id = (await create_site(session, actor=acting, name=DEMO_SITE[0], address=DEMO_SITE[1])).id
            await correct(session, staff=acting, subject_id=subject_id, now=now,
                          body=SubjectUpdate(observation_type="centralized", site_id=site_id,
                                             room=f"{3 + index % 3}0{index % 9 + 1}"))


async def demo_links(settings: Settings) -> list[tuple[str, str]]:
    db = Database.from_url(settings.database_url)
    try:
        return await _links(db, settings)
    finally:
        await db.dispose()


async def _links(db: Database, settings: Settings) -> list[tuple[str, str]]:
    base = settings.public_url.rstrip("/")
    links = [(f"staff login ({u} / {p})", f"{base}/login") for u, _role, p, _g in STAFF]
    labels = []
    index = 0
    for label, count, _days, _scenario in SCENARIOS:
        labels.append((label, index))
        index += count
    async with db.session() as session:
        for label, i in labels:
            code = demo_access_code(settings.secret_key, i)
            name = await session.scalar(
                select(Subject.full_name).where(Subject.access_code_hash == hash_access_code(code)))
            if name:
                links.append((f"subject: {name} ({label})", f"{base}/s/{code}"))
        for index, (address, _people) in enumerate(HOUSEHOLDS):
            code = demo_household_code(settings.secret_key, index)
            if await session.scalar(select(Household.id).where(Household.access_code_hash == hash_access_code(code))):
                links.append((f"household: {address}", f"{base}/h/{code}"))
    return links


async def _seed_checkins(db: Database, settings: Settings, now: datetime) -> None:
    """Today's video check-ins for the regular people (one unclear, one abandoned), with snapshots,
    so the roster and the record pages show the video states too."""
    import numpy as np

    from server.checkins.storage import write_snapshot
    from server.models.checkins import Checkin, CheckinSnapshot
    from webrtc.snapshots import encode_jpeg

    face = DEMO_FACE.read_bytes()
    gradient = np.tile(np.linspace(40, 200, 320, dtype=np.uint8), (240, 1))
    no_face = encode_jpeg(np.dstack([gradient, gradient, gradient]))
    start_of_regular = sum(count for label, count, _d, _s in SCENARIOS[: _scenario_index("regular")])
    async with db.session() as session:
        hashes = [hash_access_code(demo_access_code(settings.secret_key, i))
                  for i in range(start_of_regular, start_of_regular + 12)]
        found = {s.access_code_hash: s for s in (await session.scalars(
            select(Subject).where(Subject.access_code_hash.in_(hashes)))).all()}
        regular = [found[h] for h in hashes if h in found]
        midnight = day_start(local_date(now, settings.rules), settings.rules)
        if now - midnight < timedelta(minutes=5):
            return  # a day five minutes old has no check-ins to show yet
        for i, subject in enumerate(regular):
            # Spread over today so far, ending well before now.
            started = midnight + (now - midnight - timedelta(minutes=1)) * (i + 1) / (len(regular) + 1)
            outcome = "abandoned" if i == 1 else "completed"
            unclear = i == 2
            shots = 2 if outcome == "abandoned" else 6
            checkin = Checkin(id=uuid.uuid4(), subject_id=subject.id, grid_id=subject.grid_id, status=outcome,
                              started_at=started, ended_at=started + timedelta(seconds=4 if shots == 2 else 14),
                              duration_s=4.0 if shots == 2 else 14.0, frames_received=60 if shots == 2 else 210,
                              width=320, height=240, snapshots_count=shots, faces_seen=0 if unclear else shots,
                              face_seen_ratio=0.0 if unclear else 1.0, created_at=started,
                              error="the connection closed after 4.0 s of video" if outcome == "abandoned" else None)
            session.add(checkin)
            await session.flush()
            for index in range(shots):
                path = await write_snapshot(settings.media_dir, checkin.id, index, no_face if unclear else face)
                session.add(CheckinSnapshot(checkin_id=checkin.id, index=index, path=path,
                                            taken_at=started + timedelta(seconds=2 * index),
                                            face_detected=not unclear))
            if outcome == "completed":
                subject.last_checkin_completed_at = checkin.ended_at
                subject.last_checkin_face_seen = not unclear


def _scenario_index(label: str) -> int:
    return next(i for i, (name, _c, _d, _s) in enumerate(SCENARIOS) if name == label)


# Households whose members report together from one phone (the household link): address, (name, phone).
HOUSEHOLDS = [
    ("东园社区 7栋2单元 302", [("王建国", "13912340001"), ("王秀英", "13912340002"), ("王小宝", "13912340003")]),
    ("东园社区 15栋1单元 1101", [("陈德明", "13912340011"), ("陈老太", "13912340012")]),
]


def demo_household_code(secret_key: str, index: int) -> str:
    """Like :func:`demo_access_code`, for the demo households' links."""
    digest = hmac.new(secret_key.encode(), f"demo-household-{index}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


async def _seed_households(db: Database, settings: Settings, now: datetime) -> None:
    """Families in one flat, one of whom reports everyone's temperature in each window so far today."""
    rules = settings.rules
    today = local_date(now, rules)
    async with db.session() as session:
        grid = await session.scalar(select(Grid).where(Grid.name == GRIDS[0]))
        assert grid is not None
        grid_id = grid.id
    for index, (address, people) in enumerate(HOUSEHOLDS):
        async with db.session() as session:
            household, _code = await create_household(session, actor=SYSTEM_STAFF, now=now,
                                                      body=HouseholdCreate(address=address, area_id=grid_id))
            household.access_code_hash = hash_access_code(demo_household_code(settings.secret_key, index))
            member_ids = []
            for name, phone in people:
                subject, _ = await enrol(session, actor=SYSTEM_STAFF, rules=rules,
                                         now=day_start(today, rules) - timedelta(days=3),
                                         body=SubjectCreate(full_name=name, phone=phone, grid_id=grid_id,
                                                            observation_type="home", reason="同住家属为密切接触者",
                                                            address=address, household_id=household.id,
                                                            start_date=today - timedelta(days=3)))
                member_ids.append(subject.id)
            caller = HouseholdPrincipal(household.id, household)
        for day_offset in (2, 1, 0):
            for window in windows_on(today - timedelta(days=day_offset), rules):
                taken = window.start + timedelta(minutes=40 + index * 15)
                if taken > now:
                    continue
                async with db.session() as session:
                    await report_for_household(
                        session, caller=caller, household_id=household.id, rules=rules, now=taken,
                        readings=[HouseholdReadingCreate(subject_id=subject_id, temperature_c=36.4 + 0.1 * n,
                                                         taken_at=taken)
                                  for n, subject_id in enumerate(member_ids)])


# People who report by SMS reply (no smartphone), and what they texted back this morning.
SMS_PEOPLE = [("刘桂兰", "13912340021", "36,7"), ("赵大爷", "13912340022", "３７．９ 咳嗽")]
# Residents who declared themselves and wait in the screening queue: name, phone, from, contact, symptoms.
DECLARATIONS = [
    ("孙丽", "13912340031", "武汉", False, []),
    ("周强", "13912340032", "温州", True, ["cough"]),
    ("吴敏", "13912340033", "黄冈", False, []),
    ("郑华", "13912340034", None, True, ["fatigue", "headache"]),
]


async def _seed_sms_and_declarations(db: Database, settings: Settings, now: datetime) -> None:
    """Two people without smartphones who reported by SMS, a queue of declarations, and census progress."""
    rules = settings.rules
    today = local_date(now, rules)
    async with db.session() as session:
        grids = (await session.scalars(select(Grid).where(Grid.name.in_(GRIDS[:3])).order_by(Grid.id))).all()
        for index, (name, phone, _text) in enumerate(SMS_PEOPLE):
            await enrol(session, actor=SYSTEM_STAFF, rules=rules, now=day_start(today, rules) - timedelta(days=2),
                        body=SubjectCreate(full_name=name, phone=phone, grid_id=grids[index % len(grids)].id,
                                           observation_type="home", reason="自外省返回（无智能手机，短信上报）",
                                           start_date=today - timedelta(days=2)))
    window = next((w for w in windows_on(today, rules) if w.start <= now), None)
    if window is not None:
        for index, (_name, phone, text) in enumerate(SMS_PEOPLE):
            async with db.session() as session:
                received = min(now, window.start + timedelta(minutes=30 + index * 7))
                await receive_sms(session, settings=settings, now=received, message=SmsInboundCreate(
                    message_id=f"demo-{today.isoformat()}-{index}", from_=phone, text=text, received_at=received))
    async with db.session() as session:
        for index, (name, phone, origin, contact, symptoms) in enumerate(DECLARATIONS):
            grid = grids[index % len(grids)]
            await declare(session, actor=SYSTEM_STAFF, now=now - timedelta(hours=5 - index), body=DeclarationCreate(
                full_name=name, phone=phone, address=f"{grid.name} {index + 3}栋{index + 1}01", area_id=grid.id,
                arrival_date=today - timedelta(days=index + 1), arrived_from=origin, contact_with_case=contact,
                symptoms=symptoms, gatherings=index == 2))
        for index, grid in enumerate(grids):
            await record_tally(session, staff=SYSTEM_STAFF, area_id=grid.id, households_visited=40 + 13 * index,
                               people_counted=101 + 29 * index, now=now - timedelta(hours=3))
