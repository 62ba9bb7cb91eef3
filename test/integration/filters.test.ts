// Which processes the ebpf receiver reports: an exe_path filter keeps one server's spans and drops
// another's (and curl's); the agent's own requests are never reported, whatever the filter. And a
// pipeline that refuses everything: counted, logged, and the receiver keeps going.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SpanKind } from '../../src/collector/pdata/model.js';
import { bpfOrSkip, bpfUnavailableReason, toolOrSkip } from '../helpers/env.js';
import {
  attr, curl, freePort, startAgent, startNodeApp, startPythonHttp, waitFor, withNodeAppAndAgent, type Agent, type Child,
} from './harness.js';
import { selfMetric } from '../collector/helpers.js';

const skip = bpfUnavailableReason() !== undefined && process.env.SONDE_REQUIRE_BPF !== '1' ? 'no BPF' : false;

describe('process filters', { skip }, () => {
  it('exe_path keeps only the matching processes; the agent itself is never reported', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    const pyPort = await freePort();
    const children: Child[] = [];
    let agent: Agent | undefined;
    try {
      children.push(await startPythonHttp('127.0.0.1', pyPort, mkdtempSync(join(tmpdir(), 'sonde-filter-'))));
      const node = await startNodeApp('http-server', ['127.0.0.1']);
      children.push(node.child);
      agent = await startAgent([pyPort, node.port], { ebpfExtra: '    exe_path: "/python3[.0-9]*$"' });
      await curl('-o', '/dev/null', `http://127.0.0.1:${node.port}/node-only`);
      await curl('-o', '/dev/null', `http://127.0.0.1:${pyPort}/python-only`);
      // This process (the agent's) as a client: excluded even though nothing else would exclude it.
      const res = await fetch(`http://127.0.0.1:${pyPort}/from-agent`);
      await res.arrayBuffer();
      const spans = await agent.spansWhere('python server spans', (s) => ['/python-only', '/from-agent'].every((p) => s.some((x) => attr(x, 'url.path') === p)));
      await new Promise((r) => setTimeout(r, 300)); // anything unwanted would have arrived by now
      const all = agent.sink.spans();
      assert.ok(spans.filter((s) => attr(s, 'url.path') === '/python-only').every((s) => s.kind === SpanKind.SERVER), 'no curl client span');
      assert.equal(all.filter((s) => attr(s, 'url.path') === '/node-only').length, 0, 'node server and its curl client are filtered out');
      const fromAgent = all.filter((s) => attr(s, 'url.path') === '/from-agent');
      assert.deepEqual(fromAgent.map((s) => s.kind), [SpanKind.SERVER], 'only python\'s side of the agent\'s own request');
      assert.ok(await agent.service.host.selfMetrics.getSingleMetric('sonde_ebpf_connections_ignored_total')!.get()
        .then((m) => m.values.some((v) => v.labels.reason === 'filtered' && v.value >= 2)), 'filtered connections are counted');
    } finally {
      await agent?.stop();
      for (const c of children) await c.stop();
    }
  });
});

describe('a pipeline that refuses every batch', { skip }, () => {
  it('refusals are counted and the receiver keeps capturing', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    await withNodeAppAndAgent('http-server', ['127.0.0.1'], async ({ agent, port }) => {
      const svc = agent.service;
      await curl('-o', '/dev/null', `http://127.0.0.1:${port}/refused/1`);
      await waitFor('a refused traces batch', async () => (await selfMetric(svc, 'sonde_ebpf_refused_batches_total', { signal: 'traces' })) >= 1);
      await waitFor('a refused metrics batch', async () => (await selfMetric(svc, 'sonde_ebpf_refused_batches_total', { signal: 'metrics' })) >= 1);
      await curl('-o', '/dev/null', `http://127.0.0.1:${port}/refused/2`);
      await waitFor('both exchanges captured', async () => (await selfMetric(svc, 'sonde_ebpf_exchanges_total', { protocol: 'http1' })) >= 4);
      assert.equal(agent.sink.spans().length, 0);
    }, { refuse: true });
  });
});
