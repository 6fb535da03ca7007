import { setTimeout as sleep } from 'node:timers/promises';
import type { ManagedProcess } from './managed-process.js';

export interface WaitOptions {
  /** 10 s by default. */
  timeoutMs?: number;
  /** 25 ms by default. */
  intervalMs?: number;
  /** The process being waited for: its exit ends the wait at once, and its output goes into the error. */
  process?: ManagedProcess;
}

/**
 * Polls `condition` until it holds, or fails naming `description` ("… waiting until <description>");
 * a condition that throws does not hold yet. `options` may be the timeout alone, in ms.
 */
export async function waitFor(description: string, condition: () => Promise<boolean> | boolean, options: number | WaitOptions = {}): Promise<void> {
  const { timeoutMs = 10_000, intervalMs = 25, process } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  const logs = () => (process?.logs ? `:\n${process.logs}` : '');
  while (Date.now() < deadline) {
    if (process && !process.isRunning) throw new Error(`the process exited while waiting until ${description}${logs()}`);
    if (
      await Promise.resolve()
        .then(condition)
        .catch(() => false)
    )
      return;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${description}${logs()}`);
}

/** Whether GET `url` answers 2xx. */
export async function answersOk(url: string, timeoutMs = 5000): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await response.body?.cancel();
  return response.ok;
}
