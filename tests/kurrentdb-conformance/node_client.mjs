// Conformance of the KurrentDB protocol double, checked by the official Node.js client
// (@kurrent/kurrentdb-client: appends and subscriptions over grpc-js, reads through its Rust
// bridge, itself built on the official Rust client). The client asks ServerFeatures first and,
// finding BatchAppend, appends every event (one or many) through it.
//
// Usage (run.sh does this):
//   KURRENTDB_CONNECTION_STRING='kurrentdb://127.0.0.1:PORT?tls=false' \
//   KURRENTDB_NODE_MODULES=/path/to/node_modules node node_client.mjs
//
// One node:test test per operation; any failure makes the process exit non-zero. Stream names
// carry a fresh run id, so the script can share a double with other suites.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import { after, before, test } from "node:test";

const connectionString = process.env.KURRENTDB_CONNECTION_STRING;
const nodeModules = process.env.KURRENTDB_NODE_MODULES;
assert.ok(connectionString, "KURRENTDB_CONNECTION_STRING is required");
assert.ok(nodeModules, "KURRENTDB_NODE_MODULES is required");
const require = createRequire(path.join(path.resolve(nodeModules), "noop.js"));
const {
  KurrentDBClient,
  jsonEvent,
  ANY,
  NO_STREAM,
  STREAM_EXISTS,
  START,
  END,
  FORWARDS,
  BACKWARDS,
  WrongExpectedVersionError,
  StreamNotFoundError,
  excludeSystemEvents,
  streamNameFilter,
  eventTypeFilter,
} = require("@kurrent/kurrentdb-client");
const { version } = require("@kurrent/kurrentdb-client/package.json");

const RUN = randomUUID().replaceAll("-", "").slice(0, 12);
const stream = (name) => `js${RUN}-${name}`;
const ev = (type, n = 0) => jsonEvent({ type, data: { n } });
// Ends of waits that could otherwise hang on a broken double.
const TIMEOUT_MS = 10_000;

let client;
before(() => {
  console.log(`@kurrent/kurrentdb-client ${version} against ${connectionString}`);
  client = KurrentDBClient.connectionString(connectionString);
});
after(() => client.dispose());

const collect = async (iterable) => {
  const out = [];
  for await (const resolved of iterable) out.push(resolved.event);
  return out;
};

/** The first `count` events of a subscription (skipping those `keep` rejects); `onEach`
 * runs after each kept event, e.g. to append live events. */
const take = async (subscription, count, { keep = () => true, onEach = async () => {} } = {}) => {
  const out = [];
  const timer = setTimeout(() => subscription.destroy(new Error("subscription timed out")), TIMEOUT_MS);
  try {
    for await (const resolved of subscription) {
      if (!keep(resolved.event)) continue;
      out.push(resolved.event);
      await onEach(out);
      if (out.length === count) break;
    }
  } finally {
    clearTimeout(timer);
    await subscription.unsubscribe();
  }
  return out;
};

test("append one event", async () => {
  const name = stream("one");
  const event = ev("Opened");
  const result = await client.appendToStream(name, event, { streamState: NO_STREAM });
  assert.equal(result.success, true);
  assert.equal(result.nextExpectedRevision, 0n);
  assert.ok(result.position.commit > 0n, "the append's commit position");
  const [recorded] = await collect(client.readStream(name));
  assert.equal(recorded.id, event.id);
  assert.equal(recorded.type, "Opened");
  assert.deepEqual(recorded.data, { n: 0 });
  assert.equal(recorded.revision, 0n);
  assert.equal(recorded.position.commit, result.position.commit);
});

test("append many events", async () => {
  const name = stream("many");
  const events = [0, 1, 2, 3, 4].map((n) => ev("Step", n));
  const result = await client.appendToStream(name, events, { streamState: NO_STREAM });
  assert.equal(result.nextExpectedRevision, 4n);
  const more = await client.appendToStream(name, [ev("Step", 5), ev("Step", 6)], { streamState: 4n });
  assert.equal(more.nextExpectedRevision, 6n);
  assert.ok(more.position.commit > result.position.commit);
  const recorded = await collect(client.readStream(name));
  assert.deepEqual(recorded.map((e) => e.revision), [0n, 1n, 2n, 3n, 4n, 5n, 6n]);
  assert.deepEqual(recorded.slice(0, 5).map((e) => e.id), events.map((e) => e.id));
  assert.equal(recorded[4].position.commit, result.position.commit);
});

test("read a stream forwards and backwards", async () => {
  const name = stream("read");
  const events = [0, 1, 2, 3].map((n) => ev("Step", n));
  await client.appendToStream(name, events, { streamState: NO_STREAM });
  const ids = events.map((e) => e.id);
  const read = async (options) => (await collect(client.readStream(name, options))).map((e) => e.id);
  assert.deepEqual(await read({}), ids);
  assert.deepEqual(await read({ direction: BACKWARDS, fromRevision: END }), [...ids].reverse());
  assert.deepEqual(await read({ fromRevision: 2n }), ids.slice(2));
  assert.deepEqual(await read({ direction: BACKWARDS, fromRevision: 2n }), ids.slice(0, 3).reverse());
  assert.deepEqual(await read({ maxCount: 2 }), ids.slice(0, 2));
  assert.deepEqual(await read({ direction: BACKWARDS, fromRevision: END, maxCount: 1 }), ids.slice(3));
});

test("expected revision conflicts and stream states", async () => {
  const name = stream("expected");
  await assert.rejects(client.appendToStream(name, ev("A"), { streamState: STREAM_EXISTS }), WrongExpectedVersionError);
  await client.appendToStream(name, ev("A"), { streamState: NO_STREAM });
  for (const events of [ev("B"), [ev("B"), ev("C")]]) {
    await assert.rejects(client.appendToStream(name, events, { streamState: NO_STREAM }), (error) => {
      assert.ok(error instanceof WrongExpectedVersionError, error);
      assert.equal(error.actualState, 0n);
      return true;
    });
    await assert.rejects(client.appendToStream(name, events, { streamState: 5n }), WrongExpectedVersionError);
  }
  await client.appendToStream(name, ev("B"), { streamState: STREAM_EXISTS });
  await client.appendToStream(name, [ev("C"), ev("D")], { streamState: ANY });
  await client.appendToStream(name, ev("E"), { streamState: 3n });
  const recorded = await collect(client.readStream(name));
  assert.deepEqual(recorded.map((e) => e.type), ["A", "B", "C", "D", "E"]);
});

test("idempotent re-append", async () => {
  const name = stream("idempotent");
  const one = ev("Once");
  const first = await client.appendToStream(name, one, { streamState: NO_STREAM });
  const again = await client.appendToStream(name, one, { streamState: NO_STREAM });
  assert.equal(again.position.commit, first.position.commit);
  const many = [ev("Twice", 1), ev("Twice", 2)];
  const firstMany = await client.appendToStream(name, many, { streamState: 0n });
  const againMany = await client.appendToStream(name, many, { streamState: 0n });
  assert.equal(againMany.nextExpectedRevision, 2n);
  assert.equal(againMany.position.commit, firstMany.position.commit);
  assert.equal((await collect(client.readStream(name))).length, 3);
});

test("missing stream", async () => {
  await assert.rejects(collect(client.readStream(stream("missing"))), StreamNotFoundError);
});

test("read $all forwards and backwards, excluding system events and filtered", async () => {
  const names = [stream("all-a"), stream("all-b")];
  const appended = [];
  for (const name of names) {
    const events = [ev("AllOne"), ev("AllTwo")];
    await client.appendToStream(name, events, { streamState: NO_STREAM });
    appended.push(...events.map((e) => e.id));
  }
  const mine = (events) => events.filter((e) => names.includes(e.streamId)).map((e) => e.id);
  const readAll = (options) => collect(client.readAll(options));

  const forwards = await readAll({ filter: excludeSystemEvents() });
  assert.deepEqual(mine(forwards), appended);
  assert.ok(forwards.every((e) => !e.type.startsWith("$")), "system events not excluded");
  const backwards = await readAll({ direction: BACKWARDS, fromPosition: END, filter: excludeSystemEvents() });
  assert.deepEqual(mine(backwards), [...appended].reverse());
  assert.ok(backwards.every((e) => !e.type.startsWith("$")), "system events not excluded");
  // Unfiltered, the double's system events come first, as on a fresh server.
  const everything = await readAll({ maxCount: 1 });
  assert.ok(everything[0].type.startsWith("$"), everything[0].type);
  const last = await readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 });
  assert.equal(last.length, 1);

  const regexOnStream = await readAll({ filter: streamNameFilter({ regex: `^js${RUN}-all-.*` }) });
  assert.deepEqual(regexOnStream.map((e) => e.id), appended);
  const prefixOnStream = await readAll({ filter: streamNameFilter({ prefixes: [names[1]] }) });
  assert.deepEqual(prefixOnStream.map((e) => e.id), appended.slice(2));
  const regexOnType = await readAll({ filter: eventTypeFilter({ regex: "^AllTw.$" }) });
  assert.deepEqual(mine(regexOnType), [appended[1], appended[3]]);
  const prefixOnType = await readAll({
    direction: BACKWARDS,
    fromPosition: END,
    filter: eventTypeFilter({ prefixes: ["AllOn"] }),
  });
  assert.deepEqual(mine(prefixOnType), [appended[2], appended[0]]);

  // From a position: inclusive in both directions.
  const third = forwards.find((e) => e.id === appended[2]).position;
  assert.deepEqual(mine(await readAll({ fromPosition: third })), appended.slice(2));
  assert.deepEqual(
    mine(await readAll({ fromPosition: third, direction: BACKWARDS, maxCount: 3 })),
    appended.slice(0, 3).reverse(),
  );
});

test("commit position of an append is where the event is read", async () => {
  const name = stream("position");
  const one = await client.appendToStream(name, ev("Last"), { streamState: ANY });
  const [lastUser] = await collect(
    client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1, filter: excludeSystemEvents() }),
  );
  assert.equal(lastUser.position.commit, one.position.commit);
  const many = await client.appendToStream(name, [ev("Last"), ev("Last")], { streamState: 0n });
  assert.ok(many.position.commit > one.position.commit);
  const recorded = await collect(client.readStream(name, { direction: BACKWARDS, fromRevision: END, maxCount: 1 }));
  assert.equal(recorded[0].position.commit, many.position.commit);
});

test("catch-up subscription to $all with filters: existing then live events", async () => {
  const name = stream("suball");
  const other = stream("suball-other");
  await client.appendToStream(name, [ev("Old", 1), ev("Old", 2)], { streamState: NO_STREAM });
  await client.appendToStream(other, ev("Noise"), { streamState: NO_STREAM });

  const byStream = client.subscribeToAll({ fromPosition: START, filter: streamNameFilter({ regex: `^${name}$` }) });
  const received = await take(byStream, 3, {
    onEach: async (got) => {
      if (got.length === 2) {
        await client.appendToStream(name, ev("New", 3), { streamState: 1n });
        await client.appendToStream(other, ev("Noise"), { streamState: 0n });
      }
    },
  });
  assert.deepEqual(received.map((e) => e.type), ["Old", "Old", "New"]);
  assert.ok(received.every((e) => e.streamId === name));

  // Event-type prefixes from a position (exclusive): only what follows.
  const fromFirst = client.subscribeToAll({
    fromPosition: received[0].position,
    filter: eventTypeFilter({ prefixes: ["Old", "New"] }),
  });
  const following = await take(fromFirst, 2, { keep: (e) => e.streamId === name });
  assert.deepEqual(following.map((e) => e.id), [received[1].id, received[2].id]);

  // System events excluded, caught up reported.
  const all = client.subscribeToAll({ fromPosition: START, filter: excludeSystemEvents() });
  const caughtUp = new Promise((resolve) => all.once("caughtUp", resolve));
  const events = [];
  const timer = setTimeout(() => all.destroy(new Error("no caughtUp")), TIMEOUT_MS);
  all.on("data", (resolved) => events.push(resolved.event));
  await caughtUp;
  clearTimeout(timer);
  await all.unsubscribe();
  assert.ok(events.length > 0 && events.every((e) => !e.type.startsWith("$")));
});

test("catch-up subscription to a stream: existing then live events", async () => {
  const name = stream("substream");
  await client.appendToStream(name, [ev("Old", 1), ev("Old", 2)], { streamState: NO_STREAM });
  const received = await take(client.subscribeToStream(name), 3, {
    onEach: async (got) => {
      if (got.length === 2) {
        await client.appendToStream(stream("substream-other"), ev("Noise"), { streamState: ANY });
        await client.appendToStream(name, ev("New", 3), { streamState: 1n });
      }
    },
  });
  assert.deepEqual(received.map((e) => e.revision), [0n, 1n, 2n]);
  assert.deepEqual(received.map((e) => e.type), ["Old", "Old", "New"]);
  // From a revision: exclusive.
  const after = await take(client.subscribeToStream(name, { fromRevision: 0n }), 2);
  assert.deepEqual(after.map((e) => e.revision), [1n, 2n]);
  // From the end: only live events.
  const live = client.subscribeToStream(name, { fromRevision: END });
  await new Promise((resolve) => live.once("confirmation", resolve));
  const pending = take(live, 1);
  await client.appendToStream(name, ev("Live", 4), { streamState: 2n });
  const [first] = await pending;
  assert.equal(first.type, "Live");
  assert.equal(first.revision, 3n);
});
