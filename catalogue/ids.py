"""Stable ids: the same person or genre name gets the same id everywhere."""

import uuid

# Fixed namespace: person and genre ids are uuid5 of this and the normalised name,
# so the same name gets the same id on every migration and every machine.
ID_NAMESPACE = uuid.UUID("5b1c3c52-8a1e-4b8e-9a57-0d7f6a1c2e90")


def stable_id(kind, name):
    """Return the stable id of a person or genre called ``name``."""
    if name is None:
        return None
    key = " ".join(name.split()).casefold()
    return str(uuid.uuid5(ID_NAMESPACE, f"{kind}:{key}"))
