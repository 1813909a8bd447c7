"""Serve the Elasticsearch test server (osmem behind the tests' proxy) until killed.

    python bench/es_test_server.py            # prints the URL on the first line

Benchmarks use it where no real Elasticsearch is at hand; with one, pass its URL
to the benchmark instead.
"""

import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from osmem_server import OsmemServer

from tests.fixtures.elasticsearch import CompatProxy


def main():
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with OsmemServer.start(japanese=False) as server, CompatProxy(server.url) as proxy:
        print(proxy.url, flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
