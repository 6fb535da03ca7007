import { afterAll } from '@jest/globals';
import { stopAll } from '../../tools/process/index.js';

// A test file whose set-up failed halfway, or that forgot one, leaves no process to the next file.
afterAll(() => stopAll());
