"""`manage.py gmi_simulator`: run the GMI simulator (both API generations) in the foreground."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gmi_simulator import (
    FAULTS,
    PROMPT_TRIGGERS,
    GMISimulator,
    parse_fault_spec,
)
from gmi_simulator.faults import FaultRule


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a stand-alone server: the site's checks do not apply
    help = (
        "Run a simulated GMI Cloud: the request-queue API, the legacy Video API, "
        "playable outcomes and switchable faults. Ctrl-C stops it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8765, help="Port to bind (default 8765; 0 picks a free one).")
        parser.add_argument("--key", default=None, help="Accept only this API key (default: any non-empty key).")
        parser.add_argument("--job-seconds", type=float, default=6.0, help="How long a job takes (default 6).")
        parser.add_argument(
            "--url-ttl",
            type=float,
            default=3600.0,
            help="Seconds outcome URLs stay valid after a job ends (default 3600).",
        )
        parser.add_argument("--seed", type=int, default=None, help="Seed for probabilistic faults.")
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            metavar="NAME[:N|:P%|:always][,param=value...]",
            help="Start with a fault, e.g. rate_limit:3,retry_after=5 or server_error:20%%. "
            f"Faults: {', '.join(FAULTS)}. Repeatable.",
        )
        parser.add_argument(
            "--latency-ms",
            type=float,
            default=None,
            help="Answer every API call after this many ms, as a remote GMI does "
            "(default: $GMI_SIMULATOR_LATENCY_MS, else 0). Concurrent calls wait side by side.",
        )
        parser.add_argument(
            "--storage-latency-ms",
            type=float,
            default=None,
            help="Delay before outcome/upload files under /storage/ start (default: the --latency-ms value).",
        )
        parser.add_argument(
            "--video-mb",
            type=float,
            default=0,
            help="Make every outcome video a valid MP4 of this many MiB (the clip plus a free box; "
            "streamed, never held in memory). Default 0: the plain clip of about 100 KB.",
        )
        parser.add_argument(
            "--storage-mbit",
            type=float,
            default=0,
            help="Send outcome/upload files under /storage/ at most this many Mbit/s, as a network link "
            "would (10000: a 10 Gbit/s link). Default 0: as fast as the machine goes.",
        )
        parser.add_argument("--job-jitter", type=float, default=0.0,
                            help="Vary each job's time by up to this fraction (0.5: between 0.5 and 1.5 × --job-seconds).")
        parser.add_argument("--journal-size", type=int, default=None,
                            help="Calls kept in the journal (default 10,000; benchmarks that count every call raise it).")
        parser.add_argument("--extra-models", type=int, default=0,
                            help="List this many more models (Synthetic-00001 ..., copies of Luma-Ray2): a large catalogue.")
        parser.add_argument("--guide-kb", type=float, default=0,
                            help="Make each extra model's detailed_description (its guide) about this many KiB.")
        parser.add_argument("--quiet", action="store_true", help="Do not log each call.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 <= options["port"] <= 65535:
            raise CommandError(f"--port must be between 0 and 65535, not {options['port']}.")
        if options["key"] is not None and not options["key"].strip():
            raise CommandError("--key must not be empty (leave it out to accept any key).")
        latency_ms = options["latency_ms"]
        if latency_ms is None:
            raw = os.environ.get("GMI_SIMULATOR_LATENCY_MS", "").strip() or "0"
            try:
                latency_ms = float(raw)
            except ValueError:
                raise CommandError(f"GMI_SIMULATOR_LATENCY_MS must be a number of milliseconds, not {raw!r}.") from None
        for name, value in (
            ("--latency-ms", latency_ms),
            ("--storage-latency-ms", options["storage_latency_ms"]),
            ("--video-mb", options["video_mb"]),
            ("--storage-mbit", options["storage_mbit"]),
        ):
            if value is not None and value < 0:
                raise CommandError(f"{name} must not be negative.")
        try:
            faults = [parse_fault_spec(spec) for spec in options["fault"]]
        except ValueError as exc:
            raise CommandError(f"--fault: {exc}") from exc
        try:
            simulator = GMISimulator(
                options["host"],
                options["port"],
                key=options["key"],
                job_seconds=options["job_seconds"],
                url_ttl=options["url_ttl"],
                seed=options["seed"],
                faults=faults,
                quiet=options["quiet"],
                log_stream=self.stdout,
                latency_ms=latency_ms,
                storage_latency_ms=options["storage_latency_ms"],
                video_mb=options["video_mb"],
                storage_mbit=options["storage_mbit"],
                job_jitter=options["job_jitter"],
                extra_models=options["extra_models"],
                guide_kb=options["guide_kb"],
                **({"journal_size": options["journal_size"]} if options["journal_size"] else {}),
            )
        except (OSError, OverflowError) as exc:
            raise CommandError(f"cannot listen on {options['host']}:{options['port']}: {exc}") from exc

        self.stdout.write(self.style.SUCCESS("GMI simulator running"))
        self.stdout.write(f"  request-queue API   GMI_BASE_URL={simulator.base_url}")
        self.stdout.write(f"  legacy queue        GMI_BASE_URL={simulator.legacy_base_url}  (GMI_API=legacy)")
        self.stdout.write(f"  legacy model list   GMI_MODELS_URL={simulator.legacy_models_url}")
        self.stdout.write(f"  control             {simulator.url}/_simulator/")
        self.stdout.write(
            "  API key             " + ("only the one given with --key" if options["key"] else "any non-empty key")
        )
        latency = simulator.latency()
        if latency["latency_ms"] or latency["storage_latency_ms"]:
            self.stdout.write(
                f"  latency             {latency['latency_ms']:g} ms per API call, "
                f"{latency['storage_latency_ms']:g} ms before storage files"
            )
        if simulator.video_bytes:
            self.stdout.write(f"  outcome videos      {simulator.video_bytes / 2**20:g} MiB each")
        if options["storage_mbit"]:
            self.stdout.write(f"  storage link        {options['storage_mbit']:g} Mbit/s per file")
        if faults:
            self.stdout.write("  faults              " + "; ".join(map(_describe, faults)))
        self.stdout.write("  prompt triggers     " + " ".join(PROMPT_TRIGGERS))
        self.stdout.write("Ctrl-C stops it.")
        try:
            simulator.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("GMI simulator stopped.")


def _describe(rule: FaultRule) -> str:
    amount = f"next {rule.count} call(s)" if rule.count is not None else f"{rule.probability:.0%} of calls"
    params = "".join(f", {name}={value}" for name, value in rule.params.items())
    return f"{rule.name} ({amount}{params})"
