"""Bulk import throughput: 10,000 achievement rows from .csv and .xlsx into a fresh embedded PostgreSQL.

    .venv/bin/python bench/bench_import.py [--rows 10000]

Measures the whole import path the API and the worker use (parse, validate every row, bulk insert drafts,
contacts and audit rows in one transaction) and prints rows/s per format.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

from services.marketplace import db
from services.marketplace.embedded import start_embedded_postgres
from services.marketplace.listings import imports
from services.marketplace.migrate import upgrade_to_head_async
from services.marketplace.models import ImportJob, Organisation
from services.marketplace.seed_listings import demo_uscc
from services.marketplace.settings import Settings


def make_rows(count: int) -> list[list[str]]:
    example = [column.example for column in imports.COLUMNS]
    title = [column.key for column in imports.COLUMNS].index("title")
    rows = []
    for n in range(count):
        row = list(example)
        row[title] = f"{example[title]}（第 {n} 号）"
        rows.append(row)
    return rows


def as_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.header for column in imports.COLUMNS])
    writer.writerows(rows)
    return buffer.getvalue().encode()


def as_xlsx(rows: list[list[str]]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([column.header for column in imports.COLUMNS])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def run(rows: int) -> None:
    with tempfile.TemporaryDirectory(prefix="techmarket-bench-") as data_dir:
        url = start_embedded_postgres(Path(data_dir), delete_on_exit=True)
        await upgrade_to_head_async(url)
        settings = Settings(database_url=url)
        engine = db.create_engine(settings, url)
        sessionmaker = db.create_sessionmaker(engine)
        async with db.unit_of_work(sessionmaker) as session:
            university = Organisation(
                kind="university",
                name="基准测试大学",
                region_code="340104",
                uscc=demo_uscc("基准测试大学", "university", "340104"),
            )
            session.add(university)
            await session.flush()
            organisation_id = university.id
        data = make_rows(rows)
        print(f"{'format':<6} {'rows':>7} {'file MiB':>9} {'parse s':>8} {'import s':>9} {'rows/s':>9}")
        for name, content in (("csv", as_csv(data)), ("xlsx", as_xlsx(data))):
            started = time.perf_counter()
            parsed = imports.parse_file(f"bench.{name}", content)
            parsed_at = time.perf_counter()
            async with db.unit_of_work(sessionmaker) as session:
                job = ImportJob(
                    organisation_id=organisation_id,
                    listing_kind="achievement",
                    filename=name,
                    all_or_nothing=True,
                    status="running",
                )
                session.add(job)
                await session.flush()
                await imports.import_parsed(session, job, parsed)
                imported = job.imported_rows
            finished = time.perf_counter()
            assert imported == rows, f"imported {imported} of {rows}: {job.errors[:3]}"
            total = finished - started
            print(
                f"{name:<6} {rows:>7} {len(content) / 2**20:>9.2f} {parsed_at - started:>8.2f} {total:>9.2f} "
                f"{rows / total:>9.0f}"
            )
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    asyncio.run(run(parser.parse_args().rows))


if __name__ == "__main__":
    main()
