"""HTTP routes of settlement: accounts, payments on both rails, milestones, statements, payouts, vouchers,
government payables and the Stripe webhook."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Header, Path, Query, Request, Response, UploadFile, status
from sqlalchemy import select

from services.marketplace.dependencies import SessionDep, SettingsDep
from services.marketplace.identity.auth import PrincipalDep
from services.marketplace.kit.errors import NotFound, problem_responses
from services.marketplace.kit.idempotency import IdempotencyDep
from services.marketplace.kit.pagination import Page, PageRequestDep, paginate
from services.marketplace.models import (
    BankStatementLine,
    GovernmentPayable,
    InnovationVoucher,
    LedgerAccount,
    LedgerEntry,
    LedgerPosting,
    Payment,
    Payout,
    VoucherRedemption,
)
from services.marketplace.settlement import ledger, milestones, payouts, service, statements, vouchers
from services.marketplace.settlement import repository as repo
from services.marketplace.settlement.policies import check_is_finance
from services.marketplace.settlement.rails.stripe import verify_webhook
from services.marketplace.settlement.schemas import (
    AccountRead,
    GovernmentPayableRead,
    MilestoneRead,
    PaymentCreate,
    PaymentRead,
    PaymentReject,
    PaymentStarted,
    PayoutCreate,
    PayoutRead,
    PostingRead,
    RedemptionCreate,
    RedemptionRead,
    RefundCreate,
    RefundRead,
    StatementImportRead,
    StatementLineQuery,
    StatementLineRead,
    StatementLineResolve,
    VoucherCreate,
    VoucherRead,
    WebhookAck,
)
from services.marketplace.settlement.stripe_events import store_event

READ_ERRORS = problem_responses(401, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)

router = APIRouter(prefix="/v1/settlement", tags=["settlement"])


# --- accounts -----------------------------------------------------------------------------------------


@router.get("/accounts", responses=READ_ERRORS)
async def list_accounts(session: SessionDep, principal: PrincipalDep) -> list[AccountRead]:
    """The caller organisation's ledger accounts with balances (finance: every account)."""
    accounts = list(await session.scalars(repo.readable_accounts(principal).order_by(LedgerAccount.created_at)))
    found = await ledger.balances(session, [row.id for row in accounts])
    return [
        AccountRead(
            id=row.id,
            kind=row.kind,
            organisation_id=row.organisation_id,
            currency=row.currency,
            balance_fen=found[row.id].balance_fen,
            held_fen=found[row.id].held_fen,
            available_fen=found[row.id].available_fen,
        )
        for row in accounts
    ]


@router.get("/accounts/{account_id}/postings", responses=READ_ERRORS)
async def list_account_postings(
    account_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, page: PageRequestDep
) -> Page[PostingRead]:
    account = await session.scalar(repo.readable_accounts(principal).where(LedgerAccount.id == account_id))
    if account is None:
        raise NotFound("账户不存在")
    rows, cursor = await paginate(
        session, select(LedgerPosting).where(LedgerPosting.account_id == account.id), page, [LedgerPosting.id]
    )
    entries = {
        entry.id: entry
        for entry in await session.scalars(select(LedgerEntry).where(LedgerEntry.id.in_({r.entry_id for r in rows})))
    }
    return Page(
        items=[
            PostingRead(
                id=row.id,
                entry_id=row.entry_id,
                reference=entries[row.entry_id].reference,
                kind=entries[row.entry_id].kind,
                amount_fen=row.amount_fen,
                created_at=entries[row.entry_id].created_at,
            )
            for row in rows
        ],
        next_cursor=cursor,
    )


# --- payments -----------------------------------------------------------------------------------------


@router.post("/payments", status_code=status.HTTP_201_CREATED, response_model=PaymentStarted, responses=WRITE_ERRORS)
async def create_payment(
    body: PaymentCreate,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    idempotency: IdempotencyDep,
) -> Response:
    """Record a bank transfer (对公转账) you made, with its bank reference, for finance to confirm; or start an
    online payment (``rail=stripe``, within Stripe's per-charge limit) and complete it with ``client_secret``."""
    payment, client_secret = await service.create_payment(session, principal, settings, body)
    started = PaymentStarted.model_validate(payment).model_copy(update={"client_secret": client_secret})
    return await idempotency.respond(status.HTTP_201_CREATED, started)


@router.get("/payments", responses=READ_ERRORS)
async def list_payments(session: SessionDep, principal: PrincipalDep, page: PageRequestDep) -> Page[PaymentRead]:
    rows, cursor = await paginate(session, repo.readable_payments(principal), page, [Payment.created_at, Payment.id])
    return Page(items=[PaymentRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.get("/payments/{payment_id}", responses=READ_ERRORS)
async def get_payment(payment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> PaymentRead:
    payment = await repo.get_payment(session, principal, payment_id)
    if payment is None:
        raise NotFound("付款不存在")
    return PaymentRead.model_validate(payment)


@router.post("/payments/{payment_id}/confirm", responses=WRITE_ERRORS)
async def confirm_payment(payment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> PaymentRead:
    """Finance (platform_admin) confirms that a recorded bank transfer arrived: it is posted to the ledger."""
    return PaymentRead.model_validate(await service.confirm_payment(session, principal, payment_id))


@router.post("/payments/{payment_id}/reject", responses=WRITE_ERRORS)
async def reject_payment(
    payment_id: uuid.UUID, body: PaymentReject, session: SessionDep, principal: PrincipalDep
) -> PaymentRead:
    """Finance found no such transfer: the record is rejected (the reference may be recorded again)."""
    return PaymentRead.model_validate(await service.reject_payment(session, principal, payment_id, body.reason))


@router.post(
    "/payments/{payment_id}/refunds",
    status_code=status.HTTP_201_CREATED,
    response_model=RefundRead,
    responses=WRITE_ERRORS,
)
async def refund_payment(
    payment_id: uuid.UUID,
    body: RefundCreate,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    idempotency: IdempotencyDep,
) -> Response:
    """Finance refunds a payment on its rail while its money is still in escrow (or a service fee)."""
    refund = await service.request_refund(session, principal, settings, payment_id, body)
    return await idempotency.respond(status.HTTP_201_CREATED, RefundRead.model_validate(refund))


@router.get("/payments/{payment_id}/refunds", responses=READ_ERRORS)
async def list_payment_refunds(payment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[RefundRead]:
    payment = await repo.get_payment(session, principal, payment_id)
    if payment is None:
        raise NotFound("付款不存在")
    return [RefundRead.model_validate(row) for row in await repo.refunds_of(session, payment.id)]


# --- contract milestones ------------------------------------------------------------------------------


def _milestone_read(contract_id: uuid.UUID, view: milestones.MilestoneView) -> MilestoneRead:
    row = view.row
    return MilestoneRead(
        contract_id=contract_id,
        milestone_index=view.terms.index,
        title=view.terms.title,
        amount_fen=view.terms.amount_fen,
        commission_fen=view.terms.commission_fen,
        gross_fen=view.terms.gross_fen,
        funded_fen=row.funded_fen if row else 0,
        status=row.status if row else "open",
        fee_fen=row.fee_fen if row else None,
        payee_fen=row.payee_fen if row else None,
        released_at=row.released_at if row else None,
    )


@router.get("/contracts/{contract_id}/milestones", responses=READ_ERRORS)
async def list_contract_milestones(
    contract_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> list[MilestoneRead]:
    """The contract's payment schedule with what was paid into escrow and released."""
    views = await milestones.milestone_views(session, principal, contract_id)
    return [_milestone_read(contract_id, view) for view in views]


@router.post("/contracts/{contract_id}/milestones/{milestone_index}/accept", responses=WRITE_ERRORS)
async def accept_contract_milestone(
    contract_id: uuid.UUID,
    milestone_index: Annotated[int, Path(ge=0, le=999)],
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> MilestoneRead:
    """The buyer's org_admin accepts the delivery: escrow is released to the seller, less the broker's
    commission and the platform fee (commission + fee + seller = gross, exactly)."""
    milestone = await milestones.accept_milestone(
        session, principal, contract_id, milestone_index, settings.platform_fee_bp
    )
    view = milestones.MilestoneView(
        milestones.MilestoneTerms(
            milestone.milestone_index,
            milestone.title,
            milestone.amount_fen,
            milestone.commission_fen,
            milestone.gross_fen,
        ),
        milestone,
    )
    return _milestone_read(contract_id, view)


# --- bank statements ----------------------------------------------------------------------------------


@router.post("/bank-statements", responses=WRITE_ERRORS)
async def import_bank_statement(
    file: Annotated[UploadFile, File(description="平台对公账户流水 CSV：交易日期,流水号,金额[,对方户名][,摘要]")],
    session: SessionDep,
    principal: PrincipalDep,
) -> StatementImportRead:
    """Finance imports the platform account's statement: lines matching a recorded transfer by reference and
    amount confirm it; the others are listed for a person to resolve. Re-importing adds nothing."""
    check_is_finance(principal, "导入银行流水")
    parsed = statements.parse_statement(await file.read())
    result = await statements.import_statement(session, principal, file.filename or "statement.csv", parsed)
    return StatementImportRead(
        import_id=result.statement.id,
        total_lines=result.statement.total_lines,
        new_lines=result.statement.new_lines,
        matched=result.matched,
        unmatched=result.unmatched,
        amount_mismatch=result.amount_mismatch,
        skipped_debits=parsed.skipped_debits,
    )


@router.get("/bank-statement-lines", responses=problem_responses(401, 403, 422))
async def list_bank_statement_lines(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageRequestDep,
    query: Annotated[StatementLineQuery, Query()],
) -> Page[StatementLineRead]:
    """Statement lines (finance only); ``status=unmatched`` / ``amount_mismatch`` are the ones to resolve."""
    check_is_finance(principal, "查看银行流水")
    statement = repo.statement_lines()
    if query.status is not None:
        statement = statement.where(BankStatementLine.status == query.status.value)
    rows, cursor = await paginate(session, statement, page, [BankStatementLine.booked_on, BankStatementLine.id])
    return Page(items=[StatementLineRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.post("/bank-statement-lines/{line_id}/resolve", responses=WRITE_ERRORS)
async def resolve_bank_statement_line(
    line_id: uuid.UUID, body: StatementLineResolve, session: SessionDep, principal: PrincipalDep
) -> StatementLineRead:
    line = await statements.resolve_line(session, principal, line_id, body.action, body.payment_id, body.note)
    return StatementLineRead.model_validate(line)


# --- payouts ------------------------------------------------------------------------------------------


@router.post("/payouts", status_code=status.HTTP_201_CREATED, response_model=PayoutRead, responses=WRITE_ERRORS)
async def create_payout(
    body: PayoutCreate,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    idempotency: IdempotencyDep,
) -> Response:
    """Finance pays out an organisation's payable or a broker's commissions (bank transfer or Stripe Connect)."""
    payout = await payouts.create_payout(session, principal, settings, body)
    return await idempotency.respond(status.HTTP_201_CREATED, PayoutRead.model_validate(payout))


@router.get("/payouts", responses=READ_ERRORS)
async def list_payouts(session: SessionDep, principal: PrincipalDep, page: PageRequestDep) -> Page[PayoutRead]:
    rows, cursor = await paginate(session, repo.readable_payouts(principal), page, [Payout.created_at, Payout.id])
    return Page(items=[PayoutRead.model_validate(row) for row in rows], next_cursor=cursor)


# --- government payables ------------------------------------------------------------------------------


@router.get("/government-payables", responses=READ_ERRORS)
async def list_government_payables(
    session: SessionDep, principal: PrincipalDep, page: PageRequestDep
) -> Page[GovernmentPayableRead]:
    """Subsidy tranches a government owes (its officials and the payee see them)."""
    rows, cursor = await paginate(
        session,
        repo.readable_government_payables(principal),
        page,
        [GovernmentPayable.created_at, GovernmentPayable.id],
    )
    return Page(items=[GovernmentPayableRead.model_validate(row) for row in rows], next_cursor=cursor)


# --- innovation vouchers ------------------------------------------------------------------------------


@router.post("/vouchers", status_code=status.HTTP_201_CREATED, response_model=VoucherRead, responses=WRITE_ERRORS)
async def issue_voucher(
    body: VoucherCreate, session: SessionDep, principal: PrincipalDep, idempotency: IdempotencyDep
) -> Response:
    """An official issues an innovation voucher (合创券) to an SME, held on the government's voucher fund."""
    voucher = await vouchers.issue_voucher(session, principal, body)
    return await idempotency.respond(status.HTTP_201_CREATED, VoucherRead.model_validate(voucher))


@router.get("/vouchers", responses=READ_ERRORS)
async def list_vouchers(session: SessionDep, principal: PrincipalDep, page: PageRequestDep) -> Page[VoucherRead]:
    rows, cursor = await paginate(
        session, repo.readable_vouchers(principal), page, [InnovationVoucher.created_at, InnovationVoucher.id]
    )
    return Page(items=[VoucherRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.get("/vouchers/{voucher_id}", responses=READ_ERRORS)
async def get_voucher(voucher_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> VoucherRead:
    voucher = await repo.get_voucher(session, principal, voucher_id)
    if voucher is None:
        raise NotFound("合创券不存在")
    return VoucherRead.model_validate(voucher)


@router.get("/vouchers/{voucher_id}/redemptions", responses=READ_ERRORS)
async def list_voucher_redemptions(
    voucher_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> list[RedemptionRead]:
    voucher = await repo.get_voucher(session, principal, voucher_id)
    if voucher is None:
        raise NotFound("合创券不存在")
    rows = await session.scalars(
        select(VoucherRedemption)
        .where(VoucherRedemption.voucher_id == voucher.id)
        .order_by(VoucherRedemption.created_at)
    )
    return [RedemptionRead.model_validate(row) for row in rows]


@router.post(
    "/vouchers/{voucher_id}/redemptions",
    status_code=status.HTTP_201_CREATED,
    response_model=RedemptionRead,
    responses=WRITE_ERRORS,
)
async def redeem_voucher(
    voucher_id: uuid.UUID,
    body: RedemptionCreate,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency: IdempotencyDep,
) -> Response:
    """The SME's org_admin assigns part of the voucher to a technology-service contract it buys."""
    redemption = await vouchers.redeem(session, principal, voucher_id, body)
    return await idempotency.respond(status.HTTP_201_CREATED, RedemptionRead.model_validate(redemption))


@router.post("/vouchers/{voucher_id}/redemptions/{redemption_id}/accept", responses=WRITE_ERRORS)
async def accept_voucher_redemption(
    voucher_id: uuid.UUID, redemption_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> RedemptionRead:
    """The SME accepts the service: the provider is paid from the voucher fund."""
    redemption = await vouchers.accept_redemption(session, principal, voucher_id, redemption_id)
    return RedemptionRead.model_validate(redemption)


@router.post("/vouchers/{voucher_id}/redemptions/{redemption_id}/cancel", responses=WRITE_ERRORS)
async def cancel_voucher_redemption(
    voucher_id: uuid.UUID, redemption_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> RedemptionRead:
    redemption = await vouchers.cancel_redemption(session, principal, voucher_id, redemption_id)
    return RedemptionRead.model_validate(redemption)


# --- Stripe webhook -----------------------------------------------------------------------------------


@router.post(
    "/stripe/webhook",
    responses={**problem_responses(404), 400: {"description": "Stripe-Signature 校验失败"}},
)
async def receive_stripe_webhook(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> WebhookAck:
    """Stripe's signed events: verified, stored once per event id, processed by the worker."""
    event = verify_webhook(settings, await request.body(), stripe_signature)
    stored = await store_event(session, event)
    return WebhookAck(received=True, duplicate=not stored)


routers = [router]
