import { type DeliveryRow, deliveryView } from '../../delivery/deliveries.ts';
import { campaignForPublishing, getPublication, publicationView, setPublishingSettings } from '../../publications/publications.ts';
import { publishToCustomer } from '../../publications/publish.ts';
import { createPublicationSchema, publishingSettingsSchema } from '../../publications/schemas.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { isUuid } from '../../shared/uuid.ts';
import type { RouteModule } from '../context.ts';
import { parse } from '../validate.ts';

export const publicationRoutes: RouteModule = (router, { platform }) => {
  router.post('/publications', async (req, res) => {
    const input = parse(createPublicationSchema, req.body);
    const result = await publishToCustomer(platform, input, req.apiKey?.id ?? null);
    res
      .status(result.created ? 201 : 200)
      .location(`/v1/publications/${result.publication.id}`)
      .set('Idempotent-Replayed', String(!result.created))
      .json(publicationView(result.publication, result.delivery));
  });

  router.get('/publications/:id', async (req, res) => {
    const p = await getPublication(platform.db, req.params.id);
    const { rows } = await platform.db.query<{ id: string; status: string }>(
      'select id, status from deliveries where publication_id = $1 order by created_at limit 1',
      [p.id],
    );
    res.json(publicationView(p, rows[0] ?? null));
  });

  router.get('/campaigns/:id/publishing', async (req, res) => {
    const c = await campaignForPublishing(platform.db, req.params.id);
    res.json({ campaign_id: c.id, ...c.settings });
  });

  router.put('/campaigns/:id/publishing', async (req, res) => {
    const input = parse(publishingSettingsSchema, req.body);
    res.json({ campaign_id: req.params.id, ...(await setPublishingSettings(platform.db, req.params.id, input)) });
  });

  router.get('/deliveries/:id', async (req, res) => {
    const { rows } = isUuid(req.params.id)
      ? await platform.db.query<DeliveryRow>('select * from deliveries where id = $1', [req.params.id])
      : { rows: [] };
    if (!rows[0]) throw new NotFoundError('delivery', req.params.id);
    res.json(deliveryView(rows[0]));
  });
};
