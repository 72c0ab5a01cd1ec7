// A node:test reporter that adds one cargo-style line after the run,
// "test result: ok. N passed; M failed;", so scripts/test-all.sh counts these
// tests with the Rust ones. Suites (describe) are not counted, only tests.
export default async function* cargoSummary(source) {
  let passed = 0;
  let failed = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.type === 'test:pass' && !event.data.skip && !event.data.todo) passed++;
    if (event.type === 'test:fail') failed++;
  }
  yield `test result: ${failed ? 'FAILED' : 'ok'}. ${passed} passed; ${failed} failed;\n`;
}
