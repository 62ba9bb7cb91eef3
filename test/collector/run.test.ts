// `sonde run --config F`: starts, serves OTLP, and on SIGTERM flushes and exits 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { encodeRequest } from '../../src/collector/pdata/otlp.js';
import { freePort, readFileExport, sampleData, tempDir, waitFor } from './helpers.js';

it('sonde run serves the configured pipelines and shuts down gracefully on SIGTERM', async () => {
  const dir = tempDir();
  const port = await freePort();
  const config = join(dir, 'c.yaml');
  const out = join(dir, 'out.jsonl');
  writeFileSync(config, `
receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:\${env:SONDE_TEST_PORT}" } } } }
exporters: { file: { path: ${out} } }
service: { pipelines: { traces: { receivers: [otlp], exporters: [file] } }, telemetry: { logs: { level: warn } } }
`);
  const cli = new URL('../../src/cli.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [cli, 'run', '--config', config], { env: { ...process.env, SONDE_TEST_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const status = await waitFor('the receiver to answer', async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: encodeRequest('traces', sampleData('run').traces, 'json') });
        return res.status;
      } catch {
        return undefined;
      }
    });
    assert.equal(status, 200);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.equal(readFileExport(out, 'traces').length, 1);
  } finally {
    child.kill('SIGKILL');
  }
});
