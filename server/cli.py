"""The ``homewatch`` command: serve, migrate, create users, seed a demo district."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from server.settings import Settings

# Live event streams never end by themselves; on shutdown uvicorn waits this long, then closes them
# (browsers reconnect to another process and resume with Last-Event-ID).
SHUTDOWN_GRACE_SECONDS = 5


def _migrate(settings: Settings) -> None:
    from server.migrate import upgrade

    asyncio.run(upgrade(settings.database_url))
    print(f"database is up to date ({settings.database_url.split('@')[-1]})")


async def _create_user(settings: Settings, args: argparse.Namespace) -> None:
    from server.auth.principal import SYSTEM_STAFF
    from server.db import Database
    from server.grids.service import get_or_create_grids
    from server.users.service import create_user

    db = Database.from_url(settings.database_url)
    try:
        async with db.session() as session:
            grids = await get_or_create_grids(session, actor=SYSTEM_STAFF, names=args.grid or [])
            user = await create_user(session, actor=SYSTEM_STAFF, username=args.username, password=args.password,
                                     role=args.role, grid_ids=[g.id for g in grids])
        print(f"created {user.role} {user.username} (grids: {', '.join(args.grid or []) or 'none'})")
    finally:
        await db.dispose()


async def _purge_media(settings: Settings) -> int:
    from server.checkins.service import purge_released_snapshots
    from server.db import Database, utcnow

    db = Database.from_url(settings.database_url)
    try:
        async with db.session() as session:
            return await purge_released_snapshots(session, utcnow(), settings.snapshot_retention_days,
                                                  settings.media_dir)
    finally:
        await db.dispose()


async def _purge(settings: Settings) -> int:
    from server.db import Database, utcnow
    from server.subjects.retention import erase_due

    db = Database.from_url(settings.database_url)
    try:
        return await erase_due(db, now=utcnow(), retention_days=settings.retention_days,
                               media_dir=settings.media_dir)
    finally:
        await db.dispose()


def _print_links(links: Sequence[tuple[str, str]]) -> None:
    for label, url in links:
        print(f"  {label:<28} {url}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="homewatch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web app and API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--demo", action="store_true", help="migrate and seed the demo district first")
    serve.add_argument("--print-demo-links", action="store_true", help="print the demo logins before serving")

    sub.add_parser("migrate", help="upgrade the database schema to the latest version")

    user = sub.add_parser("create-user", help="create a staff account")
    user.add_argument("username")
    user.add_argument("--role", choices=["admin", "clinician", "grid_worker", "observer"], required=True)
    user.add_argument("--password", required=True)
    user.add_argument("--grid", action="append", help="grid name (created if missing); repeatable")

    demo = sub.add_parser("demo", help="seed a realistic demo district")
    demo.add_argument("--if-empty", action="store_true", help="do nothing when the database has subjects")
    demo.add_argument("--quiet", action="store_true", help="do not print the demo logins and links")

    sub.add_parser("purge-media", help="delete check-in snapshots of people released longer ago than "
                   "HOMEWATCH_SNAPSHOT_RETENTION_DAYS")

    sub.add_parser("purge", help="erase the personal data of cases released or closed more than "
                   "HOMEWATCH_RETENTION_DAYS ago, keeping a pseudonymous record")

    sub.add_parser("vapid-keys", help="print a new Web Push (VAPID) key pair as environment lines")

    args = parser.parse_args(argv)
    if args.command == "vapid-keys":
        from server.notifications import generate_vapid_keys

        private_pem, public_key = generate_vapid_keys()
        # One line per variable: a PEM's newlines are escaped as \n, which pydantic-settings reads back from .env.
        escaped = private_pem.strip().replace("\n", "\\n")
        print(f'HOMEWATCH_VAPID_PRIVATE_KEY="{escaped}"')
        print(f"HOMEWATCH_VAPID_PUBLIC_KEY={public_key}")
        print("HOMEWATCH_VAPID_SUBJECT=mailto:admin@example.org")
        return 0
    try:
        settings = Settings()
    except ValueError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2

    from server.errors import AppError

    try:
        if args.command == "migrate":
            _migrate(settings)
        elif args.command == "create-user":
            asyncio.run(_create_user(settings, args))
        elif args.command == "demo":
            from server.demo import seed_demo

            links = asyncio.run(seed_demo(settings, only_if_empty=args.if_empty))
            if not args.quiet:
                _print_links(links)
        elif args.command == "purge-media":
            purged = asyncio.run(_purge_media(settings))
            print(f"deleted {purged} snapshots of people released more than "
                  f"{settings.snapshot_retention_days} days ago")
        elif args.command == "purge":
            erased = asyncio.run(_purge(settings))
            print(f"erased the personal data of {erased} cases closed more than {settings.retention_days} days ago")
        elif args.command == "serve":
            import uvicorn

            if args.demo:
                from server.demo import seed_demo

                _migrate(settings)
                asyncio.run(seed_demo(settings, only_if_empty=True))
            if args.demo or args.print_demo_links:
                from server.demo import demo_links

                print(f"\nhomewatch is starting on http://{args.host}:{args.port}\n")
                _print_links(asyncio.run(demo_links(settings)))
                print()
            uvicorn.run("server.asgi:app", host=args.host, port=args.port, workers=args.workers,
                        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
                        # X-Forwarded-For is read by the app, from HOMEWATCH_TRUSTED_PROXIES only.
                        proxy_headers=False, log_level="info")
    except AppError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
