// Whole traces with no code change: requests through chains of real services on this host (python
// threads, node keep-alive event loop, nginx as a reverse proxy, a JDK HttpServer with a thread
// pool, and a node hop instrumented with the OpenTelemetry JS SDK) come out as one trace each, with
// every parent link right, no duplicate and no colliding span id; through a Python asyncio loop,
// a Go server and a gRPC call (python3-grpcio), whose links are inferred, most do. The same runs and judgement as
// bench/whole-traces (bench/support/whole-traces-run.ts, trace-check.ts), with fewer requests.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SCENARIOS, WholeTracesBench, enableBpfStats } from '../../bench/support/whole-traces-run.js';
import { bpfOrSkip, bpfUnavailableReason, toolOrSkip } from '../helpers/env.js';

const REQUESTS = 40;
interface Case {
  scenario: string;
  /** Requests sent (default REQUESTS). */
  requests?: number;
  /** Whole traces required: all of them where links are exact or the inference is reliable. */
  minWhole: number;
  tool?: string;
  hint?: string;
}
const CASES: Case[] = [
  { scenario: 'chain c=1', minWhole: REQUESTS },
  { scenario: 'chain c=8', minWhole: REQUESTS },
  { scenario: 'nginx no header', minWhole: REQUESTS, tool: '/usr/sbin/nginx', hint: 'apt-get install nginx-light' },
  { scenario: 'java hop', minWhole: REQUESTS, tool: 'java', hint: 'apt-get install default-jdk-headless' },
  { scenario: 'sdk middle hop', minWhole: REQUESTS },
  // Inferred links (README: 90–96%, 97–100% and 97–99% of 200 requests): a floor well below the measured share.
  // 40 requests gave 77.5–100% in six runs: 200 hold the same floor steadily (90.5–96%).
  { scenario: 'asyncio hop', requests: 200, minWhole: 160 },
  { scenario: 'go hop', minWhole: Math.ceil(REQUESTS * 0.8), tool: 'go', hint: 'apt-get install golang-go' },
  { scenario: 'grpc call', minWhole: Math.ceil(REQUESTS * 0.8) },
];

describe('whole traces through chains of services on one host', { skip: bpfUnavailableReason() !== undefined && process.env.SONDE_REQUIRE_BPF !== '1' }, () => {
  const bench = new WholeTracesBench(REQUESTS);
  let restoreBpfStats = () => {};
  before(async () => {
    if (bpfUnavailableReason() === undefined) restoreBpfStats = enableBpfStats();
    await bench.setUp();
  });
  after(async () => {
    restoreBpfStats();
    await bench.tearDown();
  });

  for (const { scenario: name, requests = REQUESTS, minWhole, tool, hint } of CASES) {
    const what = minWhole === requests ? 'every request one trace, parents right' : `at least ${minWhole} of ${requests} requests one trace (inferred links)`;
    it(`${name}: ${what}, no duplicate span`, { timeout: 180_000 }, async (t) => {
      if (!bpfOrSkip(t) || (tool && !toolOrSkip(t, tool, hint))) return;
      const row = await bench.run(SCENARIOS.find((s) => s.name === name)!, requests);
      assert.ok(row.check, `not run: ${row.notRun}`);
      const c = row.check;
      const why = `${JSON.stringify(row.commonProblems)} ${row.notes.join('; ')}`;
      assert.equal(row.load?.failed, 0, `requests failed: ${row.load?.errors.join('; ')}`);
      assert.ok(c.wholeTraces >= minWhole, `whole traces ${c.wholeTraces} of ${requests}, at least ${minWhole} expected: ${why}`);
      if (minWhole === requests) assert.equal(c.orphanFragments, 0, why);
      assert.equal(c.missingHops, 0, `every hop is captured, linked or not: ${why}`);
      assert.equal(c.duplicateSpans, 0, `duplicate span ids (warm-up included): ${why}`);
      assert.equal(c.spanIdCollisions, 0, why);
      if (minWhole === requests) assert.ok(row.notes.some((n) => n.includes(': 5 of 5 whole')), `the warm-up requests, before any SDK export, are whole too: ${why}`);
    });
  }
});
