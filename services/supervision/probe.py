"""A health check for container runtimes: `python -m votewire.supervision.probe SERVICE`.

SERVICE is ingest, aggregate or live; the URL is the launcher's health URL
for it, from the environment (VOTEWIRE_HOST and the service's port). Exits 0
when it answers 200, 1 otherwise (2 for a bad argument), after one line such
as `ingest 200 ready` or `aggregate down`. The image has no curl; Python is
there. Used by deploy/compose.yaml; Kubernetes probes ask the URLs directly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from votewire.config import SettingsError
from votewire.launcher import SERVICE_ARGS, ServiceProcess
from votewire.supervision.control import health


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in SERVICE_ARGS:
        print(f"usage: python -m votewire.supervision.probe {'|'.join(SERVICE_ARGS)}")
        return 2
    name = argv[0]
    try:
        url = ServiceProcess(name, {}, Path(os.devnull)).health_url
    except SettingsError as exc:
        print(f"{name}: configuration error: {exc}")
        return 2
    word = health(url, timeout_s=3.0)
    print(f"{name} {word}")
    return 0 if word.startswith("200") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
