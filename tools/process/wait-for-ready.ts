import { setTimeout as sleep } from 'node:timers/promises';
import type { ManagedProcess } from './managed-process.js';

export interface ReadyOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** The process being waited for: its exit ends the wait at once, and its output goes into the error. */
  process?: ManagedProcess;
}

/** Polls `check` until it answers true; a check that throws counts as not ready yet. */
export async function waitForReady(description: string, check: () => Promise<boolean>, options: ReadyOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const logs = () => (options.process?.logs ? `:\n${options.process.logs}` : '');
  while (Date.now() < deadline) {
    if (options.process && !options.process.isRunning) throw new Error(`${description}: the process exited while starting${logs()}`);
    if (await check().catch(() => false)) return;
    await sleep(options.intervalMs ?? 50);
  }
  throw new Error(`${description}: not ready within ${options.timeoutMs} ms${logs()}`);
}

/** Whether GET `url` answers 2xx. */
export async function answersOk(url: string, timeoutMs = 5000): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await response.body?.cancel();
  return response.ok;
}
