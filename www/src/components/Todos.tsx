import { useCallback, useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { useFaunaQuery } from 'clerk-fauna/react';
import { useFauna } from '../fauna';
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

// Values go in as query arguments, never spliced into the FQL text.
const LIST = 'Todo.all().toArray()';
const CREATE = 'Todo.create({ title: title, done: false })';
const SET_DONE = 'Todo.byId(id)!.update({ done: done })';
const DELETE = 'Todo.byId(id)!.delete()';

/** The user's own todos: Fauna's `user` role sees and writes only those. */
export function Todos() {
  const { fauna } = useFauna();
  const [todos, setTodos] = useState<Todo[]>();
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

  // The list comes from the package's query hook; changes are applied locally.
  const listed = useFaunaQuery<Todo[]>(LIST, undefined, { client: fauna });
  useEffect(() => {
    if (listed.data) setTodos(listed.data);
  }, [listed.data]);
  useEffect(() => {
    if (listed.error) setError(toShownError(listed.error));
  }, [listed.error]);

  function load() {
    setError(undefined);
    listed.refetch();
  }

  function add(event: FormEvent) {
    event.preventDefault();
    const text = title.trim();
    if (!text) return;
    void run(async () => {
      const { data } = await fauna.query<Todo>(CREATE, { title: text });
      setTodos((list) => [...(list ?? []), data]);
      setTitle('');
    });
  }

  function toggle(todo: Todo) {
    void run(async () => {
      const { data } = await fauna.query<Todo>(SET_DONE, { id: todo.id, done: !todo.done });
      setTodos((list) => list?.map((t) => (t.id === data.id ? data : t)));
    });
  }

  function remove(todo: Todo) {
    void run(async () => {
      await fauna.query(DELETE, { id: todo.id });
      setTodos((list) => list?.filter((t) => t.id !== todo.id));
    });
  }

  const left = todos?.filter((t) => !t.done).length ?? 0;

  return (
    <section className="card">
      <div className="row spread">
        <h2>My todos</h2>
        <button type="button" className="link" onClick={load} disabled={busy || listed.isLoading} data-testid="todos-reload">
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
          {left} of {todos.length} left · stored in Fauna as <code>Todo</code> documents owned by your user id
        </p>
      )}
      <ErrorBox error={error} />
    </section>
  );
}
