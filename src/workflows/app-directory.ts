import { ApplicationFailure, setHandler, upsertMemo, workflowInfo } from '@temporalio/workflow';
import { MemoKey } from '../contract/memo.js';
import { putAppUpdate } from '../contract/messages.js';
import { continueAsNewWhenSuggested } from './long-lived.js';
import type { AppDirectoryState, AppDirectoryWorkflow, AppRecord } from '../contract/workflows.js';

/**
 * The registry of apps (PowerJob's tenants): names, numeric ids and password hashes.
 * One long-lived workflow: updates serialise every change, so app ids are allocated
 * without clashes by any number of API replicas. The API reads the table from the memo
 * (describe needs no worker), so authentication keeps working while the core worker
 * restarts.
 */

export const appDirectoryWorkflow: AppDirectoryWorkflow = async (initial: AppDirectoryState = { nextAppId: 1, apps: [] }): Promise<void> => {
  const state: AppDirectoryState = { nextAppId: initial.nextAppId, apps: [...initial.apps] };
  const publish = () => upsertMemo({ [MemoKey.apps]: state.apps });
  if (workflowInfo().memo?.[MemoKey.apps] === undefined) publish();

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

  await continueAsNewWhenSuggested<AppDirectoryWorkflow>(() => [state]);
};
