import { runToExit } from '../harness/index.js';

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The `RESULT {...}` line of a script run with --json, parsed. */
  result?: Record<string, any>;
}

/** Runs one of scripts/*.ts as a user would (through tsx), in its own process. */
export async function runScript(script: string, args: string[]): Promise<ScriptRun> {
  const { code, stdout, stderr } = await runToExit(process.execPath, ['--import', 'tsx', script, ...args], { env: { ...process.env, NODE_OPTIONS: '' } });
  const line = stdout.split('\n').find((candidate) => candidate.startsWith('RESULT '));
  return { code, stdout, stderr, result: line ? JSON.parse(line.slice('RESULT '.length)) : undefined };
}
