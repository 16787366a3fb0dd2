import { timingSafeEqual } from 'node:crypto';
import express, { Router } from 'express';
import type { AppService } from '../app-service.js';
import { ApiError } from '../errors.js';
import { createAppSchema, parse } from '../schemas.js';

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Operator endpoints, guarded by `Authorization: Bearer $TEMPOJOB_ADMIN_TOKEN`. */
export function adminRouter(apps: AppService, adminToken: string | undefined): Router {
  const router = Router();
  router.use((req, _res, next) => {
    if (!adminToken) throw new ApiError('admin endpoints are disabled: set TEMPOJOB_ADMIN_TOKEN to enable them', null, 403);
    const header = req.get('Authorization') ?? '';
    if (!header.startsWith('Bearer ') || !sameSecret(header.slice(7).trim(), adminToken)) {
      throw new ApiError('send Authorization: Bearer <TEMPOJOB_ADMIN_TOKEN>', null, 401);
    }
    next();
  });
  router.use(express.json());
  router.post('/apps', async (req, res) => {
    const { appName, password } = parse(createAppSchema, req.body);
    const app = await apps.put(appName, password, 'create');
    res.status(201).json({ success: true, data: { appId: app.appId, appName: app.appName }, message: null, code: null });
  });
  return router;
}
