"""The inbound accept path's own cost: parsing and validating one delivery, in one process.

3,000 synthetic deliveries in the simulator's mix (desk.demo), each parsed from its JSON text
and validated with the channel registry as the API does; the best and the median of five
passes, in µs per delivery, and the parsing alone for comparison.

    python -m bench.validation
"""

from __future__ import annotations

import json
import random
import statistics
import time
from datetime import UTC, datetime

from desk.channels import DEFAULT_CHANNELS, Registry
from desk.channels.base import parse_json
from desk.config import LANGUAGES
from desk.demo import deliveries
from desk.reference import municipality_codes

COUNT = 3000
PASSES = 5


def main() -> None:
    channels = Registry(DEFAULT_CHANNELS, municipalities=municipality_codes(), languages=LANGUAGES)
    now = datetime.now(UTC)
    bodies = [
        (channels.get(channel), json.dumps(payload).encode())
        for channel, payload in deliveries(random.Random(7), now, COUNT)
    ]
    passes = []
    for _ in range(PASSES):
        start = time.perf_counter()
        for adapter, body in bodies:
            assert channels.problems(adapter, parse_json(body), now=now, text=body) == []
        passes.append((time.perf_counter() - start) / COUNT * 1e6)
    start = time.perf_counter()
    for _, body in bodies:
        parse_json(body)
    parsing = (time.perf_counter() - start) / COUNT * 1e6
    print(
        json.dumps(
            {
                "deliveries": COUNT,
                "parse_and_validate_us_best": round(min(passes), 1),
                "parse_and_validate_us_median": round(statistics.median(passes), 1),
                "parse_us": round(parsing, 1),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
