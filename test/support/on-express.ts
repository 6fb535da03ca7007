// The `service (express)` jest project: test apps run on @nestjs/platform-express (see test-app.ts).
process.env.TEST_HTTP_ADAPTER = 'express';
