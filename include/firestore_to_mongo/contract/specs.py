"""The mapping contract, as data: what each Firestore collection becomes in MongoDB."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from include.firestore_to_mongo.contract.paths import PathShape


@dataclass(frozen=True)
class CollectionSpec:
    """How one Firestore collection maps to one Mongo collection.

    `name` is what users pick in the `collections` param and the task id.
    """

    name: str
    source_collection: str
    # True: read with a collection-group query and keep only `path_shape`.
    is_group: bool
    path_shape: PathShape
    target: str
    # The field that falls back to the document id when missing, null or "".
    id_field: str
    # Fields set from the ids along the path, always, whatever the document holds.
    path_fields: tuple[str, ...]
    # Target field → source field, copied only when the source has it.
    copied: dict[str, str]
    copied_prefixes: tuple[str, ...] = ()
    timestamp_fields: frozenset[str] = frozenset()
    # The upsert key, in index order.
    key_fields: tuple[str, ...] = field(default=())
    derives_message_type: bool = False
    # The change cursor: the source field incremental runs filter and order on.
    # Firestore can't filter on its own update_time, so it must be a field, and a
    # range filter only matches one value type: Firestore Timestamps. None: the
    # collection is re-read in full and only what update_time says changed is written.
    # This is the one place to change a cursor.
    cursor_field: str | None = None

    @cached_property
    def contract_keys(self) -> frozenset[str]:
        """The named keys the contract writes (the `copied_prefixes` keys come on top)."""
        derived = ("type",) if self.derives_message_type else ()
        return frozenset((self.id_field, *self.path_fields, *self.copied, *derived))

    @cached_property
    def source_keys(self) -> frozenset[str]:
        """The source fields the contract names (the `copied_prefixes` fields come on top).
        A named field can still be set from elsewhere: the parents' ids from the path, a
        message's `type` from its content and media; those are not reported as dropped."""
        derived = ("type",) if self.derives_message_type else ()
        return frozenset((self.id_field, *self.path_fields, *self.copied.values(), *derived))

    def dropped_keys(self, data: dict) -> list[str]:
        """The source document's top-level field names the contract doesn't name: the keys
        the migration drops (a map field's own keys are part of that field)."""
        return [
            name
            for name in data
            if name not in self.source_keys and not name.startswith(self.copied_prefixes)
        ]

    def is_contract_key(self, name: str) -> bool:
        """Whether a MongoDB document's key belongs to the contract: a key the migration
        owns, removes when the source lacks it, and compares. Other keys belong to
        whoever else writes to the collection."""
        return name in self.contract_keys or name.startswith(self.copied_prefixes)


def _same(*names: str) -> dict[str, str]:
    return {name: name for name in names}


USERS = CollectionSpec(
    name="users",
    source_collection="users",
    is_group=False,
    path_shape=("users", None),
    target="users",
    id_field="user_id",
    path_fields=(),
    copied=_same(
        "username",
        "email",
        "created_at",
        "last_login",
        "currently_logged_in",
        "digital_twins",
        "last_used_digital_twin",
    ),
    timestamp_fields=frozenset({"created_at", "last_login"}),
    key_fields=("user_id",),
)

DIGITAL_TWINS = CollectionSpec(
    name="digital_twins",
    source_collection="digital_twins",
    is_group=False,
    path_shape=("digital_twins", None),
    target="digital_twins",
    id_field="digital_twin_id",
    path_fields=(),
    copied=_same(
        "user_id",
        "name",
        "description",
        "created_at",
        "icon",
        "reference_audio",
        "files",
        "default_conversation",
    ),
    copied_prefixes=("system_prompt_",),
    timestamp_fields=frozenset({"created_at"}),
    key_fields=("digital_twin_id",),
)

CONVERSATIONS = CollectionSpec(
    name="conversations",
    source_collection="conversations",
    is_group=True,
    path_shape=("digital_twins", None, "conversations", None),
    target="conversations",
    id_field="conversation_id",
    path_fields=("digital_twin_id",),
    copied=_same("summary", "created_at", "updated_at", "message_count"),
    timestamp_fields=frozenset({"created_at", "updated_at"}),
    key_fields=("digital_twin_id", "conversation_id"),
    cursor_field="updated_at",
)

MESSAGES = CollectionSpec(
    name="messages",
    source_collection="messages",
    is_group=True,
    path_shape=("digital_twins", None, "conversations", None, "messages", None),
    target="avatar_conversations",
    id_field="message_id",
    path_fields=("digital_twin_id", "conversation_id"),
    copied={"sender": "role", "message": "content", "media": "media", "timestamp": "timestamp"},
    timestamp_fields=frozenset({"timestamp"}),
    key_fields=("digital_twin_id", "conversation_id", "message_id"),
    derives_message_type=True,
    cursor_field="timestamp",
)

SPECS: dict[str, CollectionSpec] = {
    spec.name: spec for spec in (USERS, DIGITAL_TWINS, CONVERSATIONS, MESSAGES)
}
COLLECTION_NAMES: tuple[str, ...] = tuple(SPECS)


def asset_alias_name(collection: str) -> str:
    """The AssetAlias under which a collection task reports its MongoDB collection's Asset."""
    return f"firestore_to_mongo.{collection}"
