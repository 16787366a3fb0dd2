import { z } from 'zod';
import { authAppOperation, operations, type OperationSpec } from './operations.js';

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

export function openApiDocument() {
  const paths: Record<string, unknown> = {
    '/openApi/authApp': { post: operationObject('authApp', authAppOperation, false) },
  };
  for (const [name, spec] of Object.entries(operations)) {
    paths[`/openApi/${name}`] = { post: operationObject(name, spec, true) };
  }
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
