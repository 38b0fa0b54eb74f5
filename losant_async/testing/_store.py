"""The schema-driven store: what the generic actions wrote, by concrete item path.

An item created by `POST /orgs` lives at `/orgs/<id>` and is listed by
`GET /orgs`; an item the API cannot create (`/me`, `/instances/<id>`) is made
on first use and kept, so that a `PATCH` round-trips. A deleted path stays
deleted (404) until it is created again.
"""

from __future__ import annotations

import copy
import threading

from losant_async.testing._state import Json


class Store:
    """Thread-safe objects by concrete path, with the members of each collection in order."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._objects: dict[str, Json | None] = {}
        self._members: dict[str, dict[str, None]] = {}

    def find(self, path: str) -> Json | None:
        """A copy of the object at `path`, or None."""
        with self._lock:
            found = self._objects.get(path)
            return None if found is None else copy.deepcopy(found)

    def deleted(self, path: str) -> bool:
        """Whether the object at `path` was deleted (and not made again)."""
        with self._lock:
            return path in self._objects and self._objects[path] is None

    def put(self, path: str, value: Json) -> None:
        """Store `value` at `path`; a path one segment below a collection joins it."""
        collection, _, item_id = path.rpartition("/")
        with self._lock:
            self._objects[path] = copy.deepcopy(value)
            self._members.setdefault(collection, {})[item_id] = None

    def delete(self, path: str) -> bool:
        """Delete the object at `path` and everything under it; False if there was none."""
        collection, _, item_id = path.rpartition("/")
        prefix = path + "/"
        with self._lock:
            if self._objects.get(path) is None:
                return False
            self._objects[path] = None
            self._members.get(collection, {}).pop(item_id, None)
            for key in [key for key in self._objects if key.startswith(prefix)]:
                del self._objects[key]
            for key in [key for key in self._members if key.startswith(prefix)]:
                del self._members[key]
            return True

    def members(self, collection: str) -> list[Json]:
        """Copies of the items of `collection`, oldest first."""
        with self._lock:
            ids = list(self._members.get(collection, ()))
            found = (self._objects.get(f"{collection}/{item_id}") for item_id in ids)
            return [copy.deepcopy(item) for item in found if item is not None]
