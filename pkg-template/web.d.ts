export * from './web/clerk_fauna.js';
export { default } from './web/clerk_fauna.js';
