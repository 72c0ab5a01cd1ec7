// Read by clerk-js's browser build (loaded next) when it creates
// window.Clerk: the stand-in as its Frontend API, through proxyUrl, with a
// development key naming the stand-in's host (`pk_test_` + base64 `<host>$`).
(() => {
  const clerk = new URLSearchParams(location.search).get('clerk');
  if (!clerk) return;
  window.__clerk_proxy_url = clerk;
  window.__clerk_publishable_key = `pk_test_${btoa(`${new URL(clerk).host}$`)}`;
})();
