import { spawn } from 'node:child_process';

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The `RESULT {...}` line of a script run with --json, parsed. */
  result?: Record<string, any>;
}

/** Runs one of scripts/*.ts as a user would (through tsx), in its own process. */
export function runScript(script: string, args: string[]): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { env: { ...process.env, NODE_OPTIONS: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = stdout.split('\n').find((candidate) => candidate.startsWith('RESULT '));
      resolve({ code, stdout, stderr, result: line ? JSON.parse(line.slice('RESULT '.length)) : undefined });
    });
  });
}
