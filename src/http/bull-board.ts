import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import type { QueueSet } from '../queues/queues.ts';

export const BULL_BOARD_PATH = '/admin/queues';

/** Bull Board over every queue. Mounted behind admin authentication by the app. */
export function bullBoardRouter(queues: QueueSet): Router {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.all().map((q) => new BullMQAdapter(q)),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'promo' } },
  });
  return adapter.getRouter() as Router;
}
