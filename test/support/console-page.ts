import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { PROJECT_ROOT } from '../../src/temporal/cli.js';

/** What the console's browser tests share: signing in, the accessibility check with its screenshot, a page's status badge. */

/** Screenshots of every screen the tests check (gitignored). */
export const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts', 'console');

export function makeArtifactsDir(): void {
  mkdirSync(ARTIFACTS, { recursive: true });
}

/** Signs in through the form, as a user would, and waits for the overview. */
export async function signIn(page: Page, as: { appName: string; password: string }): Promise<void> {
  await page.goto('/console');
  await page.getByLabel('App name').fill(as.appName);
  await page.getByLabel('Password').fill(as.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
}

/** No serious or critical accessibility violation on the page as it stands; a screenshot of it. */
export async function checkScreen(page: Page, name: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), name).toEqual([]);
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The status badge in a page's title row. */
export const badge = (page: Page, status: string) => page.locator('.title-row .badge', { hasText: new RegExp(`^${status}$`) });
