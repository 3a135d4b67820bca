/**
 * The in-process event bus that carries one pass of the main loop: market stores candles ->
 * predictions predict -> alerts evaluate. Listeners run after the emitter's transaction has
 * committed; a failing listener is logged and never breaks the emitter.
 */
import type { Logger } from './log.js';

export interface EventMap {
  /** new closed candles were stored for a pair and interval; upTo = newest open time (unix s) */
  'candles.stored': { pairId: number; pairKey: string; altname: string; interval: number; upTo: number; count: number; source: string };
  /** candles were flagged as anomalies */
  'candles.anomaly': { pairId: number; pairKey: string; altname: string; interval: number; times: number[]; reason: string };
  /** a live prediction was stored */
  'prediction.made': { pairId: number; pairKey: string; altname: string; interval: number; predictionId: string; modelRunId: number | null; algorithm: string; baseTime: number; targetTime: number; baseClose: number; value: number; predictedReturn: number };
  /** predictions were scored against actual candles */
  'predictions.scored': { pairId: number; interval: number; count: number };
  /** a model run finished (trained or failed) */
  'model.trained': { pairId: number; interval: number; modelRunId: number; algorithm: string; status: string; isBest: boolean };
  /** a suspicious access pattern was detected */
  'access.anomaly': { kind: string; subject: string; detail: string; /** unique per recorded anomaly (its block row) */ id?: string };
  /** an alert rule fired and its notification was stored (ids as strings: they are bigints) */
  'notification.created': { userId: number; notificationId: string; ruleId: number | null; kind: string; eventKey: string };
}

export type EventName = keyof EventMap;
type Listener<E extends EventName> = (payload: EventMap[E]) => unknown;

export class EventBus {
  private listeners = new Map<EventName, Set<Listener<EventName>>>();
  private pending = new Set<Promise<unknown>>();
  constructor(private readonly log?: Logger) {}

  on<E extends EventName>(event: E, fn: Listener<E>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as Listener<EventName>);
    return () => set!.delete(fn as Listener<EventName>);
  }

  /** Calls every listener; async ones run in the background and are tracked for `drain()`. */
  emit<E extends EventName>(event: E, payload: EventMap[E]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const fn of set) {
      try {
        const r = fn(payload);
        if (r && typeof (r as Promise<unknown>).then === 'function') {
          const p = (r as Promise<unknown>).catch((err: unknown) => this.log?.error({ err, event }, 'event listener failed')).finally(() => this.pending.delete(p));
          this.pending.add(p);
        }
      } catch (err) {
        this.log?.error({ err, event }, 'event listener failed');
      }
    }
  }

  /** Emits and waits for every listener (and what they emit in turn) to finish. */
  async emitAndWait<E extends EventName>(event: E, payload: EventMap[E]): Promise<void> {
    this.emit(event, payload);
    await this.drain();
  }

  /** Resolves when no listener is running (used by jobs, shutdown and tests). */
  async drain(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }
}
