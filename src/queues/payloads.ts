export interface GenerationFinalizePayload {
  generationId: string;
}

export interface GenerationChunkPayload {
  generationId: string;
  chunkIndex: number;
  size: number;
}
