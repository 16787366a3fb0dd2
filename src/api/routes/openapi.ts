import express, { Router, type Request, type Response } from 'express';
import { InstanceStatus } from '../../domain/enums.js';
import type { AppService } from '../app-service.js';
import type { AuthenticatedApp, TokenService } from '../auth.js';
import { AUTH_HEADERS, requireApp } from '../auth.js';
import { instanceInfoDTO, jobInfoDTO } from '../dto.js';
import { ok } from '../envelope.js';
import { AuthError, ErrorCode, InvalidRequestError } from '../errors.js';
import type { InstanceService } from '../instance-service.js';
import type { JobService } from '../job-service.js';
import { requestHash } from '../job-service.js';
import { authAppSchema, instanceIdSchema, jobIdSchema, parse, runJobSchema, saveJobSchema } from '../schemas.js';

export interface OpenApiDeps {
  apps: AppService;
  tokens: TokenService;
  jobs: JobService;
  instances: InstanceService;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The Idempotency-Key of a mutating call, bound to a hash of its body. */
function idempotencyOf(req: Request, body: unknown): { key: string; hash: string } | null {
  const key = req.get('Idempotency-Key');
  if (key === undefined) return null;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new InvalidRequestError('Idempotency-Key must be 1-255 visible ASCII characters');
  }
  return { key, hash: requestHash(body) };
}

const appOf = (res: Response) => res.locals.app as AuthenticatedApp;

const bodyParsers = [express.json({ limit: '1mb' }), express.urlencoded({ extended: false, limit: '1mb' })];

/** PowerJob's OpenAPI (`POST /openApi/*`), JSON or form bodies, `{success, data, message}` answers. */
export function openApiRouter({ apps, tokens, jobs, instances }: OpenApiDeps): Router {
  const router = Router();

  router.post('/authApp', ...bodyParsers, async (req, res) => {
    res.setHeader(AUTH_HEADERS.verdict, 'false');
    const { appName, encryptedPassword, encryptType } = parse(authAppSchema, req.body);
    const app = await apps.byName(appName);
    if (!app) throw new AuthError(`app "${appName}" does not exist; create it first (POST /admin/apps or TEMPOJOB_APPS)`, ErrorCode.INVALID_APP);
    if (!(await apps.verifyPassword(app, encryptedPassword, encryptType))) {
      throw new AuthError(`incorrect password for app "${appName}"`, ErrorCode.INCORRECT_PASSWORD);
    }
    res.setHeader(AUTH_HEADERS.verdict, 'true');
    res.json(ok({ appId: app.appId, token: await tokens.issue(app), extra: null }));
  });

  router.use(requireApp(apps, tokens), ...bodyParsers);

  router.post('/saveJob', async (req, res) => {
    const request = parse(saveJobSchema, req.body);
    res.json(ok(await jobs.save(appOf(res), request, idempotencyOf(req, req.body))));
  });
  router.post('/fetchJob', async (req, res) => {
    const { jobId } = parse(jobIdSchema, req.body);
    res.json(ok(jobInfoDTO(await jobs.get(appOf(res), jobId))));
  });
  router.post('/fetchAllJob', async (_req, res) => {
    res.json(ok((await jobs.list(appOf(res))).map(jobInfoDTO)));
  });
  for (const [path, status] of [['/enableJob', 'ENABLE'], ['/disableJob', 'DISABLE'], ['/deleteJob', 'DELETED']] as const) {
    router.post(path, async (req, res) => {
      const { jobId } = parse(jobIdSchema, req.body);
      await jobs.setStatus(appOf(res), jobId, status);
      res.json(ok(null));
    });
  }
  router.post('/runJob', async (req, res) => {
    const request = parse(runJobSchema, req.body);
    res.json(ok(await instances.run(appOf(res), request, idempotencyOf(req, request))));
  });
  router.post('/fetchInstanceStatus', async (req, res) => {
    const { instanceId } = parse(instanceIdSchema, req.body);
    res.json(ok(InstanceStatus.codes[(await instances.get(appOf(res), instanceId)).status]));
  });
  router.post('/fetchInstanceInfo', async (req, res) => {
    const { instanceId } = parse(instanceIdSchema, req.body);
    res.json(ok(instanceInfoDTO(await instances.get(appOf(res), instanceId))));
  });
  for (const [path, action] of [['/stopInstance', 'stop'], ['/cancelInstance', 'cancel'], ['/retryInstance', 'retry']] as const) {
    router.post(path, async (req, res) => {
      const { instanceId } = parse(instanceIdSchema, req.body);
      await instances[action](appOf(res), instanceId);
      res.json(ok(null));
    });
  }
  router.all('/{*rest}', (req) => {
    throw new InvalidRequestError(`no endpoint ${req.method} ${req.originalUrl}; the OpenAPI takes POST /openApi/<operation>`);
  });
  return router;
}
