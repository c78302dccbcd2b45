import express from 'express';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type DeclaredOperation, idParams, type RouteTarget, routesOf } from '../../src/http/operation.ts';

function target(): RouteTarget {
  return { router: express.Router(), prefix: '/v1', operations: [] as DeclaredOperation[], guard: () => [], validateResponses: false };
}

const view = z.object({ id: z.string() });

describe('resource-scoped routes', () => {
  it("declares a resource's path parameters and shared errors on each of its routes, its own errors after them", () => {
    const routes = target();
    const api = routesOf(routes, { tag: 'things' });
    const thing = api.resource('/things/:id', 'thing', { errors: { 404: ['thing_gone'], 409: ['thing_locked'] } });
    thing.read({ summary: 'Get a thing', ok: ['The thing', view] }, async ({ id }) => ({ id }));
    thing.post('/archive', { summary: 'Archive a thing', errors: { 409: ['thing_archived'] }, ok: ['Archived', view] }, ({ params }) => ({
      status: 200,
      body: { id: params.id },
    }));
    thing.patch({ summary: 'Update a thing', ok: ['Updated', view] }, ({ params }) => ({ status: 200, body: { id: params.id } }));
    thing
      .resource('/parts/:partId', { partId: { description: 'A part' } })
      .remove({ summary: 'Remove a part', noContent: 'Removed' }, async () => {});

    expect(routes.operations.map((op) => [op.spec.method, op.path, Object.keys(op.spec.params ?? {})])).toEqual([
      ['get', '/v1/things/:id', ['id']],
      ['post', '/v1/things/:id/archive', ['id']],
      ['patch', '/v1/things/:id', ['id']],
      ['delete', '/v1/things/:id/parts/:partId', ['id', 'partId']],
    ]);
    expect(routes.operations[0]?.spec.params).toEqual(idParams('thing'));
    expect(routes.operations[1]?.spec.errors).toEqual({ 404: ['thing_gone'], 409: ['thing_locked', 'thing_archived'] });
    expect(routes.operations[2]?.spec.errors).toEqual({ 404: ['thing_gone'], 409: ['thing_locked'] });
    expect(routes.operations[3]?.spec.responses).toEqual({ 204: { description: 'Removed' } });
  });

  it('refuses a resource named by its id whose path does not end in /:id', () => {
    const api = routesOf(target(), { tag: 'things' });
    expect(() => api.resource('/things/:thingId', 'thing')).toThrow(/ends in \/:id/);
  });
});
