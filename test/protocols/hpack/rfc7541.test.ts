// RFC 7541 Appendix C examples, byte for byte, plus Appendix B code spot checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HpackDecoder } from '../../../src/protocols/hpack/decoder.js';
import { HUFFMAN_CODES, HUFFMAN_CODE_LENGTHS, decodeHuffman, huffmanDecodedMaxLength } from '../../../src/protocols/hpack/huffman.js';
import { prng } from '../../helpers/prng.js';
import { hex, huffmanEncode } from '../http2/h2-builder.js';

type Fields = Array<[string, string]>;

function table(d: HpackDecoder): Array<[string | undefined, string | undefined]> {
  return d.dynamicEntries.map((e) => [e.name, e.value]);
}

test('C.2.1 literal header field with indexing', () => {
  const d = new HpackDecoder();
  const r = d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
  assert.deepEqual(r.fields, [['custom-key', 'custom-header']]);
  assert.deepEqual(table(d), [['custom-key', 'custom-header']]);
  assert.equal(d.tableSize, 55);
});

test('C.2.2 literal header field without indexing', () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex('040c 2f73 616d 706c 652f 7061 7468')).fields, [[':path', '/sample/path']]);
  assert.equal(d.tableSize, 0);
});

test('C.2.3 literal header field never indexed', () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74')).fields, [['password', 'secret']]);
  assert.equal(d.tableSize, 0);
});

test('C.2.4 indexed header field', () => {
  assert.deepEqual(new HpackDecoder().decode(hex('82')).fields, [[':method', 'GET']]);
});

const REQ1: Fields = [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']];
const REQ2: Fields = [...REQ1, ['cache-control', 'no-cache']];
const REQ3: Fields = [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']];
const REQ_TABLES = [
  { entries: [[':authority', 'www.example.com']], size: 57 },
  { entries: [['cache-control', 'no-cache'], [':authority', 'www.example.com']], size: 110 },
  { entries: [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']], size: 164 },
];

const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RESP1: Fields = [[':status', '302'], ['cache-control', 'private'], ['date', DATE1], ['location', 'https://www.example.com']];
const RESP2: Fields = [[':status', '307'], ['cache-control', 'private'], ['date', DATE1], ['location', 'https://www.example.com']];
const RESP3: Fields = [[':status', '200'], ['cache-control', 'private'], ['date', DATE2], ['location', 'https://www.example.com'], ['content-encoding', 'gzip'], ['set-cookie', COOKIE]];
const RESP_TABLES = [
  { entries: [['location', 'https://www.example.com'], ['date', DATE1], ['cache-control', 'private'], [':status', '302']], size: 222 },
  { entries: [[':status', '307'], ['location', 'https://www.example.com'], ['date', DATE1], ['cache-control', 'private']], size: 222 },
  { entries: [['set-cookie', COOKIE], ['content-encoding', 'gzip'], ['date', DATE2]], size: 215 },
];

const CHAINS: Record<string, { maxSize: number; blocks: string[]; lists: Fields[]; tables: typeof REQ_TABLES }> = {
  'C.3 requests without Huffman': {
    maxSize: 4096, lists: [REQ1, REQ2, REQ3], tables: REQ_TABLES,
    blocks: [
      '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '8286 84be 5808 6e6f 2d63 6163 6865',
      '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    ],
  },
  'C.4 requests with Huffman': {
    maxSize: 4096, lists: [REQ1, REQ2, REQ3], tables: REQ_TABLES,
    blocks: [
      '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
      '8286 84be 5886 a8eb 1064 9cbf',
      '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
    ],
  },
  'C.5 responses without Huffman, table size 256 (evictions)': {
    maxSize: 256, lists: [RESP1, RESP2, RESP3], tables: RESP_TABLES,
    blocks: [
      '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32'
      + '3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '4803 3330 37c1 c0bf',
      '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970'
      + '7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61'
      + '6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
    ],
  },
  'C.6 responses with Huffman, table size 256 (evictions)': {
    maxSize: 256, lists: [RESP1, RESP2, RESP3], tables: RESP_TABLES,
    blocks: [
      '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad'
      + '1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
      '4883 640e ffc1 c0bf',
      '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2'
      + 'e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
    ],
  },
};

for (const [name, chain] of Object.entries(CHAINS)) {
  test(`${name}: header lists and dynamic table after each block`, () => {
    const d = new HpackDecoder({ maxTableSize: chain.maxSize });
    chain.blocks.forEach((block, i) => {
      const r = d.decode(hex(block));
      assert.equal(r.error, undefined, `block ${i + 1}`);
      assert.equal(r.unresolved, 0);
      assert.deepEqual(r.fields, chain.lists[i], `block ${i + 1} fields`);
      assert.deepEqual(table(d), chain.tables[i]!.entries, `block ${i + 1} table`);
      assert.equal(d.tableSize, chain.tables[i]!.size, `block ${i + 1} size`);
    });
  });
}

test('Appendix B: canonical codes derived from lengths match the RFC table', () => {
  const spot: Array<[number, number, number]> = [
    [0, 0x1ff8, 13], [32, 0x14, 6], [48, 0x0, 5], [97, 0x3, 5], [9, 0xffffea, 24], [10, 0x3ffffffc, 30],
    [127, 0xffffffc, 28], [255, 0x3ffffee, 26], [256, 0x3fffffff, 30],
  ];
  for (const [sym, code, length] of spot) {
    assert.equal(HUFFMAN_CODES[sym], code, `code of ${sym}`);
    assert.equal(HUFFMAN_CODE_LENGTHS[sym], length, `length of ${sym}`);
  }
});

test('Huffman: random byte strings round-trip; EOS and bad padding are rejected', () => {
  const rnd = prng(7);
  for (let i = 0; i < 500; i++) {
    const input = Uint8Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256));
    const enc = huffmanEncode(input);
    const out = new Uint8Array(huffmanDecodedMaxLength(enc.length));
    const n = decodeHuffman(enc, 0, enc.length, out);
    assert.deepEqual(out.subarray(0, n), input);
  }
  const out = new Uint8Array(64);
  assert.equal(decodeHuffman(hex('ffffffff'), 0, 4, out), -1, 'EOS (30 ones) inside the string');
  assert.equal(decodeHuffman(hex('00'), 0, 1, out), -1, "'0' then 3 zero padding bits");
  assert.equal(decodeHuffman(hex('07ff'), 0, 2, out), -1, 'padding of 8+ one bits');
  assert.equal(decodeHuffman(hex('1f'), 0, 1, out), 1, "'a' then padding 111");
});

test('size updates: evict, zero empties, an update after a field is an error', () => {
  const d = new HpackDecoder();
  d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
  assert.equal(d.tableSize, 55);
  const r = d.decode(hex('20 82'));
  assert.equal(d.tableSize, 0);
  assert.equal(d.tableMaxSize, 0);
  assert.deepEqual(r.fields, [[':method', 'GET']]);
  const bad = new HpackDecoder().decode(hex('82 20'));
  assert.match(bad.error ?? '', /size update after/);
  // C.1.2: 1337 with a 5-bit prefix is 1f 9a 0a: as a size update it sets the maximum to 1337.
  const e = new HpackDecoder();
  e.decode(hex('3f 9a 0a'));
  assert.equal(e.tableMaxSize, 1337);
});

test('malformed blocks report an error and never throw', () => {
  for (const block of ['80', 'be', '400a6375', '41', 'ff', '3fe1ffffffff0f', '4185ffffffff']) {
    const r = new HpackDecoder().decode(hex(block));
    assert.ok(r.error, `block ${block} should be an error`);
  }
});
