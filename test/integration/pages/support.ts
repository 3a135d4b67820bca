/**
 * A cookie-keeping client for page tests over plain HTTP: it remembers cookies like a browser,
 * reads the CSRF token from the page's <meta>, and can log in through the login form.
 */
import type { TestApp } from '../../support/app.js';

export class PageClient {
  readonly cookies = new Map<string, string>();
  csrf = '';

  constructor(readonly app: TestApp) {}

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private remember(r: Response): void {
    for (const line of r.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async get(pathname: string, headers: Record<string, string> = {}): Promise<{ r: Response; html: string }> {
    const r = await this.app.fetch(pathname, { headers: { cookie: this.cookieHeader(), ...headers } });
    this.remember(r);
    const html = await r.text();
    const m = /<meta name="csrf-token" content="([^"]*)">/.exec(html);
    if (m && m[1]) this.csrf = m[1];
    return { r, html };
  }

  /** A form post from this site (Origin set, like a browser); `token: false` leaves the CSRF field out. */
  async post(pathname: string, form: Record<string, string>, opts: { token?: boolean | string; headers?: Record<string, string> } = {}): Promise<{ r: Response; html: string }> {
    const body = new URLSearchParams(form);
    if (opts.token !== false) body.set('_csrf', typeof opts.token === 'string' ? opts.token : this.csrf);
    const r = await this.app.fetch(pathname, {
      method: 'POST',
      headers: { cookie: this.cookieHeader(), origin: new URL(this.app.url).origin, 'content-type': 'application/x-www-form-urlencoded', ...opts.headers },
      body: body.toString(),
    });
    this.remember(r);
    return { r, html: await r.text() };
  }

  async login(username: string, password: string): Promise<void> {
    await this.get('/login');
    const { r } = await this.post('/login', { username, password });
    if (r.status !== 303) throw new Error(`login failed: ${r.status}`);
    await this.get('/');
  }
}
