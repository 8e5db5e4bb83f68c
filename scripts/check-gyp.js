#!/usr/bin/env node
// Builds the addon with node-gyp (binding.gyp) in a scratch copy, to prove the node-gyp path still works
// without disturbing the cmake-js build the package uses. Exits non-zero when it does not build.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dts-gyp-'));
try {
  for (const f of ['binding.gyp', 'native', 'package.json']) fs.cpSync(path.join(root, f), path.join(tmp, f), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(tmp, 'node_modules'));
  const gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [path.dirname(process.execPath), '/usr/lib/node_modules/npm', '/usr/local/lib/node_modules/npm', root] });
  const nodedir = fs.existsSync('/usr/include/node/node_api.h') ? '/usr' : path.dirname(path.dirname(process.execPath));
  execFileSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
  const built = path.join(tmp, 'build', 'Release', 'distributed_native.node');
  require(built);
  console.log('binding.gyp: builds and loads with node-gyp');
} catch (e) {
  console.error(`binding.gyp: node-gyp build failed: ${e.stderr ? e.stderr.toString().slice(-2000) : e.message}`);
  process.exitCode = 1;
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
