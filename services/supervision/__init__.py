"""Supervision of the three services on one machine (`votewire up`, `votewire demo`).

The supervisor is supervisord (the `supervisor` package), run in the
foreground as a child of `votewire up`; this package only writes its
configuration, listens to its events and asks it for status.

Why supervisord, compared with the alternatives:
- **supervisor** (4.3, pure Python, no dependencies, maintained since 2004):
  reaps every child (no zombies), restarts on exit (`autorestart`), backs off
  a process that dies during start-up (1 s, 2 s, 3 s, ... up to
  `startretries`, then FATAL), stops children with SIGTERM then SIGKILL after
  a per-program `stopwaitsecs` (the aggregate gets long enough to commit),
  signals whole process groups, and answers XML-RPC on a Unix socket
  (`stack status` reads pids and states there). Its event listeners get every
  state change: `listener.py` counts restarts and says each one loudly.
- **circus** (0.19): similar watchers and a control socket, but needs pyzmq,
  tornado and psutil, and releases are rare.
- **honcho** (a Foreman clone): runs a Procfile but stops everything when one
  process exits; no restarts, no status.
- **hand-written asyncio**: full control, but every one of the above would be
  ours to get right (reaping, process groups, signal races, status socket).
Neither supervisord nor any of these checks HTTP health; `foreground.py`
watches the services' health URLs and reports changes, and never kills a
process for failing one (a recovering aggregate answers 503 for a while).

Modules: `layout` (where everything lives), `conf` (supervisord.conf from
the programs), `listener` (the event listener), `control` (status over
XML-RPC), `foreground` (start, wait, stop: no orphans), `lifeline` (a child
dies with its parent), `probe` (a health check for container runtimes).
"""
