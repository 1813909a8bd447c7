"""Load: write document batches into the search backend, checkpointing each one.

A checkpoint is written only after the backend accepted a batch, so a run killed
at any point resumes from the last whole batch; ids are deterministic, so the
batch that was in flight is simply written again.
"""

from etl import state


def load_batches(state_db, indexer, run, phase, batches, progress):
    """Write ``(documents, last_id)`` batches of ``phase`` and checkpoint each one.

    Returns the number of documents written.
    """
    written = 0
    for documents, last_id in batches:
        count = indexer.write(phase, documents, run.generation)
        state.checkpoint(state_db, run, phase, last_id, count)
        progress.update(count)
        written += count
    return written


def remove_deleted(indexer, deleted, generation=None):
    """Remove deleted films, persons and genres from their indices."""
    removed = 0
    for entity, index in (
        ("film", "movies"),
        ("person", "persons"),
        ("genre", "genres"),
    ):
        if deleted[entity]:
            removed += indexer.remove(index, deleted[entity], generation)
    return removed
