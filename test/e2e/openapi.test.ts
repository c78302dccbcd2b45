import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

interface RegisteredRoute {
  method: string;
  path: string;
}

/** Every route express would dispatch to, mount paths included (Express 5 / router 2 keep them as `rawPath`). */
function registeredRoutes(stack: any[], prefix = ''): RegisteredRoute[] {
  const out: RegisteredRoute[] = [];
  for (const layer of stack) {
    if (layer.route) {
      const paths: string[] = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const path of paths) {
        for (const method of Object.keys(layer.route.methods)) {
          if (method === '_all') continue;
          const full = `${prefix}${path}`.replace(/(.)\/$/, '$1');
          out.push({ method, path: full.replace(/:([A-Za-z0-9_]+)/g, '{$1}') });
        }
      }
    } else if (Array.isArray(layer.handle?.stack)) {
      const raw = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      out.push(...registeredRoutes(layer.handle.stack, prefix + raw));
    }
  }
  return out;
}

describe('OpenAPI document', () => {
  let p: TestPlatform;
  let doc: any;
  beforeAll(async () => {
    p = await startTestPlatform({ workers: false });
    const res = await fetch(`${p.url}/openapi.json`);
    expect(res.status).toBe(200);
    doc = await res.json();
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('is valid OpenAPI 3.1', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('documents every route registered in the express app', () => {
    const { app } = createApp(p.platform);
    const routes = registeredRoutes((app as any).router.stack)
      // Bull Board's own UI and JSON endpoints are one documented page.
      .filter((r) => !r.path.startsWith('/admin/queues/') && !r.path.startsWith('/docs/'));
    expect(routes.length).toBeGreaterThan(20);
    const missing = routes.filter((r) => !doc.paths[r.path]?.[r.method]).map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(missing).toEqual([]);
    const registered = new Set(routes.map((r) => `${r.method} ${r.path}`));
    const stale = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`))
      .filter((op) => !registered.has(op) && !op.endsWith(' /admin/queues'));
    expect(stale).toEqual([]);
  });

  it('describes error responses (problem+json) and examples', () => {
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const statuses = Object.keys(op.responses);
        expect(
          statuses.some((s) => s.startsWith('2') || s.startsWith('3')),
          `${method} ${path} success`,
        ).toBe(true);
        if (path.startsWith('/v1/')) {
          expect(statuses, `${method} ${path} errors`).toContain('401');
          expect(statuses, `${method} ${path} errors`).toContain('503');
        }
        if (op.requestBody?.content?.['application/json']) {
          expect(statuses, `${method} ${path}`).toContain('400');
          expect(op.requestBody.content['application/json'].example, `${method} ${path} request example`).toBeDefined();
        }
        for (const [status, response] of Object.entries(op.responses as Record<string, any>)) {
          const json = response.content?.['application/json'];
          if (json) expect(json.example, `${method} ${path} ${status} example`).toBeDefined();
        }
      }
    }
    const problem = doc.components.responses.BadRequest.content['application/problem+json'];
    expect(problem.example.code).toBe('validation_failed');
    expect(doc.paths['/v1/campaigns'].post.requestBody.content['application/json'].example.name).toBeTruthy();
    expect(doc.paths['/v1/generations/{id}'].get.responses['200'].content['application/json'].example.progress).toBeTypeOf('number');
  });

  it('takes request schemas from the zod schemas the routes validate with', async () => {
    const body = doc.paths['/v1/campaigns/{id}/generations'].post.requestBody.content['application/json'].schema;
    expect(body.properties.count).toMatchObject({ type: 'integer', exclusiveMinimum: 0, maximum: 50_000_000 });
    expect(body.required).toEqual(['count']);
    expect(body.additionalProperties).toBe(false);
    // The same limits the route enforces.
    const over = await p.call('/v1/campaigns/00000000-0000-4000-8000-000000000000/generations', {
      method: 'POST',
      json: { count: 50_000_001 },
    });
    expect(over.status).toBe(400);
    const create = doc.paths['/v1/campaigns'].post.requestBody.content['application/json'].schema;
    expect(create.required).toEqual(['name']);
    expect(create.properties.code_config.properties.pattern.maxLength).toBe(64);
    const list = doc.paths['/v1/campaigns'].get.parameters.find((q: { name: string }) => q.name === 'limit');
    expect(list).toMatchObject({ in: 'query', schema: { maximum: 1000 } });
  });

  it('serves a browsable reference at /docs from the platform itself', async () => {
    const redirect = await fetch(`${p.url}/docs`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    const html = await fetch(`${p.url}/docs/`);
    expect(html.status).toBe(200);
    const text = await html.text();
    expect(text).toContain('swagger-ui-bundle.js');
    expect(text).not.toMatch(/https?:\/\/(unpkg|cdn|cdnjs)/);
    const init = await (await fetch(`${p.url}/docs/swagger-initializer.js`)).text();
    expect(init).toContain("url: '/openapi.json'");
    const bundle = await fetch(`${p.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toContain('javascript');
  });
});
