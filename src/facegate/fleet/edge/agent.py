"""`facegate edge`: the agent of one edge device, from start to a clean stop.

Start: the credentials in the data dir (or an enrolment with the one-time token), then a
snapshot from the server. If the server cannot be reached the device runs from the data it
synced last and says so: a door that worked yesterday keeps working during an outage. Only
a device that has never synced has nothing to decide from, and waits for the server.

Run: the entrances the server assigned (`entrances.EdgeEntrances`), the sync client in the
background, and the server's commands carried out on this thread (a restart must not run
on the MQTT thread it would wait for). Settings that change on the server restart the
entrance they concern.

Stop (SIGTERM, SIGINT, or `--until-end` once the file has played): entrances stopped, the
outbox flushed for up to `fleet.edge.flush_on_exit_s`, an offline status said, files closed.
What could not be sent stays in the outbox for the next start.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from facegate.engine import FaceEngine
from facegate.fleet.config import FleetConfig
from facegate.fleet.edge import EdgeError
from facegate.fleet.edge.entrances import EdgeEntrances, EventSink
from facegate.fleet.edge.http import Refused, Unreachable, enrol, load_credentials
from facegate.fleet.edge.outbox import Outbox
from facegate.fleet.edge.policy import EdgeAccessPolicy
from facegate.fleet.edge.store import EdgeStore
from facegate.fleet.edge.sync import SyncClient
from facegate.fleet.protocol import Command, ProtocolError
from facegate.models.config import EngineConfig
from facegate.private import private_dir
from facegate.runtime.config import RuntimeConfig
from facegate.runtime.events import Sink
from facegate.runtime.journal import Journal
from facegate.runtime.sources import SourceConfig
from facegate.vault import KEY_FILE_NAME, Vault

log = logging.getLogger("facegate.edge")


def _when(t: float | None) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") if t else "never"


class EdgeAgent:
    def __init__(
        self,
        data_dir: Path,
        *,
        runtime: RuntimeConfig,
        engine: EngineConfig,
        fleet: FleetConfig,
        server: str | None = None,
        token: str | None = None,
        source: str | None = None,
        until_end: bool = False,
        printer: Sink | None = None,
        say: Callable[[str], None] = lambda msg: log.warning("%s", msg),
    ) -> None:
        self.data_dir = Path(data_dir)
        self.runtime = runtime
        self.engine_config = engine
        self.fleet = fleet
        self.server = server
        self.token = token
        self.source = source
        self.until_end = until_end
        self.printer = printer
        self.say = say
        self._stop = threading.Event()
        self._commands: queue.Queue[Command] = queue.Queue()
        self.entrances: EdgeEntrances | None = None
        self.sync: SyncClient | None = None
        self.unsent: int | None = None  # events left in the outbox at exit

    def stop(self) -> None:
        """From any thread or a signal handler: the run loop ends and shuts down cleanly."""
        self._stop.set()

    # -- start --------------------------------------------------------------------------------

    def _credentials(self):
        creds = load_credentials(self.data_dir)
        if creds is not None:
            if self.token:
                log.info("already enrolled as device %d; --token ignored", creds.device_id)
            if self.server and self.server.rstrip("/") != creds.server:
                self.say(
                    f"enrolled with {creds.server}, not {self.server}: using {creds.server} "
                    f"(delete {self.data_dir / 'credentials.json'} to enrol elsewhere)"
                )
            return creds
        if not self.token or not self.server:
            raise EdgeError(
                f"this device is not enrolled ({self.data_dir} holds no credentials): "
                "give --server URL --token TOKEN (a device token made on the server)"
            )
        return enrol(self.server, self.token, self.data_dir)

    def _first_sync(self, sync: SyncClient, store: EdgeStore) -> None:
        """A snapshot now; on failure run from the last synced data, or (never synced) wait
        for the server, since there is nothing to decide from."""
        wait = 1.0
        while not self._stop.is_set():
            try:
                sync.snapshot()
                return
            except (Unreachable, Refused, ProtocolError) as exc:
                if isinstance(exc, Refused) and exc.status == 401:
                    raise EdgeError(
                        f"the server no longer accepts this device ({exc.error or exc}): "
                        "it was revoked; enrol it again with a new token"
                    ) from None
                if store.version is not None:
                    self.say(
                        f"server unreachable ({exc}): running from the data synced at "
                        f"{_when(store.last_sync)} (version {store.version})"
                    )
                    sync.request_snapshot("the server was unreachable at start")
                    return
                self.say(f"never synced and the server is unreachable ({exc}); retrying")
            self._stop.wait(wait)
            wait = min(wait * 2, 60.0)

    def _override(self, rc: RuntimeConfig) -> RuntimeConfig:
        """`--source` (and `--until-end`) as `facegate run` applies them."""
        if self.source:
            rc = rc.model_copy(update={"source": SourceConfig(uri=self.source)})
        if self.until_end and rc.source is not None:
            rc = rc.model_copy(
                update={"source": rc.source.model_copy(update={"pace": "simulated"})}
            )
        return rc

    # -- run ----------------------------------------------------------------------------------

    def run(self) -> int:
        """Until stopped (or the file ended, with --until-end); 0, or 1 if an entrance failed."""
        private_dir(self.data_dir)
        creds = self._credentials()
        vault = Vault.load(None, self.data_dir / KEY_FILE_NAME)
        budget = self.fleet.edge
        with (
            EdgeStore(self.data_dir / "edge.sqlite", vault) as store,
            Outbox(self.data_dir / "outbox.sqlite", budget, vault) as outbox,
            Journal(self.runtime.journal, self.data_dir / "journal.sqlite", vault=vault) as journal,
        ):
            sync = self.sync = SyncClient(
                creds,
                store,
                outbox,
                on_command=self._commands.put,
                entrance_states=lambda: self.entrances.states() if self.entrances else {},
                tls_ca_file=self.fleet.tls_ca_file,
            )
            self._first_sync(sync, store)
            if self._stop.is_set():
                return 0
            sync.start()
            try:
                return self._run(store, outbox, journal, sync)
            finally:
                if self.entrances is not None:
                    self.entrances.stop_all()
                self._flush(sync, outbox, budget.flush_on_exit_s)
                sync.stop()
                self.unsent = outbox.pending()

    def _run(self, store: EdgeStore, outbox: Outbox, journal: Journal, sync: SyncClient) -> int:
        records = store.entrances()
        if self.source and len(records) != 1:
            raise EdgeError(
                f"--source replaces the camera of a device's single entrance; this device has "
                f"{len(records)} ({', '.join(r.name for r in records) or 'none'})"
            )
        if self.until_end and not records:
            raise EdgeError("no entrance is assigned to this device: nothing to run")
        policy = EdgeAccessPolicy(store, self.fleet.edge.max_offline_s)
        entrances = self.entrances = EdgeEntrances(
            FaceEngine(self.engine_config),
            store,
            policy,
            journal,
            EventSink(outbox, self.runtime.journal.jpeg_quality),
            self.runtime,
            override=self._override,
            printer=self.printer,
        )
        log.info(
            "device %d: gallery version %s synced %s; entrances %s",
            sync.creds.device_id, store.version, _when(store.last_sync),
            ", ".join(r.name for r in records) or "none",
        )  # fmt: skip
        entrances.reconcile()
        seen = store.changes()[2]
        next_budget = time.monotonic() + 60.0
        while not self._stop.wait(0.2):
            self._carry_out_commands(entrances, sync)
            changes = store.changes()[2]
            if changes != seen:
                seen = changes
                log.info("entrance settings changed on the server: applying")
                entrances.reconcile()
            if self.until_end and not entrances.running():
                break
            if time.monotonic() >= next_budget:  # age limits apply while nothing is added
                next_budget = time.monotonic() + 60.0
                outbox.enforce()
        return 1 if any(w.failed for w in entrances.workers.values()) else 0

    def _carry_out_commands(self, entrances: EdgeEntrances, sync: SyncClient) -> None:
        while True:
            try:
                cmd = self._commands.get_nowait()
            except queue.Empty:
                return
            if cmd.action == "open":
                entrances.open_door(cmd.entrance, cmd.reason, cmd.by)
            elif cmd.action == "reload":
                sync.request_snapshot(f"reload ordered by {cmd.by or 'the server'}")
                entrances.policy.refresh(force=True)
            elif cmd.action == "restart_entrance":
                names = [cmd.entrance] if cmd.entrance else list(entrances.workers)
                for name in names:
                    entrances.restart(name)

    def _flush(self, sync: SyncClient, outbox: Outbox, limit_s: float) -> None:
        left = outbox.pending()
        if not left and not outbox.waiting_shots():
            return
        if not sync.flush(limit_s):
            self.say(
                f"{outbox.pending()} event(s) and {outbox.waiting_shots()} best shot(s) not yet "
                f"sent after {limit_s:g} s: kept in the outbox for the next start"
            )

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop the agent cleanly (main thread only)."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop())
