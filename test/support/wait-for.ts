import { setTimeout as sleep } from 'node:timers/promises';

/** Polls until the condition holds, or fails with the description after the timeout. */
export async function waitFor(description: string, condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition().catch(() => false)) return;
    await sleep(25);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${description}`);
}
