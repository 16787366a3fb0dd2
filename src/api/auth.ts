import type { NextFunction, Request, Response } from 'express';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import type { AppRecord } from '../contract/workflows.js';
import type { AppService } from './app-service.js';
import { AuthError, ErrorCode } from './errors.js';

/** PowerJob 5.x header names, spelled exactly as its Java client looks them up. */
export const AUTH_HEADERS = {
  appId: 'X-POWERJOB-APP-ID',
  token: 'X-POWERJOB-ACCESS-TOKEN',
  verdict: 'X-POWERJOB-AUTH-PASSED',
} as const;

/** Access tokens: HS256 JWTs naming the app and its password version. */
export class TokenService {
  private readonly key: Uint8Array;

  constructor(secret: string, private readonly ttlSeconds: number) {
    this.key = new TextEncoder().encode(secret);
  }

  issue(app: AppRecord): Promise<string> {
    return new SignJWT({ appId: app.appId, pv: app.passwordVersion })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(app.appName)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + this.ttlSeconds)
      .sign(this.key);
  }

  async verify(token: string): Promise<{ appId: number; appName: string; passwordVersion: number }> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      if (typeof payload.appId !== 'number' || typeof payload.pv !== 'number' || !payload.sub) {
        throw new AuthError('invalid token: it was not issued by this server; call /openApi/authApp again', ErrorCode.INVALID_TOKEN);
      }
      return { appId: payload.appId, appName: payload.sub, passwordVersion: payload.pv };
    } catch (err) {
      if (err instanceof AuthError) throw err;
      if (err instanceof joseErrors.JWTExpired) {
        throw new AuthError('token expired: call /openApi/authApp for a new one', ErrorCode.TOKEN_EXPIRED);
      }
      throw new AuthError('invalid token: call /openApi/authApp for a new one', ErrorCode.INVALID_TOKEN);
    }
  }
}

export interface AuthenticatedApp {
  appId: number;
  appName: string;
}

/** Binds every /openApi call to the app of its token; the verdict header goes on every response. */
export function requireApp(apps: AppService, tokens: TokenService) {
  return async (req: Request, res: Response, next: NextFunction) => {
    res.setHeader(AUTH_HEADERS.verdict, 'false');
    try {
      const headerAppId = req.get(AUTH_HEADERS.appId);
      const token = req.get(AUTH_HEADERS.token);
      if (!headerAppId) throw new AuthError(`lack_of_appId_in_header: send the ${AUTH_HEADERS.appId} header`, ErrorCode.INVALID_REQUEST);
      if (!token) throw new AuthError(`token_is_empty: send the ${AUTH_HEADERS.token} header (from /openApi/authApp)`, ErrorCode.OPEN_API_AUTH_FAILED);
      const claims = await tokens.verify(token);
      if (String(claims.appId) !== headerAppId.trim()) {
        throw new AuthError(`${AUTH_HEADERS.appId} ${headerAppId} does not match the token's app ${claims.appId}`, ErrorCode.INVALID_REQUEST);
      }
      const app = await apps.byId(claims.appId, claims.passwordVersion);
      if (!app || app.appName !== claims.appName) throw new AuthError(`app ${claims.appId} does not exist`, ErrorCode.INVALID_APP);
      if (app.passwordVersion !== claims.passwordVersion) {
        throw new AuthError('invalid token: the app password changed since it was issued; call /openApi/authApp again', ErrorCode.INVALID_TOKEN);
      }
      res.locals.app = { appId: app.appId, appName: app.appName } satisfies AuthenticatedApp;
      res.setHeader(AUTH_HEADERS.verdict, 'true');
      next();
    } catch (err) {
      next(err);
    }
  };
}
