/**
 * The code version stored on every model run: package version plus `git describe` when the
 * code runs from a git work tree (development, CI), the package version alone otherwise (a
 * built image has no .git). Worked out once per process, off the request path.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

function gitDescribe(root: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('git', ['-C', root, 'describe', '--tags', '--always', '--dirty'], { timeout: 3000, windowsHide: true }, (err, stdout) => {
      const v = String(stdout ?? '').trim();
      resolve(err || !v ? null : v);
    });
  });
}

async function packageVersion(root: string): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** e.g. "0.1.0+aa7eb14-dirty" from a work tree, "0.1.0" from a build without git. */
export function createCodeVersion(root: string): () => Promise<string> {
  let p: Promise<string> | undefined;
  return () =>
    (p ??= Promise.all([packageVersion(root), gitDescribe(root)]).then(([v, g]) => (g ? `${v}+${g}` : v)));
}
