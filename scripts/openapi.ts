#!/usr/bin/env -S npx tsx
/**
 * `npm run openapi` (after `nest build`): writes the service's OpenAPI document to openapi.json and
 * the typed client's schema generated from it to packages/payments-client/src/schema.ts. Commit both; a test fails
 * while either is behind the code.
 */
import { writeFileSync } from 'node:fs';
import { runToSuccess } from '../test/harness/index.js';
import { CLIENT_SCHEMA, OPENAPI_JSON, renderClientSchema } from './lib/openapi-artifacts.js';

const openApiJson = await runToSuccess(process.execPath, ['dist/openapi-document.js'], { env: process.env });
writeFileSync(OPENAPI_JSON, openApiJson);
writeFileSync(CLIENT_SCHEMA, await renderClientSchema(openApiJson));
console.log(`Wrote ${OPENAPI_JSON} and ${CLIENT_SCHEMA}`);
