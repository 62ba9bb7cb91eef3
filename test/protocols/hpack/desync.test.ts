// The desynchronised-mode rule: a dynamic index resolves only to an entry we saw inserted since
// losing sync; everything else is unknown (counted), never a guess. Each case checks against a
// reference encoder whose real table we know.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HpackDecoder } from '../../../src/protocols/hpack/decoder.js';
import { prng } from '../../helpers/prng.js';
import { TestHpackEncoder } from '../http2/h2-builder.js';

test('mid-stream: static and literal fields decode, unknown dynamic references are counted', () => {
  const enc = new TestHpackEncoder();
  // The peer's table fills before we join.
  enc.encode([[':authority', 'api.example'], ['user-agent', 'ua/1'], ['x-tenant', 'blue']]);
  const d = new HpackDecoder({ synchronised: false });
  const r = d.decode(enc.encode([[':method', 'POST'], [':path', '/svc.A/Get'], [':authority', 'api.example'], ['user-agent', 'ua/1']], 'without'));
  // :authority and user-agent are dynamic references (62/63) to entries we never saw.
  assert.deepEqual(r.fields, [[':method', 'POST'], [':path', '/svc.A/Get']]);
  assert.equal(r.unresolved, 2);
  assert.equal(d.isSynchronised, false);
});

test('entries inserted after joining resolve; older ones stay unknown even as indices shift', () => {
  const enc = new TestHpackEncoder();
  enc.encode([['x-old-1', 'a'], ['x-old-2', 'b']]);
  const d = new HpackDecoder({ synchronised: false });
  d.decode(enc.encode([['x-new', 'n1']])); // inserted at 62, pushes the old ones to 63, 64
  const r = d.decode(enc.encode([['x-new', 'n1'], ['x-old-1', 'a'], ['x-old-2', 'b']]));
  assert.deepEqual(r.fields, [['x-new', 'n1']]);
  assert.equal(r.unresolved, 2);
});

test('literal with incremental indexing whose name is unknown still occupies its slot', () => {
  const enc = new TestHpackEncoder();
  enc.encode([['x-secretish', 'one']]);
  const d = new HpackDecoder({ synchronised: false });
  // Same name, new value: encoded as literal with an indexed (dynamic, unknown) name, inserted.
  d.decode(enc.encode([['x-secretish', 'two']]));
  d.decode(enc.encode([[':path', '/p1']])); // literal name from static, inserted
  const r = d.decode(enc.encode([[':path', '/p1'], ['x-secretish', 'two']], 'without'));
  assert.deepEqual(r.fields, [[':path', '/p1']], 'x-secretish entry resolved by position, but its name is unknown');
  assert.equal(r.unresolved, 1);
});

test('a size update to 0 resynchronises; afterwards everything decodes', () => {
  const enc = new TestHpackEncoder();
  enc.encode([['x-a', '1']]);
  const d = new HpackDecoder({ synchronised: false });
  d.decode(enc.encode([], 'incremental', 0));
  assert.equal(d.isSynchronised, true);
  d.decode(enc.encode([], 'incremental', 4096));
  const r = d.decode(enc.encode([['x-b', '2'], ['x-b', '2']]));
  assert.deepEqual(r.fields, [['x-b', '2'], ['x-b', '2']]);
});

test('a known small maximum filled by our own entries proves the unknown tail was evicted', () => {
  const enc = new TestHpackEncoder();
  enc.encode([['x-old', 'zzz']]);
  const d = new HpackDecoder({ synchronised: false });
  d.decode(enc.encode([['x-new-a', 'a'.repeat(40)]], 'incremental', 100)); // 7+40+32 = 79; 79+32 > 100
  assert.equal(d.isSynchronised, true);
});

test('losing a header block after resync forgets all entries (indices shifted by unseen insertions)', () => {
  const enc = new TestHpackEncoder();
  const d = new HpackDecoder();
  d.decode(enc.encode([['x-one', '1']]));
  enc.encode([['x-lost', 'L']]); // this block falls in a capture hole
  d.markDesynchronised();
  const r = d.decode(enc.encode([['x-one', '1'], ['x-lost', 'L']]));
  assert.deepEqual(r.fields, []);
  assert.equal(r.unresolved, 2);
});

test('property: a desynchronised decoder never emits a field the encoder did not send', () => {
  const rnd = prng(42);
  const names = ['x-a', 'x-b', 'x-c', ':path', 'user-agent', 'content-type', 'x-long'];
  for (let run = 0; run < 200; run++) {
    const enc = new TestHpackEncoder(Math.floor(rnd() * 3) === 0 ? 256 : 4096, rnd() < 0.5);
    const pick = (): [string, string] => {
      const n = names[Math.floor(rnd() * names.length)]!;
      return [n, n === 'x-long' ? 'v'.repeat(Math.floor(rnd() * 200)) : `v${Math.floor(rnd() * 4)}`];
    };
    const blocks = Array.from({ length: 12 }, () => Array.from({ length: 1 + Math.floor(rnd() * 4) }, pick));
    const joinAt = Math.floor(rnd() * 6);
    const lostAt = joinAt + 1 + Math.floor(rnd() * 8);
    const d = new HpackDecoder({ synchronised: false });
    blocks.forEach((fields, i) => {
      const mode = rnd() < 0.8 ? 'incremental' : 'without';
      const sizeUpdate = rnd() < 0.05 ? Math.floor(rnd() * 300) : undefined;
      const bytes = enc.encode(fields, mode, sizeUpdate);
      if (i < joinAt) return;
      if (i === lostAt) { d.markDesynchronised(); return; }
      const r = d.decode(bytes);
      assert.equal(r.error, undefined);
      // Every decoded field is exactly the one sent at that position, in order.
      let j = 0;
      for (const f of r.fields) {
        while (j < fields.length && (fields[j]![0] !== f[0] || fields[j]![1] !== f[1])) j++;
        assert.ok(j < fields.length, `run ${run} block ${i}: emitted ${f.join(': ')} which was not sent`);
        j++;
      }
      assert.equal(r.fields.length + r.unresolved, fields.length);
    });
  }
});
