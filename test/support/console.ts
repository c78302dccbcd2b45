/** A browser-less console client: a cookie jar of one session, forms posted as a same-origin browser posts them. */
export class ConsoleClient {
  readonly base: string;
  cookie = '';

  constructor(base: string) {
    this.base = base;
  }

  async request(path: string, init: RequestInit = {}): Promise<{ status: number; text: string; headers: Headers }> {
    const headers = new Headers(init.headers);
    if (this.cookie) headers.set('cookie', this.cookie);
    const res = await fetch(`${this.base}${path}`, { ...init, headers, redirect: 'manual' });
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  get(path: string) {
    return this.request(path);
  }

  /** POSTs a form, with the Origin a browser sends. */
  post(path: string, form: Record<string, string>, origin = this.base) {
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: new URLSearchParams(form).toString(),
    });
  }

  /** Logs in with a key; keeps the session cookie. Returns the login response. */
  async login(key: string) {
    const res = await this.post('/console/login', { key, next: '/console/campaigns' });
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) this.cookie = setCookie.split(';')[0] as string;
    return res;
  }

  /** The CSRF token of the session (read from a page's logout form). */
  async csrf(): Promise<string> {
    const page = await this.get('/console/campaigns');
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
    if (!token) throw new Error(`no CSRF token on the page (status ${page.status})`);
    return token;
  }
}

/** The text of a page without its tags, whitespace collapsed (for assertions on what a person reads). */
export function pageText(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
}
