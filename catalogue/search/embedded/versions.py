"""Versions of documents, for writers that race: the newer state always wins.

A versioned write (the write-through of an API write) records each
document's version in ``doc_version``; a later write at a lower version
leaves that document as it is. The table is made by the first versioned
write, so files built by the ETL alone keep their layout; a deleted
document keeps its version, so a late write of an older state cannot
bring it back.
"""

import json

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS doc_version ("
    " idx TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,"
    " PRIMARY KEY (idx, id)) WITHOUT ROWID"
)


def claim(conn, index, ids, version):
    """Record ``version`` for ``ids`` of ``index``; return the ids it may write.

    Runs in the caller's write transaction: the ids held at a higher version
    are left out, and the others now hold ``version``.
    """
    conn.execute(SCHEMA)
    newer = {
        row[0]
        for row in conn.execute(
            "SELECT id FROM doc_version WHERE idx = ? AND version > ?"
            " AND id IN (SELECT value FROM json_each(?))",
            (index, version, json.dumps(list(ids))),
        )
    }
    allowed = {doc_id for doc_id in ids if doc_id not in newer}
    conn.executemany(
        "INSERT INTO doc_version (idx, id, version) VALUES (?, ?, ?)"
        " ON CONFLICT (idx, id) DO UPDATE SET version = excluded.version",
        [(index, doc_id, version) for doc_id in sorted(allowed)],
    )
    return allowed
