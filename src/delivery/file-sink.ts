import { access } from 'node:fs/promises';

/** For file-backed providers: a message already written is "sent" (reconciliation after a crash asks this). */
export async function sentFile(file: string): Promise<{ providerMessageId: string } | null> {
  return (await access(file).then(
    () => true,
    () => false,
  ))
    ? { providerMessageId: file }
    : null;
}
