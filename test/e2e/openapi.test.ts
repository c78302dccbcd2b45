import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { PLATFORM_EVENT_TYPES } from '../../src/events/catalog.ts';
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
      // Bull Board's own UI and JSON endpoints are one documented page, and so are the console's pages.
      // The Voucherify-compatible API is Voucherify's documented API (docs/migrating-from-voucherify.md), not this document's.
      .filter(
        (r) =>
          !r.path.startsWith('/admin/queues/') &&
          !r.path.startsWith('/docs/') &&
          !r.path.startsWith('/console/') &&
          !r.path.startsWith('/voucherify/'),
      );
    expect(routes.length).toBeGreaterThan(20);
    const missing = routes.filter((r) => !doc.paths[r.path]?.[r.method]).map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(missing).toEqual([]);
    const registered = new Set(routes.map((r) => `${r.method} ${r.path}`));
    const stale = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`))
      .filter((op) => !registered.has(op) && !op.endsWith(' /admin/queues') && !op.endsWith(' /console'));
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

  it('is assembled from the operations the routes declare, examples included', () => {
    const { operations } = createApp(p.platform);
    expect(operations.length).toBe(Object.values(doc.paths as Record<string, object>).reduce((n, ops) => n + Object.keys(ops).length, 0));
    // An example that does not match its schema is documentation drifting from the code.
    const examples: { where: string; schema: z.ZodType; example: unknown }[] = [];
    for (const { spec, path } of operations) {
      if (spec.body && spec.bodyExample !== undefined)
        examples.push({ where: `${spec.method} ${path} body`, schema: spec.body, example: spec.bodyExample });
      for (const [status, response] of Object.entries(spec.responses)) {
        for (const example of (response.schema?.meta()?.examples as unknown[] | undefined) ?? []) {
          examples.push({ where: `${spec.method} ${path} ${status}`, schema: response.schema as z.ZodType, example });
        }
      }
    }
    expect(examples.length).toBeGreaterThan(20);
    const wrong = examples.filter((e) => !e.schema.safeParse(e.example).success).map((e) => e.where);
    expect(wrong).toEqual([]);
  });

  it('documents the fields as the code answers them (the two that had drifted)', () => {
    expect(doc.components.schemas.FailedJob.properties).toHaveProperty('attempts_made');
    expect(JSON.stringify(doc)).not.toContain('attempisoTsmade');
    const events = doc.paths['/v1/vouchers/{code}/events'].get.responses['200'].content['application/json'].example;
    expect(events.data[0].type).toBe('redeemed');
    expect(doc.components.schemas.VoucherEvent.properties.type.enum).toContain('redeemed');
    expect(JSON.stringify(doc)).not.toContain('"voucher.redeemed"');
  });

  it('documents every event type of the catalogue in the webhooks section', () => {
    expect(Object.keys(doc.webhooks).sort()).toEqual([...PLATFORM_EVENT_TYPES, 'business-event'].sort());
    for (const type of PLATFORM_EVENT_TYPES) {
      const body = doc.webhooks[type].post.requestBody.content['application/json'];
      const schema = doc.components.schemas[body.schema.$ref.replace('#/components/schemas/', '')];
      expect(schema.properties.type.const, type).toBe(type);
      expect(schema.required).toEqual(['id', 'type', 'created_at', 'data']);
      expect(body.example.type).toBe(type);
    }
    // The payloads reuse the resources' schemas: one shape, one schema.
    expect(doc.components.schemas.VoucherCreatedEvent.properties.data.$ref).toBe('#/components/schemas/Voucher');
    expect(doc.paths['/v1/events'].get.responses['200'].content['application/json'].schema.properties.data.items.anyOf.length).toBe(
      PLATFORM_EVENT_TYPES.length + 1,
    );
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
