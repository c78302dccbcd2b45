export interface GenerationFinalizePayload {
  generationId: string;
}

export interface GenerationChunkPayload {
  generationId: string;
  chunkIndex: number;
  size: number;
}

export interface DeliverySendPayload {
  deliveryId: string;
}

export interface DistributionChunkPayload {
  distributionId: string;
  chunkIndex: number;
}

export interface DistributionFinalizePayload {
  distributionId: string;
}

export interface BusinessEventPayload {
  eventId: string;
}

export interface WebhookDeliverPayload {
  deliveryId: string;
  /** Which round of attempts (a manual retry or a replay starts a new one) and which attempt in it. */
  round: number;
  attempt: number;
  /** Epoch ms of the endpoint send slot this job already reserved before it was delayed. */
  slotAt?: number;
  /** Set by the relay, whose transaction may not have committed yet when the job starts. */
  eventId?: string;
}

export interface WebhookReplayPayload {
  endpointId: string;
  since: string;
  requestedAt: string;
}

/** Scheduled maintenance runs (expiry sweep, daily report, export cleanup) carry no ids: they act on what is due. */
export type MaintenancePayload = Record<string, never>;

export interface ExportRunPayload {
  exportId: string;
}
