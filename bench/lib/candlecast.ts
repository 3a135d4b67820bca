/** What the HTTP benchmarks need from a running candlecast: the reads to load, a prediction to read. */
import { getJson, postJson, waitForRun, type BenchServer } from './server.js';

export const PAIR = 'XBTUSD';
export const LATEST_PREDICTION = `/api/prediction/latest-prediction?pair=${PAIR}&interval=1d`;

export type Availability = { ok: true } | { ok: false; why: string };

/** "endpoint missing" when no route answers, else the status and message. */
function why(status: number, body: unknown): string {
  const msg = (body as { error?: { message?: string } } | null)?.error?.message ?? String(body).slice(0, 120);
  if (status === 404 && /^No route for/.test(msg)) return 'endpoint missing';
  return `${status}: ${msg}`;
}

/** One year of daily candles, ending at the newest stored one. */
export async function historyPath(s: BenchServer): Promise<string> {
  const { status, body } = await getJson<{ dtutc: string }[]>(s.url, `/api/crypto/asset_latest/${PAIR}?limit=1`, s.token);
  if (status !== 200 || !Array.isArray(body) || !body[0]) throw new Error(`no candles for ${PAIR}: ${status}`);
  const end = new Date(body[0].dtutc);
  const start = new Date(end.getTime() - 364 * 86_400_000);
  const d = (x: Date) => x.toISOString().slice(0, 10);
  return `/api/crypto/asset_history/${PAIR}?start_date=${d(start)}&end_date=${d(end)}&limit=1000`;
}

/** Starts a job through the original trigger route and waits for it; throws with the reason. */
export async function runTrigger(s: BenchServer, action: 'train' | 'predict' | 'score', params: Record<string, unknown>): Promise<{ runId: number; ms: number }> {
  const t0 = performance.now();
  const r = await postJson<{ run_id?: number }>(s.url, `/api/prediction/${action}`, s.token, params);
  if (r.status !== 202 || typeof r.body.run_id !== 'number') throw new Error(`POST /api/prediction/${action}: ${why(r.status, r.body)}`);
  const run = await waitForRun(s.url, s.token, r.body.run_id);
  if (run.status !== 'succeeded') throw new Error(`${action} run ${r.body.run_id} ${run.status}: ${run.error ?? ''}`);
  return { runId: r.body.run_id, ms: performance.now() - t0 };
}

/** Makes sure GET latest-prediction answers 200: trains a quick model and predicts if needed. */
export async function ensurePrediction(s: BenchServer): Promise<Availability> {
  let r = await getJson(s.url, LATEST_PREDICTION, s.token);
  if (r.status === 200) return { ok: true };
  if (why(r.status, r.body) === 'endpoint missing') return { ok: false, why: 'endpoint missing' };
  try {
    await runTrigger(s, 'train', { pair: PAIR, interval: '1d', algorithms: ['linear'] });
    r = await getJson(s.url, LATEST_PREDICTION, s.token);
    if (r.status !== 200) await runTrigger(s, 'predict', { pair: PAIR, interval: '1d' });
  } catch (err) {
    return { ok: false, why: (err as Error).message.slice(0, 160) };
  }
  r = await getJson(s.url, LATEST_PREDICTION, s.token);
  return r.status === 200 ? { ok: true } : { ok: false, why: `no prediction after training: ${why(r.status, r.body)}` };
}

/** Keeps a random forest training on the server (back-to-back retrain runs) until stopped. */
export function keepTraining(s: BenchServer): { stop(): Promise<{ runs: number; trainingMs: number; error?: string }> } {
  let running = true;
  let runs = 0;
  let trainingMs = 0;
  let error: string | undefined;
  const loop = (async () => {
    while (running) {
      try {
        const { ms } = await runTrigger(s, 'train', { pair: PAIR, interval: '1d', algorithms: ['random-forest'] });
        runs++;
        trainingMs += ms;
      } catch (err) {
        error = (err as Error).message;
        return;
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { runs, trainingMs, error };
    },
  };
}
