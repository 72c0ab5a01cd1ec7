export * from './lib/index.js';
export { default, initSync } from './web/clerk_fauna.js';
