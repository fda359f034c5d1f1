// kmirrord between two independent kafkajs clients: one writes the source, the other reads the
// copy on the target record by record.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { Kafka, logLevel } = require('kafkajs');
const { startSandbox, waitFor } = require('./sandbox');

let sandbox;
let daemon;
let daemonLog = '';

function client(cluster) {
  return new Kafka({ clientId: `kafkajs-${cluster}`, brokers: sandbox.brokers(cluster), logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100 } });
}

before(async () => {
  sandbox = await startSandbox(['A:1', 'B:1']);
  const binDir = process.env.KMIRROR_BIN_DIR || path.join(__dirname, '../../../build/bin');
  const config = path.join(sandbox.dir, 'kmirror.toml');
  fs.writeFileSync(config, [
    '[daemon]', 'instance_id = "js"',
    '[clusters.A]', `bootstrap_servers = "${sandbox.doc.clusters.A.bootstrap}"`,
    '[clusters.B]', `bootstrap_servers = "${sandbox.doc.clusters.B.bootstrap}"`,
    '[[flows]]', 'source = "A"', 'target = "B"', 'topics = ["ts"]', 'topic_refresh_interval = "1s"',
    '[control]', `socket = "${path.join(sandbox.dir, 'kmirrord.sock')}"`,
    '[metrics]', 'listen = "127.0.0.1:0"', '',
  ].join('\n'));
  daemon = spawn(path.join(binDir, 'kmirrord'), ['--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stdout.on('data', (d) => (daemonLog += d));
  daemon.stderr.on('data', (d) => (daemonLog += d));
});

after(async () => {
  if (daemon.exitCode === null) {
    await new Promise((resolve) => {
      daemon.once('exit', resolve);
      daemon.kill('SIGTERM');
    });
  }
  await sandbox.stop();
});

// librdkafka, which kmirrord produces with, takes a timestamp of 0 to mean "now". kmirrord sends
// it as 1 ms after the epoch instead: the closest value it can write (see docs/replication.md).
test('timestamps are copied as written, 0 as 1 ms, never as the time of the copy', async () => {
  const admin = client('A').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'ts', numPartitions: 1 }] });
  await admin.disconnect();
  const producer = client('A').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const sent = ['0', '1', '1600000000123', '0', '1700000000000'];
  await producer.send({ topic: 'ts', acks: -1,
    messages: sent.map((timestamp, i) => ({ partition: 0, value: `v${i}`, timestamp })) });
  await producer.disconnect();

  const consumer = client('B').consumer({ groupId: 'ts-reader' });
  await consumer.connect();
  await waitFor('A.ts on B', async () => {
    const a = client('B').admin();
    await a.connect();
    try {
      return (await a.listTopics()).includes('A.ts');
    } finally {
      await a.disconnect();
    }
  }, 60000).catch((e) => assert.fail(`${e.message}\n${daemonLog}`));
  await consumer.subscribe({ topic: 'A.ts', fromBeginning: true });
  const got = [];
  await consumer.run({ eachMessage: async ({ message }) => { got.push(message); } });
  await waitFor(`${sent.length} copies`, () => got.length >= sent.length, 60000)
    .catch((e) => assert.fail(`${e.message}\n${daemonLog}`));
  await consumer.disconnect();
  assert.equal(got.length, sent.length);
  got.sort((x, y) => Number(x.offset) - Number(y.offset));
  for (let i = 0; i < sent.length; i++) {
    assert.equal(got[i].value.toString(), `v${i}`);
    assert.equal(got[i].timestamp, sent[i] === '0' ? '1' : sent[i], `record ${i}`);
    assert.ok(got[i].headers['kmirror.provenance'], `record ${i} has its provenance`);
  }
});
