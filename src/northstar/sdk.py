"""`northstar.track`: instrument an internal tool with platform activity events, without ever slowing it down.

    import northstar
    northstar.track("render_template", actor="ana", team="search", component="templates", template="ranker")

`track` only appends to an in-memory queue; a background thread batches the events, writes each batch to a
spool folder (so it survives the server being down and the process exiting) and then sends the spooled
batches to `POST /v1/records/activity`, deleting a batch only once the server has acknowledged it. Failed
sends are retried with exponential backoff; batches left in the spool are sent by the next process that
tracks against the same spool. At exit the queue is flushed (or spooled). Every event carries a random `id`,
so a batch sent twice is stored once. `track` never raises into the host program.

Settings (arguments of `configure`, or the environment): NORTHSTAR_URL (default http://127.0.0.1:8000),
NORTHSTAR_TOKEN (an `ingest` token), NORTHSTAR_SPOOL (default ~/.cache/northstar/spool/<hash of the URL>).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import random
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["Tracker", "configure", "flush", "track"]

log = logging.getLogger("northstar.sdk")
_SUFFIX = ".jsonl"


def _default_spool(url: str) -> Path:
    """One spool per server, so tools sending to different servers never send each other's events."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "northstar" / "spool" / hashlib.sha256(url.encode()).hexdigest()[:12]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Tracker:
    """Batches, spools and sends activity events; one per process is enough (see `configure`)."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        spool: str | Path | None = None,
        *,
        batch_size: int = 200,
        flush_interval: float = 1.0,
        max_queue: int = 10_000,
        timeout: float = 5.0,
        max_backoff: float = 30.0,
    ) -> None:
        self.url = (url or os.environ.get("NORTHSTAR_URL") or "http://127.0.0.1:8000").rstrip("/")
        self.token = token if token is not None else os.environ.get("NORTHSTAR_TOKEN")
        self.spool = Path(spool or os.environ.get("NORTHSTAR_SPOOL") or _default_spool(self.url))
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_queue = max_queue
        self.timeout = timeout
        self.max_backoff = max_backoff
        self._queue: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()  # guards the queue and the worker's start
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = 0.0
        self._next_try = 0.0
        self._warned: set[str] = set()
        self._client: Any = None
        atexit.register(self.close)

    # -- the host program's side -----------------------------------------------------------------------
    def track(
        self,
        action: str,
        *,
        actor: str,
        component: str,
        team: str | None = None,
        ts: datetime | None = None,
        id: str | None = None,
        **properties: Any,
    ) -> None:
        """Record one activity event (returns at once; never raises)."""
        try:
            when = ts or datetime.now(UTC)
            when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
            event: dict[str, Any] = {
                "id": id or uuid.uuid4().hex,
                "ts": when.isoformat(),
                "actor": actor,
                "component": component,
                "action": action,
            }
            if team is not None:
                event["team"] = team
            if properties:
                event["properties"] = json.loads(json.dumps(properties, default=str))
            with self._lock:
                self._queue.append(event)
                full = len(self._queue) >= self.max_queue
                self._ensure_worker()
            if full:  # the server is unreachable for long: keep the events on disk, not in memory
                self._spool_queue()
            elif len(self._queue) >= self.batch_size:
                self._wake.set()
        except Exception as exc:  # never into the host program
            self._warn("track", f"northstar.track failed: {exc!r}")

    def flush(self, timeout: float = 10.0) -> bool:
        """Send everything queued and spooled; True when the spool is empty before `timeout` seconds."""
        try:
            deadline = time.monotonic() + timeout
            self._spool_queue()
            self._next_try = 0.0
            while time.monotonic() < deadline:
                if not self._send_spooled(deadline):
                    break
                if not self._outstanding():
                    return True
                time.sleep(0.05)  # the worker is sending the last batch
            return not self._outstanding()
        except Exception as exc:
            self._warn("flush", f"northstar flush failed: {exc!r}")
            return False

    def close(self, timeout: float = 2.0) -> None:
        """Stop the worker and flush (what cannot be sent stays spooled for the next process)."""
        try:
            self._stop.set()
            self._wake.set()
            if self._thread is not None:
                self._thread.join(timeout)
            self._spool_queue()
            if self._outstanding():
                self.flush(timeout)
            if self._client is not None:
                self._client.close()
                self._client = None
        except Exception as exc:
            self._warn("close", f"northstar close failed: {exc!r}")

    # -- the worker ------------------------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="northstar-tracker", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            try:
                self._spool_queue()
                if time.monotonic() >= self._next_try:
                    self._send_spooled(time.monotonic() + self.timeout * 4)
            except Exception as exc:
                self._warn("worker", f"northstar tracker: {exc!r}")

    def _spool_queue(self) -> None:
        """Move the queued events to spool files of at most `batch_size` events (write, then rename)."""
        while True:
            with self._lock:
                batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
            if not batch:
                return
            self.spool.mkdir(parents=True, exist_ok=True)
            name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
            tmp = self.spool / f".{name}.tmp"
            try:
                tmp.write_text("".join(json.dumps(e) + "\n" for e in batch), encoding="utf-8")
                tmp.replace(self.spool / f"{name}{_SUFFIX}")
            except BaseException:
                with self._lock:
                    self._queue.extendleft(reversed(batch))
                raise

    def _pending(self) -> list[Path]:
        if not self.spool.exists():
            return []
        self._reclaim()
        return sorted(self.spool.glob(f"*{_SUFFIX}"))

    def _outstanding(self) -> list[Path]:
        """Spooled batches, and those this process is sending right now."""
        mine = list(self.spool.glob(f"*{_SUFFIX}.{os.getpid()}.sending")) if self.spool.exists() else []
        return self._pending() + mine

    def _reclaim(self) -> None:
        """Batches claimed by a process that died mid-send go back to the spool."""
        for p in self.spool.glob(f"*{_SUFFIX}.*.sending"):
            pid = p.name.rsplit(".", 2)[-2]
            if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    p.rename(p.with_name(p.name.rsplit(".", 2)[0]))

    def _send_spooled(self, deadline: float) -> bool:
        """Send spooled batches, oldest first, until the spool is empty; False after a failure (backoff)."""
        for path in self._pending():
            if time.monotonic() >= deadline:
                return True
            claimed = path.with_name(f"{path.name}.{os.getpid()}.sending")
            try:
                path.rename(claimed)
            except OSError:  # another process took it
                continue
            try:
                outcome = self._post(claimed.read_bytes())
            except BaseException:
                claimed.rename(path)
                raise
            if outcome == "ok":
                claimed.unlink()
                self._backoff = 0.0
            elif outcome == "rejected":
                rejected = self.spool / "rejected"
                rejected.mkdir(exist_ok=True)
                claimed.rename(rejected / path.name)
            else:
                claimed.rename(path)
                self._backoff = min(max(self._backoff * 2, 0.5), self.max_backoff)
                self._next_try = time.monotonic() + self._backoff * random.uniform(0.8, 1.2)
                return False
        return True

    def _post(self, body: bytes) -> str:
        """'ok', 'rejected' (the server will never take this batch; kept in spool/rejected) or 'retry'."""
        import httpx

        if not self.token:
            self._warn("token", "northstar: no NORTHSTAR_TOKEN; events are kept in the spool " + str(self.spool))
            return "retry"
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout)
        try:
            r = self._client.post(
                f"{self.url}/v1/records/activity",
                content=body,
                headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/x-ndjson"},
            )
        except httpx.HTTPError as exc:
            self._warn("down", f"northstar: {self.url} unreachable ({exc.__class__.__name__}); spooling, will retry")
            return "retry"
        if r.status_code == 200:
            self._warned.discard("down")
            return "ok"
        if r.status_code in (400, 413, 422):
            log.warning(
                "northstar: a batch was rejected (%s): %s; kept in %s/rejected", r.status_code, r.text[:500], self.spool
            )
            return "rejected"
        self._warn(str(r.status_code), f"northstar: {self.url} answered {r.status_code}; spooling, will retry")
        return "retry"

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message)


_default: Tracker | None = None
_default_lock = threading.Lock()


def configure(
    url: str | None = None, token: str | None = None, spool: str | Path | None = None, **options: Any
) -> Tracker:
    """Set up the tracker `track` uses (else it is built from the environment on first use)."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = Tracker(url, token, spool, **options)
        return _default


def _tracker() -> Tracker:
    global _default
    with _default_lock:
        if _default is None:
            _default = Tracker()
        return _default


def track(action: str, *, actor: str, component: str, team: str | None = None, **properties: Any) -> None:
    """Record that `actor` (of `team`) did `action` on platform `component`; returns at once, never raises."""
    with contextlib.suppress(Exception):  # Tracker.track guards itself; this guards building the tracker
        _tracker().track(action, actor=actor, component=component, team=team, **properties)


def flush(timeout: float = 10.0) -> bool:
    """Send what the default tracker holds; True when nothing is left to send."""
    try:
        return _tracker().flush(timeout)
    except Exception:  # pragma: no cover
        return False
