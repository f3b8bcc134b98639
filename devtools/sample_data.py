"""Generate a realistic, deterministic sample of the app's Firestore data.

Shaped like production: users own digital twins, twins hold conversations,
conversations hold messages. Messy the way real data is: timestamps written by
several client versions (Firestore Timestamps, ISO strings, epoch seconds and
milliseconds, exported `{_seconds, _nanoseconds}` maps, the odd garbage
string), missing and null fields, stray keys the migration drops, media as a
list or a lone map, conversations under users that must not be migrated, and a
conversation whose twin was deleted.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from google.cloud import firestore

START = datetime(2024, 1, 1, tzinfo=UTC)
BATCH_LIMIT = 500  # Firestore's maximum writes per batch


@dataclass(frozen=True)
class SampleSize:
    users: int = 10
    twins: int = 20
    conversations: int = 200
    messages_per_conversation: int = 15


def generate(size: SampleSize = SampleSize(), seed: int = 7):
    """Yield (path, data) for every document of the sample."""
    rng = random.Random(seed)
    user_ids = [f"user{n:03d}" for n in range(size.users)]
    twin_ids = [f"twin{n:03d}" for n in range(size.twins)]
    twin_owner = {twin: user_ids[n % size.users] for n, twin in enumerate(twin_ids)}

    for user in user_ids:
        yield f"users/{user}", _user(rng, user, [t for t in twin_ids if twin_owner[t] == user])
    for twin in twin_ids:
        yield f"digital_twins/{twin}", _twin(rng, twin, twin_owner[twin])

    for n in range(size.conversations):
        twin = twin_ids[n % size.twins]
        conversation = f"conv{n:04d}"
        started = START + timedelta(hours=rng.randint(0, 24 * 300))
        messages = [
            _message(rng, started + timedelta(minutes=3 * m), m)
            for m in range(rng.randint(1, 2 * size.messages_per_conversation - 1))
        ]
        yield (
            f"digital_twins/{twin}/conversations/{conversation}",
            _conversation(rng, started, messages),
        )
        for m, message in enumerate(messages):
            yield f"digital_twins/{twin}/conversations/{conversation}/messages/msg{m:04d}", message

    # A twin deleted after its conversations were written: still migrated.
    yield "digital_twins/deleted-twin/conversations/orphan", {"summary": "left behind", "message_count": 1}
    yield (
        "digital_twins/deleted-twin/conversations/orphan/messages/msg0000",
        {"role": "user", "content": "anyone there?", "timestamp": START},
    )
    # Same-named subcollections under a user: not part of the migration.
    yield f"users/{user_ids[0]}/conversations/draft", {"summary": "not migrated"}
    yield f"users/{user_ids[0]}/conversations/draft/messages/m1", {"role": "user", "content": "not migrated"}


def _timestamp_in_some_form(rng: random.Random, moment: datetime):
    form = rng.choices(
        ["timestamp", "iso", "iso-offset", "epoch-ms", "epoch-s", "seconds-map", "text", "garbage"],
        weights=[50, 15, 5, 10, 8, 6, 4, 2],
    )[0]
    match form:
        case "timestamp":
            return moment
        case "iso":
            return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        case "iso-offset":
            return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "+00:00"
        case "epoch-ms":
            return int(moment.timestamp() * 1000)
        case "epoch-s":
            return moment.timestamp()
        case "seconds-map":
            return {"_seconds": int(moment.timestamp()), "_nanoseconds": moment.microsecond * 1000}
        case "text":
            return moment.strftime("%B %d, %Y %I:%M %p")
        case _:
            return "sometime last week"


def _user(rng: random.Random, user: str, twins: list[str]) -> dict:
    created = START - timedelta(days=rng.randint(1, 400))
    data = {
        "username": f"{user}_name",
        "email": f"{user}@example.com" if rng.random() > 0.1 else None,
        "created_at": _timestamp_in_some_form(rng, created),
        "currently_logged_in": rng.random() > 0.7,
        "digital_twins": twins,
        "fcm_token": "dropped-by-the-migration",
    }
    if rng.random() > 0.2:
        data["last_login"] = _timestamp_in_some_form(rng, created + timedelta(days=rng.randint(1, 300)))
    if twins:
        data["last_used_digital_twin"] = twins[-1]
    if rng.random() > 0.8:
        data["user_id"] = ""  # empty: falls back to the document id
    return data


def _twin(rng: random.Random, twin: str, owner: str) -> dict:
    data = {
        "user_id": owner,
        "name": f"Twin {twin[-3:]}",
        "description": rng.choice(["A helpful twin", "", None, "Talks about gardening"]),
        "created_at": _timestamp_in_some_form(rng, START - timedelta(days=rng.randint(1, 100))),
        "icon": f"https://cdn.example.com/icons/{twin}.png",
        "files": [
            {"name": f"notes-{n}.pdf", "size": rng.randint(1_000, 900_000)} for n in range(rng.randint(0, 3))
        ],
        "system_prompt_base": "You are a digital twin.",
        "system_prompt_style": rng.choice(["friendly", "formal"]),
        "internal_cost_center": "dropped",
    }
    if rng.random() > 0.5:
        data["reference_audio"] = f"gs://voices/{twin}.wav"
    return data


def _conversation(rng: random.Random, started: datetime, messages: list[dict]) -> dict:
    data = {
        "summary": rng.choice(["Small talk", "Planning a trip", "Debugging a recipe", None]),
        "created_at": started,
        "message_count": len(messages),
    }
    if rng.random() > 0.1:  # some conversations were never updated after creation
        data["updated_at"] = started + timedelta(minutes=3 * len(messages))
    return data


def _message(rng: random.Random, moment: datetime, index: int) -> dict:
    role = "user" if index % 2 == 0 else "assistant"
    kind = rng.choices(["text", "image", "audio-map", "empty", "untyped"], weights=[80, 8, 5, 4, 3])[0]
    data = {"role": role, "timestamp": _timestamp_in_some_form(rng, moment)}
    match kind:
        case "text":
            data["content"] = f"message {index} from the {role}"
        case "image":
            data["content"] = rng.choice(["look at this", ""])
            data["media"] = [{"type": "image", "url": f"https://cdn.example.com/{index}.jpg"}]
        case "audio-map":
            data["media"] = {"type": "audio", "url": f"https://cdn.example.com/{index}.mp3"}
        case "empty":
            data["content"] = None
            data["media"] = []
        case "untyped":
            data["media"] = [{"url": f"https://cdn.example.com/{index}.bin"}]
    return data


def seed(client: firestore.Client, size: SampleSize = SampleSize(), seed: int = 7) -> Counter:
    """Write the sample in batches; return how many documents went to each collection id."""
    counts: Counter = Counter()
    batch, pending = client.batch(), 0
    for path, data in generate(size, seed):
        batch.set(client.document(path), data)
        counts[path.split("/")[-2]] += 1
        pending += 1
        if pending == BATCH_LIMIT:
            batch.commit()
            batch, pending = client.batch(), 0
    if pending:
        batch.commit()
    return counts
