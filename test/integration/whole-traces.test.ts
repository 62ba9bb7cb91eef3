// Whole traces with no code change: requests through chains of real services on this host (python
// threads, node keep-alive event loop, nginx as a reverse proxy, a JDK HttpServer with a thread
// pool, and a node hop instrumented with the OpenTelemetry JS SDK) come out as one trace each, with
// every parent link right, no duplicate and no colliding span id. The same runs and judgement as
// bench/whole-traces (bench/support/whole-traces-run.ts, trace-check.ts), with fewer requests.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SCENARIOS, WholeTracesBench, enableBpfStats } from '../../bench/support/whole-traces-run.js';
import { bpfOrSkip, bpfUnavailableReason, toolOrSkip } from '../helpers/env.js';

const REQUESTS = 40;
/** Scenario name → the tool it needs beyond python3 and node. */
const CASES: Array<[scenario: string, tool?: string, hint?: string]> = [
  ['chain c=1'],
  ['chain c=8'],
  ['nginx no header', '/usr/sbin/nginx', 'apt-get install nginx-light'],
  ['java hop', 'java', 'apt-get install default-jdk-headless'],
  ['sdk middle hop'],
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

  for (const [name, tool, hint] of CASES) {
    it(`${name}: every request one trace, parents right, no duplicate span`, { timeout: 120_000 }, async (t) => {
      if (!bpfOrSkip(t) || (tool && !toolOrSkip(t, tool, hint))) return;
      const row = await bench.run(SCENARIOS.find((s) => s.name === name)!);
      assert.ok(row.check, `not run: ${row.notRun}`);
      const c = row.check;
      const why = `${JSON.stringify(row.commonProblems)} ${row.notes.join('; ')}`;
      assert.equal(row.load?.failed, 0, `requests failed: ${row.load?.errors.join('; ')}`);
      assert.equal(c.wholeTraces, REQUESTS, `whole traces ${c.wholeTraces} of ${REQUESTS}: ${why}`);
      assert.equal(c.orphanFragments, 0, why);
      assert.equal(c.duplicateSpans, 0, `duplicate span ids (warm-up included): ${why}`);
      assert.equal(c.spanIdCollisions, 0, why);
      assert.ok(row.notes.some((n) => n.includes(': 5 of 5 whole')), `the warm-up requests, before any SDK export, are whole too: ${why}`);
    });
  }
});
