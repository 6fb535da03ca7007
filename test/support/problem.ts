import { expect } from '@jest/globals';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** The parts of an HTTP answer (supertest's Response has them) a problem is judged by. */
interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/**
 * A problem document as docs/promises.md ("Errors") describes it: its content type, `type`, `title`,
 * `status` (the answer's), `detail` and an UPPER_SNAKE `code`, and nothing internal (no stack
 * trace, no source path). `status` and `code`, when given, must be exactly these. Returns the
 * document for further checks.
 */
export function expectProblem(response: Answer, status?: number, code?: string): Record<string, unknown> {
  if (status !== undefined) expect(response.status).toBe(status);
  expect(response.headers['content-type']).toBe(PROBLEM_CONTENT_TYPE);
  const problem = JSON.parse(response.text) as Record<string, unknown>;
  expect(problem).toEqual(
    expect.objectContaining({
      type: expect.any(String),
      title: expect.any(String),
      status: response.status,
      detail: expect.any(String),
      code: code ?? expect.stringMatching(/^[A-Z0-9_]+$/),
    }),
  );
  expect(response.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|\.js:\d+/);
  return problem;
}
