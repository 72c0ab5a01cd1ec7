export * from './bundler/clerk_fauna.js';
