from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import Workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from services.marketplace.cli import app as cli
from services.marketplace.listings import imports
from services.marketplace.models import Achievement, ListingContact
from tests.support import Actors

EXAMPLE = {column.header: column.example for column in imports.COLUMNS}


def row(**overrides: str) -> dict[str, str]:
    return EXAMPLE | overrides


def as_csv(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[column.header for column in imports.COLUMNS])
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def as_xlsx(rows: list[dict[str, Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    headers = [column.header for column in imports.COLUMNS]
    sheet.append(headers)
    for values in rows:
        sheet.append([values[header] for header in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def upload(client: httpx.AsyncClient, actors: Actors, name: str, content: bytes, **form: str) -> httpx.Response:
    return await client.post(
        "/v1/achievements/import", files={"file": (name, content)}, data=form, headers=actors["a_admin"].headers
    )


async def count_achievements(app: FastAPI) -> int:
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Achievement)) or 0)


MIXED = [
    row(),
    row(**{"技术成熟度": "11"}),
    row(**{"知识产权": "发明专利 ZL201811564288.1 已授权", "标题": "第二项"}),
    row(**{"价格方式": "面议", "价格（元）": "", "标题": "第三项"}),
    row(**{"价格（元）": "12.345"}),
    row(**{"有效期至": "2030-02-30"}),
]


async def test_import_reports_row_errors_and_imports_the_valid_rows(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors
) -> None:
    response = await upload(client, actors, "成果.csv", as_csv(MIXED))
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "succeeded"
    assert (job["total_rows"], job["imported_rows"], job["failed_rows"]) == (6, 2, 4)
    located = {(error["row"], error["column"]) for error in job["errors"]}
    assert located == {(3, "技术成熟度"), (4, "知识产权"), (6, "价格（元）"), (7, "有效期至")}
    assert await count_achievements(app) == 2
    drafts = (await client.get("/v1/achievements", params={"mine": True}, headers=actors["a_admin"].headers)).json()
    assert {item["status"] for item in drafts["items"]} == {"draft"}
    assert {item["title"] for item in drafts["items"]} == {EXAMPLE["标题"], "第三项"}
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ListingContact)) == 2


async def test_all_or_nothing_imports_nothing_when_a_row_fails(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors
) -> None:
    response = await upload(client, actors, "成果.csv", as_csv(MIXED), all_or_nothing="true")
    job = response.json()
    assert (job["imported_rows"], job["failed_rows"]) == (0, 4)
    assert await count_achievements(app) == 0
    clean = await upload(client, actors, "成果.csv", as_csv([row(), row(**{"标题": "另一项"})]), all_or_nothing="true")
    assert clean.json()["imported_rows"] == 2


async def test_xlsx_with_typed_cells_imports(app: FastAPI, client: httpx.AsyncClient, actors: Actors) -> None:
    from datetime import date

    rows = [row() | {"技术成熟度": 7, "价格（元）": 1234.5, "行政区划代码": 340104, "有效期至": date(2031, 1, 31)}]
    response = await upload(client, actors, "成果.xlsx", as_xlsx(rows))
    assert response.json()["imported_rows"] == 1, response.text
    item = (await client.get("/v1/achievements", params={"mine": True}, headers=actors["a_admin"].headers)).json()
    achievement = item["items"][0]
    assert achievement["price_fen"] == 123450
    assert achievement["trl"] == 7
    assert achievement["valid_until"] == "2031-01-31T16:00:00Z"
    assert achievement["field_code"] == "new_energy"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("成果.txt", b"hello"),
        ("成果.csv", "标题,摘要\nx,y\n".encode()),
        ("成果.xlsx", b"not a zip"),
        ("成果.csv", b"\xff\xfe\x00garbage\x81"),
    ],
)
async def test_unreadable_files_are_422(client: httpx.AsyncClient, actors: Actors, name: str, content: bytes) -> None:
    response = await upload(client, actors, name, content)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "file"]


async def test_templates_round_trip(client: httpx.AsyncClient) -> None:
    for file_format in ("csv", "xlsx"):
        response = await client.get("/v1/achievements/import-template", params={"format": file_format})
        assert response.status_code == 200
        parsed = imports.parse_file(f"template.{file_format}", response.content)
        assert len(parsed.rows) == 1
        valid, errors = imports.validate_rows(parsed)
        assert errors == []
        assert valid[0].ip_items[0].number == "201811564288.X"


async def test_large_files_run_as_a_job_that_can_be_polled(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors
) -> None:
    rows = [row(**{"标题": f"成果 {n}"}) for n in range(imports.INLINE_ROW_LIMIT + 1)]
    response = await upload(client, actors, "大批量.csv", as_csv(rows))
    assert response.status_code == 202
    job_url = f"/v1/import-jobs/{response.json()['id']}"
    assert (await client.get(job_url, headers=actors["a_admin"].headers)).json()["status"] == "queued"
    assert (await client.get(job_url, headers=actors["b_admin"].headers)).status_code == 404
    assert await imports.run_queued_import_jobs(app.state.sessionmaker) == 1
    assert await imports.run_queued_import_jobs(app.state.sessionmaker) == 0
    finished = (await client.get(job_url, headers=actors["a_admin"].headers)).json()
    assert finished["status"] == "succeeded"
    assert finished["imported_rows"] == imports.INLINE_ROW_LIMIT + 1
    assert await count_achievements(app) == imports.INLINE_ROW_LIMIT + 1


async def test_only_authoring_organisations_import(client: httpx.AsyncClient, actors: Actors) -> None:
    response = await client.post(
        "/v1/achievements/import", files={"file": ("a.csv", as_csv([row()]))}, headers=actors["official"].headers
    )
    assert response.status_code == 403


def test_cli_imports_with_row_errors(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    from services.marketplace.models import Organisation
    from tests.support import valid_uscc

    async def make_university() -> str:
        engine = create_async_engine(database_url)
        async with engine.begin() as connection:
            uscc = valid_uscc("1234000")
            await connection.execute(
                Organisation.__table__.insert().values(
                    kind="university", name="命令行大学", uscc=uscc, region_code="340104"
                )
            )
        await engine.dispose()
        return uscc

    uscc = asyncio.run(make_university())
    file = tmp_path / "成果.csv"
    file.write_bytes(as_csv([row(), row(**{"技术成熟度": "0"})]))
    monkeypatch.setenv("TECHMARKET_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["import", "achievements", str(file), "--org", uscc])
    assert result.exit_code == 0, result.output
    assert "1 of 2 rows imported, 1 rows with errors" in result.output
    failed = CliRunner().invoke(cli, ["import", "achievements", str(file), "--org", uscc, "--all-or-nothing"])
    assert failed.exit_code == 1
