import { linkSettings } from '../../delivery/public-links.ts';
import { createTemplateSchema, previewTemplateSchema } from '../../delivery/schemas.ts';
import {
  createTemplate,
  getTemplate,
  listTemplates,
  renderTemplate,
  sampleContext,
  templateView,
  updateTemplate,
} from '../../delivery/templates.ts';
import type { RouteModule } from '../context.ts';
import { parse } from '../validate.ts';

export const templateRoutes: RouteModule = (router, { platform }) => {
  router.post('/templates', async (req, res) => {
    const t = await createTemplate(platform.db, parse(createTemplateSchema, req.body));
    res.status(201).location(`/v1/templates/${t.id}`).json(templateView(t));
  });

  router.get('/templates', async (_req, res) => {
    res.json({ data: (await listTemplates(platform.db)).map(templateView) });
  });

  router.get('/templates/:id', async (req, res) => {
    res.json(templateView(await getTemplate(platform.db, req.params.id)));
  });

  router.put('/templates/:id', async (req, res) => {
    res.json(templateView(await updateTemplate(platform.db, req.params.id, parse(createTemplateSchema, req.body))));
  });

  /** Renders a saved template for a sample (or given) customer and code, exactly as a delivery would. */
  router.post('/templates/:id/preview', async (req, res) => {
    const input = parse(previewTemplateSchema, req.body);
    const t = await getTemplate(platform.db, req.params.id);
    const rendered = await renderTemplate(t, sampleContext(linkSettings(platform.config), input.customer, input.voucher?.code));
    res.json({ template_id: t.id, channel: t.channel, ...rendered });
  });
};
