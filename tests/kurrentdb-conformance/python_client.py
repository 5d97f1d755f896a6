"""Conformance of the KurrentDB protocol double, checked by the official Python client.

Usage: python python_client.py kurrentdb://127.0.0.1:PORT?tls=false

Plain asserts, one function per operation; every check runs and any failure exits non-zero.
Stream names carry a fresh run id, so the script can share a double with other suites.
"""

from __future__ import annotations

import sys
import traceback
import uuid
from importlib.metadata import version

from kurrentdbclient import KurrentDBClient, NewEvent, StreamState
from kurrentdbclient.exceptions import NotFoundError, WrongCurrentVersionError

RUN = uuid.uuid4().hex[:12]
# Ends of calls that could otherwise wait for ever on a broken double.
TIMEOUT = 10


def new(event_type: str, n: int = 0) -> NewEvent:
    return NewEvent(type=event_type, data=b'{"n":%d}' % n)


def stream(name: str) -> str:
    return f"py{RUN}-{name}"


def check_append_one(client: KurrentDBClient) -> None:
    name = stream("one")
    event = new("Opened")
    position = client.append_to_stream(name, events=event, current_version=StreamState.NO_STREAM)
    assert position > 0, position
    [recorded] = client.get_stream(name)
    assert recorded.id == event.id and recorded.type == "Opened", recorded
    assert recorded.stream_position == 0 and recorded.commit_position == position, recorded
    assert recorded.data == b'{"n":0}' and recorded.content_type == "application/json"


def check_append_many(client: KurrentDBClient) -> None:
    # A list of events goes through Streams.BatchAppend.
    name = stream("many")
    events = [new("Step", i) for i in range(5)]
    position = client.append_to_stream(name, events=events, current_version=StreamState.NO_STREAM)
    recorded = client.get_stream(name)
    assert [e.id for e in recorded] == [e.id for e in events]
    assert [e.stream_position for e in recorded] == list(range(5))
    assert recorded[-1].commit_position == position, (recorded[-1], position)
    positions = [e.commit_position for e in recorded]
    assert positions == sorted(set(positions)), positions
    # …and again at an exact revision.
    more = [new("Step", 5), new("Step", 6)]
    client.append_to_stream(name, events=more, current_version=4)
    assert len(client.get_stream(name)) == 7


def check_read_forwards_and_backwards(client: KurrentDBClient) -> None:
    name = stream("read")
    events = [new("Step", i) for i in range(4)]
    client.append_to_stream(name, events=events, current_version=StreamState.NO_STREAM)
    ids = [e.id for e in events]
    assert [e.id for e in client.get_stream(name)] == ids
    assert [e.id for e in client.get_stream(name, backwards=True)] == ids[::-1]
    assert [e.id for e in client.get_stream(name, stream_position=2)] == ids[2:]
    assert [e.id for e in client.get_stream(name, stream_position=2, backwards=True)] == ids[2::-1]
    assert [e.id for e in client.get_stream(name, limit=2)] == ids[:2]
    assert [e.id for e in client.get_stream(name, backwards=True, limit=1)] == ids[-1:]


def check_expected_versions(client: KurrentDBClient) -> None:
    name = stream("expected")
    # exists on a missing stream
    try:
        client.append_to_stream(name, events=new("A"), current_version=StreamState.EXISTS)
        raise AssertionError("EXISTS on a missing stream must conflict")
    except WrongCurrentVersionError:
        pass
    client.append_to_stream(name, events=new("A"), current_version=StreamState.NO_STREAM)
    # no_stream on an existing stream, one event (Append) and many (BatchAppend)
    for events in (new("B"), [new("B"), new("C")]):
        try:
            client.append_to_stream(name, events=events, current_version=StreamState.NO_STREAM)
            raise AssertionError("NO_STREAM on an existing stream must conflict")
        except WrongCurrentVersionError as e:
            assert "0" in str(e), e
    # a wrong exact revision, both ways
    for events in (new("B"), [new("B"), new("C")]):
        try:
            client.append_to_stream(name, events=events, current_version=5)
            raise AssertionError("a wrong revision must conflict")
        except WrongCurrentVersionError:
            pass
    client.append_to_stream(name, events=new("B"), current_version=StreamState.EXISTS)
    client.append_to_stream(name, events=[new("C"), new("D")], current_version=StreamState.ANY)
    client.append_to_stream(name, events=new("E"), current_version=3)
    assert [e.type for e in client.get_stream(name)] == ["A", "B", "C", "D", "E"]


def check_idempotent_reappend(client: KurrentDBClient) -> None:
    name = stream("idempotent")
    one = new("Once")
    first = client.append_to_stream(name, events=one, current_version=StreamState.NO_STREAM)
    again = client.append_to_stream(name, events=one, current_version=StreamState.NO_STREAM)
    assert again == first, (first, again)
    many = [new("Twice", 1), new("Twice", 2)]
    first = client.append_to_stream(name, events=many, current_version=0)
    again = client.append_to_stream(name, events=many, current_version=0)
    assert again == first, (first, again)
    assert len(client.get_stream(name)) == 3


def check_missing_stream(client: KurrentDBClient) -> None:
    try:
        client.get_stream(stream("missing"))
        raise AssertionError("reading a missing stream must raise NotFoundError")
    except NotFoundError:
        pass


def check_read_all(client: KurrentDBClient) -> None:
    names = [stream("all-a"), stream("all-b")]
    appended = []
    for name in names:
        events = [new("AllOne"), new("AllTwo")]
        client.append_to_stream(name, events=events, current_version=StreamState.NO_STREAM)
        appended += [e.id for e in events]
    mine = lambda events: [e.id for e in events if e.stream_name in names]  # noqa: E731
    # Defaults: forwards from the start, system events excluded (a negative look-ahead regex).
    forwards = list(client.read_all())
    assert mine(forwards) == appended
    assert not [e for e in forwards if e.type.startswith("$")], "system events not excluded"
    backwards = list(client.read_all(backwards=True))
    assert mine(backwards) == appended[::-1]
    assert not [e for e in backwards if e.type.startswith("$")], "system events not excluded"
    # Without the exclusion the double's system events come first, as on a fresh server.
    everything = list(client.read_all(filter_exclude=()))
    assert everything[0].type.startswith("$"), everything[0]
    # Regex and prefix filters on the stream name and the event type.
    by_stream = list(client.read_all(filter_include=[f"py{RUN}-all-.*"], filter_by_stream_name=True))
    assert [e.id for e in by_stream] == appended
    by_prefix = list(
        client.read_all(filter_include=[names[1]], filter_by_stream_name=True, filter_by_prefix=True)
    )
    assert [e.id for e in by_prefix] == appended[2:]
    by_type = [e for e in client.read_all(filter_include=["AllTw."]) if e.stream_name in names]
    assert [e.id for e in by_type] == [appended[1], appended[3]]
    by_type_prefix = list(client.read_all(filter_include=["AllOn"], filter_by_prefix=True))
    assert [e.id for e in by_type_prefix if e.stream_name in names] == [appended[0], appended[2]]
    excluded = list(client.read_all(filter_exclude=[r"\$.+", "AllOne"]))
    assert mine(excluded) == [appended[1], appended[3]]
    # From a commit position: inclusive.
    start = forwards[[e.id for e in forwards].index(appended[2])].commit_position
    assert mine(client.read_all(commit_position=start)) == appended[2:]
    assert mine(client.read_all(commit_position=start, backwards=True, limit=3)) == appended[2::-1]


def check_commit_position(client: KurrentDBClient) -> None:
    name = stream("position")
    position = client.append_to_stream(name, events=new("Last"), current_version=StreamState.ANY)
    assert client.get_commit_position() == position
    batch = client.append_to_stream(name, events=[new("Last"), new("Last")], current_version=0)
    assert batch > position and client.get_commit_position() == batch


def check_subscribe_to_all(client: KurrentDBClient) -> None:
    name = stream("suball")
    other = stream("suball-other")
    client.append_to_stream(name, events=[new("Old", 1), new("Old", 2)], current_version=StreamState.NO_STREAM)
    client.append_to_stream(other, events=new("Noise"), current_version=StreamState.NO_STREAM)
    # Regex filter on the stream name, from the start: history, then live events.
    with client.subscribe_to_all(
        filter_include=[f"^{name}$"], filter_by_stream_name=True, timeout=TIMEOUT
    ) as subscription:
        received = []
        for event in subscription:
            received.append(event)
            if len(received) == 2:
                client.append_to_stream(name, events=new("New", 3), current_version=1)
                client.append_to_stream(other, events=new("Noise"), current_version=0)
            if len(received) == 3:
                break
    assert [e.type for e in received] == ["Old", "Old", "New"], received
    assert all(e.stream_name == name for e in received)
    # Event-type prefix filter from a commit position (exclusive): only what follows.
    with client.subscribe_to_all(
        commit_position=received[0].commit_position,
        filter_include=["New", "Old"],
        filter_by_prefix=True,
        timeout=TIMEOUT,
    ) as subscription:
        following = []
        for event in subscription:
            if event.stream_name == name:
                following.append(event.id)
            if len(following) == 2:
                break
    assert following == [received[1].id, received[2].id]
    # Default exclusion of system events, checkpoints and caught-up included.
    with client.subscribe_to_all(
        include_caught_up=True, include_checkpoints=True, timeout=TIMEOUT
    ) as subscription:
        for event in subscription:
            assert not event.type.startswith("$"), event
            if type(event).__name__ == "CaughtUp":
                break


def check_subscribe_to_stream(client: KurrentDBClient) -> None:
    name = stream("substream")
    client.append_to_stream(name, events=[new("Old", 1), new("Old", 2)], current_version=StreamState.NO_STREAM)
    with client.subscribe_to_stream(name, timeout=TIMEOUT) as subscription:
        received = []
        for event in subscription:
            received.append(event)
            if len(received) == 2:
                client.append_to_stream(stream("substream-other"), events=new("Noise"), current_version=StreamState.ANY)
                client.append_to_stream(name, events=new("New", 3), current_version=1)
            if len(received) == 3:
                break
    assert [e.stream_position for e in received] == [0, 1, 2], received
    assert [e.type for e in received] == ["Old", "Old", "New"]
    # From a revision: exclusive.
    with client.subscribe_to_stream(name, stream_position=0, timeout=TIMEOUT) as subscription:
        after = [next(iter(subscription)).stream_position for _ in range(2)]
    assert after == [1, 2], after
    # A stream that does not exist yet: confirmed, then its first event live.
    later = stream("substream-later")
    with client.subscribe_to_stream(later, include_caught_up=True, timeout=TIMEOUT) as subscription:
        for event in subscription:
            if type(event).__name__ == "CaughtUp":
                client.append_to_stream(later, events=new("First"), current_version=StreamState.NO_STREAM)
                continue
            assert event.type == "First" and event.stream_position == 0, event
            break


CHECKS = [
    check_append_one,
    check_append_many,
    check_read_forwards_and_backwards,
    check_expected_versions,
    check_idempotent_reappend,
    check_missing_stream,
    check_read_all,
    check_commit_position,
    check_subscribe_to_all,
    check_subscribe_to_stream,
]


def main() -> int:
    uri = sys.argv[1]
    print(f"kurrentdbclient {version('kurrentdbclient')} against {uri}")
    client = KurrentDBClient(uri=uri)
    failed = 0
    try:
        for check in CHECKS:
            try:
                check(client)
                print(f"ok   {check.__name__}")
            except Exception:  # noqa: BLE001 - report every failing check, then fail
                failed += 1
                print(f"FAIL {check.__name__}")
                traceback.print_exc()
    finally:
        client.close()
    print(f"python: {len(CHECKS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
