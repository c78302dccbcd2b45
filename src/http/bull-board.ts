import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { RequestHandler, Router } from 'express';
import type { QueueSet } from '../queues/queues.ts';

export const BULL_BOARD_PATH = '/admin/queues';

function board(queues: QueueSet, readOnlyMode: boolean): Router {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.all().map((q) => new BullMQAdapter(q, { readOnlyMode })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: readOnlyMode ? 'promo (read-only)' : 'promo' } },
  });
  return adapter.getRouter() as Router;
}

/**
 * Bull Board over every queue, mounted behind operator authentication by the app: an admin gets the full board, a
 * viewer a read-only one (no action buttons; its actions are refused by the access rule anyway).
 */
export function bullBoardRouter(queues: QueueSet): RequestHandler {
  const full = board(queues, false);
  const readOnly = board(queues, true);
  return (req, res, next) => (req.apiKey?.role === 'admin' ? full : readOnly)(req, res, next);
}
