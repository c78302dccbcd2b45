import { deliveryOfPublication, deliveryView, getDelivery } from '../../delivery/deliveries.ts';
import { campaignForPublishing, getPublication, publicationView, setPublishingSettings } from '../../publications/publications.ts';
import { publishToCustomer } from '../../publications/publish.ts';
import { createPublicationSchema, publishingSettingsSchema } from '../../publications/schemas.ts';
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
    res.json(publicationView(p, await deliveryOfPublication(platform.db, p.id)));
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
    res.json(deliveryView(await getDelivery(platform.db, req.params.id)));
  });
};
