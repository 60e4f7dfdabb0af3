"""`manage.py gmi_simulator`: run the GMI simulator (both API generations) in the foreground."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generations.gmi.simulator import (
    FAULTS,
    PROMPT_TRIGGERS,
    GMISimulator,
    parse_fault_spec,
)
from generations.gmi.simulator.faults import FaultRule


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
        parser.add_argument("--quiet", action="store_true", help="Do not log each call.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 <= options["port"] <= 65535:
            raise CommandError(f"--port must be between 0 and 65535, not {options['port']}.")
        if options["key"] is not None and not options["key"].strip():
            raise CommandError("--key must not be empty (leave it out to accept any key).")
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
