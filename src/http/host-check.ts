/**
 * Which Host header values this server answers to (DNS rebinding defence). A page on
 * evil.example whose name is re-pointed at 127.0.0.1 reaches this server with
 * `Host: evil.example`; it must not read the private routes nor use a session there.
 *
 * Accepted: any IP literal (a rebinding needs a name), and the names in the allowed list:
 * localhost, the HOST setting, PUBLIC_URL's host and ALLOWED_HOSTS (`*` accepts every name).
 * The host is Express's `req.hostname`, so X-Forwarded-Host counts only behind a trusted proxy.
 */
import { isIP } from 'node:net';
import type { Request } from 'express';

export interface HostSettings {
  HOST: string;
  PUBLIC_URL?: string;
  ALLOWED_HOSTS: readonly string[];
}

function normalize(name: string): string {
  let h = name.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/** The names accepted besides IP literals. */
export function allowedHostNames(s: HostSettings): string[] {
  const names = new Set(['localhost', normalize(s.HOST)]);
  if (s.PUBLIC_URL) names.add(normalize(new URL(s.PUBLIC_URL).hostname));
  for (const h of s.ALLOWED_HOSTS) names.add(normalize(h));
  return [...names].filter((h) => h !== '' && isIP(h) === 0);
}

export type HostCheck = (req: Request) => boolean;

export function createHostCheck(s: HostSettings): HostCheck {
  const names = new Set(allowedHostNames(s));
  if (names.has('*')) return () => true;
  return (req) => {
    const raw = req.hostname;
    if (!raw) return false;
    const h = normalize(raw);
    return isIP(h) !== 0 || names.has(h);
  };
}
