// kafkajs, a Kafka client written independently of librdkafka, sees the sandbox as a real cluster.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Kafka, logLevel, ConfigResourceTypes, AclResourceTypes, AclOperationTypes,
  AclPermissionTypes, ResourcePatternTypes } = require('kafkajs');
const { startSandbox, waitFor } = require('./sandbox');

let sandbox;
let kafka;
let admin;

before(async () => {
  sandbox = await startSandbox(['A:3']);
  kafka = new Kafka({ clientId: 'kafkajs-test', brokers: sandbox.brokers('A'), logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100 } });
  admin = kafka.admin();
  await admin.connect();
});

after(async () => {
  await admin.disconnect();
  await sandbox.stop();
});

test('created topic has its 12 partitions in metadata, and duplicates are refused', async () => {
  assert.equal(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 12, replicationFactor: 3 }] }), true);
  const meta = await admin.fetchTopicMetadata({ topics: ['orders'] });
  assert.equal(meta.topics[0].partitions.length, 12);
  for (const p of meta.topics[0].partitions) {
    assert.equal(p.replicas.length, 3);
    assert.ok(p.replicas.includes(p.leader));
  }
  // kafkajs reports TOPIC_ALREADY_EXISTS as "not created" (false) rather than an error.
  assert.equal(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 1 }] }), false);
  assert.equal((await admin.fetchTopicMetadata({ topics: ['orders'] })).topics[0].partitions.length, 12);
  await assert.rejects(admin.createTopics({ topics: [{ topic: 'bad name!', numPartitions: 1 }] }),
    (e) => (e.errors || [e]).some((x) => x.type === 'INVALID_TOPIC_EXCEPTION'));
  const cluster = await admin.describeCluster();
  assert.equal(cluster.brokers.length, 3);
  assert.ok(cluster.controller > 0);
  assert.equal(cluster.clusterId, sandbox.doc.clusters.A.cluster_id);
});

test('configs: defaults with sources, alter, describe back', async () => {
  await admin.createTopics({ topics: [{ topic: 'cfg', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
  const describe = async () => {
    const res = await admin.describeConfigs({ includeSynonyms: true,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg' }] });
    return Object.fromEntries(res.resources[0].configEntries.map((e) => [e.configName, e]));
  };
  let cfg = await describe();
  assert.equal(cfg['cleanup.policy'].configValue, 'compact');
  assert.equal(cfg['cleanup.policy'].configSource, 1); // DYNAMIC_TOPIC_CONFIG
  assert.equal(cfg['retention.ms'].configValue, '604800000');
  assert.equal(cfg['retention.ms'].configSource, 4); // STATIC_BROKER_CONFIG
  assert.equal(cfg['compression.type'].configSource, 5); // DEFAULT_CONFIG
  assert.equal(cfg['compression.type'].isDefault, true);
  await admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg',
    configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
  cfg = await describe();
  assert.equal(cfg['retention.ms'].configValue, '3600000');
  assert.equal(cfg['retention.ms'].configSource, 1);
  // AlterConfigs replaces the whole set: cleanup.policy is back to its default.
  assert.equal(cfg['cleanup.policy'].configValue, 'delete');
  await assert.rejects(admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg',
    configEntries: [{ name: 'retention.ms', value: 'forever' }] }] }), /retention\.ms|INVALID_CONFIG|Invalid/i);
});

test('ACLs: literal and prefixed bindings, filters, delete', async () => {
  const base = { host: '*', permissionType: AclPermissionTypes.ALLOW };
  await admin.createAcls({ acl: [
    { ...base, resourceType: AclResourceTypes.TOPIC, resourceName: 'orders', resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:alice', operation: AclOperationTypes.READ },
    { ...base, resourceType: AclResourceTypes.TOPIC, resourceName: 'ord', resourcePatternType: ResourcePatternTypes.PREFIXED, principal: 'User:bob', operation: AclOperationTypes.WRITE },
    { ...base, resourceType: AclResourceTypes.GROUP, resourceName: 'billing', resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:alice', operation: AclOperationTypes.READ },
  ] });
  const match = await admin.describeAcls({ resourceType: AclResourceTypes.TOPIC, resourceName: 'orders',
    resourcePatternType: ResourcePatternTypes.MATCH, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY });
  const principals = match.resources.flatMap((r) => r.acls.map((a) => a.principal)).sort();
  assert.deepEqual(principals, ['User:alice', 'User:bob']);
  const prefixed = await admin.describeAcls({ resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.PREFIXED, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY });
  assert.equal(prefixed.resources.length, 1);
  assert.equal(prefixed.resources[0].resourceName, 'ord');
  const deleted = await admin.deleteAcls({ filters: [{ resourceType: AclResourceTypes.ANY, principal: 'User:alice',
    resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }] });
  assert.equal(deleted.filterResponses[0].matchingAcls.length, 2);
  const rest = await admin.describeAcls({ resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY });
  assert.equal(rest.resources.length, 1);
  assert.equal(rest.resources[0].acls[0].principal, 'User:bob');
});

test('records round-trip byte-exact: keys, null values, headers, timestamps', async () => {
  await admin.createTopics({ topics: [{ topic: 'fidelity', numPartitions: 3 }] });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const sent = [
    { partition: 1, key: Buffer.from([0, 1, 2, 255]), value: Buffer.from('hello'), timestamp: '1600000000123', headers: { a: Buffer.from([0xff, 0x00]), b: Buffer.from('') } },
    { partition: 1, key: null, value: null, timestamp: '1600000000124', headers: {} },
    { partition: 1, key: Buffer.from(''), value: Buffer.alloc(70000, 7), timestamp: '1600000000125', headers: { z: Buffer.from('1') } },
  ];
  await producer.send({ topic: 'fidelity', acks: -1, messages: sent });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'fidelity-reader' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'fidelity', fromBeginning: true });
  const got = [];
  await consumer.run({ eachMessage: async ({ partition, message }) => { got.push({ partition, message }); } });
  await waitFor('3 records', () => got.length >= 3);
  await consumer.disconnect();
  assert.equal(got.length, 3);
  got.sort((x, y) => Number(x.message.offset) - Number(y.message.offset));
  for (let i = 0; i < 3; i++) {
    const m = got[i].message;
    assert.equal(got[i].partition, 1);
    assert.equal(m.offset, String(i));
    assert.equal(m.timestamp, sent[i].timestamp);
    assert.deepEqual(m.key, sent[i].key);
    assert.deepEqual(m.value, sent[i].value);
    assert.deepEqual(Object.keys(m.headers).sort(), Object.keys(sent[i].headers).sort());
    for (const [k, v] of Object.entries(sent[i].headers)) assert.deepEqual(m.headers[k], v);
  }
});

test('consumer group: Stable with members while running, Empty with offsets after it leaves', async () => {
  await admin.createTopics({ topics: [{ topic: 'events', numPartitions: 4 }] });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'events', acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ partition: i % 4, value: `e${i}` })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'analytics', sessionTimeout: 10000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'events', fromBeginning: true });
  let seen = 0;
  await consumer.run({ autoCommitInterval: 100, eachMessage: async () => { seen++; } });
  await waitFor('20 records', () => seen >= 20);
  const stable = await waitFor('Stable group', async () => {
    const d = await admin.describeGroups(['analytics']);
    return d.groups[0].state === 'Stable' ? d.groups[0] : null;
  });
  assert.equal(stable.protocolType, 'consumer');
  assert.equal(stable.members.length, 1);
  assert.equal(stable.members[0].clientId, 'kafkajs-test');
  const listed = await admin.listGroups();
  assert.ok(listed.groups.some((g) => g.groupId === 'analytics' && g.protocolType === 'consumer'));
  await waitFor('committed offsets', async () => {
    const offs = await admin.fetchOffsets({ groupId: 'analytics', topics: ['events'] });
    return offs[0].partitions.every((p) => p.offset === '5');
  });
  await consumer.disconnect();
  const empty = await waitFor('Empty group', async () => {
    const d = await admin.describeGroups(['analytics']);
    return d.groups[0].state === 'Empty' ? d.groups[0] : null;
  });
  assert.equal(empty.members.length, 0);
  const offs = await admin.fetchOffsets({ groupId: 'analytics', topics: ['events'] });
  assert.deepEqual(offs[0].partitions.map((p) => p.offset), ['5', '5', '5', '5']);
});

test('a broker taken down and back loses nothing that was acknowledged', async () => {
  await admin.createTopics({ topics: [{ topic: 'durable', numPartitions: 6, replicationFactor: 3 }] });
  const producer = kafka.producer({ retry: { retries: 20, initialRetryTime: 100 } });
  await producer.connect();
  const acked = [];
  const send = async (from, to) => {
    for (let i = from; i < to; i++) {
      await producer.send({ topic: 'durable', acks: -1, messages: [{ key: `k${i}`, value: `v${i}` }] });
      acked.push(`v${i}`);
    }
  };
  await send(0, 50);
  await sandbox.control('/v1/clusters/A/brokers/2/down');
  await send(50, 100);
  await sandbox.control('/v1/clusters/A/brokers/2/up');
  await send(100, 150);
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'durable-check' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'durable', fromBeginning: true });
  const got = new Set();
  await consumer.run({ eachMessage: async ({ message }) => { got.add(message.value.toString()); } });
  await waitFor('all acknowledged records', () => got.size >= acked.length, 30000);
  await consumer.disconnect();
  for (const v of acked) assert.ok(got.has(v), `missing ${v}`);
  assert.equal(got.size, 150);
});

// kafkajs's transactional producer and read_committed consumer, independent of librdkafka: the
// sandbox writes the markers, lists the aborted transaction and holds back the open one.
test('transactions: committed records are read, aborted ones skipped, open ones held back', async () => {
  await admin.createTopics({ topics: [{ topic: 'txn', numPartitions: 1, replicationFactor: 3 }] });
  const producer = kafka.producer({ transactionalId: 'js-app', idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const transaction = async (values, commit) => {
    const t = await producer.transaction();
    await t.send({ topic: 'txn', messages: values.map((value) => ({ value })) });
    await (commit ? t.commit() : t.abort());
  };
  await transaction(['c1', 'c2'], true);  // 0-1, commit marker 2
  await transaction(['a1'], false);       // 3, abort marker 4
  await transaction(['c3'], true);        // 5, commit marker 6
  const open = await producer.transaction();
  await open.send({ topic: 'txn', messages: [{ value: 'open' }] });  // 7, not decided
  const read = async (groupId, readUncommitted, count) => {
    const consumer = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'txn', fromBeginning: true });
    const got = [];
    await consumer.run({ eachMessage: async ({ message }) => { got.push(`${message.offset}=${message.value}`); } });
    await waitFor(`${count} records for ${groupId}`, () => got.length >= count, 30000);
    await consumer.disconnect();
    return got;
  };
  assert.deepEqual(await read('uncommitted', true, 5), ['0=c1', '1=c2', '3=a1', '5=c3', '7=open']);
  // read_committed stops before the open transaction: three records, and only those.
  const committed = await read('committed', false, 3);
  assert.deepEqual(committed, ['0=c1', '1=c2', '5=c3']);
  await open.commit();
  assert.deepEqual(await read('committed-after', false, 4), ['0=c1', '1=c2', '5=c3', '7=open']);
  await producer.disconnect();
  // kcat-independent check of the markers' place: the end offset counts them.
  const offsets = await admin.fetchTopicOffsets('txn');
  assert.equal(offsets[0].high, '9');
});

test('records deleted from the middle of a partition leave an offset gap', async () => {
  await admin.createTopics({ topics: [{ topic: 'gaps', numPartitions: 1, replicationFactor: 3 }] });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'gaps', acks: -1, messages: ['g0', 'g1', 'g2', 'g3'].map((value) => ({ value })) });
  await producer.disconnect();
  await sandbox.control('/v1/clusters/A/topics/gaps/partitions/0/delete-records', { offsets: [0, 2] });
  const consumer = kafka.consumer({ groupId: 'gaps-reader', maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'gaps', fromBeginning: true });
  const got = [];
  await consumer.run({ eachMessage: async ({ message }) => { got.push(`${message.offset}=${message.value}`); } });
  await waitFor('the kept records', () => got.length >= 2, 30000);
  await consumer.disconnect();
  assert.deepEqual(got, ['1=g1', '3=g3']);
});
