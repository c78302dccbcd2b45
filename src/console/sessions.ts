import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { ApiKeyIdentity } from '../auth/api-keys.ts';
import type { Role } from '../auth/roles.ts';
import type { Platform } from '../platform.ts';

/** Development-only secret: a laptop works without setup; production must set CONSOLE_SESSION_SECRET. */
const DEV_SECRET = 'promo development console session secret; never use in production';

export interface ConsoleSession {
  identity: ApiKeyIdentity;
  /** The token every state-changing console form carries. */
  csrfToken: string;
  expiresAt: Date;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** Equal strings, in time that does not depend on where they differ. */
export function sameSecret(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValues(header: string | undefined, name: string): string[] {
  const values: string[] = [];
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim());
  }
  return values;
}

/** A browser that says where a request comes from must say this site (unsafe methods only: the CSRF check's second half). */
export function fromThisSite(req: Request): boolean {
  const site = req.get('Sec-Fetch-Site');
  if (site !== undefined) return site === 'same-origin';
  const origin = req.get('Origin');
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.get('Host');
  } catch {
    return false;
  }
}

/**
 * Console sessions: an API key (admin or viewer) exchanged for a random token kept in a signed, HttpOnly,
 * SameSite=Strict cookie (Secure outside development). Only the token's SHA-256 is stored; every lookup joins the
 * key, so logout, expiry and revoking the key end the session at once, in every API process. The console, Bull
 * Board and /admin/stats read the same session.
 */
export class ConsoleSessions {
  readonly #platform: Platform;
  readonly #secret: string;
  readonly #secure: boolean;
  readonly cookieName: string;
  readonly #lookups = new WeakMap<Request, Promise<ConsoleSession | null>>();

  constructor(platform: Platform) {
    const { config } = platform;
    if (!config.CONSOLE_SESSION_SECRET && config.NODE_ENV === 'production') {
      throw new Error('CONSOLE_SESSION_SECRET must be set in production (32+ characters, e.g. openssl rand -base64 32)');
    }
    this.#platform = platform;
    this.#secret = config.CONSOLE_SESSION_SECRET ?? DEV_SECRET;
    this.#secure = config.NODE_ENV !== 'development';
    // __Host- binds a Secure cookie to this host and path /: no subdomain can set or read it.
    this.cookieName = this.#secure ? '__Host-promo_console' : 'promo_console';
  }

  #sign(token: string): string {
    return createHmac('sha256', this.#secret).update(`console-session\n${token}`).digest('base64url');
  }

  /** Opens a session for a key that may use the console; sets its cookie on the response. */
  async open(res: Response, identity: ApiKeyIdentity): Promise<ConsoleSession> {
    const { db, config, clock } = this.#platform;
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const expiresAt = new Date(clock.now().getTime() + config.CONSOLE_SESSION_TTL_SECONDS * 1000);
    // Expired sessions go when someone logs in: the table holds roughly the live ones.
    await db.query('delete from console_sessions where expires_at < $1', [clock.now()]);
    await db.query('insert into console_sessions (id, api_key_id, csrf_token, expires_at) values ($1, $2, $3, $4)', [
      sha256(token),
      identity.id,
      csrfToken,
      expiresAt,
    ]);
    res.cookie(this.cookieName, `${token}.${this.#sign(token)}`, {
      httpOnly: true,
      secure: this.#secure,
      sameSite: 'strict',
      path: '/',
      maxAge: config.CONSOLE_SESSION_TTL_SECONDS * 1000,
    });
    return { identity, csrfToken, expiresAt };
  }

  /** The token of a correctly signed session cookie on the request. */
  #token(req: Request): string | null {
    for (const value of cookieValues(req.headers.cookie, this.cookieName)) {
      const dot = value.lastIndexOf('.');
      const token = value.slice(0, dot);
      if (dot > 0 && sameSecret(value.slice(dot + 1), this.#sign(token))) return token;
    }
    return null;
  }

  /** The request's live session, looked up once per request. */
  session(req: Request): Promise<ConsoleSession | null> {
    let lookup = this.#lookups.get(req);
    if (!lookup) {
      lookup = this.#lookup(req);
      this.#lookups.set(req, lookup);
    }
    return lookup;
  }

  async #lookup(req: Request): Promise<ConsoleSession | null> {
    const token = this.#token(req);
    if (!token) return null;
    if (!['GET', 'HEAD'].includes(req.method) && !fromThisSite(req)) return null;
    const { rows } = await this.#platform.db.query<{ csrf_token: string; expires_at: Date; id: string; name: string; role: Role }>(
      `select s.csrf_token, s.expires_at, k.id, k.name, k.role
         from console_sessions s join api_keys k on k.id = s.api_key_id
        where s.id = $1 and s.expires_at > $2 and k.revoked_at is null`,
      [sha256(token), this.#platform.clock.now()],
    );
    const row = rows[0];
    if (!row) return null;
    return { identity: { id: row.id, name: row.name, role: row.role }, csrfToken: row.csrf_token, expiresAt: new Date(row.expires_at) };
  }

  /** The key behind the request's session (for Bull Board and /admin/stats). */
  async identify(req: Request): Promise<ApiKeyIdentity | null> {
    return (await this.session(req))?.identity ?? null;
  }

  /** Ends the request's session (logout) and clears its cookie. */
  async close(req: Request, res: Response): Promise<void> {
    const token = this.#token(req);
    if (token) await this.#platform.db.query('delete from console_sessions where id = $1', [sha256(token)]);
    res.clearCookie(this.cookieName, { httpOnly: true, secure: this.#secure, sameSite: 'strict', path: '/' });
  }
}
