import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineUpdate,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';

/**
 * The registry of apps (PowerJob's tenants): names, numeric ids and password hashes.
 * One long-lived workflow: updates serialise every change, so app ids are allocated
 * without clashes by any number of API replicas. The API reads the table from the memo
 * (describe needs no worker), so authentication keeps working while the core worker
 * restarts.
 */

export interface AppRecord {
  appId: number;
  appName: string;
  /** argon2id hash of md5hex(password): the md5 handshake is verified without storing the password. */
  passwordHash: string;
  /** Bumped on every password change; access tokens carry it, so old tokens stop working. */
  passwordVersion: number;
  createdAt: number;
  updatedAt: number;
}

export interface AppDirectoryState {
  nextAppId: number;
  apps: AppRecord[];
}

export interface PutAppRequest {
  appName: string;
  passwordHash: string;
  /** create: fail if the name exists. upsert: create, or replace the password. */
  mode: 'create' | 'upsert';
  now: number;
}

export const putAppUpdate = defineUpdate<AppRecord, [PutAppRequest]>('putApp');

export const APP_DIRECTORY_MEMO_KEY = 'apps';

export async function appDirectoryWorkflow(initial: AppDirectoryState = { nextAppId: 1, apps: [] }): Promise<void> {
  const state: AppDirectoryState = { nextAppId: initial.nextAppId, apps: [...initial.apps] };
  const publish = () => upsertMemo({ [APP_DIRECTORY_MEMO_KEY]: state.apps });
  if (workflowInfo().memo?.[APP_DIRECTORY_MEMO_KEY] === undefined) publish();

  setHandler(
    putAppUpdate,
    ({ appName, passwordHash, now }) => {
      const existing = state.apps.find((app) => app.appName === appName);
      if (existing) {
        existing.passwordHash = passwordHash;
        existing.passwordVersion += 1;
        existing.updatedAt = now;
        publish();
        return { ...existing };
      }
      const created: AppRecord = { appId: state.nextAppId++, appName, passwordHash, passwordVersion: 1, createdAt: now, updatedAt: now };
      state.apps.push(created);
      publish();
      return { ...created };
    },
    {
      validator: ({ appName, mode }) => {
        if (mode === 'create' && state.apps.some((app) => app.appName === appName)) {
          throw ApplicationFailure.nonRetryable(`an app named "${appName}" already exists; choose another name`, 'AppAlreadyExists');
        }
      },
    },
  );

  await condition(() => workflowInfo().continueAsNewSuggested && allHandlersFinished());
  await continueAsNew<typeof appDirectoryWorkflow>(state);
}
