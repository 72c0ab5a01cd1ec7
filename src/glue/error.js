// The error class of clerk-fauna. Defined in JS so that it truly extends
// Error (stack traces, `instanceof`, `cause`); Rust fills in the fields.
export class ClerkFaunaError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'ClerkFaunaError';
    this.code = code;
  }
}
