// The Node entry's types (node.js, picked by the `node` export condition):
// the core is loaded at import, so init() and initSync() need no input and
// return at once; code written for `clerk-fauna/web` type-checks unchanged.
import type { InitInput, InitOutput, SyncInitInput } from './web/clerk_fauna.js';

export * from './lib/index.js';

/** Resolves at once: the core was loaded when this entry was imported (an input is ignored). */
export default function init(
  module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>,
): Promise<InitOutput>;

/** Returns at once: the core was loaded when this entry was imported (an input is ignored). */
export function initSync(module?: { module: SyncInitInput } | SyncInitInput): InitOutput;
