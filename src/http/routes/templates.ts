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
import { routeModule } from '../context.ts';

const templateExample = {
  name: 'Welcome code',
  channel: 'email',
  subject: 'Your code {{ voucher.code }}',
  text: 'Hi {{ customer.name }}, your code is {{ voucher.code }}',
};

export const templateRoutes = routeModule({ tag: 'templates' }, (api, { platform }) => {
  api.post(
    '/templates',
    {
      summary: 'Create a message template (Liquid)',
      body: createTemplateSchema,
      bodyExample: templateExample,
      errors: { 400: ['template_invalid'] },
      created: ['Created', templateViewSchema, ['Location']],
    },
    async ({ body }) => {
      const t = await createTemplate(platform.db, body);
      return { status: 201, headers: { Location: `/v1/templates/${t.id}` }, body: templateView(t) };
    },
  );

  api.get(
    '/templates',
    { summary: 'List templates, newest first (at most 500)', ok: ['Templates', listSchema(templateViewSchema)] },
    async () => ({ status: 200, body: { data: (await listTemplates(platform.db)).map(templateView) } }),
  );

  const aTemplate = api.resource('/templates/:id', 'template');
  aTemplate.read({ summary: 'Get a template', ok: ['The template', templateViewSchema] }, async ({ id }) =>
    templateView(await getTemplate(platform.db, id)),
  );

  aTemplate.put(
    {
      summary: 'Replace a template',
      body: createTemplateSchema,
      bodyExample: templateExample,
      errors: { 400: ['template_invalid'] },
      ok: ['Updated', templateViewSchema],
    },
    async ({ params, body }) => ({ status: 200, body: templateView(await updateTemplate(platform.db, params.id, body)) }),
  );

  aTemplate.post(
    '/preview',
    {
      summary: 'Render a template for a sample (or given) customer and code, exactly as a delivery would',
      body: previewTemplateSchema,
      bodyExample: { customer: { name: 'Ada' }, voucher: { code: 'SPRING-7KQ2-M9XD' } },
      errors: { 422: ['template_render_failed'] },
      ok: ['Rendered subject and bodies', templatePreviewSchema],
    },
    async ({ params, body }) => {
      const t = await getTemplate(platform.db, params.id);
      const rendered = await renderTemplate(t, sampleContext(linkSettings(platform.config), body.customer, body.voucher?.code));
      return { status: 200, body: { template_id: t.id, channel: t.channel, ...rendered } };
    },
  );
});
