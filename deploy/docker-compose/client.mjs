// The demo's client: GET TARGET_URL once per INTERVAL_MS, REQUESTS times (default: an hour's worth).
const target = process.env.TARGET_URL ?? 'http://server:8000/';
const requests = Number(process.env.REQUESTS ?? 3600);
const intervalMs = Number(process.env.INTERVAL_MS ?? 1000);

for (let i = 1; i <= requests; i++) {
  try {
    const res = await fetch(target);
    await res.arrayBuffer();
    console.log(`${i}/${requests} GET ${target} -> ${res.status}`);
  } catch (err) {
    console.log(`${i}/${requests} GET ${target} failed: ${err.cause?.message ?? err.message}`);
  }
  if (i < requests) await new Promise((resolve) => setTimeout(resolve, intervalMs));
}
