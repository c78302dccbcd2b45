import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { campaignViewSchema } from '../../src/campaigns/schemas.ts';
import { type DeclaredOperation, type RouteTarget, route } from '../../src/http/operation.ts';
import { errorHandler } from '../../src/http/problem.ts';
import { jsonResponseProblems, takeResponseViolations } from '../../src/http/response-contract.ts';
import { NotFoundError } from '../../src/shared/errors.ts';
import { createLogger } from '../../src/shared/logger.ts';

const view = campaignViewSchema.parse({
  id: '0f5c1a52-3c1e-4b8e-9a47-2a4f0e1d9b11',
  name: 'Spring sale',
  code_config: {},
  code_template: 'SPRING-####',
  charset: 'ABC',
  allow_guessable: false,
  active: true,
  status: 'active',
  start_date: null,
  expiration_date: null,
  timezone: 'UTC',
  rules: {},
  issued_count: 0,
  budget: null,
  budget_usage: null,
  customer_identity: 'id',
  metadata: {},
  created_at: '2026-03-01T09:30:00.000Z',
  updated_at: '2026-03-01T09:30:00.000Z',
});

/** What a handler could answer if its view drifted from the documented shape (types bypassed, as a JS caller would). */
const drifts: Record<string, unknown> = {
  valid: view,
  missing: { ...view, charset: undefined },
  undocumented: { ...view, space_key: 'abc' },
  wrongType: { ...view, issued_count: '1000' },
  badTimestamp: { ...view, created_at: 'yesterday' },
};

describe('response validation against the declared schemas', () => {
  let url: string;
  let close: () => Promise<void>;
  let op: DeclaredOperation;

  beforeAll(async () => {
    const app = express();
    const router = express.Router();
    const target: RouteTarget = { router, prefix: '/v1', operations: [], guard: () => [], validateResponses: true };
    route(
      target,
      {
        method: 'get',
        path: '/campaigns/:id',
        tag: 'campaigns',
        params: { id: { description: 'A drift name' } },
        summary: 'Get a campaign',
        responses: { 200: { description: 'The campaign', schema: campaignViewSchema } },
      },
      ({ params }) => {
        if (params.id === 'teapot') return { status: 418, body: view } as never;
        if (params.id === 'unknown') throw new NotFoundError('campaign', params.id);
        return { status: 200, body: drifts[params.id] as typeof view };
      },
    );
    op = target.operations[0] as DeclaredOperation;
    app.use('/v1', router);
    app.use(errorHandler(createLogger('silent')));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise((resolve) => server.close(() => resolve()));
  });
  afterAll(async () => {
    await close?.();
  });

  it('passes a response that matches its schema', async () => {
    const res = await fetch(`${url}/v1/campaigns/valid`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(view);
    expect(takeResponseViolations()).toEqual([]);
  });

  it.each([
    ['missing', 'charset'],
    ['undocumented', 'space_key: not documented'],
    ['wrongType', 'issued_count'],
    ['badTimestamp', 'created_at'],
  ])('refuses a drifted view (%s) with a 500 naming the field, and records it', async (drift, field) => {
    const res = await fetch(`${url}/v1/campaigns/${drift}`);
    expect(res.status).toBe(500);
    const body = (await res.json()) as { code: string; detail: string };
    expect(body.code).toBe('response_invalid');
    expect(body.detail).toContain(field);
    const [violation, ...more] = takeResponseViolations();
    expect(more).toEqual([]);
    expect(violation).toMatchObject({ operation: 'GET /v1/campaigns/:id', status: 200 });
    expect(violation?.problems.join()).toContain(field);
  });

  it('refuses a status the operation does not declare', async () => {
    // Without a declared body the reply goes out as it is; the violation is recorded when it finishes.
    const teapot = await fetch(`${url}/v1/campaigns/teapot`);
    expect(teapot.status).toBe(418);
    await teapot.arrayBuffer();
    let recorded = takeResponseViolations();
    for (let i = 0; recorded.length === 0 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 10));
      recorded = takeResponseViolations();
    }
    expect(recorded[0]?.problems).toEqual(['status 418 is not declared']);
    // 404 is not declared at all here (the path parameter names no resource).
    expect((await fetch(`${url}/v1/campaigns/unknown`)).status).toBe(500);
    expect(takeResponseViolations()[0]?.problems).toEqual(['status 404 is not declared']);
  });

  it('checks a problem code against the codes declared for its status', () => {
    const declared: DeclaredOperation = {
      path: '/v1/campaigns/:id',
      spec: { ...op.spec, params: { id: { description: 'Campaign id', resource: 'campaign' } } },
    };
    const notFound = (code: string) => ({ type: `urn:promo:problem:${code}`, title: 'Not Found', status: 404, code, detail: '…' });
    expect(jsonResponseProblems(declared, 404, 'application/problem+json', notFound('campaign_not_found'))).toEqual([]);
    expect(jsonResponseProblems(declared, 404, 'application/problem+json', notFound('spaceship_not_found'))).toEqual([
      'problem code spaceship_not_found is not declared for 404 (declared: campaign_not_found)',
    ]);
    expect(jsonResponseProblems(declared, 404, 'application/json', notFound('campaign_not_found'))).toEqual([
      'content type application/json, expected application/problem+json',
    ]);
    // A serialized Date is what the client gets: the check sees the JSON, not the object.
    expect(jsonResponseProblems(declared, 200, undefined, { ...view, created_at: new Date(view.created_at) })).toEqual([]);
    expect(jsonResponseProblems(declared, 200, undefined, z.NEVER)).not.toEqual([]);
  });
});
