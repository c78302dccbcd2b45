/** A small client for the promo HTTP API, used by the CLI and the demo. Errors become one readable line. */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly body: unknown;
  constructor(status: number, code: string, message: string, body: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** The network failed before any HTTP answer (wrong URL, platform down). */
export class ConnectionError extends Error {
  constructor(url: string, cause: unknown) {
    const reason = (cause as { cause?: { code?: string; message?: string } })?.cause;
    super(`cannot reach ${url}: ${reason?.code ?? reason?.message ?? (cause as Error)?.message ?? 'connection failed'}`);
    this.name = 'ConnectionError';
  }
}

interface ProblemBody {
  code?: string;
  detail?: string;
  title?: string;
  errors?: { field: string; message: string }[];
}

function describeProblem(status: number, body: unknown): ApiError {
  const p = (typeof body === 'object' && body !== null ? body : {}) as ProblemBody;
  const code = p.code ?? `http_${status}`;
  let message = `${status} ${code}: ${p.detail ?? p.title ?? (typeof body === 'string' && body ? body.slice(0, 200) : 'request failed')}`;
  if (Array.isArray(p.errors) && p.errors.length > 0) message += ` (${p.errors.map((e) => `${e.field}: ${e.message}`).join('; ')})`;
  return new ApiError(status, code, message, body);
}

export interface ClientOptions {
  url: string;
  apiKey?: string;
}

export class PromoClient {
  readonly url: string;
  readonly #apiKey: string | undefined;

  constructor(options: ClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
  }

  async #fetch(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#apiKey) headers.set('authorization', `Bearer ${this.#apiKey}`);
    headers.set('accept', 'application/json, application/problem+json, text/csv');
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    try {
      return await fetch(`${this.url}${path}`, { ...init, headers, body });
    } catch (error) {
      throw new ConnectionError(this.url, error);
    }
  }

  /** JSON request; a non-2xx answer throws an ApiError carrying the problem's code and detail. */
  async request<T = any>(method: string, path: string, json?: unknown, headers?: Record<string, string>): Promise<T> {
    const res = await this.#fetch(path, { method, json, headers });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {}
    if (!res.ok) throw describeProblem(res.status, body);
    return body as T;
  }

  get<T = any>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T = any>(path: string, json?: unknown, headers?: Record<string, string>): Promise<T> {
    return this.request<T>('POST', path, json ?? {}, headers);
  }

  delete<T = any>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /** A streamed download; `onChunk` sees each piece (for progress). */
  async download(path: string, onChunk: (chunk: Uint8Array) => void | Promise<void>): Promise<{ size: number | null }> {
    const res = await this.#fetch(path);
    if (!res.ok || !res.body) {
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {}
      throw describeProblem(res.status, body);
    }
    const length = res.headers.get('content-length');
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await onChunk(value);
    }
    return { size: length ? Number(length) : null };
  }
}
