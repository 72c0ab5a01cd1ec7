import { useCallback, useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { useFauna } from '../fauna';
import { useLiveList } from '../live-list';
import { toShownError } from '../errors';
import type { ShownError } from '../errors';
import { ErrorBox } from './ErrorBox';

/** A `Todo` document in Fauna's simple format. `owner` is set by the stand-in from the token's `sub`. */
interface Todo {
  id: string;
  title: string;
  done: boolean;
  owner: string;
}

// The rows and an event source over the same set, read in one transaction
// (see live-list.ts, the README's recipe).
const LIST = '{ rows: Todo.all().toArray(), source: Todo.all().eventSource() }';
// Values go in as query arguments, never spliced into the FQL text.
const CREATE = 'Todo.create({ title: title, done: false })';
const SET_DONE = 'Todo.byId(id)!.update({ done: done })';
const DELETE = 'Todo.byId(id)!.delete()';

const LIVE_LABEL = { idle: 'not live', connecting: 'connecting…', open: 'live', ended: 'not live' } as const;

/** The user's own todos: Fauna's `user` role sees and writes only those. */
export function Todos() {
  const { fauna } = useFauna();
  const [title, setTitle] = useState('');
  const [error, setError] = useState<ShownError>();
  const [busy, setBusy] = useState(false);

  // Every call goes through here: one busy flag, one place errors land.
  const run = useCallback(async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
    } catch (e) {
      setError(toShownError(e));
    } finally {
      setBusy(false);
    }
  }, []);

  // The list: a snapshot, kept current by its event stream. Every change
  // shows through the stream, whichever window or client of this user made
  // it; another user's never reach it (Fauna's `user` role filters the
  // stream as it does queries).
  const list = useLiveList<Todo>(LIST, undefined, fauna);
  const todos = list.rows;
  useEffect(() => {
    // `cleared`: the user signed out, and this screen is going away.
    if (list.error && list.error.code !== 'cleared') setError(toShownError(list.error));
  }, [list.error]);

  function load() {
    setError(undefined);
    list.refetch();
  }

  // Writes leave the list alone: their events update it, as other windows' do.
  function add(event: FormEvent) {
    event.preventDefault();
    const text = title.trim();
    if (!text) return;
    void run(async () => {
      await fauna.query(CREATE, { title: text });
      setTitle('');
    });
  }

  function toggle(todo: Todo) {
    void run(() => fauna.query(SET_DONE, { id: todo.id, done: !todo.done }).then(() => undefined));
  }

  function remove(todo: Todo) {
    void run(() => fauna.query(DELETE, { id: todo.id }).then(() => undefined));
  }

  const left = todos?.filter((t) => !t.done).length ?? 0;

  return (
    <section className="card">
      <div className="row spread">
        <div className="row">
          <h2>My todos</h2>
          <span className={`live ${list.status}`} data-testid="todos-live" data-status={list.status}>
            {LIVE_LABEL[list.status]}
          </span>
        </div>
        <button type="button" className="link" onClick={load} disabled={busy || list.isLoading} data-testid="todos-reload">
          Reload
        </button>
      </div>
      <form className="row" onSubmit={add}>
        <input
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          placeholder="What needs doing?"
          aria-label="New todo"
          data-testid="todo-input"
        />
        <button type="submit" className="primary" disabled={busy || !title.trim()} data-testid="todo-add">
          Add
        </button>
      </form>
      {todos === undefined && !error && <p className="muted">Loading…</p>}
      {todos?.length === 0 && <p className="muted" data-testid="todos-empty">Nothing yet: add one above.</p>}
      <ul className="todos" data-testid="todos">
        {todos?.map((todo) => (
          <li key={todo.id} className={todo.done ? 'done' : ''} data-testid="todo">
            <label>
              <input type="checkbox" checked={todo.done} onChange={() => toggle(todo)} disabled={busy} />
              <span data-testid="todo-title">{todo.title}</span>
            </label>
            <button type="button" className="icon" onClick={() => remove(todo)} disabled={busy} aria-label={`Delete ${todo.title}`}>
              ×
            </button>
          </li>
        ))}
      </ul>
      {!!todos?.length && (
        <p className="muted small">
          {left} of {todos.length} left · stored in Fauna as <code>Todo</code> documents owned by your user id ·
          changes made in your other windows show here at once
        </p>
      )}
      <ErrorBox error={error} />
    </section>
  );
}
