// After the whole suite: no worker process may be left running. Waits briefly for stragglers to exit,
// then fails the run naming any that remain (and kills them, so one failure does not poison the next run).
const fs = require('node:fs');

function leftovers() {
  const found = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    let env = '', cmd = '';
    try {
      env = fs.readFileSync(`/proc/${d}/environ`, 'latin1');
      cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'latin1').replace(/\0/g, ' ');
    } catch { continue; }
    if (env.includes('DISTRIBUTED_TS_WORKER=1') && env.includes(`DTS_TEST_RUN=${process.env.DTS_TEST_RUN}`)) found.push(`${d}: ${cmd}`);
  }
  return found;
}

module.exports = async function () {
  let left = leftovers();
  for (let i = 0; i < 30 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = leftovers();
  }
  if (left.length > 0) {
    for (const l of left) try { process.kill(Number(l.split(':')[0]), 'SIGKILL'); } catch {}
    throw new Error(`worker processes outlived the test suite:\n${left.join('\n')}`);
  }
};
