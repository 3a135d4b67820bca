// A node:test reporter that ends the run with the line CI reads: "N passed, N failed, N skipped".
// Suites are not counted, only tests; a file that fails to load counts as one failure.
export default async function* summaryReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const failures = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const d = event.data;
    if (d.details?.type === 'suite') {
      // a suite that failed outside its tests (e.g. a before hook) still has to count
      if (event.type === 'test:fail' && d.details?.error?.failureType !== 'subtestsFailed') {
        failed++;
        failures.push(`${d.file ?? ''} > ${d.name}`);
      }
      continue;
    }
    if (d.skip || d.todo) skipped++;
    else if (event.type === 'test:pass') passed++;
    else {
      failed++;
      failures.push(`${d.file ?? ''} > ${d.name}`);
    }
  }
  if (failures.length) {
    yield `\nFailed tests:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`;
  }
  yield `\n${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
