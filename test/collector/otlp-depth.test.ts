// Deeply nested attribute values: refused at decode time with the reason (OTLP/JSON and protobuf),
// up to MAX_VALUE_DEPTH accepted; and a component that throws instead of rejecting refuses the data
// through its promise (consumeOf), never throwing into its caller's timer or callback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { consumeOf } from '../../src/collector/internal/consumers.js';
import type { AnyValue, Traces } from '../../src/collector/pdata/model.js';
import { OtlpDecodeError, decodeRequest, encodeRequest } from '../../src/collector/pdata/otlp.js';
import { MAX_VALUE_DEPTH } from '../../src/collector/pdata/otlp-proto.js';
import type { Consumer } from '../../src/collector/consumer.js';

/** A value `levels` deep: arrays and kvlists alternating around a string. */
function nested(levels: number): AnyValue {
  let v: AnyValue = 'leaf';
  for (let i = 1; i < levels; i++) v = i % 2 ? [v] : { kvlist: { k: v } };
  return v;
}

function traces(value: AnyValue): Traces {
  return {
    resourceSpans: [{
      resource: { attributes: { deep: value }, droppedAttributesCount: 0 },
      scopeSpans: [{ scope: { name: 's', version: '', attributes: {}, droppedAttributesCount: 0 }, spans: [], schemaUrl: '' }],
      schemaUrl: '',
    }],
  };
}

for (const encoding of ['json', 'proto'] as const) {
  test(`${encoding}: ${MAX_VALUE_DEPTH} levels decode, ${MAX_VALUE_DEPTH + 1} and 5000 are refused with the reason`, () => {
    const ok = decodeRequest('traces', encodeRequest('traces', traces(nested(MAX_VALUE_DEPTH)), encoding), encoding);
    assert.ok(ok.resourceSpans[0]!.resource.attributes.deep);
    for (const levels of [MAX_VALUE_DEPTH + 1, 5000]) {
      // Deep bodies are built as text/bytes by hand where the encoders would recurse too far themselves.
      const body = levels <= 1000 ? encodeRequest('traces', traces(nested(levels)), encoding) : deepBody(levels, encoding);
      assert.throws(() => decodeRequest('traces', body, encoding), (err: unknown) => err instanceof OtlpDecodeError && /deeper than 100 levels/.test((err as Error).message));
    }
  });
}

/** An export request whose one resource attribute nests `levels` arrays, written without recursion. */
function deepBody(levels: number, encoding: 'json' | 'proto'): string | Uint8Array {
  if (encoding === 'json') {
    const value = '{"arrayValue":{"values":['.repeat(levels - 1) + '{"stringValue":"leaf"}' + ']}}'.repeat(levels - 1);
    return `{"resourceSpans":[{"resource":{"attributes":[{"key":"deep","value":${value}}]}}]}`;
  }
  // AnyValue{ array_value(5): ArrayValue{ values(1): AnyValue{...} } }, innermost first.
  const varint = (n: number) => { const out: number[] = []; while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7; } out.push(n); return out; };
  const field = (tag: number, body: number[]) => [(tag << 3) | 2, ...varint(body.length), ...body];
  let v = field(1, [...Buffer.from('leaf')]);
  for (let i = 1; i < levels; i++) v = field(5, field(1, v));
  const kv = [...field(1, [...Buffer.from('deep')]), ...field(2, v)];
  return new Uint8Array(field(1, field(1, field(1, kv)))); // ResourceSpans(1) > Resource(1) > attributes(1)
}

test('a consumer that throws synchronously refuses through its promise', async () => {
  const throwing = { consumeTraces: () => { throw new RangeError('Maximum call stack size exceeded'); } } as unknown as Consumer<'traces'>;
  const consume = consumeOf('traces', throwing);
  let result: Promise<void> | undefined;
  assert.doesNotThrow(() => { result = consume(traces('x'), {} as never); });
  await assert.rejects(result!, /Maximum call stack/);
});
