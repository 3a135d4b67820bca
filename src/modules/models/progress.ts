/** Progress of a long computation; `step` of `totalSteps` lets a page draw a bar. */
export interface ProgressEvent {
  stage: 'prepare' | 'holdout' | 'walk-forward' | 'final' | 'summary' | 'trial' | 'done';
  step: number;
  totalSteps: number;
  message: string;
  fold?: number;
  trial?: number;
}

export interface RunHooks {
  onProgress?: (e: ProgressEvent) => void;
  signal?: AbortSignal;
  /** Monotonic milliseconds for durations; performance.now by default. */
  now?: () => number;
}

/**
 * Lets pending events (an abort from a request, a timer) run between heavy steps when the
 * work happens on the main thread, then honours the signal.
 */
export async function checkpoint(signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted();
  await new Promise<void>((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}
