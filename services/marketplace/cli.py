"""``techmarket``: serve, worker, migrate, seed, openapi export, users create-admin, outbox tools."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace import db
from services.marketplace.app import create_app
from services.marketplace.audit.service import record_audit
from services.marketplace.embedded import start_embedded_postgres
from services.marketplace.identity.repository import email_taken
from services.marketplace.identity.security import hash_password
from services.marketplace.kit.gc_tuning import tune_for_serving
from services.marketplace.kit.regions import RegionError, validate_region_code
from services.marketplace.kit.uscc import USCCError, validate_uscc
from services.marketplace.listings import imports as listing_imports
from services.marketplace.listings.specs import ACHIEVEMENTS
from services.marketplace.migrate import PROJECT_ROOT, upgrade_to_head
from services.marketplace.models import ImportJob, Organisation, OutboxEvent, Role, User, VerificationStatus
from services.marketplace.models.identity import OrganisationKind
from services.marketplace.observability import configure_logging
from services.marketplace.outbox.repository import dead_letters_statement, replay_dead_letters
from services.marketplace.search.engines import create_search_engine, prepare_indexes
from services.marketplace.search.service import (
    INDEXED_KINDS,
    SEARCHABLE_STATUS,
    check_index,
    rebuild_index,
    repair_index,
)
from services.marketplace.seed import DemoAccount, seed_demo_data
from services.marketplace.seed_challenges import seed_demo_challenges
from services.marketplace.seed_contracts import seed_demo_contracts
from services.marketplace.seed_listings import seed_demo_listings
from services.marketplace.settings import Settings
from services.marketplace.settlement.ledger import ReconcileReport, reconcile
from services.marketplace.statistics.rollups import rebuild_rollups
from services.marketplace.statistics.verify import VerifyReport, verify_statistics
from services.marketplace.worker import run_worker
from services.matching.engine import SearchEngine
from services.matching.evaluation import evaluate_directory, format_report

app = typer.Typer(help="安徽科技大市场 backend (techmarket).", no_args_is_help=True)
openapi_app = typer.Typer(help="The OpenAPI document.", no_args_is_help=True)
users_app = typer.Typer(help="User administration.", no_args_is_help=True)
outbox_app = typer.Typer(help="Outbox dead letters.", no_args_is_help=True)
import_app = typer.Typer(help="Bulk imports.", no_args_is_help=True)
search_app = typer.Typer(help="Search index maintenance.", no_args_is_help=True)
stats_app = typer.Typer(help="Statistics maintenance.", no_args_is_help=True)
ledger_app = typer.Typer(help="The settlement ledger.", no_args_is_help=True)
eval_app = typer.Typer(help="Quality measurements.", no_args_is_help=True)
app.add_typer(openapi_app, name="openapi")
app.add_typer(users_app, name="users")
app.add_typer(outbox_app, name="outbox")
app.add_typer(import_app, name="import")
app.add_typer(search_app, name="search")
app.add_typer(stats_app, name="stats")
app.add_typer(ledger_app, name="ledger")
app.add_typer(eval_app, name="eval")

OPENAPI_PATH = PROJECT_ROOT / "openapi" / "openapi.json"


def _settings_with_database() -> Settings:
    """Settings whose database URL is set, starting the embedded PostgreSQL when none is configured."""
    settings = Settings()
    if settings.database_url:
        return settings
    url = start_embedded_postgres(settings.data_dir)
    return settings.model_copy(update={"database_url": url})


def _print_accounts(accounts: list[DemoAccount]) -> None:
    typer.echo("\nDemo accounts (password for all: %s):" % (accounts[0].password if accounts else "-"))
    for account in accounts:
        typer.echo(f"  {account.email:<28} {','.join(account.roles):<22} {account.organisation}")
    typer.echo("")


async def _seed(settings: Settings) -> list[DemoAccount]:
    assert settings.database_url
    engine = db.create_engine(settings, settings.database_url)
    try:
        async with db.unit_of_work(db.create_sessionmaker(engine)) as session:
            accounts = await seed_demo_data(session)
            achievements, demands = await seed_demo_listings(session)
            if achievements or demands:
                typer.echo(f"seeded {achievements} published achievements and {demands} demands")
            contracts = await seed_demo_contracts(session)
            if contracts:
                typer.echo(f"seeded {contracts} registered technology contracts")
            challenges = await seed_demo_challenges(session)
            if challenges:
                typer.echo(f"seeded {challenges} 揭榜挂帅 challenges (one open, one awarded)")
            return accounts
    finally:
        await engine.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    demo: Annotated[bool, typer.Option(help="Migrate and seed demo data before serving (not in production).")] = False,
    workers: Annotated[int, typer.Option(help="Uvicorn worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (with the outbox worker in-process unless disabled)."""
    import uvicorn

    settings = _settings_with_database()
    configure_logging(settings.log_level, json_logs=settings.log_json)
    if demo:
        if settings.environment == "production":
            raise typer.BadParameter("--demo is refused in production", param_hint="--demo")
        assert settings.database_url
        upgrade_to_head(settings.database_url)
        _print_accounts(asyncio.run(_seed(settings)))
        typer.echo(f"API: http://{host}:{port}/v1   interactive docs: http://{host}:{port}/docs\n")
    if workers > 1:
        raise typer.BadParameter("run several `techmarket serve` processes behind a load balancer instead")
    application = create_app(settings)
    tune_for_serving()  # after the app is built: freeze the start-up heap (see kit/gc_tuning.py)
    uvicorn.run(application, host=host, port=port, log_config=None, access_log=False, server_header=False)


@app.command()
def worker() -> None:
    """Run the outbox relay and timers until SIGTERM/SIGINT."""
    settings = _settings_with_database()

    async def main() -> None:
        assert settings.database_url
        engine = db.create_engine(settings, settings.database_url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        search = create_search_engine(settings, engine)
        try:
            await prepare_indexes(search)
            await run_worker(settings, db.create_sessionmaker(engine), stop, search)
        finally:
            await search.close()
            await engine.dispose()

    configure_logging(settings.log_level, json_logs=settings.log_json)
    asyncio.run(main())


@app.command()
def migrate() -> None:
    """Apply every Alembic migration (``alembic upgrade head``)."""
    settings = _settings_with_database()
    assert settings.database_url
    upgrade_to_head(settings.database_url)
    typer.echo("database is at the latest revision")


@app.command()
def seed() -> None:
    """Insert the demo organisations and accounts (idempotent; refused in production)."""
    settings = _settings_with_database()
    if settings.environment == "production":
        raise typer.BadParameter("demo data is refused in production")
    _print_accounts(asyncio.run(_seed(settings)))


@openapi_app.command("export")
def openapi_export(
    output: Annotated[Path, typer.Option(help="Where to write the document.")] = OPENAPI_PATH,
) -> None:
    """Write the OpenAPI document the app serves to ``openapi/openapi.json``."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_openapi() + "\n", encoding="utf-8")
    typer.echo(f"wrote {output}")


def render_openapi() -> str:
    document = create_app(Settings(database_url="postgresql+asyncpg://unused@/unused")).openapi()
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)


@users_app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(prompt=True)],
    display_name: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    organisation_name: Annotated[
        str, typer.Option(help="Platform organisation, created if missing.")
    ] = "安徽科技大市场运营中心",
    organisation_uscc: Annotated[str | None, typer.Option(help="USCC of the platform organisation.")] = None,
    region_code: Annotated[str, typer.Option(help="Region of the platform organisation.")] = "340104",
) -> None:
    """Create a platform administrator (and the platform organisation on first use)."""
    if len(password) < 10:
        raise typer.BadParameter("at least 10 characters", param_hint="--password")
    settings = _settings_with_database()

    async def main() -> None:
        assert settings.database_url
        engine = db.create_engine(settings, settings.database_url)
        try:
            async with db.unit_of_work(db.create_sessionmaker(engine)) as session:
                platform = await session.scalar(
                    select(Organisation).where(Organisation.kind == OrganisationKind.platform.value)
                )
                if platform is None:
                    if organisation_uscc is None:
                        raise typer.BadParameter(
                            "required when no platform organisation exists yet",
                            param_hint="--organisation-uscc",
                        )
                    try:
                        uscc, region = validate_uscc(organisation_uscc), validate_region_code(region_code)
                    except (USCCError, RegionError) as exc:
                        raise typer.BadParameter(exc.message) from exc
                    platform = Organisation(
                        kind=OrganisationKind.platform.value,
                        name=organisation_name,
                        uscc=uscc,
                        region_code=region,
                        verification_status=VerificationStatus.verified.value,
                    )
                    session.add(platform)
                    await session.flush()
                if await email_taken(session, email):
                    raise typer.BadParameter(f"{email} is already registered", param_hint="--email")
                user = User(
                    organisation_id=platform.id,
                    email=email,
                    display_name=display_name,
                    password_hash=hash_password(password),
                    roles=[Role.platform_admin.value],
                )
                session.add(user)
                await session.flush()
                await record_audit(
                    session,
                    actor=None,
                    action="user.created_by_cli",
                    object_type="user",
                    object_id=user.id,
                    organisation_id=platform.id,
                    after={"email": email, "roles": user.roles},
                )
        finally:
            await engine.dispose()

    asyncio.run(main())
    typer.echo(f"platform administrator {email} created")


@outbox_app.command("dead-letters")
def list_dead_letters() -> None:
    """List events that exhausted their retries."""
    settings = _settings_with_database()

    async def main() -> list[OutboxEvent]:
        assert settings.database_url
        engine = db.create_engine(settings, settings.database_url)
        try:
            async with db.unit_of_work(db.create_sessionmaker(engine)) as session:
                return list(await session.scalars(dead_letters_statement().order_by(OutboxEvent.id)))
        finally:
            await engine.dispose()

    events = asyncio.run(main())
    for event in events:
        first_error = (event.last_error or "").splitlines()[:1]
        typer.echo(
            f"{event.id}\t{event.topic}\t{event.aggregate_type}:{event.aggregate_id}\t"
            f"attempts={event.attempts}\t{first_error[0] if first_error else ''}"
        )
    typer.echo(f"{len(events)} dead letter(s)")


@outbox_app.command("replay")
def replay(
    event_ids: Annotated[list[int] | None, typer.Argument(help="Event ids; all dead letters when omitted.")] = None,
) -> None:
    """Return dead letters to the queue; handlers that already succeeded are not run again."""
    settings = _settings_with_database()

    async def main() -> list[int]:
        assert settings.database_url
        engine = db.create_engine(settings, settings.database_url)
        try:
            async with db.unit_of_work(db.create_sessionmaker(engine)) as session:
                replayed = await replay_dead_letters(session, event_ids or None)
                for event_id in replayed:
                    await record_audit(
                        session,
                        actor=None,
                        action="outbox.replayed_by_cli",
                        object_type="outbox_event",
                        object_id=str(event_id),
                        organisation_id=None,
                    )
                return replayed
        finally:
            await engine.dispose()

    typer.echo(f"replayed {len(asyncio.run(main()))} event(s)")


@import_app.command("achievements")
def import_achievements(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help=".xlsx or .csv")],
    org: Annotated[str, typer.Option("--org", help="Organisation id or USCC that owns the imported drafts.")],
    all_or_nothing: Annotated[bool, typer.Option(help="Import nothing when any row has an error.")] = False,
) -> None:
    """Import achievements as drafts of an organisation, printing row-level errors."""
    settings = _settings_with_database()
    try:
        parsed = listing_imports.parse_file(file.name, file.read_bytes())
    except listing_imports.ImportFileError as exc:
        raise typer.BadParameter(str(exc), param_hint="FILE") from exc

    async def main() -> ImportJob:
        assert settings.database_url
        engine = db.create_engine(settings, settings.database_url)
        try:
            async with db.unit_of_work(db.create_sessionmaker(engine)) as session:
                organisation = await _organisation_by_id_or_uscc(session, org)
                if organisation.kind not in ACHIEVEMENTS.author_kinds:
                    raise typer.BadParameter(
                        "this kind of organisation cannot publish achievements", param_hint="--org"
                    )
                job = ImportJob(
                    organisation_id=organisation.id,
                    listing_kind="achievement",
                    filename=file.name,
                    all_or_nothing=all_or_nothing,
                    status="running",
                )
                session.add(job)
                await session.flush()
                with typer.progressbar(length=len(parsed.rows), label="importing") as bar:
                    return await listing_imports.import_parsed(session, job, parsed, progress=bar.update)
        finally:
            await engine.dispose()

    job = asyncio.run(main())
    for error in job.errors:
        typer.echo(f"row {error['row']}\t{error['column']}\t{error['message']}", err=True)
    typer.echo(f"{job.imported_rows} of {job.total_rows} rows imported, {job.failed_rows} rows with errors")
    if job.failed_rows and job.all_or_nothing:
        raise typer.Exit(code=1)


async def _organisation_by_id_or_uscc(session: AsyncSession, value: str) -> Organisation:
    try:
        condition = Organisation.id == uuid.UUID(value)
    except ValueError:
        condition = Organisation.uscc == value.strip().upper()
    organisation = await session.scalar(select(Organisation).where(condition))
    if organisation is None:
        raise typer.BadParameter(f"no organisation {value}", param_hint="--org")
    return organisation


@asynccontextmanager
async def _search_context(settings: Settings) -> AsyncIterator[tuple[AsyncSession, SearchEngine]]:
    assert settings.database_url
    engine = db.create_engine(settings, settings.database_url)
    search = create_search_engine(settings, engine)
    try:
        async with db.unit_of_work(db.create_sessionmaker(engine)) as session:
            yield session, search
    finally:
        await search.close()
        await engine.dispose()


@app.command()
def reindex() -> None:
    """Rebuild every search index from PostgreSQL."""
    settings = _settings_with_database()

    async def main() -> None:
        async with _search_context(settings) as (session, search):
            for kind in INDEXED_KINDS.values():
                total = await session.scalar(select(func.count()).where(kind.spec.model.status == SEARCHABLE_STATUS))
                with typer.progressbar(length=int(total or 0), label=f"indexing {kind.index.name}") as bar:
                    await rebuild_index(session, search, kind, bar.update)

    asyncio.run(main())
    typer.echo("indexes rebuilt")


@search_app.command("check")
def search_check(
    repair: Annotated[bool, typer.Option(help="Write missing and stale documents, delete extra ones.")] = False,
) -> None:
    """Report documents missing from, extra in, or stale in each index; exit 1 when any differ (unrepaired)."""
    settings = _settings_with_database()

    async def main() -> bool:
        consistent = True
        async with _search_context(settings) as (session, search):
            for kind in INDEXED_KINDS.values():
                report = await check_index(session, search, kind)
                typer.echo(
                    f"{report.index}: {len(report.missing)} missing, {len(report.extra)} extra, "
                    f"{len(report.stale)} stale"
                )
                if not report.consistent and repair:
                    await repair_index(session, search, kind, report)
                    typer.echo(f"{report.index}: repaired")
                consistent = consistent and (report.consistent or repair)
        return consistent

    if not asyncio.run(main()):
        raise typer.Exit(code=1)


@asynccontextmanager
async def _unit_of_work(settings: Settings) -> AsyncIterator[AsyncSession]:
    assert settings.database_url
    engine = db.create_engine(settings, settings.database_url)
    try:
        async with db.unit_of_work(db.create_sessionmaker(engine)) as session:
            yield session
    finally:
        await engine.dispose()


@stats_app.command("verify")
def stats_verify() -> None:
    """Recompute the statistics from the raw contracts and amendments; exit 1 on any difference."""
    settings = _settings_with_database()

    async def main() -> VerifyReport:
        async with _unit_of_work(settings) as session:
            return await verify_statistics(session)

    report = asyncio.run(main())
    for label, items in (
        ("fact missing", report.facts_missing),
        ("fact extra", report.facts_extra),
        ("fact differs", report.facts_wrong),
        ("rollup differs", report.rollup_differences),
    ):
        for item in items:
            typer.echo(f"{label}: {item}")
    if not report.consistent:
        raise typer.Exit(code=1)
    typer.echo("statistics match the registered contracts")


@stats_app.command("rebuild")
def stats_rebuild() -> None:
    """Recompute every rollup from the facts (after changing the watched regions, or to repair)."""
    settings = _settings_with_database()

    async def main() -> int:
        async with _unit_of_work(settings) as session:
            return await rebuild_rollups(session)

    typer.echo(f"{asyncio.run(main())} rollup cells rebuilt")


@eval_app.command("matching")
def eval_matching(
    data: Annotated[
        Path, typer.Option(exists=True, file_okay=False, help="achievements.jsonl, demands.jsonl, qrels.tsv")
    ],
    per_demand: Annotated[bool, typer.Option(help="Print nDCG@10 of every demand.")] = False,
) -> None:
    """nDCG@10, Recall@10 and MRR of recommendations over a labeled set, for the configured engine and a baseline.

    The data set goes into separate ``eval_*`` indexes, removed afterwards; the live indexes are not touched.
    """
    settings = _settings_with_database()

    async def main() -> str:
        assert settings.database_url
        engine = db.create_engine(settings, settings.database_url)
        search = create_search_engine(settings, engine)
        try:
            report = await evaluate_directory(data, [search])
        finally:
            await search.close()
            await engine.dispose()
        return format_report(report, per_demand=per_demand)

    typer.echo(asyncio.run(main()))


@ledger_app.command("reconcile")
def ledger_reconcile() -> None:
    """Recompute every account balance and hold from the postings; report differences (exit 1 on any)."""
    settings = _settings_with_database()

    async def main() -> ReconcileReport:
        async with _unit_of_work(settings) as session:
            return await reconcile(session)

    report = asyncio.run(main())
    for difference in report.differences:
        typer.echo(f"balance differs: {difference.describe()}")
    for entry_id in report.unbalanced_entries:
        typer.echo(f"entry does not balance: {entry_id}")
    for entry_id in report.short_entries:
        typer.echo(f"entry has fewer than two postings: {entry_id}")
    for account_id in report.negative_accounts:
        typer.echo(f"non-negative account is negative: {account_id}")
    if not report.consistent:
        raise typer.Exit(code=1)
    typer.echo(f"ledger reconciled: {report.accounts} accounts and {report.entries} entries match their postings")
