// Loaded before clerk-fauna: wraps every place a token could leak to in a
// page (Web Storage, IndexedDB, cookies, the console) and records what each
// receives, plus every unhandled rejection or error and every request sent to
// Fauna. The hardening tests then prove that no token string ever reached
// one of these sinks. Recording only: each wrapped call still does its job.
(() => {
  'use strict';
  const sinks = []; // { sink, text }
  const unhandled = []; // { kind, text }
  const sent = []; // requests to Fauna: { url, auth, tags, at }
  const consoleCalls = []; // { method }

  /** Everything readable in a value, as text: own properties (enumerable or
   *  not), nested objects, errors' message/stack/cause, to a bounded depth. */
  function textOf(value, depth = 0, seen = new Set()) {
    if (value === null || value === undefined) return String(value);
    const type = typeof value;
    if (type === 'string') return value;
    if (type !== 'object' && type !== 'function') return String(value);
    if (seen.has(value) || depth > 5) return '';
    seen.add(value);
    const parts = [];
    try {
      parts.push(String(value));
    } catch {
      // An object without a usable toString.
    }
    let names = [];
    try {
      names = Object.getOwnPropertyNames(value);
      if (value instanceof Error) names.push('message', 'stack', 'cause', 'name');
    } catch {
      names = [];
    }
    for (const name of new Set(names)) {
      let v;
      try {
        v = value[name];
      } catch {
        continue;
      }
      if (typeof v === 'function') continue;
      parts.push(`${name}=${textOf(v, depth + 1, seen)}`);
    }
    return parts.join(' ');
  }

  const record = (sink, args) => {
    try {
      sinks.push({ sink, text: Array.from(args, (a) => textOf(a)).join(' ') });
    } catch (e) {
      sinks.push({ sink, text: `<unreadable: ${e}>` });
    }
  };

  // Web Storage (localStorage and sessionStorage share the prototype).
  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (key, value) {
    record(this === window.localStorage ? 'localStorage.setItem' : 'sessionStorage.setItem', [key, value]);
    return setItem.call(this, key, value);
  };

  // IndexedDB: opening a database, and any value written to one.
  const open = IDBFactory.prototype.open;
  IDBFactory.prototype.open = function (...args) {
    record('indexedDB.open', args);
    return open.apply(this, args);
  };
  for (const method of ['put', 'add']) {
    const original = IDBObjectStore.prototype[method];
    IDBObjectStore.prototype[method] = function (...args) {
      record(`IDBObjectStore.${method}`, args);
      return original.apply(this, args);
    };
  }

  // Cookies.
  const cookie = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
  Object.defineProperty(Document.prototype, 'cookie', {
    configurable: true,
    enumerable: cookie.enumerable,
    get() {
      return cookie.get.call(this);
    },
    set(value) {
      record('document.cookie', [value]);
      cookie.set.call(this, value);
    },
  });

  // Every console method.
  for (const method of Object.keys(console)) {
    const original = console[method];
    if (typeof original !== 'function') continue;
    console[method] = function (...args) {
      consoleCalls.push({ method });
      record(`console.${method}`, args);
      return original.apply(this, args);
    };
  }

  window.addEventListener('unhandledrejection', (event) => {
    unhandled.push({ kind: 'unhandledrejection', text: textOf(event.reason) });
  });
  window.addEventListener('error', (event) => {
    unhandled.push({ kind: 'error', text: textOf(event.error ?? event.message) });
  });

  // Requests to Fauna as the page sent them (clerk-fauna looks the global
  // fetch up at each call): which token, which query tags, when.
  const fetch = window.fetch;
  window.fetch = function (input, init) {
    try {
      const url = typeof input === 'string' ? input : input.url;
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      const auth = headers.get('authorization');
      if (auth) sent.push({ url, auth, tags: headers.get('x-query-tags'), at: performance.now() });
    } catch {
      // Recording must never change what is sent.
    }
    return fetch.apply(this, arguments);
  };

  window.__instrument = { sinks, unhandled, sent, consoleCalls, textOf };
})();
