"""精准推送: a published challenge reaches the organisations whose achievements match its problem."""

from __future__ import annotations

from tests.marketplace.challenges.conftest import Board, Relay
from tests.marketplace.conftest import Publish


async def test_a_published_challenge_is_pushed_to_eligible_owners_of_matching_achievements(
    board: Board, publish: Publish, relay: Relay
) -> None:
    await publish(title="高镍正极材料固态电解质包覆技术", keywords=["高镍正极", "固态电解质", "循环寿命"])
    await relay()
    challenge = await board.publish()
    restricted = await board.publish(
        title="高镍正极循环寿命企业专项", eligibility={"organisation_kinds": ["enterprise"]}
    )
    await relay()
    inbox = (await board.call("GET", "/v1/notifications", "a_member"))["items"]
    pushed = [item for item in inbox if item["kind"] == "match.challenge_published"]
    assert [item["data"]["challenge_id"] for item in pushed] == [challenge["id"]]  # not the enterprise-only one
    assert challenge["code"] in pushed[0]["body"]
    assert restricted["id"] not in {item["data"]["challenge_id"] for item in pushed}
    poster_inbox = (await board.call("GET", "/v1/notifications", "b_admin"))["items"]
    assert not [item for item in poster_inbox if item["kind"] == "match.challenge_published"]
    await relay()  # replays nothing twice
    again = (await board.call("GET", "/v1/notifications", "a_member"))["items"]
    assert len([item for item in again if item["kind"] == "match.challenge_published"]) == 1
