/**
 * danfojs-node, loaded on demand. Importing it costs ~0.7-1.5 s and ~100 MB (it pulls the
 * pure-JS tfjs backend), so the hot feature path never imports it and a training worker that
 * does not ask for a summary never pays for it.
 */
type Danfo = typeof import('danfojs-node');

let loading: Promise<Danfo> | undefined;

export function loadDanfo(): Promise<Danfo> {
  loading ??= import('danfojs-node').then((mod) => {
    // danfojs-node is CommonJS; depending on the loader the namespace sits on `default`.
    const dfd = ((mod as unknown as { default?: Danfo }).default ?? mod) as Danfo;
    // tfjs prints a "use the node backend" banner on first use. Prod mode silences it (warn()
    // is a no-op in prod) and drops debug checks; the native backend cannot be installed here.
    dfd.tensorflow.enableProdMode();
    return dfd;
  });
  return loading;
}
