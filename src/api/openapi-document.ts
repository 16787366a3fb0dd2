import { z } from 'zod';
import { authAppOperation, operations, type OperationSpec } from './operations.js';
import { fetchInstanceLogSchema } from './schemas.js';

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests
 * (`operations.ts`), served at /openapi.json and browsable at /docs.
 */

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

const envelope = (data: Record<string, unknown>) => ({
  type: 'object',
  required: ['success', 'data', 'message'],
  properties: {
    success: { type: 'boolean' },
    data: { anyOf: [data, { type: 'null' }] },
    message: { type: ['string', 'null'], description: 'what went wrong and how to fix it, when success is false' },
    code: { type: ['string', 'null'], description: "PowerJob's error code (e.g. -401 invalid token), when there is one" },
  },
});

function operationObject(name: string, spec: OperationSpec, authenticated: boolean) {
  const body = jsonSchema(spec.input, 'input');
  return {
    operationId: name,
    summary: spec.summary,
    ...(authenticated ? { security: [{ appId: [], accessToken: [] }] } : { security: [] }),
    parameters: spec.mutating
      ? [{
        name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 },
        description: 'The same key returns the first call\'s outcome and changes nothing again',
      }]
      : [],
    requestBody: {
      required: false,
      content: spec.form
        ? { 'application/x-www-form-urlencoded': { schema: body }, 'application/json': { schema: body } }
        : { 'application/json': { schema: body }, 'application/x-www-form-urlencoded': { schema: body } },
    },
    responses: {
      200: {
        description: 'PowerJob envelope; business errors are HTTP 200 with success=false',
        headers: { 'X-POWERJOB-AUTH-PASSED': { schema: { type: 'string', enum: ['true', 'false'] } } },
        content: { 'application/json': { schema: envelope(jsonSchema(spec.output, 'output')) } },
      },
    },
  };
}

/** The log tail and download: GETs whose query parameters are fetchInstanceLog's filters. */
function logGet(operationId: string, summary: string, extra: object[], content: object) {
  const { properties = {}, required = [] } = jsonSchema(fetchInstanceLogSchema.omit({ index: true }), 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return {
    operationId,
    summary,
    security: [{ appId: [], accessToken: [] }],
    parameters: [
      ...Object.entries(properties).map(([name, schema]) => ({ name, in: 'query', required: required.includes(name), schema })),
      ...extra,
    ],
    responses: {
      200: { description: summary, content },
      default: { description: 'a refusal (unknown instance, bad filter) as the JSON envelope', content: { 'application/json': { schema: envelope({}) } } },
    },
  };
}

export function openApiDocument() {
  const paths: Record<string, unknown> = {
    '/openApi/authApp': { post: operationObject('authApp', authAppOperation, false) },
  };
  for (const [name, spec] of Object.entries(operations)) {
    paths[`/openApi/${name}`] = { post: operationObject(name, spec, true) };
  }
  paths['/openApi/instanceLog/tail'] = {
    get: logGet('tailInstanceLog', 'The live tail of an instance\'s log as Server-Sent Events: one `line` event per line (id: the line\'s store id; data: '
      + '{id, time, level, attempt, workerId, taskId, message, fields, text}), resumed after `Last-Event-ID`; an `end` event once the run ended and its last lines arrived', [
      { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' }, description: 'resume after this line id (EventSource sends it on reconnect)' },
      { name: 'after', in: 'query', required: false, schema: { type: 'integer' }, description: 'resume after this line id (for clients that cannot set headers)' },
    ], { 'text/event-stream': { schema: { type: 'string' } } }),
  };
  paths['/openApi/instanceLog/download'] = {
    get: logGet('downloadInstanceLog', 'An instance\'s whole log (under the filters) as a plain-text file', [], { 'text/plain': { schema: { type: 'string' } } }),
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'tempojob OpenAPI',
      version: '1.0.0',
      description: "PowerJob's OpenAPI on Temporal. Authenticate with /openApi/authApp, then send X-POWERJOB-APP-ID and X-POWERJOB-ACCESS-TOKEN.",
    },
    paths,
    components: {
      securitySchemes: {
        appId: { type: 'apiKey', in: 'header', name: 'X-POWERJOB-APP-ID' },
        accessToken: { type: 'apiKey', in: 'header', name: 'X-POWERJOB-ACCESS-TOKEN' },
      },
    },
  };
}
