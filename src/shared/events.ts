/** Who caused a change: an API key id, or a named system job. */
export type Actor = string | null;
