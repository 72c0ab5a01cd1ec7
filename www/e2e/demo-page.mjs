// Driving the demo app in a page, as its user does: shared by the demo's
// tests (demo.test.mjs) and the proofs against clerk-js (clerk.test.mjs).

import { before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { start, api } from './harness.mjs';

export const ALICE = 'user_2aLiCeQk7mXv9pR3sT5wY8zB1cD';
export const BOB = 'user_2bObKp4nH6jG8fE0dC2aZ9yX7wV';

// The 3-second template, served while at least 1 s is left.
export const SHORT = { template: 'fauna-short', minValiditySeconds: '1', refreshAheadSeconds: '1' };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The demo's controls in `page`, pointed at the stand-ins of `env` (harness.mjs). */
export function demoPage(env, page) {
  const self = {
    page,

    /** Opens the demo with `params` and waits for clerk-js to show the signed-out screen. */
    async open(params = {}) {
      await self.goto(params);
      await page.getByTestId('signed-out').waitFor();
    },

    async goto(params = {}) {
      const query = new URLSearchParams({ clerkUrl: env.clerk, faunaUrl: env.fauna, ...params });
      await page.goto(`${env.appUrl}/?${query}`);
    },

    /** Clicks a demo user: a ticket sign-in through clerk-js. */
    async signIn(firstName) {
      await page.getByTestId(`sign-in-${firstName}`).click();
      await self.signedIn();
    },

    /** Waits for the signed-in screen; a package that cannot load, or a failed sign-in, fails at once. */
    async signedIn() {
      const outcome = page.locator('[data-testid=signed-in], [data-testid=load-error], [data-testid=sign-in-error]');
      await outcome.first().waitFor();
      for (const id of ['load-error', 'sign-in-error']) {
        const error = page.getByTestId(id);
        if (await error.count()) assert.fail(await error.textContent());
      }
    },

    async signOut() {
      await page.getByTestId('sign-out').click();
      await page.getByTestId('signed-out').waitFor();
    },

    /** Clicks "Make authenticated query" and returns both ids shown. */
    async whoami() {
      await page.getByRole('button', { name: 'Make authenticated query' }).click();
      const v4 = JSON.parse(await page.getByTestId('identity-v4').textContent());
      const v10 = JSON.parse(await page.getByTestId('identity-v10').textContent());
      return { v4: v4.id, v10: v10.id };
    },

    /** Adds a todo through the form; resolves once this page lists one more. */
    async addTodo(title) {
      const count = await page.getByTestId('todo').count();
      await page.getByTestId('todo-input').fill(title);
      await page.getByTestId('todo-add').click();
      await page.getByTestId('todo').nth(count).waitFor();
    },

    async todoTitles() {
      await page.getByTestId('todos').waitFor({ state: 'attached' });
      return page.getByTestId('todo-title').allTextContents();
    },

    /** Resolves once the list shows exactly `titles`, in order (it changes by itself: it is live). */
    async untilTodos(titles) {
      await page.waitForFunction(
        (want) => [...document.querySelectorAll('[data-testid=todo-title]')].map((e) => e.textContent).join('\n') === want,
        titles.join('\n'),
        { polling: 50, timeout: 20_000 },
      );
    },

    /** Resolves once the todo list's event stream is open. */
    async live() {
      await page.locator('[data-testid=todos-live][data-status=open]').waitFor();
    },

    async number(testId) {
      return Number(await page.getByTestId(testId).textContent());
    },

    /** Runs the page's query loop for `ms`, then lets the last queries land. */
    async runLoop(ms) {
      await page.getByTestId('loop-toggle').click();
      await sleep(ms);
      await page.getByTestId('loop-toggle').click();
      await sleep(1500);
      return { ok: await self.number('loop-ok'), failed: await self.number('loop-failed') };
    },
  };
  return self;
}

/**
 * The hooks every demo suite needs, registered in the calling `describe`
 * (`options` go to harness.mjs's start()):
 * the built app and stand-ins started once (`t.env`), reset before each test,
 * the browser's cookies cleared (signed out), a fresh page each test (`t.page`, `t.demo`) whose uncaught errors fail it.
 */
export function demoSuite(options) {
  const t = {};
  before(async () => {
    t.env = await start(options);
  }, { timeout: 16 * 60_000 });

  after(async () => {
    await t.env?.stop();
  }, { timeout: 30_000 });

  beforeEach(async () => {
    // A fresh browser for clerk-js: no client cookie from the last test.
    await t.env.context.clearCookies();
    await api(`${t.env.clerk}/__admin/reset`, {});
    await api(`${t.env.fauna}/__admin/reset`, {});
    t.page = await t.env.context.newPage();
    t.pageErrors = [];
    t.page.on('pageerror', (e) => t.pageErrors.push(e.message));
    t.demo = demoPage(t.env, t.page);
  });

  afterEach(async () => {
    await t.page?.close();
    // An uncaught exception in the page is a bug even when the UI looked fine.
    assert.deepEqual(t.pageErrors, [], 'uncaught errors in the page');
  });
  return t;
}
