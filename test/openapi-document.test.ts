import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './support/stack.js';

let stack: TestStack;
beforeAll(async () => { stack = await startTestStack(); });
afterAll(() => stack?.close());

interface RouterLayer { route?: { path: string; methods: Record<string, boolean> } }

describe('OpenAPI 3.1 document', () => {
  it('describes every route the API serves under /openApi, and nothing else', async () => {
    const doc = (await (await fetch(`${stack.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const { openApiRouter } = await import('../src/api/routes/openapi.js');
    const router = openApiRouter({} as never) as unknown as { stack: RouterLayer[] };
    const served = router.stack
      .filter((layer) => layer.route?.methods.post || layer.route?.methods.get)
      .map((layer) => ({ path: `/openApi${layer.route!.path}`, method: layer.route!.methods.post ? 'post' : 'get' }));
    const openApiRoutes = served.filter(({ path }) => path.startsWith('/openApi/'));
    expect(openApiRoutes.length).toBeGreaterThanOrEqual(20);
    expect(Object.keys(doc.paths).sort()).toEqual(openApiRoutes.map(({ path }) => path).sort());
    for (const { path, method } of openApiRoutes) expect(doc.paths[path]![method], `${method} ${path}`).toBeDefined();
  });

  it('documents request bodies from the validating schemas, and serves a browsable page', async () => {
    const doc = (await (await fetch(`${stack.url}/openapi.json`)).json()) as {
      paths: Record<string, { post: { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown>; required?: string[] } }> } } }>;
    };
    const saveJob = doc.paths['/openApi/saveJob']!.post.requestBody.content['application/json']!.schema;
    expect(saveJob.required).toEqual(expect.arrayContaining(['jobName', 'timeExpressionType', 'executeType', 'processorType', 'processorInfo']));
    expect(saveJob.properties.executeType).toMatchObject({ enum: ['STANDALONE', 'BROADCAST', 'MAP_REDUCE', 'MAP'] });
    const page = await fetch(`${stack.url}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/docs/start.js');
    expect(await (await fetch(`${stack.url}/docs/start.js`)).text()).toContain('/openapi.json');
    expect((await fetch(`${stack.url}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
  });
});
