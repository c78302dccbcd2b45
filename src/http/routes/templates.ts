import { linkSettings } from '../../delivery/public-links.ts';
import { createTemplateSchema, previewTemplateSchema, templatePreviewSchema, templateViewSchema } from '../../delivery/schemas.ts';
import {
  createTemplate,
  getTemplate,
  listTemplates,
  renderTemplate,
  sampleContext,
  templateView,
  updateTemplate,
} from '../../delivery/templates.ts';
import { listSchema } from '../../shared/paging.ts';
import type { RouteModule } from '../context.ts';
import { idParam, route } from '../operation.ts';

const templateId = { id: idParam('template') };
const templateExample = {
  name: 'Welcome code',
  channel: 'email',
  subject: 'Your code {{ voucher.code }}',
  text: 'Hi {{ customer.name }}, your code is {{ voucher.code }}',
};

export const templateRoutes: RouteModule = (routes, { platform }) => {
  route(
    routes,
    {
      method: 'post',
      path: '/templates',
      tag: 'templates',
      summary: 'Create a message template (Liquid)',
      body: createTemplateSchema,
      bodyExample: templateExample,
      errors: { 400: ['template_invalid'] },
      responses: { 201: { description: 'Created', schema: templateViewSchema, headers: ['Location'] } },
    },
    async ({ body }) => {
      const t = await createTemplate(platform.db, body);
      return { status: 201, headers: { Location: `/v1/templates/${t.id}` }, body: templateView(t) };
    },
  );

  route(
    routes,
    {
      method: 'get',
      path: '/templates',
      tag: 'templates',
      summary: 'List templates, newest first (at most 500)',
      responses: { 200: { description: 'Templates', schema: listSchema(templateViewSchema) } },
    },
    async () => ({ status: 200, body: { data: (await listTemplates(platform.db)).map(templateView) } }),
  );

  route(
    routes,
    {
      method: 'get',
      path: '/templates/:id',
      tag: 'templates',
      params: templateId,
      summary: 'Get a template',
      responses: { 200: { description: 'The template', schema: templateViewSchema } },
    },
    async ({ params }) => ({ status: 200, body: templateView(await getTemplate(platform.db, params.id)) }),
  );

  route(
    routes,
    {
      method: 'put',
      path: '/templates/:id',
      tag: 'templates',
      params: templateId,
      summary: 'Replace a template',
      body: createTemplateSchema,
      bodyExample: templateExample,
      errors: { 400: ['template_invalid'] },
      responses: { 200: { description: 'Updated', schema: templateViewSchema } },
    },
    async ({ params, body }) => ({ status: 200, body: templateView(await updateTemplate(platform.db, params.id, body)) }),
  );

  route(
    routes,
    {
      method: 'post',
      path: '/templates/:id/preview',
      tag: 'templates',
      params: templateId,
      summary: 'Render a template for a sample (or given) customer and code, exactly as a delivery would',
      body: previewTemplateSchema,
      bodyExample: { customer: { name: 'Ada' }, voucher: { code: 'SPRING-7KQ2-M9XD' } },
      errors: { 422: ['template_render_failed'] },
      responses: { 200: { description: 'Rendered subject and bodies', schema: templatePreviewSchema } },
    },
    async ({ params, body }) => {
      const t = await getTemplate(platform.db, params.id);
      const rendered = await renderTemplate(t, sampleContext(linkSettings(platform.config), body.customer, body.voucher?.code));
      return { status: 200, body: { template_id: t.id, channel: t.channel, ...rendered } };
    },
  );
};
