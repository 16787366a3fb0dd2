import { createHash } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Client } from '@temporalio/client';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { APP_DIRECTORY_WORKFLOW_ID } from '../contract/names.js';
import { MemoKey } from '../contract/memo.js';
import { putAppUpdate } from '../contract/messages.js';
import { appDirectoryStartOptions } from '../contract/start-options.js';
import { type AppDirectoryWorkflow, type AppRecord, WorkflowType } from '../contract/workflows.js';
import { isNotFound, updateRefusal } from '../temporal/errors.js';
import { StateConflictError } from './errors.js';

/** How long one API replica trusts its copy of the app table. */
const CACHE_MS = 1_000;

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/**
 * Apps and their credentials. Passwords are kept only as argon2id hashes of their md5
 * (PowerJob's client sends md5(password)), so both `none` and `md5` handshakes verify.
 */
export class AppService {
  private cache: { at: number; apps: AppRecord[] } | undefined;

  constructor(
    private readonly client: Client,
    private readonly coreTaskQueue: string,
  ) {}

  /** The app table; `fresh` bypasses this replica's cache (a miss, or a token newer than it). */
  async list(fresh = false): Promise<AppRecord[]> {
    if (!fresh && this.cache && Date.now() - this.cache.at < CACHE_MS) return this.cache.apps;
    let apps: AppRecord[] = [];
    try {
      const description = await this.client.workflow.getHandle(APP_DIRECTORY_WORKFLOW_ID).describe();
      apps = (description.memo?.[MemoKey.apps] as AppRecord[] | undefined) ?? [];
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.cache = { at: Date.now(), apps };
    return apps;
  }

  /** An app created through another replica a moment ago is found too: a miss re-reads. */
  async byName(appName: string): Promise<AppRecord | undefined> {
    const match = (apps: AppRecord[]) => apps.find((app) => app.appName === appName);
    return match(await this.list()) ?? match(await this.list(true));
  }

  /**
   * The app with this id; with `atLeastVersion`, re-read when the cached password version
   * is older (the token was issued after a password change made through another replica).
   */
  async byId(appId: number, atLeastVersion = 0): Promise<AppRecord | undefined> {
    const match = (apps: AppRecord[]) => apps.find((app) => app.appId === appId);
    const cached = match(await this.list());
    if (cached && cached.passwordVersion >= atLeastVersion) return cached;
    return match(await this.list(true));
  }

  /** Checks a password sent as plaintext (`none`) or as md5 hex (`md5`). */
  async verifyPassword(app: AppRecord, secret: string, encryptType: 'none' | 'md5'): Promise<boolean> {
    const md5 = encryptType === 'md5' ? secret.toLowerCase() : md5Hex(secret);
    return verify(app.passwordHash, md5);
  }

  /** Creates an app; with mode `upsert`, an existing app gets the new password. */
  async put(appName: string, password: string, mode: 'create' | 'upsert'): Promise<AppRecord> {
    const passwordHash = await hash(md5Hex(password));
    const record = await this.client.workflow.executeUpdateWithStart(putAppUpdate, {
      args: [{ appName, passwordHash, mode, now: Date.now() }],
      startWorkflowOperation: new WithStartWorkflowOperation<AppDirectoryWorkflow>(WorkflowType.appDirectory, appDirectoryStartOptions(this.coreTaskQueue)),
    }).catch((err: unknown) => {
      const refusal = updateRefusal(err);
      throw refusal === undefined ? err : new StateConflictError(refusal);
    });
    this.cache = undefined;
    return record;
  }

  /** Start-up seeding (TEMPOJOB_APPS): creates missing apps, updates changed passwords. */
  async seed(apps: { appName: string; password: string }[]): Promise<void> {
    for (const { appName, password } of apps) {
      const existing = await this.byName(appName);
      if (existing && (await this.verifyPassword(existing, password, 'none'))) continue;
      await this.put(appName, password, 'upsert');
    }
  }
}
