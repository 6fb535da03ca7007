// Compiles an ESM-only dependency to CommonJS for jest on Node 20, which cannot require(esm)
// (content-disposition 3, required by @fastify/static, which Swagger UI and the playground use on Fastify).
const { transformSync } = require('esbuild');

module.exports = {
  process(source, filename) {
    return { code: transformSync(source, { format: 'cjs', loader: 'js', sourcefile: filename, target: 'node20' }).code };
  },
};
