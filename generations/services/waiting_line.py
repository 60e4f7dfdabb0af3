"""The fair waiting line: whose turn comes next (round-robin across users) and each waiting job's place in it.

One rule, two readers. The dispatcher asks ``owners_by_turn`` from the jobs themselves at
every claim. Pages and the API ask ``queue_positions``, which must not grow with the line:
one compact ``WaitingLine`` row per user with jobs waiting, added up by the database.

A waiting job's index among its owner's waiting jobs is ``line_seq - head_seq``: each
submission takes the owner's next number in the transaction that queues the job
(``join_line``); each claim moves its owners' ``head_seq`` past the jobs it took and
marks them served (``refresh_snapshot`` for those users), and the engine refreshes the
whole line every few seconds. A job cancelled from the middle of a user's line leaves a
gap until that refresh, so until then that user's later jobs are shown one place further
back than they are; positions are otherwise exact.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Max, Min

from ..models import Generation, WaitingLine

S = Generation.Status
_NEVER = datetime.min.replace(tzinfo=UTC)


def turn_key(*, owner_id: Any, last_sent_at: datetime | None, oldest_at: datetime | None) -> tuple:
    """The fair order: least recently served first; among never-served users, whoever has waited longest.

    ``_turns_before`` says the same in SQL, for the database to count; the tests hold the two together.
    """
    return (last_sent_at or _NEVER, oldest_at or _NEVER, owner_id)


def owners_by_turn(owner_ids: list[Any]) -> list[Any]:
    """``owner_ids`` in the order the dispatcher serves them, read from the jobs themselves."""
    if not owner_ids:
        return []
    last_sent = dict(
        Generation.objects.filter(owner_id__in=owner_ids, send_started_at__isnull=False)
        .values("owner_id").annotate(last=Max("send_started_at")).values_list("owner_id", "last")
    )
    oldest = dict(
        Generation.objects.filter(owner_id__in=owner_ids, status=S.QUEUED, send_started_at__isnull=True)
        .values("owner_id").annotate(oldest=Min("created_at")).values_list("owner_id", "oldest")
    )
    return sorted(owner_ids, key=lambda o: turn_key(owner_id=o, last_sent_at=last_sent.get(o),
                                                    oldest_at=oldest.get(o)))


def is_waiting(generation: Generation) -> bool:
    return generation.status == S.QUEUED and generation.send_started_at is None


def join_line(*, owner_id: Any, created_at: datetime, count: int = 1) -> int:
    """Give a job entering the line its owner's next number; call inside the transaction that creates it.

    With ``count`` (a batch), ``count`` consecutive numbers are taken and the last is returned.
    One upsert: the row lock it takes serializes only that user's own submissions, which
    their quota counters serialize anyway.
    """
    table = _table()
    count = int(count)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (owner_id, last_seq, head_seq, oldest_at, last_sent_at) "
            f"VALUES (%s, {count}, 1, %s, NULL) "
            f"ON CONFLICT (owner_id) DO UPDATE SET last_seq = {table}.last_seq + {count}, "
            f"oldest_at = CASE WHEN {table}.head_seq > {table}.last_seq THEN EXCLUDED.oldest_at "
            f"ELSE {table}.oldest_at END "
            f"RETURNING last_seq",
            # As the ORM writes them, so that the line's sums compare like with like on SQLite too.
            [_owner_value(owner_id), connection.ops.adapt_datetimefield_value(created_at)],
        )
        return int(cursor.fetchone()[0])


def _table() -> str:
    return connection.ops.quote_name(WaitingLine._meta.db_table)


def _owner_value(owner_id: Any) -> Any:
    """A user key as the database holds it (a host's UUID key too), for the SQL written out here."""
    return WaitingLine._meta.get_field("owner").get_db_prep_value(owner_id, connection)


def queue_positions(generations: Iterable[Generation]) -> dict[Any, int]:
    """1-based place in line of each waiting generation among ``generations``, by the dispatcher's order.

    The line is round-robin: a job's place is how many turns pass before its owner's turn
    reaches it, one job per waiting user per round. Two queries whatever the line's length:
    the owners' own summaries, then the sums of ``_turns_before``, one row.
    """
    waiting = [g for g in generations if is_waiting(g)]
    if not waiting:
        return {}
    owners = {g.owner_id for g in waiting}
    mine = _summaries(owners)
    seqs = {g.pk: g.line_seq for g in waiting}
    if any(seqs[g.pk] is None or g.owner_id not in mine for g in waiting):
        # Jobs that entered the line without a number (bulk-created, or queued before
        # the line existed) are numbered once; later reads take the cheap path.
        refresh_snapshot()
        mine = _summaries(owners)
        seqs = dict(Generation.objects.filter(pk__in=list(seqs)).values_list("pk", "line_seq"))
    asked: dict[Any, tuple[int, WaitingLine]] = {}
    for generation in waiting:
        row, seq = mine.get(generation.owner_id), seqs.get(generation.pk)
        if row is None or seq is None:
            continue  # left the line meanwhile
        asked[generation.pk] = (min(max(seq - row.head_seq, 0), row.waiting - 1), row)
    if not asked:
        return {}
    places = list(dict.fromkeys((index, row.owner_id) for index, row in asked.values()))
    turns = _turns_before([(index, mine[owner]) for index, owner in places])
    before = dict(zip(places, turns, strict=True))
    return {pk: before[(index, row.owner_id)] + 1 for pk, (index, row) in asked.items()}


def _summaries(owner_ids: Iterable[Any]) -> dict[Any, WaitingLine]:
    """The summaries of those of ``owner_ids`` with jobs waiting. Raw SQL: it runs on every
    submission and GET of a waiting job, and the ORM took longer to build it than to run it."""
    ids = [_owner_value(owner_id) for owner_id in owner_ids]
    rows = WaitingLine.objects.raw(
        f"SELECT * FROM {_table()} WHERE owner_id IN ({', '.join(['%s'] * len(ids))}) AND last_seq >= head_seq", ids,
    )
    return {row.owner_id: row for row in rows}


def _turns_before(places: list[tuple[int, WaitingLine]]) -> list[int]:
    """For each ``(index, owner's summary)``: the turns taken before that owner's ``index``-th waiting job.

    Every user's jobs in the whole rounds before it, then one job each from the users ahead
    of the owner in its own round (``turn_key``'s order, said again in SQL). One scan of the
    waiting users' summaries (one small row each) answers every place as one row, so the
    request does no per-user work. Written out because the ORM compiles such sums for
    longer than the database takes to add the whole line up.
    """
    ops = connection.ops
    never = ops.adapt_datetimefield_value(_NEVER)
    columns, params = [], []
    for index, mine in places:
        index = int(index)
        columns.append(
            f"COALESCE(SUM(CASE WHEN w < {index} THEN w ELSE {index} END), 0) + "
            f"COALESCE(SUM(CASE WHEN w > {index} AND (sent < %s OR (sent = %s AND (oldest < %s OR "
            f"(oldest = %s AND owner_id < %s)))) THEN 1 ELSE 0 END), 0)"
        )
        sent = ops.adapt_datetimefield_value(mine.last_sent_at or _NEVER)
        oldest = ops.adapt_datetimefield_value(mine.oldest_at or _NEVER)
        params += [sent, sent, oldest, oldest, _owner_value(mine.owner_id)]
    table = _table()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM (SELECT last_seq - head_seq + 1 AS w, owner_id, "
            f"COALESCE(last_sent_at, %s) AS sent, COALESCE(oldest_at, %s) AS oldest "
            f"FROM {table} WHERE last_seq >= head_seq) line",
            [*params, never, never],  # the columns come first in the text
        )
        return [int(value) for value in cursor.fetchone()]


def refresh_snapshot(*, owner_ids: Iterable[Any] | None = None, served_at: datetime | None = None) -> None:
    """Recompute the summaries of users with jobs waiting from the jobs; the dispatcher runs it after each pass.

    The summaries of users already in line are locked first (in one order, so two
    refreshes never deadlock), so a submission of theirs either committed before the
    jobs are read or waits until the summaries are written. Users who joined meanwhile
    keep what their submission wrote. Jobs without a number, gaps and numbers out of
    order are renumbered. One read of the waiting jobs (id, owner, number, time) and one
    write per changed summary: the dispatcher pays for the line so that readers do not.

    With ``owner_ids``, only those users' summaries: a claim took their oldest jobs at
    ``served_at``, and nobody else's place in the arithmetic changed.
    """
    with transaction.atomic():
        waiting = WaitingLine.objects.select_for_update().filter(last_seq__gte=F("head_seq"))
        if owner_ids is not None:
            owner_ids = list(owner_ids)
            waiting = waiting.filter(owner_id__in=owner_ids)
        locked = set(waiting.order_by("owner_id").values_list("owner_id", flat=True))
        jobs = _waiting_jobs(owner_ids=owner_ids)
        unnumbered = {owner for owner, rows in jobs.items() if owner not in locked and any(r[1] is None for r in rows)}
        if unnumbered:
            WaitingLine.objects.bulk_create([WaitingLine(owner_id=o) for o in unnumbered], ignore_conflicts=True)
            list(WaitingLine.objects.select_for_update().filter(owner_id__in=unnumbered).order_by("owner_id")
                 .values_list("owner_id", flat=True))
            jobs.update(_waiting_jobs(owner_ids=unnumbered))
            locked |= unnumbered
        rows = {row.owner_id: row for row in WaitingLine.objects.filter(owner_id__in=locked)}
        if served_at is not None:
            last_sent = {owner: max(served_at, rows[owner].last_sent_at or served_at) for owner in locked}
        else:
            last_sent = dict(
                Generation.objects.filter(owner_id__in=locked, send_started_at__isnull=False)
                .values("owner_id").annotate(last=Max("send_started_at")).values_list("owner_id", "last")
            )
        renumbered: list[Generation] = []
        changed: list[WaitingLine] = []
        for owner_id in sorted(locked):
            row = rows[owner_id]
            before = (row.last_seq, row.head_seq, row.oldest_at, row.last_sent_at)
            mine = jobs.get(owner_id, [])
            row.last_sent_at = last_sent.get(owner_id, row.last_sent_at)
            if not mine:
                row.head_seq, row.oldest_at = row.last_seq + 1, None
            else:
                numbers = [seq for _, seq, _ in mine]
                known = [n for n in numbers if n is not None]
                base = min(known) if known else row.last_seq + 1
                wanted = list(range(base, base + len(mine)))
                if numbers != wanted:
                    renumbered += [
                        Generation(pk=pk, line_seq=n)
                        for (pk, seq, _), n in zip(mine, wanted, strict=True) if seq != n
                    ]
                row.head_seq, row.last_seq, row.oldest_at = base, wanted[-1], mine[0][2]
            if (row.last_seq, row.head_seq, row.oldest_at, row.last_sent_at) != before:
                changed.append(row)
        if renumbered:
            Generation.objects.bulk_update(renumbered, ["line_seq"], batch_size=500)
        if changed:
            WaitingLine.objects.bulk_update(changed, ["last_seq", "head_seq", "oldest_at", "last_sent_at"],
                                            batch_size=500)


def _waiting_jobs(*, owner_ids: Iterable[Any] | None = None) -> dict[Any, list[tuple[Any, int | None, datetime]]]:
    """Waiting jobs per owner in the order the dispatcher sends them (oldest first)."""
    qs = Generation.objects.filter(status=S.QUEUED, send_started_at__isnull=True)
    if owner_ids is not None:
        qs = qs.filter(owner_id__in=list(owner_ids))
    jobs: dict[Any, list[tuple[Any, int | None, datetime]]] = defaultdict(list)
    for pk, owner_id, seq, created_at in qs.order_by("created_at", "pk").values_list(
            "pk", "owner_id", "line_seq", "created_at"):
        jobs[owner_id].append((pk, seq, created_at))
    return dict(jobs)
