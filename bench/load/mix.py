"""The traffic mix: which kinds of people use the market, and in what proportion.

Plain data, shared by the locust file (the weights of its user classes) and the runner (how many accounts
of each kind to create before the run). ``TARGET_SHARE`` is the share of *requests* each group should
produce; the user weights below were calibrated so that the measured shares come out close to it (each
group's pages cost a different number of requests per visit). The runner prints the measured shares next to
the targets after every run.
"""

from __future__ import annotations

# Request groups (the prefix of every request name in the statistics) and their target share of requests.
TARGET_SHARE = {
    "anon": 0.45,  # anonymous browsing: lists, detail pages, search, matches, brokers, challenges
    "firm": 0.15,  # firms: post/edit/submit demands, search achievements, matches, contact requests
    "univ": 0.12,  # universities: create/edit/submit achievements, small CSV imports, matches
    "deal": 0.08,  # deal rooms: buyers and sellers negotiating, brokers advising; contracts signed and submitted
    "registrar": 0.05,  # contract registrars: the queue of submitted contracts, registration
    "official": 0.10,  # officials: the statistics dashboard and its breakdowns, rarely the Excel export
    "other": 0.05,  # notifications, own profile and contact requests; platform staff approving listings
}

# Locust user classes: (request group, account kind or None for anonymous, weight). Weights are numbers of
# simulated users relative to each other.
USER_CLASSES = {
    "AnonymousVisitor": ("anon", None, 205),
    "FirmMember": ("firm", "firm", 70),
    "UniversityMember": ("univ", "university", 80),
    "BuyerNegotiator": ("deal", "buyer", 8),
    "SellerNegotiator": ("deal", "seller", 8),
    "Broker": ("deal", "broker", 5),
    "Registrar": ("registrar", "registrar", 30),
    "Official": ("official", "official", 82),
    "NotificationReader": ("other", "other", 26),
    "PlatformReviewer": ("other", "reviewer", 5),
}

# Think time of every simulated user between two page visits, in seconds (uniform).
WAIT_SECONDS = (1.0, 3.0)


def accounts_needed(max_users: int) -> dict[str, int]:
    """Accounts of each kind for up to ``max_users`` simulated users (with a little slack for rounding)."""
    total = sum(weight for _, _, weight in USER_CLASSES.values())
    needed: dict[str, int] = {}
    for _, kind, weight in USER_CLASSES.values():
        if kind is not None:
            needed[kind] = needed.get(kind, 0) + -(-max_users * weight // total) + 1
    return needed
