"""The bench's Firestore data: deterministic, shaped like the app's, seeded fast.

10 users, 20 twins, 200 conversations (conversation n belongs to twin n % 20), and
N messages spread evenly over the conversations. A message is
{"role", "content", "timestamp"} and one in ten also has an image in "media":
200 to 300 bytes of BSON each, like the app's chat messages.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from google.api_core.datetime_helpers import DatetimeWithNanoseconds

USERS = 10
TWINS = 20
CONVERSATIONS = 200
START = datetime(2025, 1, 1, tzinfo=UTC)
BATCH_LIMIT = 500  # Firestore's maximum writes per batch
SEED_THREADS = 4

_WORD_TEXT = (
    "the a to and of in that is it you for on with as this was be have are not but at we "
    "garden recipe trip weather tomorrow meeting remember thanks idea maybe really today "
    "could would should about because think know feel want need plan time morning evening "
    "coffee train book music photo family weekend project deadline question answer sure"
)
WORDS = tuple(_WORD_TEXT.split())


def firestore_time(moment: datetime) -> DatetimeWithNanoseconds:
    """`moment` as the type the Firestore client returns for a Timestamp."""
    return DatetimeWithNanoseconds(
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
        tzinfo=UTC,
    )


def conversation_path(n: int, twins: int = TWINS) -> str:
    return f"digital_twins/twin{n % twins:03d}/conversations/conv{n:04d}"


def messages(
    n_messages: int, seed: int = 11, conversations: int = CONVERSATIONS, twins: int = TWINS
) -> Iterator[tuple[str, dict]]:
    """Yield (path, data) for `n_messages` messages, spread evenly over the conversations."""
    rng = random.Random(seed)
    per_conversation, extra = divmod(n_messages, conversations)
    for n in range(conversations):
        started = START + timedelta(minutes=rng.randint(0, 60 * 24 * 300))
        base = conversation_path(n, twins)
        for m in range(per_conversation + (1 if n < extra else 0)):
            yield f"{base}/messages/msg{m:05d}", _message(rng, m, started + timedelta(seconds=45 * m))


def _message(rng: random.Random, index: int, moment: datetime) -> dict:
    role = "user" if index % 2 == 0 else "assistant"
    words: list[str] = []
    length, target = 0, rng.randint(130, 220)
    while length < target:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    data = {
        "role": role,
        "content": " ".join(words).capitalize() + ".",
        "timestamp": firestore_time(moment + timedelta(microseconds=rng.randint(0, 999_999))),
    }
    if rng.random() < 0.1:
        data["media"] = [
            {"type": "image", "url": f"https://cdn.example.com/media/{rng.getrandbits(64):016x}.jpg"}
        ]
    return data


def other_documents(
    seed: int = 11, users: int = USERS, twins: int = TWINS, conversations: int = CONVERSATIONS
) -> Iterator[tuple[str, dict]]:
    """Users, twins and conversations: the parents the messages hang under."""
    rng = random.Random(seed + 1)
    owned: dict[int, list[str]] = {}
    for t in range(twins):
        owned.setdefault(t % users, []).append(f"twin{t:03d}")
    for u in range(users):
        yield (
            f"users/user{u:03d}",
            {
                "username": f"user{u:03d}",
                "email": f"user{u:03d}@example.com",
                "created_at": firestore_time(START - timedelta(days=rng.randint(1, 400))),
                "digital_twins": owned.get(u, []),
            },
        )
    for t in range(twins):
        yield (
            f"digital_twins/twin{t:03d}",
            {
                "user_id": f"user{t % users:03d}",
                "name": f"Twin {t}",
                "description": "A helpful twin",
                "created_at": firestore_time(START - timedelta(days=rng.randint(1, 100))),
                "system_prompt_base": "You are a digital twin.",
            },
        )
    for n in range(conversations):
        created = START + timedelta(minutes=rng.randint(0, 60 * 24 * 300))
        yield (
            conversation_path(n, twins),
            {
                "summary": "Small talk",
                "created_at": firestore_time(created),
                "updated_at": firestore_time(created + timedelta(hours=2)),
                "message_count": 0,
            },
        )


def seed(
    client, n_messages: int, users: int = USERS, twins: int = TWINS, conversations: int = CONVERSATIONS
) -> int:
    """Write the users, twins, conversations and `n_messages` messages; return how many documents.

    Plain 500-write batches, committed by a few threads at once (the emulator
    takes them in parallel), generated as they are committed (a few dozen batches
    ahead), so that a million messages never sit in memory at once.
    """
    documents = itertools.chain(
        other_documents(users=users, twins=twins, conversations=conversations),
        messages(n_messages, conversations=conversations, twins=twins),
    )
    chunks = itertools.batched(documents, BATCH_LIMIT)

    def commit(chunk: tuple[tuple[str, dict], ...]) -> int:
        batch = client.batch()
        for path, data in chunk:
            batch.set(client.document(path), data)
        batch.commit()
        return len(chunk)

    count = 0
    with ThreadPoolExecutor(SEED_THREADS) as pool:
        while window := list(itertools.islice(chunks, SEED_THREADS * 8)):
            count += sum(pool.map(commit, window))
    return count
