// The TS record layouts (src/ebpf/layout.ts) match bpf/sonde.h: every offset, size, sizeof and
// constant becomes a C static assert that gcc checks against the header (no libc headers needed).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONN_EVENT, CONSTANTS, LAYOUTS, PAYLOAD_EVENT, decodeConnectionEvent, decodePayloadEvent, encodeConfig, formatAddress } from '../../src/ebpf/layout.js';
import { repoRoot } from '../../src/ebpf/paths.js';
import { toolOrSkip } from '../helpers/env.js';

function staticAsserts(): string {
  const lines = [
    'typedef unsigned char __u8; typedef unsigned short __u16; typedef unsigned int __u32; typedef unsigned long long __u64;',
    '#include "sonde.h"',
    '#define CHECK(c, msg) _Static_assert(c, msg)',
  ];
  for (const l of LAYOUTS) {
    lines.push(`CHECK(sizeof(struct ${l.name}) == ${l.size}, "sizeof(struct ${l.name}) != ${l.size}");`);
    const fieldNames = Object.keys(l.fields);
    for (const [f, [off, size]] of Object.entries(l.fields)) {
      lines.push(`CHECK(__builtin_offsetof(struct ${l.name}, ${f}) == ${off}, "${l.name}.${f} offset != ${off}");`);
      if (size > 0) lines.push(`CHECK(sizeof(((struct ${l.name} *)0)->${f}) == ${size}, "${l.name}.${f} size != ${size}");`);
    }
    lines.push(`/* ${l.name}: ${fieldNames.length} fields */`);
  }
  for (const [k, v] of Object.entries(CONSTANTS)) lines.push(`CHECK(${k} == ${v}, "${k} != ${v}");`);
  return lines.join('\n');
}

test('TS layouts match bpf/sonde.h (gcc static asserts)', (t) => {
  if (!toolOrSkip(t, 'gcc')) return;
  const dir = mkdtempSync(join(tmpdir(), 'sonde-layout-'));
  const file = join(dir, 'layout_check.c');
  writeFileSync(file, staticAsserts());
  const r = spawnSync('gcc', ['-fsyntax-only', '-nostdinc', '-Wall', '-Werror', '-I', join(repoRoot(), 'bpf'), file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `layout mismatch between src/ebpf/layout.ts and bpf/sonde.h:\n${r.stderr}`);
});

test('the layout table covers every field of every struct in the header', (t) => {
  if (!toolOrSkip(t, 'gcc')) return;
  // A field added to the C struct (or reordered) without the table following is caught here even when
  // sizeof does not change: compare the preprocessed header's field names with the table's.
  const header = spawnSync('gcc', ['-E', '-P', '-nostdinc', '-D__u8=char', '-D__u16=short', '-D__u32=int', '-D__u64=long', join(repoRoot(), 'bpf', 'sonde.h')], { encoding: 'utf8' });
  assert.equal(header.status, 0, header.stderr);
  for (const l of LAYOUTS) {
    const body = new RegExp(`struct ${l.name} \\{([^}]*)\\}`).exec(header.stdout);
    assert.ok(body, `struct ${l.name} in sonde.h`);
    const cFields = [...body[1]!.matchAll(/(\w+)\s*(?:\[[^\]]*\])?\s*;/g)].map((m) => m[1]);
    assert.deepEqual(cFields, Object.keys(l.fields), `fields of struct ${l.name}`);
  }
});

test('records decode at the declared offsets', () => {
  const buf = new Uint8Array(CONN_EVENT.size + 8);
  const v = new DataView(buf.buffer);
  v.setUint32(0, CONSTANTS.SONDE_REC_CONN, true);
  v.setUint8(4, CONSTANTS.SONDE_CONN_STATE);
  v.setUint8(5, 6);
  v.setUint8(6, 2);
  v.setUint8(7, 1);
  v.setBigUint64(8, 123n, true);
  v.setBigUint64(16, 77n, true);
  v.setUint32(32, 4242, true);
  buf.set(Buffer.from('curl'), 40);
  v.setUint16(56, 5555, true);
  v.setUint16(58, 80, true);
  v.setUint32(60, CONSTANTS.SONDE_F_PID_KNOWN, true);
  buf[64 + 15] = 1; // ::1
  buf.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1], 80);
  v.setBigUint64(96, 10n, true);
  v.setBigUint64(104, 20n, true);
  v.setBigUint64(112, 0xffff8881_00000040n, true); // ctx_sk[0..1]: the sockets the thread read last
  v.setBigUint64(120, 0xffff8881_00000080n, true);
  const c = decodeConnectionEvent(buf, v, 0);
  assert.deepEqual(c.contextSockets, [0xffff8881_00000040n, 0xffff8881_00000080n]);
  assert.deepEqual(
    { type: c.type, family: c.family, old: c.oldState, new: c.newState, ts: c.tsNs, cookie: c.cookie, pid: c.pid, comm: c.comm, l: c.localAddr, lp: c.localPort, r: c.remoteAddr, rp: c.remotePort, rx: c.bytesReceived, tx: c.bytesSent },
    { type: 'state', family: 6, old: 'SYN_SENT', new: 'ESTABLISHED', ts: 123n, cookie: 77n, pid: 4242, comm: 'curl', l: '::1', lp: 5555, r: '127.0.0.1', rp: 80, rx: 10n, tx: 20n });

  const H = PAYLOAD_EVENT.fields.head![0];
  const p = new Uint8Array(H + 64);
  const pv = new DataView(p.buffer);
  pv.setUint32(0, CONSTANTS.SONDE_REC_PAYLOAD, true);
  pv.setUint8(4, CONSTANTS.SONDE_DIR_EGRESS);
  pv.setUint16(6, 5, true);
  pv.setUint32(40, 0xfffffff0, true);
  pv.setUint32(44, 5000, true);
  pv.setUint16(52, 16, true);
  pv.setUint16(54, 0, true); // pid unknown
  p.set(Buffer.from('0\r\n\r\n'.padStart(16, 'x')), 88);
  p.set(Buffer.from('HTTP/'), H);
  const e = decodePayloadEvent(p, pv, 0, p.length);
  assert.equal(e.direction, 'egress');
  assert.equal(e.seq, 0xfffffff0);
  assert.equal(e.length, 5000);
  assert.equal(e.pid, undefined);
  assert.equal(Buffer.from(e.head).toString(), 'HTTP/');
  assert.ok(Buffer.from(e.tail).toString().endsWith('0\r\n\r\n'));
  assert.equal(e.framed, false);
  assert.equal(e.extents, undefined);
  assert.equal(e.contextSockets, undefined, 'no thread context without a known sender');
  // A request start sent by a known thread carries the sockets that thread read last.
  pv.setUint16(54, CONSTANTS.SONDE_F_PID_KNOWN, true);
  pv.setUint32(32, 7, true);
  pv.setUint32(36, 8, true);
  pv.setBigUint64(112, 0xffff8881_00000040n, true);
  assert.deepEqual(decodePayloadEvent(p, pv, 0, p.length).contextSockets, [0xffff8881_00000040n]);
  pv.setBigUint64(112, 0n, true);

  // An HTTP/2 framed record: 5 copied bytes in two extents, the table right after them; no tail.
  pv.setUint16(54, CONSTANTS.SONDE_F_H2_FRAMED, true);
  pv.setUint32(104, 2, true);
  pv.setUint32(H + 5, 0, true);
  pv.setUint32(H + 9, 2, true);
  pv.setUint32(H + 13, 4000, true);
  pv.setUint32(H + 17, 3, true);
  const f = decodePayloadEvent(p, pv, 0, H + 5 + 16);
  assert.equal(f.framed, true);
  assert.deepEqual(f.extents, [{ offset: 0, length: 2 }, { offset: 4000, length: 3 }]);
  assert.equal(f.tail.length, 0);
  assert.equal(Buffer.from(f.head).toString(), 'HTTP/');
  // A table that does not add up to the copied bytes makes the whole range a hole.
  pv.setUint32(H + 17, 9, true);
  assert.deepEqual(decodePayloadEvent(p, pv, 0, H + 5 + 16).extents, []);
});

test('config encoding and address formatting', () => {
  const c = encodeConfig({ captureBytes: 512, ports: [80, 8080], cgroupId: 9n, messageStartOnly: true, payload: true, http2: true });
  const v = new DataView(c.buffer);
  assert.equal(c.length, 56);
  assert.equal(v.getUint32(0, true), 512);
  assert.equal(v.getUint32(4, true), CONSTANTS.SONDE_CFG_MESSAGE_START_ONLY | CONSTANTS.SONDE_CFG_HTTP2);
  assert.equal(v.getBigUint64(8, true), 9n);
  assert.equal(v.getUint32(16, true), 2);
  assert.equal(v.getUint16(20, true), 80);
  assert.equal(v.getUint16(22, true), 8080);
  const a = (hex: string) => formatAddress(Buffer.from(hex, 'hex'));
  assert.equal(a('00000000000000000000000000000001'), '::1');
  assert.equal(a('00000000000000000000000000000000'), '::');
  assert.equal(a('20010db8000000000001000000000001'), '2001:db8::1:0:0:1');
  assert.equal(a('fe800000000000000000000000000001'), 'fe80::1');
  assert.equal(a('00000000000000000000ffff7f000001'), '127.0.0.1');
});
