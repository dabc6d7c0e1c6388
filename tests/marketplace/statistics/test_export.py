"""The .xlsx export of a year's statistics: one sheet per breakdown, amounts exact to the fen."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from services.marketplace.kit.money import format_wan
from tests.marketplace.statistics.test_definitions import amendment, party, record, registration
from tests.support import Actors

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEETS = ["汇总", "合同类型", "技术领域", "卖方性质", "区县", "对方所在地", "月份", "指标"]
# Amounts a float would get wrong: odd fen, and a total past 2**53 fen.
BIG = 4_503_599_627_370_497


async def export(client: httpx.AsyncClient, actors: Actors, **params: Any) -> tuple[httpx.Response, Any]:
    response = await client.get("/v1/statistics/export.xlsx", params=params, headers=actors["official"].headers)
    assert response.status_code == 200, response.text
    return response, load_workbook(io.BytesIO(response.content))


def rows_by_code(sheet: Worksheet) -> dict[str, tuple[Any, ...]]:
    return {str(row[0]): row for row in sheet.iter_rows(min_row=4, values_only=True) if row[0] not in (None, "")}


def exact_yuan(value: Any) -> Decimal:
    """The decimal text the cell holds (openpyxl reads numbers back as int or float)."""
    return Decimal(str(value))


async def test_the_export_has_a_summary_and_a_sheet_per_breakdown_with_exact_amounts(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors
) -> None:
    inside = registration(party("340104"), party("340111"), date(2026, 3, 1), 1_234_567, 1_000_001)
    await record(
        app,
        inside,
        registration(party("340104", "university"), party("440305"), date(2026, 3, 9), BIG, BIG - 1),
        registration(
            party(None, "enterprise", "DE"), party("340122"), date(2026, 7, 2), 99, 98, contract_type="development"
        ),
        amendment(inside, date(2026, 8, 1), -4_567),
    )
    response, workbook = await export(client, actors, region="3401", year=2026)
    assert response.headers["content-type"] == XLSX
    assert 'filename="statistics-3401-2026.xlsx"' in response.headers["content-disposition"]
    assert workbook.sheetnames == SHEETS

    summary = {row[0]: row for row in workbook["汇总"].iter_rows(min_row=5, max_row=8, values_only=True)}
    exported_fen = 1_234_567 - 4_567 + BIG
    absorbed_fen = 1_234_567 - 4_567 + 99
    expected = {
        "输出": (2, exported_fen),
        "吸纳": (2, absorbed_fen),
        "吸纳和输出合计": (4, exported_fen + absorbed_fen),
        "去重": (3, exported_fen + 99),
    }
    for heading, (count, fen) in expected.items():
        _, _, contracts, amount_yuan, _, amount_fen, _, wan = summary[heading]
        assert contracts == count
        assert amount_fen == fen
        assert exact_yuan(amount_yuan) == Decimal(fen) / 100
        assert wan == format_wan(fen)
    assert summary["吸纳和输出合计"][6] == (1_000_001 - 4_567) * 2 + BIG - 1 + 98

    types = rows_by_code(workbook["合同类型"])
    assert types["license"][1] == "技术许可"
    assert types["license"][2] == 2  # 输出 contracts: the amendment changes amounts, not the count
    assert exact_yuan(types["license"][3]) == Decimal(exported_fen) / 100
    development = types["development"]
    assert (development[5], exact_yuan(development[6]), exact_yuan(development[7])) == (
        1,
        Decimal("0.99"),
        Decimal("0.98"),
    )
    assert types["transfer"][2:5] == (0, 0, 0)  # every contract type is listed
    totals_row = next(row for row in workbook["合同类型"].iter_rows(values_only=True) if row[1] == "合计")
    assert totals_row[8] == 4

    districts = rows_by_code(workbook["区县"])
    assert districts["340104"][1] == "蜀山区"
    assert exact_yuan(districts["340104"][3]) == Decimal(exported_fen) / 100
    assert (districts["340122"][5], exact_yuan(districts["340122"][6])) == (1, Decimal("0.99"))
    assert workbook["区县"].max_column == 11  # no 去重 per district

    counterparts = rows_by_code(workbook["对方所在地"])
    assert counterparts["rest_of_china"][1] == "国内其他"
    assert exact_yuan(counterparts["rest_of_china"][3]) == Decimal(BIG) / 100
    assert counterparts["abroad"][5] == 1

    kinds = rows_by_code(workbook["卖方性质"])
    assert kinds["university"][1] == "高等院校"
    assert kinds["university"][2] == 1

    months = {row[0]: row for row in workbook["月份"].iter_rows(min_row=4, max_row=15, values_only=True)}
    assert months[3][2] == 2
    assert exact_yuan(months[8][3]) == Decimal("-45.67")
    assert months[12][2:5] == (0, 0, 0)

    indicators = rows_by_code(workbook["指标"])
    value = Decimal(exported_fen + absorbed_fen) / 10**10
    assert exact_yuan(indicators["tech_contract_absorbed_exported"][3]) == value.quantize(Decimal("0.0001"))
    assert indicators["tech_contract_absorbed_exported"][5] == 1200


async def test_any_region_prefix_can_be_exported(app: FastAPI, client: httpx.AsyncClient, actors: Actors) -> None:
    await record(app, registration(party("310104"), party("340104"), date(2026, 4, 1), 500))
    _, workbook = await export(client, actors, region="31", year=2026)
    summary = workbook["汇总"]
    assert summary["A1"].value == "上海市（31）2026 年技术合同登记统计"
    assert summary["C5"].value == 1
    assert rows_by_code(workbook["对方所在地"])["yangtze_delta"][2] == 1


async def test_the_export_is_for_officials_and_platform_staff(client: httpx.AsyncClient, actors: Actors) -> None:
    url = "/v1/statistics/export.xlsx"
    assert (await client.get(url, headers=actors["platform_admin"].headers)).status_code == 200
    assert (await client.get(url, headers=actors["a_admin"].headers)).status_code == 403
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, params={"year": 1999}, headers=actors["official"].headers)).status_code == 422
