"""Applications close at the end of the deadline day in Asia/Shanghai: open one microsecond before that
midnight, closed at it; the poster sees nothing until then."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

import pytest

from services.marketplace.challenges import applications
from services.marketplace.db import unit_of_work
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict
from services.marketplace.kit.timeutil import SHANGHAI
from tests.marketplace.challenges.conftest import Board, today
from tests.support import Actor

MICROSECOND = timedelta(microseconds=1)


def principal(actor: Actor) -> Principal:
    return Principal(organisation_id=actor.organisation_id, roles=frozenset(actor.roles), user_id=actor.user_id)


async def test_applications_close_exactly_at_shanghai_midnight_and_stay_hidden_until_then(board: Board) -> None:
    challenge = await board.publish()
    cid = challenge["id"]
    midnight = datetime.combine(today() + timedelta(days=1), time.min, tzinfo=SHANGHAI)
    assert datetime.fromisoformat(challenge["applications_close_at"]) == midnight
    assert midnight.astimezone(UTC).hour == 16  # 24:00 in Shanghai is 16:00 UTC the same day

    submitted = await board.apply(cid, "a_member")
    late = await board.apply(cid, "d_admin", submit=False)
    async with unit_of_work(board.app.state.sessionmaker) as session:
        with pytest.raises(Conflict):
            await applications.submit_application(
                session, principal(board.actors["d_admin"]), uuid.UUID(cid), uuid.UUID(late["id"]), now=midnight
            )
    async with unit_of_work(board.app.state.sessionmaker) as session:
        on_time = await applications.submit_application(
            session,
            principal(board.actors["d_admin"]),
            uuid.UUID(cid),
            uuid.UUID(late["id"]),
            now=midnight - MICROSECOND,
        )
        assert on_time.status == "submitted"

    # No peeking while the window is open: the poster sees neither the list nor an application.
    assert await board.call("GET", f"/v1/challenges/{cid}/applications", "b_admin") == []
    await board.call("GET", f"/v1/challenges/{cid}/applications/{submitted['id']}", "b_admin", status=404)
    assert [item["id"] for item in await board.call("GET", f"/v1/challenges/{cid}/applications", "a_admin")] == [
        submitted["id"]
    ]

    assert await board.close_at_deadline(cid, midnight - MICROSECOND) == 0
    assert (await board.get(cid))["status"] == "published"
    assert await board.close_at_deadline(cid, midnight) == 1
    closed = await board.get(cid)
    assert closed["status"] == "applications_closed"
    assert datetime.fromisoformat(closed["applications_closed_at"]) == midnight
    seen = await board.call("GET", f"/v1/challenges/{cid}/applications", "b_admin")
    assert sorted(item["id"] for item in seen) == sorted([submitted["id"], late["id"]])
