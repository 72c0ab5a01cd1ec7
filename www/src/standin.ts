// What only the local Clerk stand-in offers: its demo users, and a sign-in
// token (ticket) for one of them. With real Clerk, an app's server makes the
// ticket with the Backend API (`POST https://api.clerk.com/v1/sign_in_tokens`,
// secret key) and the page signs in with it exactly as below.

import { config } from './config';

/** A demo user, as `GET /v1/demo/users` lists them. */
export interface DemoUser {
  id: string;
  first_name: string;
  last_name: string;
  email: string;
}

async function call<T>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${config.clerkUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    const payload = await response.json().catch(() => undefined);
    const message = payload?.errors?.[0]?.long_message ?? payload?.errors?.[0]?.message;
    throw new Error(`${path}: HTTP ${response.status}${message ? ` (${message})` : ''}`);
  }
  return response.json() as Promise<T>;
}

export function demoUsers(): Promise<DemoUser[]> {
  return call('/v1/demo/users');
}

/** A one-use ticket that signs `userId` in. */
export async function demoTicket(userId: string): Promise<string> {
  return (await call<{ token: string }>('/v1/demo/sign_in_tokens', { user_id: userId })).token;
}
