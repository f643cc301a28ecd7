"""The timeline export's JSONL lines built by PostgreSQL, byte for byte what the Python path
(``exports._line``) writes: keys sorted, no spaces, timestamps as ``datetime.isoformat()`` of the
UTC value (``2026-01-02T03:04:05[.ffffff]+00:00``), amounts as plain decimal strings, non-ASCII
text as UTF-8. Streamed in chunks from a server-side cursor, so memory stays flat and the
connection is free between chunks (progress updates)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection
from django.db.models import DateTimeField, DecimalField

from ledger_audit.models import Deal

# isoformat() of a UTC datetime: microseconds only when there are any.
_TIMESTAMP = (
    "to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
    "date_trunc('second', {c} AT TIME ZONE 'UTC') = {c} AT TIME ZONE 'UTC' THEN '' "
    "ELSE to_char({c} AT TIME ZONE 'UTC', '.US') END || '+00:00'"
)


def _value(model: Any, name: str) -> str:
    field = model._meta.get_field(name)
    column = f"x.{connection.ops.quote_name(field.column)}"
    if isinstance(field, DateTimeField):
        return _TIMESTAMP.format(c=column)
    if isinstance(field, DecimalField):
        return f"{column}::text"
    return column


def _source(rank: int, kind: str, model: Any, fields: Sequence[str], at: str) -> str:
    qn = connection.ops.quote_name
    if not kind.replace("_", "").isalnum():  # a constant of exports.SOURCES, inlined as a literal
        raise ValueError(f"bad export kind {kind!r}")
    values = {"deal_id": "x.deal_id", "type": f"'{kind}'::text"}
    values.update({name: _value(model, name) for name in fields})
    # row_to_json keeps the column order and writes no spaces: sorted like json.dumps(sort_keys).
    select = ", ".join(f"{expr} AS {qn(key)}" for key, expr in sorted(values.items()))
    at_column = qn(model._meta.get_field(at).column)
    table, deals = qn(model._meta.db_table), qn(Deal._meta.db_table)
    # Identifiers come from model metadata (quoted); the deal ids are a bound parameter.
    return (
        f"SELECT d.id AS dk, {rank:d} AS rk, x.{at_column} AS at, x.id AS xid, "  # noqa: S608
        f"row_to_json(j)::text AS line FROM {table} x JOIN {deals} d ON d.deal_id = x.deal_id "
        f"CROSS JOIN LATERAL (SELECT {select}) j WHERE x.deal_id = ANY(%(deals)s)"
    )


def timeline_sql(sources: Sequence[tuple[str, Any, Sequence[str], str]]) -> str:
    """Every row of the deals as (kind rank, JSON line), ordered per deal (by the deal's row
    id), then kind, then time, then row id — the Python path's merge order."""
    union = " UNION ALL ".join(_source(rank, *spec) for rank, spec in enumerate(sources))
    return f"SELECT u.rk, u.line FROM ({union}) u ORDER BY u.dk, u.rk, u.at, u.xid"  # noqa: S608


def timeline_chunks(
    sources: Sequence[tuple[str, Any, Sequence[str], str]], deal_ids: list[str], size: int
) -> Iterator[tuple[list[int], bytes]]:
    """(kind rank of each row, the rows' JSONL bytes) per chunk of at most ``size`` rows."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(timeline_sql(sources), {"deals": deal_ids})
        while rows := cursor.fetchmany(size):
            yield [r[0] for r in rows], ("\n".join([r[1] for r in rows]) + "\n").encode()
