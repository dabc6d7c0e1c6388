"""Start localstripe on 127.0.0.1 only, without its on-disk store (tests start from an empty one).

``localstripe --port N`` listens on every interface and pickles its store to a shared /tmp file after each
write; the tests need neither, so this launcher serves localstripe's own aiohttp app on loopback.
"""

from __future__ import annotations

import argparse

from aiohttp import web
from localstripe import resources, server

resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(server.app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
