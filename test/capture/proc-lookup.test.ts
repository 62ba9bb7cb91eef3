// ProcessLookup against a real listener: the pid comes from /proc, and repeated questions (the
// connection table asks on every connection of the host) cost no new scans.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { ProcessLookup } from '../../src/capture/index.js';
import { freePort } from '../helpers/net.js';

test('ProcessLookup: listening port → pid, cached; ports that do not listen never walk /proc/*/fd', async () => {
  const child = spawn(process.execPath, ['-e',
    "const s = require('net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port))"], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = await once(child.stdout!, 'data') as [Buffer];
    const port = Number(line.toString().trim());
    const lookup = new ProcessLookup(60_000);
    assert.equal(lookup.pidForListeningPort(port), child.pid);
    assert.deepEqual(lookup.scans, { listening: 1, fdWalks: 1 });
    for (let i = 0; i < 100; i++) assert.equal(lookup.pidForListeningPort(port), child.pid);
    const unused = await freePort();
    assert.equal(lookup.pidForListeningPort(unused), undefined);
    assert.deepEqual(lookup.scans, { listening: 1, fdWalks: 1 }, 'answered from the cached table and owners');
    assert.equal(lookup.comm(child.pid!), 'node');

    // After the rescan interval the table is read again, but the known owner is not searched for again.
    const quick = new ProcessLookup(0);
    assert.equal(quick.pidForListeningPort(port), child.pid);
    assert.equal(quick.pidForListeningPort(port), child.pid);
    assert.deepEqual(quick.scans, { listening: 2, fdWalks: 1 });
  } finally {
    child.kill();
  }
});
