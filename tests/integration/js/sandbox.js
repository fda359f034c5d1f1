// Starts a kmirror-sandbox process for a test file and tears it down afterwards.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');

async function startSandbox(clusters = ['A:3']) {
  const binDir = process.env.KMIRROR_BIN_DIR || path.join(__dirname, '../../../build/bin');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmirror-js-'));
  const ready = path.join(dir, 'ready.json');
  const args = clusters.flatMap((c) => ['--cluster', c]).concat(['--ready-file', ready, '--log-level', 'warn']);
  const proc = spawn(path.join(binDir, 'kmirror-sandbox'), args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 20000;
  while (!fs.existsSync(ready)) {
    if (proc.exitCode !== null) throw new Error(`kmirror-sandbox exited with ${proc.exitCode}`);
    if (Date.now() > deadline) throw new Error('kmirror-sandbox did not become ready');
    await new Promise((r) => setTimeout(r, 50));
  }
  const doc = JSON.parse(fs.readFileSync(ready, 'utf8'));
  const [host, port] = doc.control.split(':');
  return {
    doc,
    dir,
    brokers: (name) => doc.clusters[name].bootstrap.split(','),
    control: (target, body) =>
      new Promise((resolve, reject) => {
        const req = http.request({ host, port, path: target, method: 'POST' }, (res) => {
          let data = '';
          res.on('data', (d) => (data += d));
          res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(data)) : reject(new Error(data))));
        });
        req.on('error', reject);
        req.end(body ? JSON.stringify(body) : undefined);
      }),
    stop: () =>
      new Promise((resolve) => {
        proc.once('exit', () => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}

async function waitFor(what, fn, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}: ${last}`);
}

module.exports = { startSandbox, waitFor };
