import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';

/** Where `npm run openapi` writes them, from the repository's root; a test checks both are current. */
export const OPENAPI_JSON = 'openapi.json';
export const CLIENT_SCHEMA = 'packages/payments-client/src/schema.ts';

/** The TypeScript types of every path and schema of the document, which openapi-fetch checks calls against. */
export async function renderClientSchema(openApiJson: string): Promise<string> {
  const types = astToString(await openapiTS(JSON.parse(openApiJson) as OpenAPI3));
  return `// Generated from ${OPENAPI_JSON} by \`npm run openapi\` (openapi-typescript). Do not edit.\n\n${types}`;
}
