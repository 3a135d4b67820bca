/**
 * A real browser for the page tests: playwright-core driving Debian's Chromium (never a
 * downloaded one) with the flags from /work/shared/STACK.md, a fresh user-data-dir per
 * session, every console error and uncaught page error collected per page, and screenshots
 * saved to test-results/screenshots/<name>.png (git-ignored) for a person to look at.
 *
 * Without /usr/bin/chromium the browser tests fail with a message saying how to install it,
 * unless SKIP_BROWSER_TESTS=1 (then they are skipped).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page, type Response } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.resolve('test-results', 'screenshots');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Whether the browser tests can run: ok, skipped on request, or a failure to report. */
export function browserAvailability(): { ok: true } | { ok: false; skip: boolean; message: string } {
  if (existsSync(CHROMIUM_PATH)) return { ok: true };
  const message =
    `Chromium is not installed at ${CHROMIUM_PATH}: the browser tests cannot run. ` +
    'Install it with `apt-get update && apt-get install -y chromium` (or point CHROMIUM_PATH at one), ' +
    'or set SKIP_BROWSER_TESTS=1 to skip them.';
  return { ok: false, skip: process.env.SKIP_BROWSER_TESTS === '1', message };
}

export interface PageProblem {
  kind: 'console' | 'pageerror' | 'requestfailed';
  text: string;
  url: string;
}

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  baseUrl: string;
  /** problems seen since the last `takeProblems()` */
  problems: PageProblem[];
  /** opens a path and waits for the network to settle; returns the main response */
  open(pathname: string): Promise<Response | null>;
  /** returns and clears the problems collected so far */
  takeProblems(): PageProblem[];
  /** throws when any console error, page error or failed request was collected */
  assertNoProblems(where: string): void;
  screenshot(name: string, opts?: { fullPage?: boolean }): Promise<string>;
  close(): Promise<void>;
}

/** A fresh Chromium with its own profile (so its own cookies), viewport width `width`. */
export async function openSession(baseUrl: string, opts: { width?: number; height?: number } = {}): Promise<BrowserSession> {
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'candlecast-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 860 },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  const problems: PageProblem[] = [];
  page.on('console', (msg: ConsoleMessage) => {
    if (msg.type() === 'error') problems.push({ kind: 'console', text: msg.text(), url: page.url() });
  });
  page.on('pageerror', (err: Error) => problems.push({ kind: 'pageerror', text: err.stack ?? err.message, url: page.url() }));
  page.on('requestfailed', (req) => {
    const failure = req.failure()?.errorText ?? 'failed';
    // A navigation that replaces a page aborts that page's pending polls: not a problem.
    if (failure === 'net::ERR_ABORTED') return;
    problems.push({ kind: 'requestfailed', text: `${req.method()} ${req.url()}: ${failure}`, url: page.url() });
  });

  const session: BrowserSession = {
    context,
    page,
    baseUrl,
    problems,
    async open(pathname) {
      const r = await page.goto(new URL(pathname, baseUrl).toString(), { waitUntil: 'load' });
      await page.waitForLoadState('networkidle').catch(() => undefined);
      return r;
    },
    takeProblems() {
      return problems.splice(0, problems.length);
    },
    assertNoProblems(where) {
      const found = session.takeProblems();
      if (found.length) {
        throw new Error(`${where}: ${found.length} browser problem(s):\n${found.map((p) => `  [${p.kind}] ${p.text} (on ${p.url})`).join('\n')}`);
      }
    },
    async screenshot(name, o = {}) {
      await mkdir(SCREENSHOT_DIR, { recursive: true });
      const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^a-z0-9._-]+/gi, '-')}.png`);
      await page.screenshot({ path: file, fullPage: o.fullPage ?? true });
      return file;
    },
    async close() {
      await context.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
  return session;
}

/** Logs in through the login form, as a person would. */
export async function loginThroughForm(s: BrowserSession, username: string, password: string, nextPath?: string): Promise<void> {
  await s.open(nextPath ? `/login?next=${encodeURIComponent(nextPath)}` : '/login');
  await s.page.fill('#f-username', username);
  await s.page.fill('#f-password', password);
  await Promise.all([s.page.waitForURL((u) => u.pathname !== '/login'), s.page.click('main button[type=submit]')]);
  await s.page.waitForLoadState('networkidle').catch(() => undefined);
}
