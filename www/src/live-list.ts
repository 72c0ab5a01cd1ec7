// A live list: the rows of a query, kept current by an event stream over the
// same set. The query returns `{ rows, source }`, both read in one
// transaction, so the stream starts at that snapshot: no change made after
// it is missed, and none before it is applied twice.
import { useEffect, useState } from 'react';
import { useFaunaQuery, useFaunaStream } from 'clerk-fauna/react';
import type { ClerkFaunaError, FaunaClient, StreamEvent } from 'clerk-fauna/web';

/** `rows` (documents, told apart by `id`) with one stream event applied. */
export function applyEvent<T extends { id: string }>(rows: T[], { type, data }: StreamEvent<T>): T[] {
  if (!data) return rows; // a status event
  if (type === 'add') return [...rows, data];
  if (type === 'update') return rows.map((row) => (row.id === data.id ? data : row));
  if (type === 'remove') return rows.filter((row) => row.id !== data.id);
  return rows;
}

export interface LiveList<T> {
  /** The rows; undefined until the first snapshot, and after a failed one. */
  rows: T[] | undefined;
  error: ClerkFaunaError | undefined;
  /** A snapshot is being read. */
  isLoading: boolean;
  /** The stream's: `open` while changes arrive. */
  status: 'idle' | 'connecting' | 'open' | 'ended';
  /** Reads a new snapshot and streams from it. */
  refetch: () => void;
}

/**
 * The rows of `fql`, live. `fql` returns `{ rows, source }`, e.g.
 * `{ rows: Todo.all().toArray(), source: Todo.all().eventSource() }`. The
 * client is `client`, else the nearest FaunaProvider's.
 */
export function useLiveList<T extends { id: string }>(
  fql: string,
  args?: Record<string, unknown>,
  client?: FaunaClient,
): LiveList<T> {
  const snapshot = useFaunaQuery<{ rows: T[]; source: string }>(fql, args, { client });
  const [rows, setRows] = useState<T[]>();
  // Each snapshot (the first, or after refetch()) replaces the rows...
  useEffect(() => setRows(snapshot.data?.rows), [snapshot.data]);
  // ...and the events after it are applied to them. In the `simple` format
  // the event source is the token's text: `{ token }` says it is not FQL.
  const stream = useFaunaStream<T>(snapshot.data && { token: snapshot.data.source }, {
    client,
    onEvent: (event) => setRows((current) => current && applyEvent(current, event)),
  });
  const { isLoading, refetch } = snapshot;
  return { rows, error: snapshot.error ?? stream.error, isLoading, status: stream.status, refetch };
}
