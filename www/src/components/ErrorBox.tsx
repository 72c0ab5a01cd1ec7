import type { ShownError } from '../errors';

/** A failed call: its `code` first (what code switches on), then why. */
export function ErrorBox({ error }: { error: ShownError | undefined }) {
  if (!error) return null;
  return (
    <div className="error" role="alert" data-testid="error">
      <div>
        <code className="error-code" data-testid="error-code">{error.code}</code>{' '}
        <span data-testid="error-message">{error.message}</span>
      </div>
      {error.detail && <div className="muted">{error.detail}</div>}
      {error.hint && (
        <div className="hint" data-testid="error-hint">
          Hint: {error.hint}
        </div>
      )}
    </div>
  );
}
