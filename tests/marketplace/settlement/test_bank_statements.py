"""Bank statement import: lines confirm recorded transfers by reference and amount; the rest wait for a person."""

from __future__ import annotations

from typing import Any

import httpx

from tests.marketplace.settlement.conftest import Money


async def upload(money: Money, csv_text: str, encoding: str = "utf-8", status: int = 200) -> Any:
    response = await money.client.post(
        "/v1/settlement/bank-statements",
        files={"file": ("statement.csv", csv_text.encode(encoding), "text/csv")},
        headers=money.actors["platform_admin"].headers,
    )
    assert response.status_code == status, response.text
    return response.json()


async def test_a_statement_confirms_matching_transfers_and_lists_the_rest(money: Money) -> None:
    deposit = {"purpose": "escrow_deposit"}
    exact = await money.record_transfer("b_admin", amount_fen=1_234_567, bank_reference="BOC-0001", **deposit)
    short = await money.record_transfer("b_admin", amount_fen=500_000, bank_reference="BOC-0002", **deposit)
    statement = (
        "交易日期,流水号,金额,对方户名,摘要\n"
        '2026-11-20,BOC-0001,"12,345.67",测试机构 b,托管\n'
        "2026-11-20,BOC-0002,4999.99,测试机构 b,托管\n"
        "2026-11-21,BOC-9999,88.00,不明来款,\n"
        "2026-11-21,BOC-OUT-1,-300.00,手续费,\n"
    )
    result = await upload(money, statement, encoding="gb18030")
    assert {k: result[k] for k in ("new_lines", "matched", "unmatched", "amount_mismatch", "skipped_debits")} == {
        "new_lines": 3,
        "matched": 1,
        "unmatched": 1,
        "amount_mismatch": 1,
        "skipped_debits": 1,
    }
    assert (await money.get(f"/payments/{exact['id']}", "b_admin"))["confirmed_via"] == "bank_statement"
    assert (await money.get(f"/payments/{short['id']}", "b_admin"))["status"] == "pending"
    assert await money.balance("b_admin", "escrow") == 1_234_567
    again = await upload(money, statement)
    assert (again["new_lines"], again["matched"]) == (0, 0)
    assert await money.balance("b_admin", "escrow") == 1_234_567

    to_resolve = await money.get("/bank-statement-lines", "platform_admin", params={"status": "amount_mismatch"})
    [mismatch] = to_resolve["items"]
    assert mismatch["payment_id"] == short["id"]
    refused = await money.post(
        f"/bank-statement-lines/{mismatch['id']}/resolve",
        "platform_admin",
        {"action": "match", "payment_id": short["id"]},
        status=409,
    )
    assert "金额" in refused["detail"]
    await money.post(f"/payments/{short['id']}/reject", "platform_admin", {"reason": "金额与到账不符"})
    corrected = await money.record_transfer(
        "b_admin", purpose="escrow_deposit", amount_fen=499_999, bank_reference="BOC-0002"
    )
    resolved = await money.post(
        f"/bank-statement-lines/{mismatch['id']}/resolve",
        "platform_admin",
        {"action": "match", "payment_id": corrected["id"]},
    )
    assert resolved["status"] == "resolved"
    assert await money.balance("b_admin", "escrow") == 1_234_567 + 499_999

    [unknown] = (await money.get("/bank-statement-lines", "platform_admin", params={"status": "unmatched"}))["items"]
    dismissed = await money.post(
        f"/bank-statement-lines/{unknown['id']}/resolve", "platform_admin", {"action": "dismiss", "note": "非平台款项"}
    )
    assert dismissed["status"] == "dismissed"
    await money.post(
        f"/bank-statement-lines/{unknown['id']}/resolve", "platform_admin", {"action": "dismiss", "note": "再次"}, 409
    )


async def test_a_bad_statement_is_refused_whole_with_its_line_errors(money: Money, client: httpx.AsyncClient) -> None:
    bad_line = "date,reference,amount\n2026-11-20,OK-0001,1.00\nyesterday,OK-0002,1.001\n"
    problem = await upload(money, bad_line, status=422)
    assert [error["loc"] for error in problem["errors"]] == [["file", 3]]
    missing = await upload(money, "date,amount\n2026-11-20,1.00\n", status=422)
    assert "reference" in missing["detail"]
    denied = await client.post(
        "/v1/settlement/bank-statements",
        files={"file": ("s.csv", b"date,reference,amount\n", "text/csv")},
        headers=money.actors["b_admin"].headers,
    )
    assert denied.status_code == 403
    assert (await money.get("/bank-statement-lines", "b_admin", status=403))["status"] == 403
